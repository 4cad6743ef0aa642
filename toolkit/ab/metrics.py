"""Metric specifications of an A/B analysis and the parsing of metric and allocation specs.

The lowest module of :mod:`toolkit.ab`: the types every other module shares
(:class:`Metric`, :class:`ABInputError`) live here, so that the per-unit table
(:mod:`toolkit.ab.units`) and the analysis (:mod:`toolkit.ab.analysis`) import them without
importing each other.

Examples
--------
>>> [(m.name, m.kind) for m in parse_metrics("resolved:binary,latency:mean:lower")]
[('resolved', 'binary'), ('latency', 'continuous')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from toolkit.errors import ToolkitError

__all__ = ["ABInputError", "Metric", "KINDS", "CORRECTIONS", "need_column", "one_of", "parse_metrics", "parse_allocation",
           "infer_metrics"]

KINDS = {
    "binary": "binary", "proportion": "binary", "bool": "binary", "rate": "binary",
    "continuous": "continuous", "mean": "continuous", "numeric": "continuous",
    "ratio": "ratio",
}
#: the multiple-testing corrections (:func:`toolkit.ab.srm.adjust_pvalues`)
CORRECTIONS = ("holm", "bh", "bonferroni", "none")


class ABInputError(ToolkitError):
    """Bad input to an A/B analysis; the message names the column, the rule and the values."""


def need_column(frame, column: str, message: str) -> None:
    """Raise ``message`` with the frame's columns when ``column`` is not one of them.

    Examples
    --------
    >>> import pandas as pd
    >>> need_column(pd.DataFrame({"a": [1]}), "b", "column 'b' not found")
    Traceback (most recent call last):
    ...
    toolkit.ab.metrics.ABInputError: column 'b' not found (columns: a)
    """
    if column not in frame.columns:
        raise ABInputError(f"{message} (columns: {', '.join(map(str, frame.columns))})")


def one_of(value, choices, name: str):
    """``value`` when it is one of ``choices``, else an error naming ``name`` and the choices.

    Examples
    --------
    >>> one_of("x", ("drop", "raise"), "nan_policy")
    Traceback (most recent call last):
    ...
    toolkit.ab.metrics.ABInputError: nan_policy must be 'drop' or 'raise', got 'x'
    """
    if value not in choices:
        *head, last = map(repr, choices)
        raise ABInputError(f"{name} must be {', '.join(head)} or {last}, got {value!r}")
    return value


@dataclass(frozen=True)
class Metric:
    """One metric to compare across arms.

    Parameters
    ----------
    name : str
        Label in the results.
    kind : {"binary", "continuous", "ratio"}
        Aliases: "proportion", "mean".
    column : str, optional
        Column holding the per-unit value (default ``name``); not used for ratios.
    numerator, denominator : str, optional
        Columns of a ratio metric (``sum(numerator) / sum(denominator)`` per arm).
    higher_is_better : bool
        Direction of a good change (decides "winner" vs "worse").
    mde : float, optional
        Planned minimum detectable effect (absolute) used for the power in the verdict.
    mde_relative : float, optional
        Planned MDE relative to the control mean (used when ``mde`` is not given).
    label : str, optional
        Human-readable description.

    Examples
    --------
    >>> Metric("resolved", "proportion").kind
    'binary'
    """

    name: str
    kind: str
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    higher_is_better: bool = True
    mde: float | None = None
    mde_relative: float | None = None
    label: str | None = None

    def __post_init__(self):
        kind = KINDS.get(str(self.kind).lower())
        if kind is None:
            raise ABInputError(f"metric {self.name!r}: kind must be one of "
                               f"{sorted(set(KINDS))}, got {self.kind!r}")
        object.__setattr__(self, "kind", kind)
        if kind == "ratio":
            if not (self.numerator and self.denominator):
                raise ABInputError(f"ratio metric {self.name!r} needs numerator and denominator "
                                   "columns (spec 'name:ratio:numerator/denominator')")
        elif self.column is None:
            object.__setattr__(self, "column", self.name)

    @property
    def columns(self) -> list[str]:
        """Columns of the per-unit table this metric reads."""
        return [self.numerator, self.denominator] if self.kind == "ratio" else [self.column]


def parse_metrics(spec: str | Sequence[str]) -> list[Metric]:
    """Parse ``"name:kind[:num/den][:lower|:higher],..."`` into :class:`Metric` objects.

    Examples
    --------
    >>> [m.kind for m in parse_metrics("resolved:binary,sat:mean")]
    ['binary', 'continuous']
    >>> m = parse_metrics("rt:ratio:total_response_time_s/n_turns:lower")[0]
    >>> m.numerator, m.denominator, m.higher_is_better
    ('total_response_time_s', 'n_turns', False)
    """
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    out = []
    for item in items:
        if not item:
            continue
        parts = item.split(":")
        if len(parts) < 2 or not parts[0]:
            raise ABInputError(f"metric spec {item!r}: expected 'name:kind' (kind: binary, "
                               "continuous or ratio:numerator/denominator), e.g. 'resolved:binary'")
        name, kind, rest = parts[0], parts[1], parts[2:]
        kw: dict[str, Any] = {}
        for r in rest:
            if r in ("lower", "higher"):
                kw["higher_is_better"] = r == "higher"
            elif "/" in r:
                num, den = r.split("/", 1)
                kw["numerator"], kw["denominator"] = num, den
            elif r.startswith("mde="):
                kw["mde"] = float(r[4:])
            else:
                raise ABInputError(f"metric spec {item!r}: unknown part {r!r} (use 'lower', "
                                   "'higher', 'mde=0.02' or 'numerator/denominator')")
        out.append(Metric(name, kind, **kw))
    if not out:
        raise ABInputError("no metrics given")
    return out


def parse_allocation(spec: str | dict | None) -> dict[str, float] | None:
    """Parse a planned split ``"A=0.5,B=0.5"`` or ``"A:0.5,B:0.5"`` (weights need not sum to
    1); ``""`` -> None.

    Examples
    --------
    >>> parse_allocation("A=2, B:1")
    {'A': 2.0, 'B': 1.0}
    """
    if not spec:
        return None
    if isinstance(spec, dict):
        return {str(k): float(v) for k, v in spec.items()}
    out = {}
    for part in str(spec).split(","):
        sep = "=" if "=" in part else ":"
        if sep not in part:
            raise ABInputError(f"allocation: expected ARM=SHARE pairs, got {part.strip()!r}")
        k, v = part.rsplit(sep, 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise ABInputError(f"allocation: share of {k.strip()!r} is not a number: "
                               f"{v.strip()!r}") from None
    return out


def infer_metrics(units: pd.DataFrame, exclude: Iterable[str] = ()) -> list[Metric]:
    """Guess metrics from a per-unit table: numeric/bool columns; 0/1-valued ones are binary.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"variant": ["A", "B"] * 3, "ok": [1, 0, 1, 1, 0, 1],
    ...                    "x": [.5, .7, .1, .2, .9, .3]})
    >>> [(m.name, m.kind) for m in infer_metrics(df, exclude=["variant"])]
    [('ok', 'binary'), ('x', 'continuous')]
    """
    skip = set(exclude)
    out = []
    for col in units.columns:
        if col in skip or str(col).endswith("_id"):
            continue
        s = units[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            out.append(Metric(str(col), "binary"))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            vals = pd.unique(s.dropna())
            if len(vals) < 2:
                continue
            kind = "binary" if set(np.asarray(vals, dtype=float)) <= {0.0, 1.0} else "continuous"
            out.append(Metric(str(col), kind))
    return out
