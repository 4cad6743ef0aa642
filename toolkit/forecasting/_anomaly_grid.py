"""The analysis grid of the multi-scale anomaly detector (step 1 of :mod:`toolkit.forecasting._multiscale`).

The series' own step (the median spacing of its timestamps, rounded to a usual step) with NaN
where nothing was observed; irregular timestamps are averaged into their step; a coarser step is
chosen (and reported) only when under a third of the grid is observed; grids too large to hold
are refused or skipped before they are built.

Examples
--------
>>> import numpy as np, pandas as pd
>>> y = pd.Series(np.arange(48.0), index=pd.date_range("2026-01-01", periods=48, freq="h"))
>>> g = on_grid(y.drop(y.index[5]))
>>> g.step, int(g.observed.sum())
(Timedelta('0 days 01:00:00'), 47)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.series import SeriesError, series_label

__all__ = ["AnomalyDataError", "Grid", "on_grid", "DAY", "WEEK", "HOUR", "MIN_POINTS"]

DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)
HOUR = pd.Timedelta(hours=1)
_NICE = [pd.Timedelta(x) for x in ("1s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "20min",
                                    "30min", "1h", "2h", "3h", "4h", "6h", "8h", "12h", "1D", "2D", "7D")]
#: observed values needed at all
MIN_POINTS = 24


class AnomalyDataError(SeriesError, ToolkitError):
    """Too little (or unusable) data to learn what normal looks like."""


@dataclass
class Grid:
    """The series on its analysis grid (NaN where not observed) and how it got there."""

    y: pd.Series
    step: pd.Timedelta
    observed: np.ndarray
    notes: list[str] = field(default_factory=list)


def _nice_step(td: pd.Timedelta) -> pd.Timedelta:
    for s in _NICE:
        if s >= td * 0.9:
            return s
    return pd.Timedelta(days=max(1, round(td / DAY)))


def on_grid(y: pd.Series) -> Grid:
    """The series on a regular grid of its own step (see the module notes).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.date_range("2026-01-01", periods=60, freq="5min") + pd.to_timedelta(np.arange(60) % 3 * 20, unit="s")
    >>> g = on_grid(pd.Series(np.arange(60.0), index=t))
    >>> g.step, g.notes
    (Timedelta('0 days 00:05:00'), ['irregular timestamps averaged into 5-minute steps'])
    """
    label = series_label(y.name)
    if not isinstance(y.index, pd.DatetimeIndex):
        try:
            idx = pd.DatetimeIndex(pd.to_datetime(y.index))
        except (ValueError, TypeError):
            raise AnomalyDataError(f"{label}: the index must be timestamps") from None
    else:
        idx = y.index
    idx = idx.as_unit("ns")
    vals = pd.to_numeric(pd.Series(np.asarray(y, dtype=object), index=idx), errors="coerce").astype(float)
    vals = vals[np.isfinite(vals.to_numpy()) & ~idx.isna()].sort_index(kind="stable")
    dup = vals.index.duplicated()
    if dup.any():
        raise AnomalyDataError(f"{label}: timestamps must be unique; duplicated: {', '.join(map(str, vals.index[dup].unique()[:5]))}")
    if len(vals) < MIN_POINTS:
        raise AnomalyDataError(f"{label}: too few observed values to learn what is normal: {len(vals)} < {MIN_POINTS}; "
                               "anomaly detection needs at least a day of a sub-daily series or 24 values")
    # a daily (or weekly) series in local time has steps of 23 or 25 hours across a DST change:
    # when its wall-clock times are regular and its absolute ones are not, the grid is built on
    # the wall clock and put back in the zone (else two days are averaged into one and every
    # later day is labelled a day early)
    tz = vals.index.tz
    if tz is not None:
        wall = vals.index.tz_localize(None)
        if not _on_steps(vals.index) and _on_steps(wall) and not wall.has_duplicates:
            vals = pd.Series(vals.to_numpy(), index=wall)
        else:
            tz = None
    notes: list[str] = []
    # the index's own freq only when it runs forwards (a reversed date_range has a negative one)
    freq = y.index.freq if isinstance(y.index, pd.DatetimeIndex) and tz is None and y.index.is_monotonic_increasing else None
    diffs = np.diff(vals.index.asi8)
    step = pd.Timedelta(freq) if freq is not None and _fixed(freq) else pd.Timedelta(int(np.median(diffs)), "ns")
    on = (vals.index.asi8 - vals.index.asi8[0]) % step.value == 0
    if not on.all() or step not in _NICE:
        step = _nice_step(step) if not on.all() else step
    span = vals.index[-1] - vals.index[0]
    # a grid of more than three steps per value is never kept (under a third observed, below):
    # its steps are skipped without building it (a few values seconds apart and one a year later
    # would make tens of millions of steps, a century-long file of 31 rows tens of GB)
    fine = step
    while span / step > max(3 * len(vals), 4 * MIN_POINTS):
        bigger = [s for s in _NICE if s > step]
        if not bigger or span / bigger[0] < MIN_POINTS:
            break
        step = bigger[0]
    if step != fine:
        notes.append(f"only {len(vals):,} values for {span / fine:,.0f} steps of the {_fmt_td(fine)} grid: "
                     f"analysed on a {_fmt_td(step)} grid (means)")
    while True:
        grid = _bucket(vals, step)
        share = float(np.isfinite(grid.to_numpy()).mean())
        if share >= 1 / 3 or span / step < 4 * MIN_POINTS:
            break
        bigger = [s for s in _NICE if s > step]
        if not bigger or span / bigger[0] < MIN_POINTS:
            break
        notes.append(f"only {share:.0%} of the {_fmt_td(step)} grid observed: analysed on a {_fmt_td(bigger[0])} grid (means)")
        step = bigger[0]
    obs = np.isfinite(grid.to_numpy())
    if obs.sum() < MIN_POINTS:
        raise AnomalyDataError(f"{label}: too few observed values to learn what is normal: {int(obs.sum())} on the "
                               f"{_fmt_td(step)} grid < {MIN_POINTS}")
    if not on.all():
        notes.append(f"irregular timestamps averaged into {_fmt_td(step)} steps")
    miss = int((~obs).sum())
    if miss:
        notes.append(f"{miss} of {len(obs)} steps ({miss / len(obs):.0%}) not observed: analysed on the observed ones")
    if tz is not None:
        grid.index = pd.DatetimeIndex(grid.index.tz_localize(tz, ambiguous=np.zeros(len(grid), dtype=bool),
                                                             nonexistent="shift_forward"), name=grid.index.name)
    grid.name = y.name
    return Grid(grid, step, obs, notes)


def _on_steps(ix: pd.DatetimeIndex) -> bool:
    """Whether sorted timestamps all fall on multiples of their median spacing after the first."""
    d = np.diff(ix.asi8)
    if not len(d):
        return True
    s = int(np.median(d))
    return s > 0 and bool(((ix.asi8 - ix.asi8[0]) % s == 0).all())


def _fixed(freq: Any) -> bool:
    try:
        pd.Timedelta(freq)
        return True
    except (TypeError, ValueError):
        return False


def _bucket(vals: pd.Series, step: pd.Timedelta) -> pd.Series:
    t0 = vals.index[0].floor(step) if step <= DAY else vals.index[0]
    k = (vals.index - t0) // step
    s = vals.groupby(np.asarray(k)).mean()
    n = int(k.max()) + 1
    out = np.full(n, np.nan)
    out[s.index.to_numpy()] = s.to_numpy()
    idx = pd.date_range(t0, periods=n, freq=step)
    return pd.Series(out, index=pd.DatetimeIndex(idx, name="timestamp"))


def _fmt_td(td: pd.Timedelta) -> str:
    if td >= DAY and td % DAY == pd.Timedelta(0):
        return f"{td // DAY}-day"
    if td >= HOUR and td % HOUR == pd.Timedelta(0):
        return f"{td // HOUR}-hour"
    if td >= pd.Timedelta(minutes=1) and td % pd.Timedelta(minutes=1) == pd.Timedelta(0):
        return f"{td // pd.Timedelta(minutes=1)}-minute"
    return f"{td.total_seconds():g}-second"
