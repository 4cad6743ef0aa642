"""Anomaly windows of a metric series: spikes, bursts, level shifts and variance changes at an
alarm load the user sets (:func:`detect_anomalies`), plus change points and matching windows to
known incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toolkit.forecasting._anomalies_model import Anomalies, change_points, model_anomalies, windows_overlap
from toolkit.forecasting._anomaly_grid import AnomalyDataError, on_grid
from toolkit.forecasting._multiscale import multiscale
from toolkit.errors import ToolkitError
from toolkit.series import SeriesError

__all__ = ["DEFAULT_ALARMS_PER_WEEK", "Anomalies", "AnomalyDataError", "AnomalyOptionError", "AnomalyOptions", "KINDS", "detect_anomalies", "change_points", "windows_overlap"]

#: the kinds a window can have
KINDS = ("spike", "burst", "level_shift", "variance_change")
_MAX_POINTS = 5_000_000
#: false alarms a week asked by default (per series)
DEFAULT_ALARMS_PER_WEEK = 0.1


class AnomalyOptionError(SeriesError, ToolkitError):
    """A setting of :func:`detect_anomalies` that does not fit the method."""


@dataclass(frozen=True)
class AnomalyOptions:
    """The settings of :func:`detect_anomalies` (see there for what each does), checked once.

    Examples
    --------
    >>> AnomalyOptions(alarms_per_week=0.5).method
    'multiscale'
    >>> AnomalyOptions(direction="up")
    Traceback (most recent call last):
    ...
    toolkit.series.SeriesError: direction must be 'both', 'high' or 'low', got 'up'
    """

    method: str = "multiscale"
    alarms_per_week: float = DEFAULT_ALARMS_PER_WEEK
    level: float | None = None
    smooth: int | Sequence[int] | str | None = "auto"
    transform: str | None = "auto"
    scale: str = "auto"
    periods: Sequence[int] | None = None
    trend_window: int | None = None
    seasonal_window: int = 31
    max_gap: int | None = None
    min_points: int = 1
    direction: str = "both"

    def __post_init__(self) -> None:
        if self.method not in ("multiscale", "stl", "onestep"):
            raise SeriesError(f"unknown anomaly method {self.method!r}: use 'multiscale' (default), 'stl' or 'onestep'")
        if self.transform not in (None, "log", "auto"):
            raise SeriesError(f"unknown transform {self.transform!r}: use None, 'log' or 'auto'")
        if self.scale not in ("auto", "seasonal", "global"):
            raise SeriesError(f"unknown scale {self.scale!r}: use 'auto', 'seasonal' or 'global'")
        if self.direction not in ("both", "high", "low"):
            raise SeriesError(f"direction must be 'both', 'high' or 'low', got {self.direction!r}")
        if not (isinstance(self.alarms_per_week, (int, float)) and 1e-4 <= self.alarms_per_week <= 1000):
            raise AnomalyOptionError(f"alarms_per_week must be a number in [0.0001, 1000], got {self.alarms_per_week!r}")
        if self.method == "multiscale":
            if self.level is not None:
                raise AnomalyOptionError("level= applies to method='stl'/'onestep'; the default method sets its thresholds "
                                  "from alarms_per_week= (false alarms a week on normal data, default 0.1)")
            legacy = [k for k in ("trend_window",) if getattr(self, k) is not None]
            legacy += ["seasonal_window"] if self.seasonal_window != 31 else []
            legacy += ["scale"] if self.scale != "auto" else []
            if legacy:
                raise AnomalyOptionError(f"{', '.join(legacy)} apply to method='stl'/'onestep'; the default method learns its "
                                  "baseline and scale itself (its knob is alarms_per_week=)")


_DEFAULT_OPTIONS = AnomalyOptions()


def _differs(a: Any, b: Any) -> bool:
    if a is b:
        return False
    try:
        return bool(a != b)
    except (TypeError, ValueError):  # arrays compare element by element
        return True


def _options(options: AnomalyOptions | None, given: dict[str, Any]) -> AnomalyOptions:
    """The options object from ``options`` or from the keywords (not both)."""
    if options is None:
        return AnomalyOptions(**given)
    changed = [k for k, v in given.items() if _differs(v, getattr(_DEFAULT_OPTIONS, k))]
    if changed:
        raise SeriesError(f"give the settings either as options or as keywords, not both: {', '.join(changed)}")
    return options


def _log_wanted(vals: np.ndarray, transform: str | None) -> bool:
    """``'auto'``: log when every value is positive and the bulk is right-skewed (quantile
    skewness of the 10/50/90 % quantiles above 0.3, as response times are); a few huge spikes
    do not decide it."""
    v = vals[np.isfinite(vals)]
    if transform == "log":
        if v.min() <= 0:
            raise SeriesError(f"transform='log' needs positive values; minimum is {v.min():g}")
        return True
    if transform != "auto" or v.min() <= 0:
        return False
    q10, q50, q90 = np.quantile(v, [0.1, 0.5, 0.9])
    return bool(q90 > q10 and (q90 + q10 - 2 * q50) / (q90 - q10) > 0.3)


def _small_counts(vals: np.ndarray, transform: str | None) -> bool:
    """``'auto'``: whole numbers >= 0 with a median of 20 or less (messages an hour in a topic,
    errors a day): analysed as ``sqrt(y + 3/8)``, where a Poisson count's sd is 1/2 whatever its
    mean, so that one message at a quiet hour is not a spike and a burst of them is.

    Examples
    --------
    >>> _small_counts(np.array([0.0, 1, 0, 3, 14]), "auto"), _small_counts(np.array([0.5, 1, 2]), "auto")
    (True, False)
    """
    v = vals[np.isfinite(vals)]
    return bool(transform == "auto" and len(v) and v.min() >= 0 and np.all(v == np.round(v)) and np.median(v) <= 20)


def _smooth_scales(smooth: Any) -> Sequence[int] | None:
    if isinstance(smooth, str) and smooth == "auto":
        return None
    if smooth is None:
        return (1,)
    if isinstance(smooth, (int, np.integer)):
        return (1, int(smooth)) if int(smooth) > 1 else (1,)
    return tuple(_whole(k, "smooth") for k in ([smooth] if isinstance(smooth, str) else smooth))


def _whole(value: Any, name: str) -> int:
    """``int(value)``, or an :class:`AnomalyOptionError` naming the setting."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise AnomalyOptionError(f"{name} must be whole numbers of steps, got {value!r}") from None


