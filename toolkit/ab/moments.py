"""Per-arm sufficient statistics of a metric: the one A/B core both engines compute.

Every test, interval, power figure and Bayesian read-out of :func:`toolkit.ab.analyze` is a
function of a few numbers per arm: units with a value ``n``, missing values, the estimate (a mean,
or ``sum x / sum d`` for a ratio metric) and the unit variance (Bernoulli ``p (1 - p)`` for a
binary metric; the centred sum of squares over ``n - 1``, of the linearised values
``(x - r d) / mean(d)`` for a ratio). They are computed in two passes over units:

1. :func:`arm_sums` -- per arm ``n``, missing values, ``sum x`` (and ``sum d``), and over every
   arm the extremes (constant metrics are skipped) and the values that are not 0/1. These
   :class:`MetricSums` add up over partitions (``a + b``).
2. :func:`centred_ss` -- with the arm estimates of pass 1, the centred sum of squares (computed
   centred, so that no precision is lost to cancellation).

:func:`arm_stats` checks the sums with the rules of ``analyze`` (binary values, negative
denominators, constant metrics, at least two units per arm) and returns :class:`ArmStats`. The
pandas engine runs both passes on the whole unit table (one partition); the Dask engine
(:func:`dask_arm_sums`) runs them per partition of whole conversations on the cluster and adds
the sums on the client. The two agree to 1e-9 (the sums only run in another order).

Examples
--------
>>> import numpy as np
>>> from toolkit.ab.metrics import Metric
>>> x, codes = np.array([1.0, 2, 3, 2, 4, 6]), np.array([0, 0, 0, 1, 1, 1])
>>> st = ArmStats.from_values("continuous", x, None, codes, ["A", "B"])
>>> st.estimate.tolist(), st.unit_var.tolist()
([2.0, 4.0], [1.0, 4.0])
>>> st.arm("B")
(3, 4.0, 1.3333333333333333, 4.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError, Metric, need_column

__all__ = ["ArmStats", "MetricSums", "metric_values", "arm_sums", "centred_ss", "arm_stats",
           "dask_arm_sums"]

_LO = ("min_x", "min_d", "min_ratio")
_HI = ("max_x", "max_d", "max_ratio")


@dataclass(frozen=True)
class ArmStats:
    """Per-arm statistics of one metric (arrays in ``arms`` order).

    Attributes
    ----------
    arms : tuple of str
    n : ndarray
        Units with a value.
    n_missing : ndarray
        Units of the arm whose value is missing.
    estimate : ndarray
        Mean, or ``sum x / sum d`` for a ratio metric.
    unit_var : ndarray
        Variance of one unit (Bernoulli ``p (1 - p)``; linearised for ratios); the variance of
        the estimate is ``unit_var / n``.

    Examples
    --------
    >>> st = ArmStats.from_values("binary", np.array([0.0, 1, 1, 1]), None, np.array([0, 0, 1, 1]),
    ...                           ["A", "B"])
    >>> st.summary_table()["estimate"].tolist(), st.to_dict()["n"]
    ([0.5, 1.0], [2, 2])
    """

    arms: tuple[str, ...]
    n: np.ndarray
    n_missing: np.ndarray
    estimate: np.ndarray
    unit_var: np.ndarray
    _pos: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pos", {a: i for i, a in enumerate(self.arms)})

    def arm(self, label: str) -> tuple[int, float, float, float]:
        """``(n, estimate, variance of the estimate, unit variance)`` of one arm."""
        i = self._pos[label]
        n, uvar = int(self.n[i]), float(self.unit_var[i])
        return n, float(self.estimate[i]), uvar / n, uvar

    def missing(self, label: str) -> int:
        """Missing values of one arm."""
        return int(self.n_missing[self._pos[label]])

    @classmethod
    def from_values(cls, kind: str, x: np.ndarray, den: np.ndarray | None, codes: np.ndarray,
                    arms: Sequence[str]) -> ArmStats:
        """Both passes on values without missing ones, unchecked (``codes`` index ``arms``)."""
        labels = [str(a) for a in arms]
        sums = arm_sums(x, den, codes, labels, kind)
        return sums.stats(kind, labels, lambda est, md: centred_ss(x, den, codes, est, md))

    def summary_table(self) -> pd.DataFrame:
        """One row per arm."""
        return pd.DataFrame({"arm": list(self.arms), "n": self.n, "n_missing": self.n_missing,
                             "estimate": self.estimate, "unit_var": self.unit_var})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of lists."""
        return {"arms": list(self.arms), "n": [int(v) for v in self.n],
                "n_missing": [int(v) for v in self.n_missing],
                "estimate": [float(v) for v in self.estimate],
                "unit_var": [float(v) for v in self.unit_var]}


