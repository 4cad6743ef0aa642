"""A/B sufficient statistics on Dask: per-unit metrics on the cluster, per-arm moments to the client.

An A/B test on tens of millions of conversations does not need the units on one machine: every
statistic of :func:`toolkit.ab.analyze` except the rank test, the bootstrap and the sequential
path is a function of a few sums per arm. This module computes them in two passes over the
per-unit table (built on the workers, one partition of whole conversations at a time, with the
pandas unit builder passed in as ``units_fn``):

1. per arm and metric: units with a value ``n``, missing values, ``sum x`` (and ``sum d`` for a
   ratio metric ``sum x / sum d``), minimum and maximum (constant metrics are skipped), values
   that are not 0/1 (refused for a binary metric), negative denominators;
2. with the arm means from pass 1: the centred sum of squares ``sum (x - mean)^2`` or, for a
   ratio ``r = sum x / sum d`` with ``m_d = sum d / n``, the sum of the squared linearised values
   ``sum ((x - r d) / m_d)^2`` -- the cross sums ``sum x^2 - 2 r sum x d + r^2 sum d^2`` of the
   delta method, computed centred so that no precision is lost to cancellation.

The moments then go through the same formulas as the pandas engine (equal to 1e-9; the sums only
run in another order).

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from toolkit.errors import ToolkitError

__all__ = ["user_variant_counts", "Moments", "arm_moments", "arm_moments_frame", "Spec"]

#: one metric to summarise: (name, value column, denominator column or None)
Spec = tuple[str, str, "str | None"]


class MomentsError(ToolkitError):
    """A metric column cannot be summarised (missing, not numeric, infinite values)."""


def _values(units: pd.DataFrame, col: str, name: str) -> np.ndarray:
    if col not in units.columns:
        raise MomentsError(f"metric {name!r}: column {col!r} not found in the per-unit table "
                           f"(columns: {', '.join(map(str, units.columns))})")
    s = units[col]
    if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
        s = pd.to_numeric(s, errors="coerce")
    x = s.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        raise MomentsError(f"metric {name!r}: column {col!r} has infinite values")
    return x


def _arms_of(units: pd.DataFrame, variant_col: str) -> pd.Series:
    return units[variant_col].astype("string")


def _first_pass(units: pd.DataFrame, variant_col: str, specs: Sequence[Spec]) -> pd.DataFrame:
    """Per (metric, arm): counts, sums, extremes (one partition)."""
    arm = _arms_of(units, variant_col)
    in_arm = arm.notna().to_numpy()
    out = [pd.DataFrame({"metric": "", "arm": arm[in_arm].to_numpy(dtype=object), "units": 1.0})
           .groupby(["metric", "arm"]).sum()]
    for name, xc, dc in specs:
        x = _values(units, xc, name)
        d = _values(units, dc, name) if dc else None
        finite = np.isfinite(x) if d is None else np.isfinite(x) & np.isfinite(d)
        ok = finite & in_arm
        f = pd.DataFrame({"metric": name, "arm": arm.to_numpy(dtype=object), "ok": ok, "x": x,
                          "nan": (~finite & in_arm).astype(float)})
        f = f[in_arm]
        g = f.groupby(["metric", "arm"])
        part = pd.DataFrame({"n": g["ok"].sum().astype(float), "n_nan": g["nan"].sum()})
        v = f[f["ok"]]
        gv = v.groupby(["metric", "arm"])["x"]
        part["sum_x"] = gv.sum()
        part["min_x"] = gv.min()
        part["max_x"] = gv.max()
        part["non_binary"] = (~v["x"].isin((0.0, 1.0))).groupby([v["metric"], v["arm"]]).sum().astype(float)
        if d is not None:
            dv = pd.Series(d[in_arm], index=f.index)[f["ok"]]
            gd = dv.groupby([v["metric"], v["arm"]])
            part["sum_d"] = gd.sum()
            part["min_d"] = gd.min()
            part["max_d"] = gd.max()
            ratio = (v["x"] / dv.where(dv > 0)).groupby([v["metric"], v["arm"]])
            part["min_ratio"] = ratio.min()
            part["max_ratio"] = ratio.max()
        out.append(part)
    return pd.concat(out).reset_index()


_SUMS = ("units", "n", "n_nan", "sum_x", "sum_d", "non_binary")
_MINS = ("min_x", "min_d", "min_ratio")
_MAXS = ("max_x", "max_d", "max_ratio")


def _combine_first(parts: pd.DataFrame) -> pd.DataFrame:
    g = parts.groupby(["metric", "arm"])
    cols = [c for c in parts.columns if c not in ("metric", "arm")]
    out = pd.concat([g[[c for c in cols if c in _SUMS]].sum(min_count=1),
                     g[[c for c in cols if c in _MINS]].min(), g[[c for c in cols if c in _MAXS]].max()], axis=1)
    for c in ("units", "n", "n_nan", "sum_x", "non_binary"):  # sum_d stays NaN: not a ratio metric
        if c in out.columns:
            out[c] = out[c].fillna(0.0)
    n = out["n"].where(out["n"] > 0)
    if "sum_d" in out.columns:
        ratio = out["sum_d"].notna()
        out["mean"] = np.where(ratio, out["sum_x"] / out["sum_d"].where(out["sum_d"] > 0), out["sum_x"] / n)
        out["mean_d"] = out["sum_d"] / n
    else:
        out["mean"] = out["sum_x"] / n
    return out


def _second_pass(units: pd.DataFrame, variant_col: str, specs: Sequence[Spec], first: pd.DataFrame) -> pd.DataFrame:
    """Per (metric, arm): the centred sum of squares (linearised values for ratios)."""
    arm = _arms_of(units, variant_col)
    in_arm = arm.notna().to_numpy()
    out = []
    for name, xc, dc in specs:
        x = _values(units, xc, name)
        d = _values(units, dc, name) if dc else None
        ok = (np.isfinite(x) if d is None else np.isfinite(x) & np.isfinite(d)) & in_arm
        a = arm.to_numpy(dtype=object)[ok]
        keys = pd.MultiIndex.from_arrays([np.full(a.size, name, dtype=object), a])
        mean = first["mean"].reindex(keys).to_numpy()
        if d is None:
            dev = x[ok] - mean
        else:
            dev = (x[ok] - mean * d[ok]) / first["mean_d"].reindex(keys).to_numpy()
        out.append(pd.DataFrame({"metric": name, "arm": a, "ss": dev * dev}).groupby(["metric", "arm"]).sum())
    return pd.concat(out).reset_index() if out else pd.DataFrame(columns=["metric", "arm", "ss"])


def arm_moments_frame(units: pd.DataFrame, variant_col: str, specs: Sequence[Spec]) -> pd.DataFrame:
    """The per-arm moments of an in-memory unit table (what :func:`arm_moments` computes at scale).

    Returns a frame indexed by (metric, arm) with ``units`` (arm size, on metric ``""``), ``n``,
    ``n_nan``, ``sum_x``, ``min_x``, ``max_x``, ``non_binary``, ``mean`` and ``ss``; ratio metrics
    add ``sum_d``, ``min_d``, ``max_d``, ``min_ratio``, ``max_ratio``, ``mean_d``.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"variant": ["A", "A", "B", "B", None], "x": [1.0, 3.0, 2.0, 6.0, 9.0]})
    >>> m = arm_moments_frame(units, "variant", [("x", "x", None)])
    >>> m.loc[("x", "B"), ["n", "mean", "ss"]].tolist()
    [2.0, 4.0, 8.0]
    """
    first = _combine_first(_first_pass(units, variant_col, specs))
    ss = _second_pass(units, variant_col, specs, first).groupby(["metric", "arm"])["ss"].sum()
    return first.join(ss)


@dataclass(frozen=True)
class Moments:
    """Per-arm sufficient statistics of a unit table on Dask.

    Attributes
    ----------
    table : DataFrame
        See :func:`arm_moments_frame`.
    n_units : dict
        Units per arm (with a variant).
    n_missing_variant : int
        Units without a variant.
    """

    table: pd.DataFrame
    n_units: dict[str, int]
    n_missing_variant: int


def _missing_variant(units: pd.DataFrame, variant_col: str) -> pd.DataFrame:
    return pd.DataFrame({"missing": [int(units[variant_col].isna().sum())]})


def arm_moments(dlog, units_fn: Callable[[Any], pd.DataFrame], variant_col: str,
                specs: Sequence[Spec]) -> Moments:
    """Build the unit table on the cluster and reduce it to per-arm moments (two passes).

    Parameters
    ----------
    dlog : DaskLog
    units_fn : callable
        ``ConversationLog -> per-unit DataFrame`` for one partition of whole conversations
        (:func:`toolkit.ab.units.units_from_log`).
    variant_col : str
    specs : list of (name, column, denominator column or None)

    Returns
    -------
    Moments

    Examples
    --------
    >>> import dask
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> from toolkit.ab.units import units_from_log
    >>> with dask.config.set(scheduler="sync"):
    ...     mom = arm_moments(dlog, units_from_log, "variant", [("rt", "total_response_time_s", "n_turns")])
    >>> mom.n_units == units_from_log(log)["variant"].value_counts().sort_index().to_dict()
    True
    """
    from toolkit.dask_engine.client import compute

    units = dlog.map_logs(units_fn).persist()
    example = units_fn(dlog.example)
    try:
        try:
            p1, miss = compute(
                units.map_partitions(_first_pass, variant_col, list(specs),
                                     meta=_first_pass(example, variant_col, specs).iloc[:0]),
                units.map_partitions(_missing_variant, variant_col, meta=_missing_variant(example, variant_col).iloc[:0]),
                label="A/B: units, first pass")
        except MomentsError as exc:
            raise MomentsError(str(exc)) from None
        first = _combine_first(p1)
        p2, = compute(units.map_partitions(_second_pass, variant_col, list(specs), first,
                                           meta=pd.DataFrame({"metric": pd.Series(dtype=object),
                                                              "arm": pd.Series(dtype=object),
                                                              "ss": pd.Series(dtype=float)})),
                      label="A/B: second pass")
    finally:
        del units
    table = first.join(p2.groupby(["metric", "arm"])["ss"].sum())
    sizes = table.xs("", level="metric")["units"] if "" in table.index.get_level_values(0) else pd.Series(dtype=float)
    return Moments(table=table, n_units={str(k): int(v) for k, v in sizes.items()},
                   n_missing_variant=int(miss["missing"].sum()))


def user_variant_counts(dlog, variant_col: str = "variant"):
    """Per user: conversations and distinct variants, and the arms' shares, from the
    conversations table on the cluster (``None`` without one or without ``user_id``); what
    :func:`toolkit.ab.randomisation.check_counts` needs.

    Examples
    --------
    >>> user_variant_counts(type("L", (), {"raw_conversations": None})()) is None
    True
    """
    conv = dlog.raw_conversations
    if conv is None or "user_id" not in conv.columns or variant_col not in conv.columns:
        return None
    d = conv[["user_id", variant_col]].dropna()
    n = d.groupby("user_id")[variant_col].count().compute()
    nv = d.drop_duplicates().groupby("user_id")[variant_col].count().compute()
    shares = d[variant_col].value_counts().compute()
    return n.to_numpy(), nv.reindex(n.index).to_numpy(), (shares / shares.sum()).to_numpy()
