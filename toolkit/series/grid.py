"""Regular time grids: frequencies, seasons, and putting a series on its grid (:func:`regularize`).

Examples
--------
>>> default_season("h")
24
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = [
    "SeriesError",
    "MAX_VALUE",
    "default_season",
    "series_label",
    "timestamp_index",
    "infer_freq",
    "regularize",
]


#: the largest absolute value a series may hold (larger ones overflow the models' sums of squares)
MAX_VALUE = 1e15
#: most grid steps :func:`regularize` builds (116 days of seconds, 19 years of minutes)
MAX_GRID_STEPS = 10_000_000


class SeriesError(ToolkitError):
    """A series cannot be built or modelled: the message names the rule and offending values."""

    __module__ = "toolkit.series"  # where users import it from (and what tracebacks show)


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


def timestamp_index(y: pd.Series, label: str, error: type[SeriesError] = SeriesError) -> pd.DatetimeIndex:
    """The index of ``y`` as a ``DatetimeIndex`` (parsed when it is not one yet).

    Raises ``error`` (a :class:`SeriesError` subclass) naming ``label`` when the index is not
    timestamps. :func:`regularize` and the anomaly detector's grid both start here.

    Examples
    --------
    >>> timestamp_index(pd.Series([1.0], index=["2026-01-01"]), "series 'x'").strftime("%Y-%m-%d").tolist()
    ['2026-01-01']
    >>> timestamp_index(pd.Series([1.0], index=["soon"]), "series 'x'")
    Traceback (most recent call last):
    ...
    toolkit.series.SeriesError: series 'x': the index must be timestamps
    """
    if isinstance(y.index, pd.DatetimeIndex):
        return y.index
    try:
        return pd.DatetimeIndex(pd.to_datetime(y.index))
    except (ValueError, TypeError):
        raise error(f"{label}: the index must be timestamps") from None


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
    idx = timestamp_index(y, label)
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
    try:
        step_ns = pd.tseries.frequencies.to_offset(f).nanos  # fixed steps only (not months, years)
    except ValueError:
        step_ns = None
    if step_ns:
        n_steps = (values.index[-1] - values.index[0]).value // step_ns + 1
        if n_steps > MAX_GRID_STEPS:
            raise SeriesError(
                f"{label}: {n_steps:,} steps of {f} from {values.index[0]} to {values.index[-1]} for "
                f"{len(values):,} values: more than {MAX_GRID_STEPS:,} (a stray timestamp far from the others, "
                "or aggregate to a coarser step)"
            )
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