@dataclass
class MetricSums:
    """Additive sufficient statistics of one metric over some units (a partition, or all).

    ``per_arm`` is indexed by arm with ``n``, ``n_missing``, ``sum_x`` (and ``sum_d`` for a ratio
    metric); ``lo`` / ``hi`` are the extremes over every arm (NaN: no value); ``non_binary``
    counts values other than 0/1 (binary metrics only); ``ss`` the centred sums of squares once
    pass 2 ran.
    """

    per_arm: pd.DataFrame
    lo: dict[str, float]
    hi: dict[str, float]
    non_binary: int = 0
    ss: pd.Series | None = None
    non_binary_examples: list = field(default_factory=list)  # up to 5 (row, value) of them
    missing_examples: list = field(default_factory=list)  # up to 5 rows with a missing value

    def __add__(self, other: MetricSums) -> MetricSums:
        per = pd.concat([self.per_arm, other.per_arm]).groupby(level=0, sort=False).sum()
        ss = None if self.ss is None or other.ss is None else self.ss.add(other.ss, fill_value=0)
        return MetricSums(per, {k: np.fmin(self.lo[k], other.lo[k]) for k in self.lo},
                          {k: np.fmax(self.hi[k], other.hi[k]) for k in self.hi},
                          self.non_binary + other.non_binary, ss,
                          (self.non_binary_examples + other.non_binary_examples)[:5],
                          (self.missing_examples + other.missing_examples)[:5])

    def estimates(self, arms: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Estimate per arm (``sum x / sum d`` for a ratio) and the mean denominator."""
        m = self.per_arm.reindex(list(arms)).fillna(0.0)
        n = m["n"].to_numpy(dtype=float)
        if "sum_d" in m:
            sd = m["sum_d"].to_numpy(dtype=float)
            return m["sum_x"].to_numpy(dtype=float) / np.where(sd > 0, sd, 1.0), sd / np.maximum(n, 1)
        return m["sum_x"].to_numpy(dtype=float) / np.maximum(n, 1), None

    def stats(self, kind: str, arms: Sequence[str],
              ss_of: Callable[[np.ndarray, np.ndarray | None], np.ndarray]) -> ArmStats:
        """:class:`ArmStats` from the sums; ``ss_of(estimate, mean_d)`` gives pass 2 per arm."""
        m = self.per_arm.reindex(list(arms)).fillna(0.0)
        n = m["n"].to_numpy(dtype=float)
        est, mean_d = self.estimates(arms)
        if kind == "binary":  # Bernoulli variance p (1 - p): the Wald / delta-method convention
            uvar = est * (1.0 - est)
        else:
            uvar = ss_of(est, mean_d) / np.maximum(n - 1, 1)
        return ArmStats(tuple(arms), n.astype(np.int64), m["n_missing"].to_numpy().astype(np.int64),
                        est, uvar)


def metric_values(units: pd.DataFrame, col: str, metric: str) -> np.ndarray:
    """A metric column as floats (missing: NaN); missing, non-numeric or infinite values raise.

    Examples
    --------
    >>> metric_values(pd.DataFrame({"x": [1, None, True]}), "x", "x").tolist()
    [1.0, nan, 1.0]
    """
    need_column(units, col, f"metric {metric!r}: column {col!r} not found in the per-unit table")
    s = units[col]
    if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
        if len(bad):
            raise ABInputError(
                f"metric {metric!r}: column {col!r} must be numeric or boolean; non-numeric "
                f"values in {len(bad)} rows, e.g. " + ", ".join(
                    f"row {i}: {v!r}" for i, v in list(bad.items())[:3]))
        s = pd.to_numeric(s, errors="coerce")
    x = s.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        rows = units.index[np.isinf(x)][:3].tolist()
        raise ABInputError(f"metric {metric!r}: column {col!r} has infinite values (rows {rows})")
    return x


def arm_sums(xv: np.ndarray, dv: np.ndarray | None, codes: np.ndarray, arms: Sequence[str],
             kind: str, n_missing: np.ndarray | None = None, *,
             count_non_binary: bool = True, rows: Sequence | None = None) -> MetricSums:
    """Pass 1 on the values with an arm and without missing ones (``codes`` index ``arms``).

    ``count_non_binary=False`` skips counting values other than 0/1 of a binary metric (the
    caller checked them row by row); ``rows`` (the conversation id of each value) names the first
    of them.

    Examples
    --------
    >>> s = arm_sums(np.array([1.0, 0, 1]), None, np.array([0, 1, 1]), ["A", "B"], "binary")
    >>> s.per_arm["sum_x"].tolist(), s.non_binary
    ([1.0, 1.0], 0)
    """
    k = len(arms)
    cols = {"n": np.bincount(codes, minlength=k).astype(float),
            "n_missing": np.zeros(k) if n_missing is None else np.asarray(n_missing, dtype=float),
            "sum_x": np.bincount(codes, weights=xv, minlength=k)}
    lo = dict.fromkeys(_LO, np.nan)
    hi = dict.fromkeys(_HI, np.nan)
    if xv.size:
        lo["min_x"], hi["max_x"] = float(xv.min()), float(xv.max())
    bad = (~np.isin(xv, (0.0, 1.0)) if kind == "binary" and count_non_binary
           else np.zeros(xv.size, dtype=bool))
    non_binary = int(bad.sum())
    examples = ([] if rows is None or not non_binary else
                [(r, float(v)) for r, v in zip(np.asarray(rows, dtype=object)[bad][:5], xv[bad][:5])])
    if dv is not None:
        cols["sum_d"] = np.bincount(codes, weights=dv, minlength=k)
        if xv.size:
            lo["min_d"], hi["max_d"] = float(dv.min()), float(dv.max())
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = xv / np.where(dv > 0, dv, np.nan)
            if not np.isnan(ratio).all():
                lo["min_ratio"], hi["max_ratio"] = float(np.nanmin(ratio)), float(np.nanmax(ratio))
    return MetricSums(pd.DataFrame(cols, index=pd.Index(list(arms), dtype=object)), lo, hi,
                      non_binary, non_binary_examples=examples)


def centred_ss(xv: np.ndarray, dv: np.ndarray | None, codes: np.ndarray, estimate: np.ndarray,
               mean_d: np.ndarray | None) -> np.ndarray:
    """Pass 2: per arm code ``sum (x - mean)^2``, or ``sum ((x - r d) / mean(d))^2`` for a ratio.

    Examples
    --------
    >>> centred_ss(np.array([1.0, 3, 2, 6]), None, np.array([0, 0, 1, 1]), np.array([2.0, 4]), None)
    array([2., 8.])
    """
    dev = xv - estimate[codes] if dv is None else (xv - estimate[codes] * dv) / mean_d[codes]
    return np.bincount(codes, weights=dev * dev, minlength=estimate.size)


def _skip_or_raise(msg: str, explicit: bool, notes: list[str], note: str | None = None) -> None:
    """A requested metric that cannot be analysed raises; a default one is skipped with a note."""
    if explicit:
        raise ABInputError(msg)
    notes.append(note or msg)


def arm_stats(sums: MetricSums, metric: Metric, arms: Sequence[str],
              ss_of: Callable[[np.ndarray, np.ndarray | None], np.ndarray], *,
              nan_policy: str = "drop", explicit: bool = True,
              notes: list[str] | None = None) -> ArmStats | None:
    """Check one metric's sums with the rules of ``analyze`` and return its :class:`ArmStats`.

    ``None`` means the metric is skipped (a note is added); a requested metric that cannot be
    analysed raises :class:`~toolkit.ab.metrics.ABInputError` instead.

    Examples
    --------
    >>> x, d, codes = np.array([2.0, 4, 3, 9]), np.array([1.0, 2, 1, 3]), np.array([0, 0, 1, 1])
    >>> s = arm_sums(x, d, codes, ["A", "B"], "ratio")
    >>> st = arm_stats(s, Metric("rt", "ratio", numerator="x", denominator="d"), ["A", "B"],
    ...                lambda est, md: centred_ss(x, d, codes, est, md))
    >>> st.estimate.tolist()
    [2.0, 3.0]
    """
    notes = [] if notes is None else notes
    name = metric.name
    m = sums.per_arm.reindex(list(arms)).fillna(0.0)
    n, n_nan = m["n"].to_numpy(), m["n_missing"].to_numpy()
    if int(n_nan.sum()) and nan_policy == "raise":
        eg = f", e.g. conversations {sums.missing_examples}" if sums.missing_examples else ""
        raise ABInputError(f"metric {name!r}: {int(n_nan.sum())} missing values (nan_policy='raise'){eg}")
    if n.sum() == 0:
        _skip_or_raise(f"metric {name!r}: no non-missing values", explicit, notes,
                       f"metric {name!r} skipped: no values")
        return None
    if metric.kind == "binary" and sums.non_binary:
        eg = sums.non_binary_examples
        where = (f": {sorted({v for _, v in eg})} (e.g. conversations {[r for r, _ in eg]})"
                 if eg else "")
        raise ABInputError(f"metric {name!r} is binary but column {metric.column!r} has "
                           f"{sums.non_binary} values other than 0/1/True/False{where}; use kind "
                           "'continuous' or fix the data")
    if metric.kind == "ratio" and sums.lo["min_d"] < 0:
        raise ABInputError(f"ratio metric {name!r}: denominator {metric.denominator!r} has "
                           "negative values")
    if metric.kind != "ratio" and sums.lo["min_x"] == sums.hi["max_x"]:
        msg = (f"metric {name!r} is constant (every value = {sums.lo['min_x']:g}): nothing to "
               "compare")
        _skip_or_raise(msg, explicit, notes, msg.replace("nothing to compare", "skipped"))
        return None
    for a, k in zip(arms, n):
        if k < 2:
            raise ABInputError(f"metric {name!r}: arm {a!r} has {int(k)} unit(s) with a value; "
                               "at least 2 per arm are needed")
    if metric.kind == "ratio" and (m["sum_d"] <= 0).any():
        raise ABInputError(f"ratio metric {name!r}: denominator {metric.denominator!r} sums to 0 "
                           "in an arm")
    st = sums.stats(metric.kind, arms, ss_of)
    if (metric.kind == "ratio" and sums.lo["min_ratio"] == sums.hi["max_ratio"]
            and np.all(st.unit_var == 0)):
        _skip_or_raise(f"ratio metric {name!r} is constant: nothing to compare", explicit, notes)
        return None
    return st


# ------------------------------------------------------------------------------------------
# the Dask engine: both passes per partition (toolkit.dask_engine.ab.two_pass), added up
# ------------------------------------------------------------------------------------------


@dataclass
class _PartitionSums:
    """Pass 1 of one partition: units per arm, units without one, and each metric's sums."""

    units: pd.Series
    n_missing_variant: int
    metrics: dict[str, MetricSums]

    def __add__(self, other: _PartitionSums) -> _PartitionSums:
        return _PartitionSums(self.units.add(other.units, fill_value=0),
                              self.n_missing_variant + other.n_missing_variant,
                              {k: v + other.metrics[k] for k, v in self.metrics.items()})


def _partition_values(units: pd.DataFrame, variant_col: str, metric: Metric):
    """Arm codes and labels of a partition, and one metric's values with an arm and a value."""
    codes, labels = pd.factorize(units[variant_col].astype("string"), sort=False)
    x = metric_values(units, metric.columns[0], metric.name)
    d = metric_values(units, metric.columns[1], metric.name) if metric.kind == "ratio" else None
    finite = np.isfinite(x) if d is None else np.isfinite(x) & np.isfinite(d)
    in_arm = codes >= 0
    ok = finite & in_arm
    labels = [str(v) for v in labels]
    nan = np.bincount(codes[~finite & in_arm], minlength=len(labels))
    ids = units["conversation_id"].to_numpy() if "conversation_id" in units.columns else None
    rows = None if ids is None else ids[ok]
    missing = [] if ids is None else ids[~finite & in_arm][:5].tolist()
    return codes[ok], labels, x[ok], None if d is None else d[ok], nan, rows, missing


def _first_pass(units: pd.DataFrame, variant_col: str, metrics: Sequence[Metric]) -> _PartitionSums:
    codes, labels = pd.factorize(units[variant_col].astype("string"), sort=False)
    counts = np.bincount(codes[codes >= 0], minlength=len(labels)).astype(float)
    out = {}
    for m in metrics:
        c, lab, xv, dv, nan, rows, missing = _partition_values(units, variant_col, m)
        out[m.name] = arm_sums(xv, dv, c, lab, m.kind, nan, rows=rows)
        out[m.name].missing_examples = missing
    return _PartitionSums(pd.Series(counts, index=[str(v) for v in labels], dtype=float),
                          int((codes < 0).sum()), out)


class _SumsOfSquares(dict):
    """Pass 2 of one partition: metric -> centred sum of squares per arm (added with ``+``)."""

    def __add__(self, other: _SumsOfSquares) -> _SumsOfSquares:
        return _SumsOfSquares({k: v.add(other[k], fill_value=0) for k, v in self.items()})


def _second_pass(units: pd.DataFrame, first: _PartitionSums, variant_col: str,
                 metrics: Sequence[Metric]) -> _SumsOfSquares:
    out = _SumsOfSquares()
    for m in metrics:
        c, lab, xv, dv, _, _, _ = _partition_values(units, variant_col, m)
        est, mean_d = first.metrics[m.name].estimates(lab)
        out[m.name] = pd.Series(centred_ss(xv, dv, c, est, mean_d), index=lab, dtype=float)
    return out


def dask_arm_sums(dlog, units_fn: Callable[[Any], pd.DataFrame], variant_col: str,
                  metrics: Sequence[Metric]) -> tuple[dict[str, int], int, dict[str, MetricSums]]:
    """Build the unit table on the cluster and reduce it to :class:`MetricSums` (two passes).

    Returns the units per arm, the units without a variant and each metric's sums (``ss`` set).

    Examples
    --------
    >>> import dask
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> from toolkit.ab.units import units_from_log
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> with dask.config.set(scheduler="sync"):
    ...     n_units, _, sums = dask_arm_sums(dlog, units_from_log, "variant",
    ...                                      [Metric("rt", "ratio", numerator="total_response_time_s",
    ...                                             denominator="n_turns")])
    >>> n_units == units_from_log(log)["variant"].value_counts().sort_index().to_dict()
    True
    """
    from toolkit.dask_engine.ab import two_pass

    first, ss = two_pass(dlog, units_fn, partial(_first_pass, variant_col=variant_col, metrics=metrics),
                         partial(_second_pass, variant_col=variant_col, metrics=metrics))
    for name, s in first.metrics.items():
        s.ss = ss[name]
    return ({str(k): int(v) for k, v in first.units.sort_index().items()}, first.n_missing_variant,
            first.metrics)
