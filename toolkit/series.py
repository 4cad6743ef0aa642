"""Metric series: regular time series built from a conversation log or read from a file.

A *series* here is a ``pandas.Series`` of floats on a regular ``DatetimeIndex`` (its ``freq``
set), named after its metric. Two sources:

* :func:`metric_series` aggregates a :class:`~toolkit.log.ConversationLog` into hourly or daily
  buckets: volume (conversations started, turns), response time (mean, p95), quality, error
  rate, cost, resolution, satisfaction, optionally one series per variant or bot. Empty buckets
  are filled by the metric's kind: **zero for counts and sums** (no conversation started that
  hour), **missing (NaN) for means, rates and quantiles** (there is nothing to average).
* :func:`read_series` reads a file holding a two-column table ``timestamp,value`` or a long
  table ``series_id,timestamp,value`` with many series.

:func:`regularize` puts any series on its grid and rejects what cannot be put there, naming the
rule and the offending timestamps (duplicates, off-grid timestamps); missing grid points become
NaN and are reported, never silently dropped.

Examples
--------
>>> import pandas as pd
>>> from toolkit.series import regularize
>>> y = pd.Series([1.0, 2.0, 4.0], index=pd.to_datetime(
...     ["2026-01-01 00:00", "2026-01-01 01:00", "2026-01-01 03:00"], utc=True))
>>> r = regularize(y)
>>> r.index.freqstr, int(r.isna().sum())
('h', 1)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from toolkit.validation import has_utc_offset
from toolkit.errors import ToolkitError

__all__ = [
    "SeriesError",
    "METRICS",
    "metric_series",
    "regularize",
    "infer_freq",
    "default_season",
    "read_series",
    "split_long",
    "to_long",
    "is_series_table",
    "peek_columns",
    "series_label",
]


#: the largest absolute value a series may hold (larger ones overflow the models' sums of squares)
MAX_VALUE = 1e15


class SeriesError(ToolkitError):
    """A series cannot be built or modelled: the message names the rule and offending values."""


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


def _norm_freq(freq: str | None) -> str | None:
    if freq is None:
        return None
    f = str(freq).strip()
    low = f.lower()
    if low in ("h", "hour", "hourly", "1h"):
        return "h"
    if low in ("d", "day", "daily", "1d"):
        return "D"
    if low in ("w", "week", "weekly"):
        return "W"
    if low in ("m", "month", "monthly", "ms"):
        return "MS"
    try:
        return pd.tseries.frequencies.to_offset(f).freqstr
    except ValueError:
        raise SeriesError(f"unknown frequency {freq!r}: use 'h' (hourly), 'd' (daily) or a pandas alias") from None


def default_season(freq: str | None) -> int:
    """The usual seasonal period for a frequency: 24 hourly, 7 daily, 52 weekly, 12 monthly.

    Examples
    --------
    >>> default_season("h"), default_season("D"), default_season("MS"), default_season(None)
    (24, 7, 12, 1)
    """
    if not freq:
        return 1
    try:
        off = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return 1
    name = off.rule_code.upper()
    n = getattr(off, "n", 1) or 1
    if name in ("H", "BH"):
        return max(1, 24 // n) if 24 % n == 0 else 1
    if name in ("MIN", "T"):
        return max(1, 60 // n) if 60 % n == 0 else 1
    if name == "D":
        return 7 if n == 1 else (52 if n == 7 else 1)
    if name.startswith("W"):
        return 52 if n == 1 else 1
    if name in ("MS", "ME", "M", "BMS", "BME"):
        return 12 if n == 1 else 1
    if name.startswith("Q"):
        return 4 if n == 1 else 1
    return 1


def series_label(name: Any) -> str:
    """``series 'name'`` (or ``series (unnamed)``) for messages.

    Examples
    --------
    >>> series_label("volume"), series_label(None)
    ("series 'volume'", 'series (unnamed)')
    """
    return f"series {name!r}" if name is not None else "series (unnamed)"


def _fmt_ts(ts: Iterable[Any], limit: int = 5) -> str:
    ts = list(ts)
    shown = ", ".join(str(t) for t in ts[:limit])
    more = f" (+{len(ts) - limit} more)" if len(ts) > limit else ""
    return shown + more


def infer_freq(index: pd.DatetimeIndex) -> str:
    """Infer the sampling frequency of timestamps, tolerating gaps.

    The most common step between consecutive timestamps; month, quarter and year starts/ends
    are recognised. Raises :class:`SeriesError` when fewer than 3 distinct
    timestamps are given.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_freq(pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05"]))
    'D'
    >>> infer_freq(pd.to_datetime(["2026-01-01", "2026-02-01", "2026-04-01"]))
    'MS'
    """
    idx = pd.DatetimeIndex(index).sort_values().unique()
    if len(idx) < 3:
        raise SeriesError(f"cannot infer the frequency from {len(idx)} distinct timestamp(s); give freq= (e.g. 'h' or 'd')")
    steps = pd.Series(np.diff(idx.to_numpy()))
    step = pd.Timedelta(steps.mode().iloc[0])
    if pd.Timedelta(days=28) <= step <= pd.Timedelta(days=31):
        if (idx.day == 1).all():
            return "MS"
        if idx.is_month_end.all():
            return "ME"
    if pd.Timedelta(days=89) <= step <= pd.Timedelta(days=92):
        if (idx.day == 1).all() and (idx.month % 3 == 1).all():
            return "QS"
        if idx.is_quarter_end.all():
            return "QE"
    if pd.Timedelta(days=365) <= step <= pd.Timedelta(days=366):
        if ((idx.day == 1) & (idx.month == 1)).all():
            return "YS"
        if idx.is_year_end.all():
            return "YE"
    if step >= pd.Timedelta(days=1) and step % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{step.days}D" if step.days > 1 else "D"
    return pd.tseries.frequencies.to_offset(step).freqstr


def regularize(y: pd.Series, freq: str | None = None, *, name: str | None = None) -> pd.Series:
    """Put a series on its regular time grid; reject duplicates and off-grid timestamps.

    Parameters
    ----------
    y : Series
        Values indexed by timestamps (any order).
    freq : str, optional
        The grid (``'h'``, ``'d'`` or a pandas alias); inferred when omitted.
    name : str, optional
        Name used in error messages (defaults to ``y.name``).

    Returns
    -------
    Series
        float64, sorted, on ``pd.date_range(first, last, freq)`` with ``index.freq`` set. Grid
        points with no value are NaN (``attrs['n_gaps']`` counts them).

    Raises
    ------
    SeriesError
        Duplicate timestamps (rule "timestamps must be unique"), timestamps that do not fall on
        the grid (rule "timestamps must be regular"), non-numeric values or a non-datetime index.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([1.0, 2.0], index=pd.to_datetime(["2026-01-01 00:00", "2026-01-01 00:00"]))
    >>> regularize(y, "h")
    Traceback (most recent call last):
    ...
    toolkit.series.SeriesError: series (unnamed): timestamps must be unique; duplicated: 2026-01-01 00:00:00
    """
    label = series_label(name if name is not None else y.name)
    if not isinstance(y.index, pd.DatetimeIndex):
        try:
            idx = pd.DatetimeIndex(pd.to_datetime(y.index))
        except (ValueError, TypeError):
            raise SeriesError(f"{label}: the index must be timestamps") from None
    else:
        idx = y.index
    if idx.hasnans:
        bad = np.flatnonzero(idx.isna())
        raise SeriesError(f"{label}: timestamps must not be missing; missing at positions {_fmt_ts(bad)}")
    try:
        values = pd.to_numeric(pd.Series(np.asarray(y, dtype=object), index=idx), errors="raise")
    except (ValueError, TypeError):
        vals = pd.to_numeric(pd.Series(np.asarray(y, dtype=object), index=idx), errors="coerce")
        bad = idx[vals.isna() & pd.Series(np.asarray(y, dtype=object)).notna().to_numpy()]
        raise SeriesError(f"{label}: values must be numeric; not numeric at {_fmt_ts(bad)}") from None
    values = values.astype("float64").sort_index(kind="stable")
    dup = values.index[values.index.duplicated()].unique()
    if len(dup):
        raise SeriesError(f"{label}: timestamps must be unique; duplicated: {_fmt_ts(dup)}")
    f = _norm_freq(freq) if freq else infer_freq(values.index)
    if len(values) == 0:
        raise SeriesError(f"{label} is empty")
    grid = pd.date_range(values.index[0], values.index[-1], freq=f)
    off = values.index.difference(grid)
    if len(off):
        raise SeriesError(
            f"{label}: timestamps must be regular (every {f} from {values.index[0]}); "
            f"{len(off)} off the grid: {_fmt_ts(off)} (aggregate or resample them first)"
        )
    out = values.reindex(grid)
    out.index.name = "timestamp"
    out.name = y.name if name is None else name
    out.attrs = {**y.attrs, "n_gaps": int(len(grid) - len(values)), "freq": f}
    return out


# ------------------------------------------------------------------------------------------
# series from a conversation log
# ------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------
# series from files; long format
# ------------------------------------------------------------------------------------------


def is_series_table(columns: Iterable[str]) -> bool:
    """Whether a table's columns are a series file: ``timestamp,value`` (+ ``series_id``).

    Examples
    --------
    >>> is_series_table(["series_id", "timestamp", "value"]), is_series_table(["timestamp", "turn"])
    (True, False)
    """
    cols = {str(c).strip().lower() for c in columns}
    return {"timestamp", "value"} <= cols and cols <= {"timestamp", "value", "series_id"}




def peek_columns(path: str | os.PathLike) -> list[str] | None:
    """Column names of a CSV, JSON Lines or Parquet file without reading it all.

    None for a folder, another kind of file or one that cannot be read (a conversation log
    loader gives the precise error then).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("timestamp,value\\n2026-01-01,1\\n")
    >>> peek_columns(p)
    ['timestamp', 'value']
    """
    import json

    path = Path(path)
    if not path.is_file():
        return None
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix in (".csv", ".txt"):
            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        if suffix in (".jsonl", ".ndjson", ".json"):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        obj = json.loads(line)
                        return list(obj) if isinstance(obj, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    except Exception:  # noqa: BLE001 - e.g. pyarrow errors on a broken file
        return None
    return None



def _parse_timestamps(raw: pd.Series, where: str, tz: str | None = None) -> pd.Series:
    """Parse timestamps: aware ones to UTC; naive dates kept naive; naive times of day localised
    in ``tz`` (to UTC) and rejected without it, as in a log; never a mix."""
    if raw.isna().any():
        rows = list(raw.index[raw.isna()])
        raise SeriesError(f"{where}.timestamp must not be missing; missing in rows {_fmt_ts(rows)}")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return raw.dt.tz_convert("UTC") if raw.dt.tz is not None else raw
    text = raw.astype("string").str.strip()
    aware = has_utc_offset(text)
    if aware.any() and not aware.all():
        naive_rows = list(raw.index[~aware])
        raise SeriesError(
            f"{where}.timestamp mixes naive and time-zone-aware values; naive in rows {_fmt_ts(naive_rows)}"
        )
    parsed = pd.to_datetime(text, errors="coerce", utc=bool(aware.any()), format="mixed")
    bad = raw[parsed.isna().to_numpy()]
    if len(bad):
        raise SeriesError(f"{where}.timestamp must be a date/time; cannot parse rows {_fmt_ts(f'{i} ({v!r})' for i, v in bad.items())}")
    timed = text.str.contains(r"[T ]\d", regex=True).fillna(False).to_numpy(dtype=bool)
    if not aware.any() and timed.any():
        if tz is None:
            rows = list(raw.index[timed])
            raise SeriesError(
                f"{where}.timestamp has naive times (no UTC offset) in rows {_fmt_ts(rows)}; they are not "
                "guessed: write them with an offset (2026-01-01T10:00:00Z) or pass the time zone they "
                "were recorded in (--tz / tz=)"
            )
        from toolkit.validation import check_timezone

        local = parsed.dt.tz_localize(check_timezone(tz, "tz"), ambiguous="NaT", nonexistent="NaT")
        if local.isna().any():
            rows = list(raw.index[local.isna().to_numpy()])
            raise SeriesError(f"{where}.timestamp has times that do not exist or are ambiguous in {tz}: rows {_fmt_ts(rows)}")
        return local.dt.tz_convert("UTC")
    return parsed


def read_series(path: str | os.PathLike | pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """Read a series file: ``timestamp,value`` or long ``series_id,timestamp,value``.

    CSV, JSON Lines and Parquet are accepted (as in :func:`toolkit.io.read_table`). Time-zone
    aware timestamps are converted to UTC; naive dates (``2026-01-01``) are kept naive; naive
    times of day are localised in ``tz`` and converted to UTC, and rejected without it (no zone
    is guessed, as for a log).

    Parameters
    ----------
    path : path or DataFrame
        The series file, or a frame with ``timestamp`` and ``value`` (and ``series_id``).
    tz : str, optional
        Time zone of naive times of day (e.g. ``"Europe/Berlin"``).

    Returns
    -------
    DataFrame
        Long table ``series_id, timestamp, value`` (a two-column file gets the file's stem as
        ``series_id``; a DataFrame ``'value'``), sorted by series and time. Grids are not enforced
        here: see :func:`split_long` / :func:`regularize`.

    Raises
    ------
    SeriesError
        Missing columns, unparseable timestamps, non-numeric values, duplicate
        (series_id, timestamp) pairs: each names the offending rows.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"timestamp": ["2026-01-01", "2026-01-02"], "value": [1, 2]})
    >>> read_series(raw)["series_id"].tolist()
    ['value', 'value']
    >>> hourly = pd.DataFrame({"timestamp": ["2026-01-01 10:00"], "value": [1]})
    >>> str(read_series(hourly, tz="Europe/Berlin")["timestamp"].iloc[0])
    '2026-01-01 09:00:00+00:00'
    """
    if isinstance(path, pd.DataFrame):
        raw, where = path.copy(), "series"
        sid_default = "value"
    else:
        from toolkit.io import read_table

        p = Path(path)
        raw, where = read_table(p), p.name
        sid_default = p.stem
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if not {"timestamp", "value"} <= set(raw.columns):
        raise SeriesError(
            f"{where} is not a series table: it needs columns timestamp,value (and optionally series_id); "
            f"it has {list(raw.columns)[:10]}"
        )
    if "series_id" not in raw.columns:
        raw["series_id"] = sid_default if not isinstance(path, pd.DataFrame) else "value"
    raw = raw[["series_id", "timestamp", "value"]].reset_index(drop=True)
    if raw["series_id"].isna().any():
        rows = list(raw.index[raw["series_id"].isna()])
        raise SeriesError(f"{where}.series_id must not be missing; missing in rows {_fmt_ts(rows)}")
    raw["series_id"] = raw["series_id"].astype("string")
    ts = _parse_timestamps(raw["timestamp"], where, tz)
    val = pd.to_numeric(raw["value"], errors="coerce")
    bad = raw.index[val.isna() & raw["value"].notna()]
    if len(bad):
        shown = _fmt_ts(f"{i} ({raw.at[i, 'value']!r})" for i in bad)
        raise SeriesError(f"{where}.value must be numeric; not numeric in rows {shown}")
    big = raw.index[~np.isfinite(val.astype("float64").fillna(0.0)) | (val.astype("float64").abs() > MAX_VALUE)]
    if len(big):
        shown = _fmt_ts(f"{i} ({raw.at[i, 'value']!r:.30})" for i in big)
        raise SeriesError(f"{where}.value must be finite and at most {MAX_VALUE:g} in size (rescale the series); "
                          f"not in rows {shown}")
    out = pd.DataFrame({"series_id": raw["series_id"], "timestamp": ts, "value": val.astype("float64")})
    dup = out.duplicated(["series_id", "timestamp"], keep=False)
    if dup.any():
        ex = out[dup].head(5)
        shown = ", ".join(f"row {i} ({r.series_id}, {r.timestamp})" for i, r in ex.iterrows())
        raise SeriesError(f"{where}: (series_id, timestamp) must be unique; {int(dup.sum())} duplicated rows: {shown}")
    return out.sort_values(["series_id", "timestamp"], kind="stable").reset_index(drop=True)


def split_long(long: pd.DataFrame, freq: str | None = None) -> dict[str, pd.Series]:
    """Split a long table into regular series (one per ``series_id``), via :func:`regularize`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"series_id": ["a"] * 3 + ["b"] * 3,
    ...                    "timestamp": list(pd.date_range("2026-01-01", periods=3, freq="D")) * 2,
    ...                    "value": [1., 2., 3., 4., 5., 6.]})
    >>> {k: len(v) for k, v in split_long(df).items()}
    {'a': 3, 'b': 3}
    """
    out: dict[str, pd.Series] = {}
    for sid, grp in long.groupby("series_id", sort=True):
        s = pd.Series(grp["value"].to_numpy(), index=pd.DatetimeIndex(grp["timestamp"]), name=str(sid))
        out[str(sid)] = regularize(s, freq, name=str(sid))
    return out


def to_long(obj: pd.Series | pd.DataFrame | dict) -> pd.DataFrame:
    """A series, a wide frame (one column per series) or a dict of series as a long table.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series([1.0, 2.0], index=pd.date_range("2026-01-01", periods=2, freq="D"), name="x")
    >>> to_long(s).columns.tolist()
    ['series_id', 'timestamp', 'value']
    """
    if isinstance(obj, pd.Series):
        obj = {obj.name if obj.name is not None else "value": obj}
    elif isinstance(obj, pd.DataFrame):
        obj = {c: obj[c] for c in obj.columns}
    parts = []
    for sid, s in obj.items():
        parts.append(pd.DataFrame({"series_id": str(sid), "timestamp": s.index, "value": s.to_numpy(dtype="float64")}))
    if not parts:
        return pd.DataFrame({"series_id": pd.Series(dtype="string"), "timestamp": pd.Series(dtype="datetime64[ns, UTC]"), "value": pd.Series(dtype="float64")})
    out = pd.concat(parts, ignore_index=True)
    out["series_id"] = out["series_id"].astype("string")
    return out