def _check_cycles(season: Any, periods: Sequence[Any] | None, n: int) -> None:
    """A season or period is a number of steps no longer than the series (a longer one would ask
    for a matrix of the series' points by millions of lags)."""
    for name, values in (("season", [] if season is None else [season]), ("periods", list(periods or []))):
        for v in values:
            if _whole(v, name) > n:
                raise AnomalyOptionError(f"{name} must be at most the series' {n} steps on its grid, got {v!r}")


def detect_anomalies(
    y: pd.Series,
    season: int | None = None,
    *,
    options: AnomalyOptions | None = None,
    alarms_per_week: float = DEFAULT_ALARMS_PER_WEEK,
    method: str = "multiscale",
    level: float | None = None,
    smooth: int | Sequence[int] | str | None = "auto",
    transform: str | None = "auto",
    scale: str = "auto",
    weights: pd.Series | np.ndarray | None = None,
    periods: Sequence[int] | None = None,
    trend_window: int | None = None,
    seasonal_window: int = 31,
    max_gap: int | None = None,
    min_points: int = 1,
    direction: str = "both",
) -> Anomalies:
    """Windows where a metric left its normal range: spikes, bursts, level shifts, variance changes.

    The default (``method='multiscale'``) learns what is normal from the series itself, robustly:

    * **baseline**: the median of the same time of day over the last 7 days, of the same time
      of week over the last 4 weeks (with 3 weeks of history), or of the last week (whichever
      leaves the smallest robust spread; the median of the last day only when it is clearly
      better, as it follows a shift within half a day); the cycles come from the timestamps,
      for any step from seconds to a day (5-minute data: 288 steps a day), or from
      ``season``/``periods``;
    * **residuals** standardised by their MAD at the same time of day (``score`` of each point);
    * **scales**: the single point (spikes), means over an hour and six hours (bursts) and over a
      day (level shifts; a week on daily data), and the running median of ``|score|`` over a
      day (variance changes: flagged only when the large deviations have both signs), each
      standardised by its own robust spread; the point and the hour are scored against the
      running median of the residuals over five times their length around them (the baseline
      cannot follow a level that wanders by the hour, and that wander would hide a spike),
      standardised by the spread of those departures at the same time of day;
      small counts point by point by their Poisson tail (negative binomial when overdispersed);
    * **thresholds** from the series' own excursions on each scale (an exponential tail fitted
      to the peaks above a high level, robust to a few incidents, never below the Gaussian
      threshold), so that normal data gives about ``alarms_per_week`` windows a week over all
      scales together: each scale's share from the windows per excursion measured on the
      series itself (simulated normal seasonal series at 1-minute to daily steps, Gaussian and
      t3 noise, whole numbers too: 0.84-1.18 of the rate asked at 1 and 4 a week; heavy-tailed
      noise gets more where its tail is extrapolated far -- at 0.1 a week about twice the rate,
      see the README);
    * **windows**: the points behind each flagged score that exceed one robust sd in its
      direction, joined when closer than an hour (``max_gap`` steps) or, in one direction,
      than half the shorter of two neighbouring windows, and cut where the side of the scores
      that flagged them turns (up, down, a variance change); a level shift's window is its onset: it
      ends where the median of the last day has absorbed half of it (about half a day in: the
      rest is the new level, not news; ``lasts_until`` says how long the departure lasted),
      each with ``kind``,
      ``size`` (its robust z on the scale that fired), ``ratio`` (observed / expected mean over
      the window) and ``expected_lo``/``expected_hi`` (the point band at the peak).

    Irregular timestamps are averaged into their usual step; missing steps are skipped (a
    series may be mostly missing); a coarser step is used, and said in ``notes``, when under a
    third of the grid is observed. :class:`AnomalyDataError` (a ToolkitError) when fewer than 24
    values are observed.

    ``method='stl'`` / ``'onestep'`` are the earlier model-based detectors (one level per scale,
    ``level=``, ``smooth=``, ``trend_window=``, ``seasonal_window=``, ``scale=``).

    Parameters
    ----------
    y : Series
        Values indexed by timestamps.
    season : int, optional
        The one seasonal period (in steps) to use; 1 for none. Default: from the timestamps.
    options : AnomalyOptions, optional
        All the settings below in one object; give either ``options`` or the keywords.
    alarms_per_week : float
        False alarms a week you accept on normal data, per series (default 0.1: one in ten
        weeks, so that a report scanning a dozen metrics or a topic each over two months shows
        a false window or two, not dozens: on the bundled sample's 8.5 weeks, 1 a week gives 5
        false windows on response time and 7 on quality, 0.1 one and none; the benchmark's
        operating point of 1 a week finds more incidents).
    smooth : 'auto', int or list of int
        The mean scales in steps (default: point, hour, six hours, day).
    transform : {'auto', 'log', None}
        Model ``log(y)`` (``'auto'``: positive, right-skewed values; small counts -- whole
        numbers with a median of 20 or less -- as ``sqrt(y + 3/8)``, their sd at least 1/2,
        and each single count judged by its Poisson tail at the expected rate -- a negative
        binomial when the counts are overdispersed -- so that 7 errors after a week of none
        is a spike).
    weights : Series or array, optional
        Observations behind each value (a value of ``n`` gets weight ``sqrt(n)`` in its score).
    direction : {'both', 'high', 'low'}
        Which side to flag (variance changes only with ``'both'``).
    max_gap, min_points : int, optional
        Join flags closer than ``max_gap`` steps (default: an hour); drop windows with fewer
        flagged points.

    Returns
    -------
    Anomalies
        ``points`` (value, expected, lo, hi, score, flag) and ``windows`` (start, end, until,
        n_points, n_flagged, direction, kind, scale, peak_score, peak_timestamp, size, ratio,
        expected, expected_lo, expected_hi, lasts_until: the end of the departure a shift's
        window starts, ``until`` for the other windows).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(288 * 14)                      # two weeks of 5-minute data
    >>> v = 10 + 3 * np.sin(2 * np.pi * t / 288) + np.random.default_rng(0).normal(0, .3, t.size)
    >>> v[2000] += 6                                 # a spike
    >>> v[3000:3036] += 1.5                          # a 3-hour burst
    >>> y = pd.Series(v, index=pd.date_range("2026-01-05", periods=t.size, freq="5min"))
    >>> a = detect_anomalies(y, alarms_per_week=0.2)
    >>> a.windows[["start", "kind"]].values.tolist() == [[y.index[2000], "spike"], [y.index[3000], "burst"]]
    True
    >>> a.windows.end.iloc[1] - a.windows.start.iloc[1]          # the burst lasted 3 hours
    Timedelta('0 days 03:10:00')
    >>> a.periods
    (288,)
    """
    o = _options(options, dict(method=method, alarms_per_week=alarms_per_week, level=level, smooth=smooth, transform=transform,
                               scale=scale, periods=periods, trend_window=trend_window, seasonal_window=seasonal_window,
                               max_gap=max_gap, min_points=min_points, direction=direction))
    if o.method != "multiscale":
        return model_anomalies(y, season, o, weights)
    if len(y) > _MAX_POINTS:
        raise SeriesError(f"series too long for anomaly detection: {len(y)} points > {_MAX_POINTS:,}; aggregate it to a coarser step")
    g = on_grid(y)
    x = g.y.to_numpy(dtype=float)
    _check_cycles(season, o.periods, len(x))
    use_sqrt = _small_counts(x, o.transform)
    use_log = not use_sqrt and _log_wanted(x, o.transform)
    work = np.log(x) if use_log else (np.sqrt(x + 0.375) if use_sqrt else x)
    back = np.exp if use_log else ((lambda a: np.maximum(np.maximum(a, 0.0) ** 2 - 0.375, 0.0)) if use_sqrt else (lambda a: a))
    wt = None if weights is None else _weights_on_grid(weights, y, g)
    if wt is not None and not (np.isfinite(wt) & (wt > 0) & np.isfinite(x)).any():
        raise AnomalyDataError("weights: no observed value has a positive weight")
    if np.nanmax(work) == np.nanmin(work):
        res = None
    else:
        res = multiscale(work, g.step, alarms_per_week=float(o.alarms_per_week), season=season, periods=o.periods,
                         smooth=_smooth_scales(o.smooth), direction=o.direction, max_gap=o.max_gap, min_points=o.min_points,
                         weights=wt, min_sigma=0.5 if use_sqrt else 0.0, counts=x if use_sqrt else None)
    idx = g.y.index
    if res is None:
        pts = pd.DataFrame({"value": x, "expected": x, "lo": x, "hi": x, "score": 0.0, "flag": False}, index=idx)
        return Anomalies(pts, _windows_frame([], idx, g.step, pts), "constant series: nothing to flag", 1.0, 0.0, 1,
                         alarms_per_week=o.alarms_per_week, notes=g.notes, step=g.step)
    pts = pd.DataFrame({
        "value": x,
        "expected": back(res.expected),
        "lo": back(res.expected + res.band_z[0] * res.sigma),
        "hi": back(res.expected + res.band_z[1] * res.sigma),
        "score": res.score,
        "flag": res.flag,
    }, index=idx)
    wins = _windows_frame(res.windows, idx, g.step, pts)
    desc = (("log scale, " if use_log else "square-root scale (small counts), " if use_sqrt else "") + f"{res.baseline}; robust residuals on scales "
            + ", ".join(f"{s.name} {s.k}" for s in res.scales) + f"; thresholds for {o.alarms_per_week:g} false alarm(s) a week")
    details = pd.DataFrame([{"scale": s.name, "points": s.k, "threshold": s.threshold, "rule": s.how} for s in res.scales])
    ps = tuple(sorted({int(p) for p in _periods_used(res.baseline, g.step)}))
    return Anomalies(pts, wins, desc, 1.0, float(np.nanmedian(res.sigma)), 1, alarms_per_week=o.alarms_per_week,
                     notes=g.notes, step=g.step, thresholds=details, periods=ps)


