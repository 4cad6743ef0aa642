"""Model-based anomaly flags (``method='stl'``/``'onestep'`` of :func:`~toolkit.forecasting.detect_anomalies`),
change points in the mean, and matching flagged windows to known incidents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from toolkit.forecasting._common import _quiet
from toolkit.forecasting.arima import _kpss_d
from toolkit.forecasting.checks import prepare
from toolkit.forecasting.decomposition import Decomposition, decompose
from toolkit.series import SeriesError, regularize, series_label

__all__ = ["Anomalies", "model_anomalies", "change_points", "windows_overlap"]

@dataclass
class Anomalies:
    """Flagged points and the windows they form.

    ``points``: index timestamp; columns value, expected, lo and hi (the normal range of a
    point), score (robust z of the point), flag (bool); the model methods add value_avg and
    expected_avg. ``windows``: start, end (last flagged step), until (end of that step),
    n_points, n_flagged, direction (``high``/``low``), peak_score, peak_timestamp; the default
    method adds kind (spike, burst, level_shift, variance_change), scale, size, ratio,
    expected, expected_lo, expected_hi, lasts_until (a level shift's window is its onset, which
    ends about half a day in; lasts_until is where the departure ended). ``notes``: what was done to the series (grid, gaps);
    ``thresholds``: each scale's threshold and the rule that set it.
    """

    points: pd.DataFrame
    windows: pd.DataFrame
    method: str
    level: float
    scale: float
    smooth: int = 1
    alarms_per_week: float | None = None
    notes: list = field(default_factory=list)
    step: pd.Timedelta | None = None
    thresholds: pd.DataFrame | None = None
    periods: tuple = ()

    def summary_table(self) -> pd.DataFrame:
        """One row per window: when, how long, what kind, how big, and the expected range."""
        cols = [c for c in ("start", "until", "kind", "direction", "size", "ratio", "expected_lo", "expected_hi", "lasts_until") if c in self.windows]
        return self.windows[cols].copy()

    def to_dict(self) -> dict:
        w = self.windows.copy()
        for c in w.columns:
            if pd.api.types.is_datetime64_any_dtype(w[c]):
                w[c] = w[c].astype(str)
        return {"method": self.method, "alarms_per_week": self.alarms_per_week, "notes": list(self.notes),
                "periods": list(self.periods), "windows": w.to_dict(orient="records")}

    @property
    def flagged(self) -> pd.DataFrame:
        """Only the flagged points."""
        return self.points[self.points["flag"]]


_SCALE_Q = 0.9


def _robust_scale(r: np.ndarray, q: float | None = None) -> float:
    """sigma from a quantile of |r - median| (q=0.5: the MAD), Gaussian-consistent."""
    from scipy import stats

    q = _SCALE_Q if q is None else q
    r = r[np.isfinite(r)]
    if not len(r):
        return 1e-12
    dev = np.abs(r - np.median(r))
    sc = float(np.quantile(dev, q)) / float(stats.norm.ppf(0.5 + q / 2))
    if sc == 0:
        sc = float(np.std(r)) or 1e-12
    return float(sc)


def _group_windows(flags: pd.Series, score: pd.Series, max_gap: int, min_points: int) -> pd.DataFrame:
    idx = np.flatnonzero(flags.to_numpy())
    rows = []
    if len(idx):
        groups = [[idx[0]]]
        for k in idx[1:]:
            if k - groups[-1][-1] <= max_gap + 1:
                groups[-1].append(k)
            else:
                groups.append([k])
        ts = flags.index
        sc = score.to_numpy()
        for g in groups:
            if len(g) < min_points:
                continue
            a, b = g[0], g[-1]
            seg = sc[a : b + 1]
            k = int(np.nanargmax(np.abs(seg)))
            rows.append(
                {
                    "start": ts[a],
                    "end": ts[b],
                    "n_points": int(b - a + 1),
                    "n_flagged": len(g),
                    "direction": "high" if np.nansum(sc[g]) > 0 else "low",
                    "peak_score": float(seg[k]),
                    "peak_timestamp": ts[a + k],
                }
            )
    return pd.DataFrame(rows, columns=["start", "end", "n_points", "n_flagged", "direction", "peak_score", "peak_timestamp"])


def _cleaned_decomposition(work: pd.Series, ps: tuple[int, ...], trend_window: int, seasonal_window: int, z: float = 5.0, rounds: int = 2) -> Decomposition:
    """A decomposition that gross anomalies do not bend: fit, replace points beyond ``z`` (5)
    robust standard deviations by their fitted value, refit (``rounds`` times).

    Why not STL's robust mode: it down-weights moderately large residuals of short seasonal
    sub-series (a weekly cycle seen 5-8 times), which then grow, giving heavy tails and false
    flags in clean data. Replacing only gross outliers (which normal noise practically never
    produces) leaves clean data alone and keeps a large incident out of the seasonal pattern,
    where it would otherwise leave ghosts at the same hour of other weeks."""
    kw = {"trend_window": trend_window, "seasonal_window": seasonal_window}
    dec = decompose(work, ps if ps else None, **kw)
    replaced = np.zeros(len(work), dtype=bool)
    for _ in range(rounds):
        fitted = dec.trend + dec.seasonal.sum(axis=1)
        r = (work - fitted).to_numpy()
        bad = (np.abs(r - np.median(r)) > z * _robust_scale(r, 0.5)) | replaced
        if not (bad & ~replaced).any():
            break
        replaced = bad
        dec = decompose(work.where(~replaced, fitted), ps if ps else None, **kw)
    resid = work - dec.trend - dec.seasonal.sum(axis=1)
    return Decomposition(work, dec.trend, dec.seasonal, resid, dec.periods, dec.method, True, dec.strength)


def _step(freq: str | None) -> pd.Timedelta | None:
    """The fixed length of one step of the grid (None for months, quarters, years)."""
    try:
        return pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (TypeError, ValueError):
        return None


def _smoothing_scales(smooth: int | Sequence[int] | str | None, freq_td: pd.Timedelta | None) -> tuple[int, ...]:
    """The window lengths the residuals are averaged over (``'auto'``: one day on sub-daily data)."""
    if smooth is None:
        return (1,)
    if smooth == "auto":
        if freq_td is not None and freq_td < pd.Timedelta(days=1):
            return (max(1, int(round(pd.Timedelta(days=1) / freq_td))),)
        return (1,)
    if isinstance(smooth, (int, np.integer)):
        return (max(1, int(smooth)),)
    return tuple(sorted({max(1, int(k)) for k in smooth}))


def _transformed(vals: np.ndarray, transform: str | None, label: Any) -> tuple[np.ndarray, Any, str | None]:
    """(values to model, the inverse transform, the transform used): log for skewed positive data."""
    from scipy import stats

    if transform == "auto":
        transform = "log" if (vals.min() > 0 and stats.skew(vals) > 1.0) else None
    if transform == "log" and vals.min() <= 0:
        raise SeriesError(f"{series_label(label)}: transform='log' needs positive values; minimum is {vals.min():g}")
    if transform == "log":
        return np.log(vals), np.exp, transform
    return vals, (lambda a: a), transform


def _default_trend_window(ps: tuple[int, ...], n: int) -> int:
    """3 times the longest period and at least 21 times the shortest, odd and at most ``n``."""
    tw = max(3 * max(ps), 21 * min(ps)) if ps else max(21, n // 10)
    return min(tw, n - (1 - n % 2))


def _constant_result(yy: pd.Series, level: float | None) -> Anomalies:
    pts = pd.DataFrame({"value": yy, "expected": yy, "value_avg": yy, "expected_avg": yy, "lo": yy, "hi": yy, "score": 0.0, "flag": False})
    wins = _group_windows(pts["flag"], pts["score"], 1, 1)
    wins["until"] = wins["end"]
    return Anomalies(pts, wins, "constant series: nothing to flag", 1.0 if level is None else level, 0.0)


def _expected_values(dec: Decomposition, method: str, ps: tuple[int, ...], trend_window: int, seasonal_window: int) -> tuple[np.ndarray, str]:
    """(expected value of every point, description): the decomposition's fit, or one-step
    ARIMA(1,d,1) predictions of the adjusted series plus the seasonal components."""
    if method == "stl":
        expected = (dec.trend + dec.seasonal.sum(axis=1)).to_numpy()
        return expected, f"outlier-cleaned {dec.method}{list(ps)} (trend window {trend_window}, seasonal window {seasonal_window})"
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    adj = dec.adjusted.to_numpy()
    sea = dec.seasonal.sum(axis=1).to_numpy()
    d = _kpss_d(adj, 1)
    with _quiet():
        res = SARIMAX(adj, order=(1, d, 1), trend="c" if d == 0 else None).fit(disp=False)
        mean = np.asarray(res.get_prediction().predicted_mean, float)
    burn = d + 1
    mean[:burn] = adj[:burn]
    return mean + sea, f"one-step ARIMA(1,{d},1) on the outlier-cleaned {dec.method}{list(ps)}-adjusted series"


def _checked_weights(weights: pd.Series | np.ndarray | None, index: pd.DatetimeIndex, imputed: np.ndarray) -> np.ndarray | None:
    """Observations behind each value (0 where missing or interpolated), or None."""
    if weights is None:
        return None
    n = len(index)
    wt = pd.Series(weights).reindex(index).to_numpy(dtype=float) if isinstance(weights, pd.Series) else np.asarray(weights, float)
    if wt.shape != (n,):
        raise SeriesError(f"weights must have one value per point of the series ({n}), got {wt.shape}")
    wt = np.where(np.isfinite(wt) & (wt > 0) & ~imputed, wt, 0.0)
    if not (wt > 0).any():
        raise SeriesError("weights are all zero or missing")
    return wt


@dataclass
class _ResidualScales:
    """The residuals averaged over centred windows of k points, with their robust standard
    deviations: per position in the shortest cycle (pooling the two positions either side) when
    ``per_pos``, else one for the whole series."""

    resid: np.ndarray
    short: int
    per_pos: bool
    scale: str
    wt: np.ndarray | None

    def pooled(self, values: np.ndarray, ok: np.ndarray | None = None) -> np.ndarray:
        short = self.short
        pos = np.arange(len(self.resid)) % short
        out = np.empty(short)
        for j in range(short):
            near = np.abs(((pos - j + short // 2) % short) - short // 2) <= 2
            sel = near if ok is None else near & ok
            out[j] = _robust_scale(values[sel])
        return out[pos]

    def at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(averaged residual, its standard deviation) over centred windows of k points."""
        if self.wt is not None:
            return self._weighted_at(k)
        resid0 = self.resid
        r = pd.Series(resid0).rolling(k, center=True, min_periods=max(1, k // 2)).mean().to_numpy() if k > 1 else resid0
        if self.scale in ("auto", "seasonal") and self.per_pos:
            return r, self.pooled(r)
        return r, np.full(len(r), _robust_scale(r))

    def _weighted_at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        resid0, wt = self.resid, self.wt
        num = pd.Series(np.where(wt > 0, resid0, 0.0) * wt).rolling(k, center=True, min_periods=1).sum().to_numpy()
        den = pd.Series(wt).rolling(k, center=True, min_periods=1).sum().to_numpy()
        unit = resid0 * np.sqrt(wt)
        ok = wt > 0
        if self.scale == "seasonal" and self.per_pos:
            su = self.pooled(unit, ok)
        else:
            su = np.full(len(resid0), _robust_scale(unit[ok]))
        with np.errstate(all="ignore"):
            r = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
            sdk = np.where(den > 0, su / np.sqrt(np.where(den > 0, den, 1.0)), np.nan)
        if k > 1:  # the residuals are autocorrelated: rescale to the spread of the averages
            infl = _robust_scale((r / sdk)[np.isfinite(sdk)])
            sdk = sdk * max(infl, 1.0)
        return r, sdk


def _bonferroni_level(n: int, scales: tuple[int, ...]) -> float:
    """A k-point moving average tested at every point is worth about 3n/k independent tests
    (its excursions last about k/3 points), single points n."""
    return 1 - 0.05 / sum(min(n, 3.0 * n / k) for k in scales)


def _scores(res: _ResidualScales, scales: tuple[int, ...], z: float, direction: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score: the largest standardised residual over the scales, flag, the largest scale's sd)."""
    n = len(res.resid)
    score = np.zeros(n)
    flag = np.zeros(n, dtype=bool)
    sd_top = None
    for k in scales:
        r, sdk = res.at(k)
        sk = np.nan_to_num(r / sdk, nan=0.0)
        sd_top = sdk  # the largest scale's sd, for the band drawn
        fk = sk > z if direction == "high" else (sk < -z if direction == "low" else np.abs(sk) > z)
        better = np.abs(sk) > np.abs(score)
        score = np.where(better, sk, score)
        flag |= fk
    return score, flag, sd_top


def _centred_mean(a: np.ndarray, k: int) -> np.ndarray:
    return pd.Series(a).rolling(k, center=True, min_periods=max(1, k // 2)).mean().to_numpy() if k > 1 else a


def _flag_windows(pts: pd.DataFrame, gap: int, min_points: int, freq_td: pd.Timedelta | None, freq: str | None) -> pd.DataFrame:
    """Flagged points closer than ``gap`` as windows, with ``until`` (the end of the last bucket)."""
    windows = _group_windows(pts["flag"], pts["score"], gap, min_points)
    if len(windows) and freq_td is not None:
        windows["until"] = windows["end"] + freq_td
    elif len(windows):
        windows["until"] = windows["end"] + pd.tseries.frequencies.to_offset(freq)
    else:
        windows["until"] = pd.Series(dtype=windows["end"].dtype)
    return windows


def model_anomalies(y: pd.Series, season: int | None, o: Any, weights: pd.Series | np.ndarray | None = None) -> Anomalies:
    """Flag points outside the prediction interval of a one-step or robust decomposition model.

    Methods
    -------
    ``'onestep'`` (default)
        One-step-ahead predictions of a non-seasonal ARIMA(1,d,1) (statsmodels state space) on
        the seasonally adjusted series, plus the seasonal components.
    ``'stl'``
        The decomposition itself: expected value = trend + seasonal.

    Both use an outlier-cleaned decomposition (fit, replace points beyond 5 robust standard
    deviations by their fitted value, refit) with a long trend window (default: 3 times the
    longest period and at least 21 times the shortest, i.e. 3 weeks of hours or of days) and a
    steady seasonal pattern (``seasonal_window`` cycles), so that an incident of hours or days
    stays in the remainder instead of bending the trend or the seasonal pattern.

    The residuals (observed - expected) are then

    1. averaged over centred windows of ``smooth`` points (``'auto'``: one day on sub-daily
       data, e.g. 24 hours, else 1; a list gives several scales, each tested). Single hourly
       means of a few conversations are noisy and heavy-tailed; a day of them shows a latency
       incident of a few hours as clearly as a regression of a few days;
    2. standardised by a robust scale (the 90th percentile of absolute deviations, which
       tolerates up to 10 % anomalous points and heavier-than-normal tails), per position in
       the shortest seasonal cycle, pooling the two positions either side, when 30 cycles are
       there (``scale='seasonal'``, the default ``'auto'``; a night hour is noisier than a noon
       hour), otherwise once (``'global'``). With ``weights`` (the number of
       observations behind each value of a mean, from :func:`toolkit.series.metric_series`
       with ``counts=True``) a value averaged over ``n`` observations gets ``sigma / sqrt(n)``
       and the smoothing is a weighted mean;
    3. flagged beyond ``z = Phi^-1((1 + level) / 2)``. ``level=None`` sets a Bonferroni level
       ``1 - 0.05 / sum_k min(n, 3 n / k)`` over the scales k: about a 5 % chance of any false
       flag in a Gaussian series of that length (z = 3.55 for 60 days of hours averaged over
       24; 4.0 for single hours).

    With ``transform='log'`` (``'auto'``: when every value is positive and the values are
    right-skewed, as response times are) the model runs on ``log(y)`` and the band is
    transformed back. Points that were missing (interpolated) are never flagged. Flags closer
    than ``max_gap`` points (default: the largest smoothing window) form one window.

    With fewer than about 5 cycles of the longest period (5 weeks of hourly data with its
    weekly cycle), a shift lasting days is partly absorbed into the seasonal pattern and may
    go unflagged.

    Parameters
    ----------
    o : AnomalyOptions
        The settings (as :func:`~toolkit.forecasting.detect_anomalies` takes them).
    level : float, optional
        Interval coverage of each point (see above).
    direction : {'both', 'high', 'low'}
        Which side to flag.
    min_points : int
        Drop windows with fewer flagged points.

    Returns
    -------
    Anomalies
        ``points`` (value, expected, the interval lo/hi of single points, score, flag) and
        ``windows`` (start, end = last flagged bucket, until = end of that bucket, ...).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(24 * 21)
    >>> v = 10 + 3 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, .3, t.size)
    >>> v[300:306] += 5
    >>> y = pd.Series(v, index=pd.date_range("2026-01-01", periods=t.size, freq="h"))
    >>> from toolkit.forecasting import AnomalyOptions
    >>> a = model_anomalies(y, 24, AnomalyOptions(periods=[24], smooth=1, method="stl"))
    >>> a.windows.start.tolist() == [y.index[300]], a.windows.end.tolist() == [y.index[305]]
    (True, True)
    """
    from scipy import stats

    if weights is not None and not isinstance(weights, pd.Series) and np.ndim(weights) == 1 and len(weights) == len(y):
        # an array belongs to the values in the order given (the grid below is sorted)
        weights = pd.Series(np.asarray(weights), index=y.index)
    p = prepare(y, season, periods=o.periods, nonnegative=False)
    yy, ps = p.y, p.periods
    n = len(yy)
    imputed = ~np.isfinite(regularize(y, p.freq).reindex(yy.index).to_numpy(dtype=float))
    freq_td = _step(p.freq)
    scales = _smoothing_scales(o.smooth, freq_td)
    vals = yy.to_numpy(dtype=float)
    work_vals, back, transform_used = _transformed(vals, o.transform, y.name)
    work = pd.Series(work_vals, index=yy.index)
    tw = o.trend_window if o.trend_window is not None else _default_trend_window(ps, n)
    if p.constant:
        return _constant_result(yy, o.level)
    dec = _cleaned_decomposition(work, ps, tw, o.seasonal_window)
    expected, desc = _expected_values(dec, o.method, ps, tw, o.seasonal_window)
    short = min(ps) if ps else 1
    # per-position scales pool the neighbouring positions (+/- 2) and need 30 cycles of data
    per_pos = short > 1 and n >= 30 * short
    wt = _checked_weights(weights, yy.index, imputed)
    res = _ResidualScales(work.to_numpy() - expected, short, per_pos, o.scale, wt)
    lv = o.level if o.level is not None else _bonferroni_level(n, scales)
    z = float(stats.norm.ppf(0.5 + lv / 2))
    score, flag, sd_top = _scores(res, scales, z, o.direction)
    flag &= ~imputed
    if wt is not None:
        desc += ", residuals weighted by the observations behind each value"
    elif o.scale in ("auto", "seasonal") and per_pos:
        desc += f", scale per position in the {short}-point cycle"
    desc += f", residuals averaged over {'/'.join(map(str, scales))} points"
    if transform_used == "log":
        desc = "log scale, " + desc
    k_top = max(scales)
    exp_avg = _centred_mean(expected, k_top)
    pts = pd.DataFrame(
        {
            "value": vals,
            "expected": back(expected),
            "value_avg": back(_centred_mean(work.to_numpy(), k_top)),
            "expected_avg": back(exp_avg),
            "lo": back(exp_avg - z * sd_top),
            "hi": back(exp_avg + z * sd_top),
            "score": score,
            "flag": flag,
        },
        index=yy.index,
    )
    pts.loc[imputed, "value"] = np.nan
    gap = o.max_gap if o.max_gap is not None else max(scales)
    windows = _flag_windows(pts, gap, o.min_points, freq_td, p.freq)
    return Anomalies(pts, windows, desc + f"; |score| > {z:.2f} (level {lv:.6g})", lv, float(np.nanmedian(sd_top)), k_top)


def change_points(
    y: pd.Series,
    season: int | None = None,
    *,
    penalty: float | None = None,
    min_size: int | None = None,
    max_changes: int = 10,
) -> pd.DataFrame:
    """Shifts in the mean of the seasonally adjusted series, by binary segmentation.

    A split is kept when it lowers the squared-error cost by more than ``penalty`` (default
    ``3 * sigma^2 * log(n)``; sigma starts from the MAD of first differences / sqrt(2), which
    ignores the shifts themselves, and is re-estimated from the residuals around the segment
    means).

    Returns
    -------
    DataFrame
        timestamp (first point after the change), mean_before, mean_after, shift.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> v = np.r_[np.zeros(50), np.full(50, 3.0)] + np.random.default_rng(0).normal(0, .5, 100)
    >>> y = pd.Series(v, index=pd.date_range("2026-01-01", periods=100, freq="D"))
    >>> change_points(y, season=1).timestamp.tolist() == [y.index[50]]
    True
    """
    p = prepare(y, season, nonnegative=False)
    x = p.y
    if p.periods:
        x = decompose(x, p.periods, robust=True).adjusted
    v = x.to_numpy(dtype=float)
    n = len(v)
    min_size = min_size or max(2, (max(p.periods) if p.periods else 5))
    cs = np.r_[0.0, np.cumsum(v)]

    def best_split(a: int, b: int) -> tuple[float, int]:
        if b - a < 2 * min_size:
            return 0.0, -1
        ks = np.arange(a + min_size, b - min_size + 1)
        s_l = cs[ks] - cs[a]
        s_r = cs[b] - cs[ks]
        gain = (s_l**2 / (ks - a) + s_r**2 / (b - ks)) - (cs[b] - cs[a]) ** 2 / (b - a)
        k = int(np.argmax(gain))
        return float(gain[k]), int(ks[k])

    def segment(pen: float) -> list[int]:
        segs = [(0, n)]
        found: list[int] = []
        while len(found) < max_changes:
            best = (0.0, -1, -1)
            for si, (a, b) in enumerate(segs):
                g, k = best_split(a, b)
                if k > 0 and g > best[0]:
                    best = (g, k, si)
            if best[1] < 0 or best[0] <= pen:
                break
            _, k, si = best
            a, b = segs.pop(si)
            segs[si:si] = [(a, k), (k, b)]
            found.append(k)
        return sorted(found)

    # noise scale: MAD of first differences, then (twice) the MAD of the residuals around the
    # segment means found, so that neither the shifts nor short-range wiggles inflate it
    sigma = _robust_scale(np.diff(v)) / math.sqrt(2)
    cps: list[int] = []
    for _ in range(3):
        pen = penalty if penalty is not None else 3.0 * sigma**2 * math.log(n)
        new = segment(pen)
        if penalty is not None or new == cps and _ > 0:
            cps = new
            break
        cps = new
        b = [0, *cps, n]
        resid = np.concatenate([v[b[i] : b[i + 1]] - v[b[i] : b[i + 1]].mean() for i in range(len(b) - 1)])
        sigma = max(sigma, _robust_scale(resid))
    cps.sort()
    bounds = [0, *cps, n]
    rows = []
    for i, k in enumerate(cps):
        before = v[bounds[i] : k].mean()
        after = v[k : bounds[i + 2]].mean()
        rows.append({"timestamp": x.index[k], "mean_before": float(before), "mean_after": float(after), "shift": float(after - before)})
    return pd.DataFrame(rows, columns=["timestamp", "mean_before", "mean_after", "shift"])


def windows_overlap(found: pd.DataFrame, truth: Iterable[dict], *, tolerance: Any = None) -> pd.DataFrame:
    """Match flagged windows against known incident windows (e.g. truth.json ``incidents``).

    A flagged window covers ``[start, until)`` when it has an ``until`` column (the end of its
    last bucket, as :func:`detect_anomalies` gives), else ``[start, end]``; an incident covers
    ``[start, end)``. Returns one row per flagged window with ``matched`` (the ``kind`` of the
    first incident it overlaps, or None); a window with ``matched`` None is a false flag.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"start": pd.to_datetime(["2026-01-02", "2026-01-09"]),
    ...                   "end": pd.to_datetime(["2026-01-03", "2026-01-09"])})
    >>> windows_overlap(f, [{"kind": "x", "start": "2026-01-02T12:00", "end": "2026-01-04"}]).matched.tolist()
    ['x', None]
    """
    tol = pd.Timedelta(tolerance) if tolerance is not None else pd.Timedelta(0)
    truth = list(truth)
    out = found.copy()
    has_until = "until" in found.columns

    def aligned(ts: pd.Timestamp, ref: pd.Timestamp) -> pd.Timestamp:
        if ts.tzinfo is None and ref.tzinfo is not None:
            return ts.tz_localize(ref.tzinfo)
        if ts.tzinfo is not None and ref.tzinfo is None:
            return ts.tz_convert(None)
        return ts

    matched = []
    for _, w in found.iterrows():
        hit = None
        ws = pd.Timestamp(w["start"])
        for t in truth:
            ts = aligned(pd.Timestamp(t["start"]), ws)
            te = aligned(pd.Timestamp(t["end"]), ws)
            if has_until and pd.notna(w["until"]):
                ok = ws < te + tol and pd.Timestamp(w["until"]) > ts - tol
            else:
                ok = ws <= te + tol and pd.Timestamp(w["end"]) >= ts - tol
            if ok:
                hit = t.get("kind", t.get("name", "incident"))
                break
        matched.append(hit)
    out["matched"] = pd.Series(matched, index=out.index, dtype=object)
    return out
