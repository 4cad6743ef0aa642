"""Bucketed aggregates of a log on Dask, for :func:`toolkit.series.metric_series`.

Each partition (whole conversations, see :mod:`toolkit.dask_engine.read`) is turned into its bucket
frame (``bucket``, ``v`` and the group ``g``) on a worker and reduced there to partial sums per
bucket: rows, non-missing values and their sum. The client adds the partials up; a mean is the
summed values over the summed counts. The 95th percentile needs every value of a bucket: the
bucket frames (two small columns) are shuffled on the bucket, then each bucket's quantile is taken
where it lives. Only these aggregates (one row per bucket and group) reach the client.

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"bucket": [1, 1, 2], "v": [1.0, 3.0, None]})
>>> _partials(f).to_dict("list")
{'bucket': [1, 2], 'size': [2.0, 1.0], 'count': [2.0, 0.0], 'sum': [4.0, 0.0]}
>>> _combine(_partials(f), ["bucket"], "mean").tolist()
[2.0, nan]
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import pandas as pd

__all__ = ["bucket_aggregate"]


def _keys(frame: pd.DataFrame) -> list[str]:
    return ["g", "bucket"] if "g" in frame.columns else ["bucket"]


def _partials(frame: pd.DataFrame) -> pd.DataFrame:
    g = frame.groupby(_keys(frame), sort=False)["v"]
    out = pd.DataFrame({"size": g.size().astype("float64"), "count": g.count().astype("float64"),
                        "sum": g.sum().astype("float64")})
    return out.reset_index()


def _partials_of(log, frame_fn: Callable) -> pd.DataFrame:
    return _partials(frame_fn(log))


def _combine(parts: pd.DataFrame, keys: list[str], how: str) -> pd.Series:
    tot = parts.groupby(keys, sort=True)[["size", "count", "sum"]].sum()
    if how in ("size", "count"):
        return tot[how]
    if how == "sum":
        return tot["sum"].where(tot["count"] > 0, 0.0)
    return (tot["sum"] / tot["count"].where(tot["count"] > 0)).astype("float64")


def _quantile95(frame: pd.DataFrame) -> pd.DataFrame:
    keys = _keys(frame)
    return frame.groupby(keys, sort=True)["v"].quantile(0.95).rename("v").reset_index()


def bucket_aggregate(dlog, frame_fn: Callable, range_fn: Callable, how: str) -> tuple[pd.Series, tuple[Any, Any], list | None]:
    """Aggregate ``frame_fn(partition)`` per bucket (and group) on the cluster.

    Parameters
    ----------
    dlog : DaskLog
    frame_fn : callable
        ``ConversationLog -> DataFrame`` with ``bucket``, ``v`` and optionally ``g``.
    range_fn : callable
        ``ConversationLog -> DataFrame`` with one row ``lo``, ``hi`` (first and last timestamp).
    how : {"size", "count", "sum", "mean", "quantile"}

    Returns
    -------
    (Series indexed like pandas' groupby on the keys, (first, last timestamp), sorted groups or None)

    Examples
    --------
    >>> import dask
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> from toolkit.series import metric_series       # engine="dask" lands here
    >>> with dask.config.set(scheduler="sync"):
    ...     v = metric_series(dlog, "turns", "h", engine="dask")
    >>> v.equals(metric_series(log, "turns", "h"))
    True
    """
    from toolkit.dask_engine.client import compute

    example = frame_fn(dlog.example)
    keys = _keys(example)
    ranges = dlog.map_logs(range_fn)
    if how == "quantile":
        frames = dlog.map_logs(frame_fn)
        shuffled = frames.shuffle(on=keys, npartitions=max(1, dlog.npartitions))
        q = shuffled.map_partitions(_quantile95, meta=_quantile95(example).iloc[:0])
        res, rng = compute(q, ranges, label="series: p95 per bucket")
        agg = res.set_index(keys)["v"].sort_index()
    else:
        parts = dlog.map_logs(functools.partial(_partials_of, frame_fn=frame_fn), meta=_partials(example).iloc[:0])
        res, rng = compute(parts, ranges, label="series: sums per bucket")
        agg = _combine(res, keys, how)
    groups = sorted(res["g"].unique()) if "g" in keys else None
    return agg, (rng["lo"].min(), rng["hi"].max()), groups