def _weights_on_grid(weights: pd.Series | np.ndarray, y: pd.Series, g: Any) -> np.ndarray:
    """The observations behind each grid step: an array belongs to the values of ``y`` in the
    order given (not to the sorted grid by position), a Series to its timestamps; values
    averaged into one step add their weights.

    Examples
    --------
    >>> from toolkit.forecasting._anomaly_grid import on_grid
    >>> y = pd.Series([1.0, 2.0, 3.0] * 10, index=pd.date_range("2026-01-01", periods=30, freq="h")[::-1])
    >>> _weights_on_grid(np.arange(30.0), y, on_grid(y))[:3].tolist()      # the earliest value came last
    [29.0, 28.0, 27.0]
    """
    if isinstance(weights, pd.Series):
        w = weights
        if w.index.has_duplicates:
            raise AnomalyOptionError("weights: a Series of weights needs unique timestamps (one per value)")
        if pd.api.types.is_numeric_dtype(w.index.dtype):
            raise AnomalyOptionError("weights: a Series of weights is matched to the values by its timestamps, "
                                     "and its index holds numbers; pass an array (one weight per value, in "
                                     "their order) or index the weights by the series' timestamps")
    else:
        w = np.asarray(weights)
        if w.shape != (len(y),):
            raise AnomalyOptionError(f"weights must have one value per point of the series ({len(y)}), got {w.shape}")
        w = pd.Series(w, index=y.index)
    try:
        w = pd.to_numeric(pd.Series(np.asarray(w, dtype=object), index=w.index), errors="raise").astype(float)
        ts = pd.DatetimeIndex(pd.to_datetime(w.index))
    except (TypeError, ValueError):
        raise AnomalyOptionError("weights must be numbers (observations behind each value), indexed like the series") from None
    grid = g.y.index
    if (ts.tz is None) != (grid.tz is None):
        # which zone naive timestamps are in is not guessed (as the log does not guess it)
        raise AnomalyOptionError(
            f"weights: the series' timestamps are {'naive' if grid.tz is None else 'time-zone aware'} and the "
            f"weights' are {'naive' if ts.tz is None else 'time-zone aware'}; localise one like the other")
    if ts.tz is not None:
        ts = ts.tz_convert(grid.tz)
    pos = grid.searchsorted(ts, side="right") - 1
    inside = (pos >= 0) & (ts < grid[-1] + g.step) & ~ts.isna() & np.isfinite(w.to_numpy())
    out = np.zeros(len(grid))
    np.add.at(out, pos[inside], w.to_numpy()[inside])
    return out


