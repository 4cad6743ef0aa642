"""Metric series from a conversation log: :func:`metric_series` and its :data:`METRICS`.

Examples
--------
>>> sorted(METRICS)[:3]
['conversations', 'cost', 'error_rate']
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import pandas as pd

from toolkit.series.grid import MAX_GRID_STEPS, SeriesError, _norm_freq

__all__ = ["METRICS", "metric_series", "recorded"]


#: metric name -> (source table, kind, description). Kinds: ``count`` and ``sum`` fill empty
#: buckets with 0 and are non-negative; ``mean``, ``rate`` and ``quantile`` leave them missing.
METRICS: dict[str, tuple[str, str, str]] = {
    "volume": ("conversations", "count", "conversations started per bucket"),
    "conversations": ("conversations", "count", "conversations started per bucket"),
    "turns": ("turns", "count", "bot responses per bucket"),
    "response_time_mean": ("turns", "mean", "mean response time (s)"),
    "response_time_p95": ("turns", "quantile", "95th percentile of response time (s)"),
    "quality": ("turns", "mean", "mean response quality score (toolkit.quality)"),
    "error_rate": ("turns", "rate", "share of turns with an error"),
    "cost": ("turns", "sum", "total cost (USD)"),
    "tokens": ("turns", "sum", "total prompt + completion tokens"),
    "resolution": ("conversations", "rate", "share of conversations resolved (of those rated)"),
    "satisfaction": ("conversations", "mean", "mean satisfaction of conversations started"),
}

_ALIASES = {
    "response_time": "response_time_mean",
    "latency": "response_time_mean",
    "p95": "response_time_p95",
    "errors": "error_rate",
    "cost_usd": "cost",
    "resolved": "resolution",
    "resolution_rate": "resolution",
}

_BY_ALIASES = {"bot": "bot_id", "bots": "bot_id", "variants": "variant", "models": "model"}


def _resolve_metric(log, metric: str) -> tuple[str, str, str]:
    m = _ALIASES.get(metric, metric)
    if m in METRICS:
        return m, METRICS[m][0], METRICS[m][1]
    t = log.turns
    if m in t.columns and pd.api.types.is_numeric_dtype(t[m]) and not pd.api.types.is_bool_dtype(t[m]):
        return m, "turns", "mean"
    c = log.conversations
    if m in c.columns and (pd.api.types.is_numeric_dtype(c[m]) or pd.api.types.is_bool_dtype(c[m])):
        return m, "conversations", "mean"
    raise SeriesError(
        f"unknown metric {metric!r}: use one of {sorted(METRICS)} or a numeric column of the turns "
        f"or conversations table"
    )


def _with_quality(log, scorer: Callable | None):
    """Turns with a ``quality`` column: the log's own, or ``scorer(log)``'s.

    The scoring lives in the analyses layer (:func:`toolkit.quality.score_log`); this data-layer
    module never imports it, so the caller passes it (``scorer=score_log``).
    """
    t = log.turns
    if "quality" in t.columns:
        return t
    if scorer is None:
        raise SeriesError(
            "metric 'quality' needs a turns.quality column: score the log first "
            "(toolkit.quality.score_log) or pass scorer=toolkit.quality.score_log"
        )
    scored = scorer(log)
    turns = getattr(scored, "turns", scored)
    if not (isinstance(turns, pd.DataFrame) and "quality" in turns.columns):
        raise SeriesError(f"metric 'quality': scorer {getattr(scorer, '__name__', scorer)!r} returned no turns.quality column")
    return turns


def metric_series(
    log,
    metric: str = "volume",
    freq: str = "h",
    *,
    by: str | None = None,
    start: Any = None,
    end: Any = None,
    tz: str | None = None,
    counts: bool = False,
    scorer: Callable | None = None,
    engine: str = "pandas",
) -> pd.Series | pd.DataFrame:
    """Aggregate a conversation log into a regular metric series.

    Parameters
    ----------
    log : ConversationLog
        A validated log (:func:`toolkit.io.load`).
    metric : str
        One of :data:`METRICS` (``volume`` = conversations started, ``turns``,
        ``response_time_mean``, ``response_time_p95``, ``quality``, ``error_rate``, ``cost``,
        ``tokens``, ``resolution``, ``satisfaction``) or any numeric column (bucket mean).
        ``quality`` uses ``turns.quality`` (added by :func:`toolkit.quality.score_log`, or by
        ``scorer``).
    freq : str
        ``'h'`` (hourly) or ``'d'`` (daily), or another fixed duration (``'15min'``, ``'6h'``,
        ``'7D'``); calendar frequencies (weeks starting on a weekday, months) are rejected.
    by : str, optional
        ``'variant'``, ``'bot_id'`` (or ``'bot'``) or ``'model'``: one series per value.
        Rows with no value form the series ``'(none)'``.
    start, end : timestamp, optional
        Grid bounds (default: the log's first and last timestamps, floored to ``freq``).
    tz : str, optional
        Bucket in this time zone (e.g. ``'Europe/Paris'``: days start at local midnight);
        default UTC.
    counts : bool
        Return, instead of the metric, the number of observations behind each bucket's value
        (turns or conversations with a non-missing value; 0 for empty buckets), on the same
        grid: the weights of :func:`toolkit.forecasting.detect_anomalies`.
    scorer : callable, optional
        For ``quality`` on a log without ``turns.quality``: ``scorer(log)`` returns a scored log
        (or turns), e.g. ``toolkit.quality.score_log``. Without it such a log is an error.
    engine : {"pandas", "dask"}
        ``"dask"``: ``log`` is a :class:`toolkit.dask_engine.read.DaskLog` (or a path to one); rows are
        bucketed on the cluster and the per-bucket partial sums and counts (all values of a bucket
        for the p95) combined into the same series as the pandas engine. ``quality`` needs a
        log scored before (``toolkit score --engine dask``): a scorer would fit its TF-IDF on
        each partition alone.

    Returns
    -------
    Series or DataFrame
        A float Series named ``metric`` on a regular index with ``freq`` set (``attrs``: metric,
        kind, freq); with ``by``, a DataFrame with one column per group. Empty buckets are 0
        for counts and sums, NaN for means, rates and quantiles.

    Examples
    --------
    >>> import toolkit
    >>> from toolkit.series import metric_series
    >>> log = toolkit.load_sample()
    >>> v = metric_series(log, "volume", "d")
    >>> v.index.freqstr, bool((v >= 0).all())
    ('D', True)
    >>> metric_series(log, "response_time_mean", "h", by="variant").shape[1] >= 2
    True
    >>> n = metric_series(log, "response_time_mean", "h", counts=True)   # turns per hour
    >>> int(n.sum()) == len(log.turns)
    True
    """
    from toolkit.dask_engine.client import check_engine

    dask = check_engine(engine) == "dask"
    if dask:
        from toolkit.dask_engine.read import DaskLog, read_log

        log = log if isinstance(log, DaskLog) else read_log(log)
        if scorer is not None:
            raise SeriesError("engine='dask' takes no scorer: score the log on the engine first "
                              "(toolkit score PATH --engine dask --out scored/) and read the scored folder")
    name, table, kind = _resolve_metric(log.example if dask else log, metric)
    f = _norm_freq(freq)
    if not isinstance(pd.tseries.frequencies.to_offset(f), (pd.offsets.Tick, pd.offsets.Day)):
        raise SeriesError(
            f"freq {freq!r} is a calendar frequency; a log is bucketed by fixed durations: use 'h', 'd' "
            "or e.g. '15min', '6h', '7D'"
        )
    by = _BY_ALIASES.get(by, by) if by is not None else None
    how = "count" if counts else {"count": "size", "sum": "sum", "quantile": "quantile"}.get(kind, "mean")
    if dask:
        from toolkit.dask_engine.series import bucket_aggregate

        agg, (lo_all, hi_all), groups = bucket_aggregate(
            log, functools.partial(_bucket_frame, name=name, table=table, freq=f, by=by, tz=tz, scorer=None),
            functools.partial(_time_range, tz=tz), how)
    else:
        _check_sum_source(log, name)
        frame = _bucket_frame(log, name=name, table=table, freq=f, by=by, tz=tz, scorer=scorer)
        lo_all, hi_all = _time_range(log, tz=tz).iloc[0]
        agg, groups = _aggregate(frame, how), (sorted(frame["g"].unique()) if by is not None else None)
    grid = _grid(lo_all, hi_all, start, end, f)
    if counts:
        kind = "count"
    attrs = {"metric": name, "kind": kind, "freq": f, **({"counts": True} if counts else {})}
    if by is None:
        return _finish(agg, grid, name, kind, attrs)
    out = pd.DataFrame({grp: _finish(agg.xs(grp, level="g"), grid, grp, kind, attrs) for grp in groups})
    out.index.freq = grid.freq
    out.columns.name = by
    out.attrs = {"metric": name, "kind": kind, "freq": f, "by": by}
    return out


def _bucket_frame(log, *, name: str, table: str, freq: str, by: str | None, tz: str | None,
                  scorer: Callable | None) -> pd.DataFrame:
    """One row per turn or conversation: its bucket, the value to aggregate and its group."""
    if table == "turns":
        df = _with_quality(log, scorer) if name == "quality" else log.turns
        ts = df["timestamp"]
    else:
        df = log.conversations
        ts = df["start_time"] if "start_time" in df.columns else None
        if ts is None:
            raise SeriesError("conversations.start_time is missing: validate the log with toolkit.log.validate")
    if by is not None and by not in df.columns:
        other = log.conversations if table == "turns" else log.turns
        if by in other.columns:
            key = "conversation_id"
            lookup = other.drop_duplicates(key).set_index(key)[by]
            df = df.assign(**{by: df[key].map(lookup)})
        else:
            raise SeriesError(f"by={by!r}: no such column in the {table} table; use 'variant', 'bot_id' or 'model'")
    if tz is not None:
        ts = ts.dt.tz_convert(tz)
    frame = pd.DataFrame({"bucket": ts.dt.floor(freq).to_numpy(), "v": _values(df, name).to_numpy()})
    if by is not None:
        frame["g"] = df[by].astype("string").fillna("(none)").to_numpy(dtype=object)
    return frame


#: the columns a sum metric adds up (a missing value counts 0)
_SUM_SOURCES = {"cost": ("cost_usd",), "tokens": ("prompt_tokens", "completion_tokens")}


def recorded(log, name: str) -> bool:
    """Whether ``log`` records what metric ``name`` adds up (always true but for ``cost`` and
    ``tokens``, which need a cost or token column with values).

    Examples
    --------
    >>> import toolkit
    >>> log = toolkit.load_sample()
    >>> recorded(log, "cost"), recorded(log.with_turns(log.turns.drop(columns="cost_usd")), "cost")
    (True, False)
    """
    cols = _SUM_SOURCES.get(name)
    t = log.turns
    return cols is None or any(c in t.columns and t[c].notna().any() for c in cols)


def _check_sum_source(log, name: str) -> None:
    """A sum over a column the log does not record at all would be a series of zeros (and a
    forecast of 0 +/- 0): refused, naming the column."""
    cols = _SUM_SOURCES.get(name)
    if not recorded(log, name):
        raise SeriesError(f"{name}: the log records no {' or '.join('turns.' + c for c in cols)} (every value is "
                          f"missing), so its {name} series would be all zeros")


def _values(df: pd.DataFrame, name: str) -> pd.Series:
    """The value each row contributes to its bucket."""
    if name in ("volume", "conversations", "turns"):
        return pd.Series(1.0, index=df.index)
    if name in ("response_time_mean", "response_time_p95"):
        return df["response_time_s"].astype("float64")
    if name == "error_rate":
        return df["error"].notna().astype("float64")
    if name == "cost":
        return df["cost_usd"].astype("float64")
    if name == "tokens":
        return (df["prompt_tokens"].astype("Float64").fillna(0)
                + df["completion_tokens"].astype("Float64").fillna(0)).astype("float64")
    if name == "resolution":
        return df["resolved"].astype("Float64").astype("float64")
    return pd.to_numeric(df[name], errors="coerce").astype("float64")


def _time_range(log, *, tz: str | None) -> pd.DataFrame:
    """First and last timestamp of the log (turns and conversation starts), in ``tz``."""
    all_ts = pd.concat([log.turns["timestamp"], log.conversations.get("start_time", log.turns["timestamp"])])
    if tz is not None:
        all_ts = all_ts.dt.tz_convert(tz)
    return pd.DataFrame({"lo": [all_ts.min()], "hi": [all_ts.max()]})


def _grid(lo_all, hi_all, start: Any, end: Any, freq: str) -> pd.DatetimeIndex:
    if pd.isna(lo_all):
        raise SeriesError("the log is empty: no timestamps to build a series from")
    lo = pd.Timestamp(start) if start is not None else lo_all
    hi = pd.Timestamp(end) if end is not None else hi_all
    if lo.tzinfo is None:
        lo = lo.tz_localize(lo_all.tz)
    if hi.tzinfo is None:
        hi = hi.tz_localize(lo_all.tz)
    lo, hi = lo.floor(freq), hi.floor(freq)
    try:
        step_ns = pd.tseries.frequencies.to_offset(freq).nanos  # fixed steps only (not months, years)
    except ValueError:
        step_ns = None
    n_steps = (hi - lo).value // step_ns + 1 if step_ns and hi >= lo else 0
    if n_steps > MAX_GRID_STEPS:
        raise SeriesError(f"{n_steps:,} buckets of {freq} from {lo} to {hi}: more than {MAX_GRID_STEPS:,} "
                          "(a stray timestamp far from the others? give start=/end= or a coarser freq)")
    grid = pd.date_range(lo, hi, freq=freq)
    if len(grid) == 0:
        raise SeriesError(f"start {lo} is after end {hi}: no buckets")
    return grid


def _aggregate(frame: pd.DataFrame, how: str) -> pd.Series:
    """Aggregate the bucket frame: ``count`` (non-missing), ``size``, ``sum``, ``quantile`` (p95), ``mean``."""
    keys = ["g", "bucket"] if "g" in frame.columns else ["bucket"]
    g = frame.groupby(keys, sort=True)["v"]
    if how == "count":
        return g.count().astype("float64")
    if how == "size":
        return g.size().astype("float64")
    if how == "sum":
        return g.sum(min_count=1).fillna(0.0)
    if how == "quantile":
        return g.quantile(0.95)
    return g.mean()


def _finish(s: pd.Series, grid: pd.DatetimeIndex, label: str, kind: str, attrs: dict) -> pd.Series:
    s = s.reindex(grid)
    if kind in ("count", "sum"):
        s = s.fillna(0.0)
    s.index.name = "timestamp"
    s.index.freq = grid.freq
    s.name = label
    s.attrs = dict(attrs)
    return s.astype("float64")

