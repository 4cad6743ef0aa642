"""Per-arm statistics of one metric from its sufficient statistics (the Dask engine's A/B path).

:func:`toolkit.dask_engine.ab.arm_moments` reduces a unit table on the cluster to a few sums per arm;
:func:`arm_statistics` checks them with the rules of :func:`toolkit.ab.analyze` (binary values,
negative denominators, constant metrics, at least two units per arm) and returns what the tests
need: units with a value, missing values, the estimate and the unit variance of every arm.

Examples
--------
>>> import pandas as pd
>>> from toolkit.ab.metrics import Metric
>>> from toolkit.dask_engine.ab import arm_moments_frame
>>> units = pd.DataFrame({"variant": list("AAABBB"), "x": [1.0, 2, 3, 2, 4, 6]})
>>> n, n_nan, mean, uvar = arm_statistics(arm_moments_frame(units, "variant", [("x", "x", None)]),
...                                       Metric("x", "continuous"), ["A", "B"])
>>> mean.tolist(), uvar.tolist()
([2.0, 4.0], [1.0, 4.0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError, Metric

__all__ = ["arm_statistics"]


def _skip_or_raise(msg: str, explicit: bool, notes: list[str], note: str | None = None) -> None:
    if explicit:
        raise ABInputError(msg)
    notes.append(note or msg)


def _default_would_skip(m: pd.DataFrame, metric: Metric, n: np.ndarray) -> bool:
    """What :func:`toolkit.ab.units.default_metrics` leaves out (on the units with a variant)."""
    if n.sum() < 4 or m["min_x"].min() == m["max_x"].max():
        return True
    if metric.kind == "ratio":
        return not (m["max_d"].max() > m["min_d"].min() and m["max_ratio"].max() > m["min_ratio"].min())
    return False


def arm_statistics(table: pd.DataFrame, metric: Metric, arms: list[str], *, nan_policy: str = "drop",
                   explicit: bool = True, notes: list[str] | None = None):
    """``(n, n_missing, estimate, unit variance)`` per arm (arrays in ``arms`` order), or None.

    ``None`` means the metric is skipped (a note is added); a requested metric that cannot be
    analysed raises :class:`~toolkit.ab.metrics.ABInputError` instead, as in ``analyze``.

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.dask_engine.ab import arm_moments_frame
    >>> units = pd.DataFrame({"variant": list("AABB"), "ok": [0.0, 1, 1, 1]})
    >>> arm_statistics(arm_moments_frame(units, "variant", [("ok", "ok", None)]),
    ...                Metric("ok", "binary"), ["A", "B"])[2].tolist()
    [0.5, 1.0]
    """
    notes = [] if notes is None else notes
    name = metric.name
    have = name in table.index.get_level_values(0)
    m = table.xs(name, level="metric").reindex(arms) if have else None
    n = np.zeros(len(arms)) if m is None else m["n"].fillna(0).to_numpy()
    n_nan = np.zeros(len(arms)) if m is None else m["n_nan"].fillna(0).to_numpy()
    if int(n_nan.sum()) and nan_policy == "raise":
        raise ABInputError(f"metric {name!r}: {int(n_nan.sum())} missing values (nan_policy='raise')")
    if n.sum() == 0:
        _skip_or_raise(f"metric {name!r}: no non-missing values", explicit, notes, f"metric {name!r} skipped: no values")
        return None
    if not explicit and _default_would_skip(m, metric, n):
        return None
    if metric.kind == "binary" and m["non_binary"].sum():
        raise ABInputError(f"metric {name!r} is binary but column {metric.column!r} has "
                           f"{int(m['non_binary'].sum())} values other than 0/1/True/False; use kind "
                           "'continuous' or fix the data")
    if metric.kind == "ratio" and (m["min_d"] < 0).any():
        raise ABInputError(f"ratio metric {name!r}: denominator {metric.denominator!r} has negative values")
    lo = m["min_x"].min()
    if metric.kind != "ratio" and lo == m["max_x"].max():
        msg = f"metric {name!r} is constant (every value = {lo:g}): nothing to compare"
        _skip_or_raise(msg, explicit, notes, msg.replace("nothing to compare", "skipped"))
        return None
    for a, k in zip(arms, n):
        if k < 2:
            raise ABInputError(f"metric {name!r}: arm {a!r} has {int(k)} unit(s) with a value; "
                               "at least 2 per arm are needed")
    if metric.kind == "ratio" and (m["sum_d"] <= 0).any():
        raise ABInputError(f"ratio metric {name!r}: denominator {metric.denominator!r} sums to 0 in an arm")
    mean = m["mean"].to_numpy(dtype=float)
    uvar = mean * (1.0 - mean) if metric.kind == "binary" else m["ss"].to_numpy(dtype=float) / np.maximum(n - 1, 1)
    if metric.kind == "ratio" and m["min_ratio"].min() == m["max_ratio"].max() and np.all(uvar == 0):
        _skip_or_raise(f"ratio metric {name!r} is constant: nothing to compare", explicit, notes)
        return None
    return n.astype(np.int64), n_nan.astype(np.int64), mean, uvar