def _periods_used(desc: str, step: pd.Timedelta) -> list[int]:
    day, week = pd.Timedelta(days=1), pd.Timedelta(days=7)
    if "time of day" in desc:
        return [int(day // step)]
    if "time of week" in desc:
        return [int(week // step)]
    if "cycles of" in desc:
        return [int(desc.split("cycles of ")[1].split()[0])]
    return []


def _windows_frame(wins: list[dict], idx: pd.DatetimeIndex, step: pd.Timedelta, pts: pd.DataFrame) -> pd.DataFrame:
    cols = ["start", "end", "until", "n_points", "n_flagged", "direction", "kind", "scale", "peak_score", "peak_timestamp",
            "size", "ratio", "expected", "expected_lo", "expected_hi", "lasts_until"]
    rows = []
    for w in wins:
        a, b, pk = w["a"], w["b"], w["peak"]
        seg = pts.iloc[a : b + 1]
        e = float(seg["expected"].mean())
        v = float(seg["value"].mean())
        rows.append({
            "start": idx[a], "end": idx[b], "until": idx[b] + step, "n_points": b - a + 1, "n_flagged": w["n_flagged"],
            "direction": w["direction"], "kind": w["kind"], "scale": w["scale"], "peak_score": w["peak_score"],
            "peak_timestamp": idx[pk], "size": abs(w["peak_score"]),
            "ratio": v / e if e > 0 and v >= 0 else np.nan,
            "expected": float(pts["expected"].iloc[pk]), "expected_lo": float(pts["lo"].iloc[pk]),
            "expected_hi": float(pts["hi"].iloc[pk]),
            "lasts_until": idx[w.get("b_full", b)] + step,
        })
    out = pd.DataFrame(rows, columns=cols)
    if not rows:
        out = out.astype({"start": idx.dtype, "end": idx.dtype, "until": idx.dtype, "peak_timestamp": idx.dtype,
                          "lasts_until": idx.dtype})
    return out
