"""The multi-scale anomaly detector behind :func:`~toolkit.forecasting.detect_anomalies` (the default).

Steps, each small and robust (medians, never means, of the history):

1. the grid: the series' own step (the median spacing of its timestamps, rounded to a usual
   step) with NaN where nothing was observed; irregular timestamps are averaged into their
   step; a coarser step is chosen (and reported) only when under a third of the grid is observed;
2. the seasonal baseline: the median of the values at the same position of the last ``K``
   cycles (daily: 7, weekly: 4; the next cycles stand in at the start of the series), for the
   cycles the timestamps give (daily for steps under a day, weekly with 3 weeks of history), or
   a trailing median of the last week; the candidate with the smallest robust residual spread
   wins (a trailing median of the last day only when it is 5 % better: it follows a level
   shift within half a day and hides the rest of it);
3. robust residuals: ``u = (y - expected) / sigma``, sigma the MAD of the residuals at the same
   position of the daily cycle (heteroscedastic series: nights differ from noon);
4. scores on each scale: the point (spikes), centred means of ``u`` over an hour and six hours
   (bursts), a day (level shifts; a week on daily data), and the running median of ``|u|``
   (variance changes, flagged only when the large deviations have both signs: a one-sided
   cluster is a burst or a shift, for the mean scales), each standardised by its own robust
   spread (the point's and the hour's departures from their running median by their spread at
   the same time of day);
5. thresholds from the series' own null: on each scale the peaks of its excursions above a
   high level ``u0`` (at least 12 of them) have an exponential tail (peaks over threshold, the
   scale from the median excess, which a few incidents do not move; the predictive tail, which
   integrates out that scale's uncertainty); the threshold is where that tail predicts each
   scale's rate of excursions, never below the Gaussian threshold for the same rate; each
   scale's rate is ``alarms_per_week / (n_scales f)``, ``f`` the windows per excursion asked
   measured on the series where they are countable (:func:`scale_rate`);
6. windows: the points behind each flagged score that exceed 1 robust sd in its direction
   (so that a window is as long as the anomaly, not the smoothing), joined when less than an
   hour apart or, in one direction, less than half the shorter window apart, and cut where the
   side of the scores that flagged them turns (up, down, a variance change); a shift's window
   ends where the trailing median of a day (the shortest baseline of step 2) has absorbed half
   of it -- about half a day after its start: the rest is the new level, not news (its kind
   still comes from its full extent); each with its kind, size and the expected range at its
   peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from toolkit.forecasting._anomaly_grid import DAY, HOUR, WEEK
from toolkit.forecasting._anomaly_tail import threshold
from toolkit.forecasting._anomaly_windows import flag_windows

__all__ = ["multiscale"]

#: the point and the hour scale are judged against the running median of the residuals over
#: this many times their length around them (an anomaly moves at most a fifth of the points
#: that median is taken over, so it does not hide itself)
CONTRAST = 5


# ----------------------------------------------------------------------------- baselines


def _nanmedian(a: np.ndarray, quantum: float = 0.0) -> np.ndarray:
    """Row medians ignoring NaN (NaN where a row has none), by one sort. With ``quantum`` (the
    spacing of values on a grid, such as whole numbers), the grouped-data median: the median
    value ``m`` moved within its cell by where the middle falls among the values tied at ``m``,
    ``m + quantum * ((n/2 - below) / tied - 1/2)``; without ties it is the median.

    Examples
    --------
    >>> _nanmedian(np.array([[1.0, 1, 1, 2, 2, 2, 2, 3], [1.0, 2, 2, 2, 2, 2, 3, 4]]), 1.0).tolist()
    [1.75, 2.1]
    """
    n_ok = np.isfinite(a).sum(axis=1)
    srt = np.sort(np.where(np.isfinite(a), a, np.inf), axis=1)
    rows = np.arange(len(a))
    lo = np.clip((n_ok - 1) // 2, 0, a.shape[1] - 1)
    hi = np.clip(n_ok // 2, 0, a.shape[1] - 1)
    with np.errstate(invalid="ignore"):
        med = 0.5 * (srt[rows, lo] + srt[rows, hi])
        if quantum > 0:
            m = srt[rows, hi]
            below = (srt < m[:, None]).sum(axis=1)
            tied = (srt == m[:, None]).sum(axis=1)
            grouped = m + quantum * ((n_ok / 2 - below) / np.maximum(tied, 1) - 0.5)
            med = np.where(tied > 1, grouped, med)
    return np.where(n_ok > 0, med, np.nan)


def _quantum(v: np.ndarray) -> float:
    """The spacing of a grid the values lie on (the median gap between distinct values; 0 for
    continuous data, whose gaps are small against the values' spread, and for values on fewer
    than 8 levels, such as ratings of 4 and 5, whose cells are too coarse to spread a median
    over: it moved their sigma by half a level, 16 windows on ten 4-week series at 0.1 a week
    asked where 4 are expected).

    Examples
    --------
    >>> _quantum(np.arange(20) / 2), _quantum(np.array([0.0, 0.5, 1.0] * 5)), _quantum(np.random.default_rng(0).normal(size=50))
    (0.5, 0.0, 0.0)
    """
    u = np.unique(np.round(v[np.isfinite(v)], 9))
    if len(u) < 8:
        return 0.0
    d = np.diff(u)
    gap = float(np.median(d))
    on_grid = np.abs(d / gap - np.round(d / gap)) < 1e-6 if gap > 0 else np.zeros(1, bool)
    return gap if on_grid.mean() >= 0.99 else 0.0


#: cells of one (rows x lags) matrix of shifted values: the row medians are computed in blocks of
#: rows this size (1-second data has 86,400 steps a day and thousands of lags: one matrix for all
#: rows would take hundreds of GB)
_BLOCK_CELLS = 4_000_000


def _shifted(x: np.ndarray, lags: Sequence[int], r0: int = 0, r1: int | None = None) -> np.ndarray:
    """Column j: x[t - lags[j]] (NaN outside), for the rows t in ``[r0, r1)`` (all by default)."""
    n = len(x)
    r1 = n if r1 is None else r1
    out = np.full((r1 - r0, len(lags)), np.nan)
    for j, lag in enumerate(lags):
        a, b = max(r0, lag), min(r1, n + lag)   # rows whose source t - lag is inside [0, n)
        if a < b:
            out[a - r0 : b - r0, j] = x[a - lag : b - lag]
    return out


def _row_blocks(n: int, n_lags: int):
    step = max(1, _BLOCK_CELLS // max(1, n_lags))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def seasonal_median(x: np.ndarray, period: int, cycles: int, both: bool = False) -> np.ndarray:
    """Median of the values at the same position (+/- a few steps on fine grids) of the last
    ``cycles`` cycles; the next cycles where fewer than 3 past values are there (or always with
    ``both``)."""
    w = int(round(period / 200))
    past = [j * period + d for j in range(1, cycles + 1) for d in range(-w, w + 1)]
    fut = [-lag for lag in past]
    med = np.empty(len(x))
    for r0, r1 in _row_blocks(len(x), 2 * len(past)):
        P = _shifted(x, past, r0, r1)
        if both:
            med[r0:r1] = _nanmedian(np.concatenate([P, _shifted(x, fut, r0, r1)], axis=1))
            continue
        m = _nanmedian(P)
        few = np.isfinite(P).sum(axis=1) < 3 * (2 * w + 1)
        if few.any():
            F = _shifted(x, fut, r0, r1)[few]
            m[few] = _nanmedian(np.concatenate([P[few], F], axis=1))
        med[r0:r1] = m
    return med


def trailing_median(x: np.ndarray, window: int) -> np.ndarray:
    s = pd.Series(x)
    past = s.shift(1).rolling(window, min_periods=max(3, window // 4)).median().to_numpy()
    fut = s[::-1].shift(1).rolling(window, min_periods=max(3, window // 4)).median().to_numpy()[::-1]
    return np.where(np.isfinite(past), past, fut)


def robust_sd(r: np.ndarray) -> float:
    r = r[np.isfinite(r)]
    if not len(r):
        return 0.0
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def spread_sd(r: np.ndarray) -> float:
    """The MAD, or half the 90th percentile of absolute deviations (each scaled to a Gaussian
    sd) when that is larger: quantised or bursty data whose MAD is one quantum; heavy tails are
    left to the thresholds."""
    r = r[np.isfinite(r)]
    if not len(r):
        return 0.0
    dev = np.abs(r - np.median(r))
    return float(max(1.4826 * np.median(dev), 0.5 * np.quantile(dev, 0.9) / 1.6449))


def contrast_sd(m: np.ndarray) -> float:
    """The spread of a departure from the running median: :func:`spread_sd`, or, when most
    departures are exactly 0 (data on a few levels, such as ratings of 4 and 5, whose running
    median is one of them), the root mean square of the smallest 99 % of them. There the MAD is
    0 and the 90th-percentile rule takes one step of the data for 3.3 standard deviations, so
    every step between two levels was a spike (45 windows on ten 4-week series of 4s and 5s at
    0.1 a week asked).

    Examples
    --------
    >>> m = np.tile([0.0, 0.0, 1.0, -1.0, 0.0], 40)
    >>> round(spread_sd(m), 3), round(contrast_sd(m), 3)
    (0.304, 0.632)
    """
    r = m[np.isfinite(m)]
    if not len(r):
        return 0.0
    dev = np.abs(r - np.median(r))
    if np.median(dev) > 0:
        return spread_sd(r)
    bulk = dev[dev <= np.quantile(dev, 0.99)]
    return float(np.sqrt(np.mean(bulk ** 2)))


def _periods(step: pd.Timedelta, span: pd.Timedelta, season: int | None, periods: Sequence[int] | None) -> list[int]:
    if periods is not None:
        return sorted({int(p) for p in periods if int(p) > 1})
    if season is not None:
        return [int(season)] if int(season) > 1 else []
    out = []
    if step < DAY and DAY % step == pd.Timedelta(0) and span >= 3 * DAY:
        out.append(int(DAY // step))
    if step <= DAY and WEEK % step == pd.Timedelta(0) and span >= 3 * WEEK:
        out.append(int(WEEK // step))
    return out


def baseline(x: np.ndarray, step: pd.Timedelta, ps: list[int]) -> tuple[np.ndarray, str]:
    """(expected values, what they are): the candidate with the smallest robust residual spread."""
    day = max(3, int(DAY // step)) if step < DAY else 7
    cands = {}
    for p in ps:
        cyc = 7 if p * step <= DAY else 4
        name = f"median of the same {'hour' if p * step == DAY and step >= HOUR else 'time'} over the last {cyc} cycles of {p} steps"
        if p * step == DAY:
            name = f"median of the same time of day over the last {cyc} days"
        elif p * step == WEEK:
            name = f"median of the same time of week over the last {cyc} weeks"
        cands[name] = seasonal_median(x, p, cyc)
    # a week of history (4 weeks on daily data) before a day: a trailing median that a shift of a
    # day or two does not move (the day-long one follows it within half a day)
    week = int(WEEK // step) if step < DAY else 28
    if np.isfinite(x).sum() >= 2 * week:
        cands[f"trailing median of {week} steps"] = trailing_median(x, week)
    cands[f"trailing median of {day} steps"] = trailing_median(x, day)
    spread = {k: robust_sd(x - v) if np.isfinite(v).any() else np.inf for k, v in cands.items()}
    # the day-long trailing median follows a shift within half a day: it is used only when it
    # leaves a clearly (5 %) smaller spread than every candidate with a longer memory
    short = f"trailing median of {day} steps"
    others = {k: v for k, v in spread.items() if k != short}
    best = min(spread, key=spread.get)
    if others:
        alt = min(others, key=others.get)
        best = short if spread[short] < others[alt] / 1.05 else alt
    exp = cands[best]
    # where no candidate value exists (long gaps) fall back to the overall median
    exp = np.where(np.isfinite(exp), exp, np.nanmedian(x))
    return exp, best


def local_scale(r: np.ndarray, step: pd.Timedelta, min_values: int = 0) -> np.ndarray:
    """Robust sd of the residuals at the same time of day (7 days either side; the steps
    within a 96th of a day of it, or as many more as give ``min_values`` values, at most the
    day's other steps once each) on sub-daily
    data of 7 days or more, else one for the series; floored at half the series' own."""
    g = spread_sd(r)
    if g == 0:
        g = float(np.nanstd(r)) or 1e-12
    n_ok = np.isfinite(r).sum()
    dev = np.abs(r - np.nanmedian(r))
    if step < DAY and DAY % step == pd.Timedelta(0) and n_ok >= 7 * (DAY // step):
        p = int(DAY // step)
        w = max(int(round(p / 96)), math.ceil((min_values / 15 - 1) / 2))
        # never wider than the day (at steps of hours, a band of +-3 steps would count some
        # times of day twice and cover all of them: not "the same time of day")
        w = min(w, (p - 1) // 2)
        lags = [j * p + d for j in range(-7, 8) for d in range(-w, w + 1)]
    else:
        lags = []
    if lags:
        # whole numbers: the MAD of values on a grid is a whole number of steps (residuals of
        # rounded N(50, 2) had sigma 1.48 or 2.97 by time of day, not 2); the grouped median
        q = _quantum(dev)
        loc = np.empty(len(dev))
        for r0, r1 in _row_blocks(len(dev), len(lags)):
            loc[r0:r1] = 1.4826 * _nanmedian(_shifted(dev, lags, r0, r1), q)
        return np.clip(np.where(np.isfinite(loc), loc, g), 0.5 * g, None)
    return np.full(len(r), g)


# ----------------------------------------------------------------------------- scores


@dataclass
class Scale:
    name: str          # 'point', 'mean', 'spread'
    k: int             # points
    z: np.ndarray      # standardised score (signed for point/mean, one-sided for spread)
    threshold: float = math.inf
    how: str = ""
    calibrated: bool = False   # z is already a Gaussian quantile of its own null (count tails)
    base: np.ndarray | None = None   # the per-point series the scale averages (support of a flag)
    centre: float = 0.0              # z = (mean of base - centre) / sd
    sd: float = 1.0


def _centred_mean(u: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return u
    return pd.Series(u).rolling(k, center=True, min_periods=max(1, k // 2)).mean().to_numpy()


def _centre_sd(m: np.ndarray, floor: float = 0.0) -> tuple[float, float]:
    """(median, robust sd floored at ``floor``) of a score before standardising."""
    if not np.isfinite(m).any():
        return 0.0, 1.0
    med = float(np.nanmedian(m))
    sd = max(robust_sd(m), floor)
    if not sd > 0:
        sd = float(np.nanstd(m)) if np.isfinite(m).sum() > 1 else 1.0
        sd = sd or 1.0
    return med, sd


def _standardise(m: np.ndarray, floor: float = 0.0) -> np.ndarray:
    if not np.isfinite(m).any():
        return np.zeros(len(m))
    med, sd = _centre_sd(m, floor)
    return (m - med) / sd


def scale_ladder(step: pd.Timedelta, n: int, smooth: Sequence[int] | None) -> tuple[list[int], list[int]]:
    """(mean scales in points, spread scales in points)."""
    if smooth is not None:
        means = sorted({max(1, int(k)) for k in smooth})
    else:
        times = [HOUR, 6 * HOUR, DAY] + ([WEEK] if step >= DAY else [])
        means = sorted({1, *[int(round(t / step)) for t in times if t / step >= 2]})
    means = [k for k in means if k == 1 or k <= n // 6]
    # variance changes on the day scale (a week on daily data): shorter running medians of |u|
    # are too noisy to tell a variance change from a few large points
    k_sp = int(round((DAY if step < DAY else WEEK) / step))
    spread = [k_sp] if 6 <= k_sp <= n // 6 else []
    return means, spread


def _local_median(u: np.ndarray, w: int) -> np.ndarray:
    return pd.Series(u).rolling(w, center=True, min_periods=max(1, w // 3)).median().to_numpy()


def scores(u: np.ndarray, means: list[int], spread: list[int], contrast: float = 0, short: int = 1,
           step: pd.Timedelta | None = None) -> list[Scale]:
    """The standardised score of every scale. With ``contrast``, every mean scale but the
    longest (and the point) is the residual's departure from its own running median over
    ``contrast`` times the scale around it -- the point and the scales of at most ``short``
    points (an hour): the seasonal baseline cannot follow an hour- or day-long wander of the
    level, which otherwise sets the noise a spike is judged against (a spike of 15 times the
    point-to-point noise on a level that wanders by 5 of them scored under 2). The longer
    scales (six hours, a day) stay against the baseline: an anomaly shifts the median of its
    surroundings by about a third of the residual's sd, a shadow of the opposite sign that
    is negligible for a point but as large as the noise of a six-hour mean. With ``step``,
    those departures are standardised by their own robust spread at the same time of day
    (:func:`local_scale`), relative to its median.

    Examples
    --------
    >>> u = np.r_[np.zeros(50), np.full(50, 4.0)] + np.random.default_rng(0).normal(0, .1, 100)
    >>> u[75] += 3
    >>> s = scores(u, [1, 20], [], contrast=5)
    >>> int(np.argmax(np.abs(s[0].z))), bool(abs(s[0].z[30]) < 3)   # the spike, not the step
    (75, True)
    """
    out = []
    for k in means:
        base = u
        m = _centred_mean(u, k)
        # a mean of k standardised residuals varies at least as much as white noise's (1/sqrt(k))
        floor = 1 / math.sqrt(k)
        if contrast and (k == 1 or k <= short) and k < max(means):
            base = u - np.nan_to_num(_local_median(u, int(contrast * k) | 1), nan=0.0)
            m = _centred_mean(base, k)
            # its own spread (quantised data: the 90th percentile rule), not white noise's: the
            # residual's wander is what the contrast removes (white noise's when it has none:
            # mostly constant data)
            floor = contrast_sd(m) or floor
        med, sd = _centre_sd(m, floor)
        zz = (m - med) / sd
        if step is not None and base is not u:
            # the departure's own spread at this time of day (as the residual's sigma is): the
            # point-to-point noise of a busy hour is not a quiet night's, and the residual's
            # sigma measures the day-to-day wander that the contrast has removed
            loc = local_scale(zz, step, min_values=100)
            zz = zz / loc * np.nanmedian(loc)
        sc = Scale("point" if k == 1 else "mean", k, zz)
        sc.centre, sc.sd = med, sd
        sc.base = base
        out.append(sc)
    a = np.abs(u)
    for k in spread:
        med = pd.Series(a).rolling(k, center=True, min_periods=max(3, k // 2)).median().to_numpy()
        lm = np.log(med + 0.05)
        # quantised data (whole numbers): a running median of |u| takes a few values, its MAD
        # can be a fraction of its spread (the 90th-percentile rule of spread_sd)
        out.append(Scale("spread", k, _standardise(lm, spread_sd(lm))))
    return out


def count_rate(counts: np.ndarray, expected_rate: np.ndarray, step: pd.Timedelta) -> np.ndarray:
    """The expected count of each step: the seasonal baseline's, or (when larger) the mean count
    over a week around it (the day on daily data: four weeks) without the step itself, with half
    a count of prior (Jeffreys) -- the median baseline of a series of mostly zeros is 0, which
    would make any count infinitely unlikely.

    Examples
    --------
    >>> c = np.zeros(200); c[-1] = 7
    >>> lam = count_rate(c, np.zeros(200), pd.Timedelta("1h"))
    >>> round(float(lam[-1]), 4), round(float(lam[150]), 4)    # 0.5 / 85 steps; the 7 as 1 in 1.5 / 134
    (0.0059, 0.0112)
    """
    k = int(WEEK // step) if step < DAY else 28
    k = max(3, min(k, len(counts)))
    ok = np.isfinite(counts)
    # a count enters its neighbours' rate at most at the series' 99th percentile (at least 1):
    # one huge count would otherwise raise a week of neighbours' rates and make their zeros
    # improbably low
    cap = max(1.0, float(np.quantile(counts[ok], 0.99))) if ok.any() else 1.0
    c = np.where(ok, np.minimum(counts, cap), 0.0)
    m = ok.astype(float)
    s = pd.Series(c).rolling(k, center=True, min_periods=1).sum().to_numpy() - c
    nn = pd.Series(m).rolling(k, center=True, min_periods=1).sum().to_numpy() - m
    local = (s + 0.5) / (nn + 1.0)
    return np.maximum(np.nan_to_num(expected_rate, nan=0.0), local)


def count_z(counts: np.ndarray, rate: np.ndarray) -> tuple[np.ndarray, float]:
    """(signed score, dispersion) of counts against their expected rate: the mid-p value of
    the count's tail under a Poisson -- a negative binomial with the series' own dispersion
    (variance / mean) when its counts vary more than a Poisson's -- as a Gaussian quantile, so
    that a score has the same tail probability as a Gaussian z of the same size.

    Examples
    --------
    >>> z, phi = count_z(np.array([0.0, 1, 7]), np.full(3, 0.0025))
    >>> (np.round(z, 1) + 0.0).tolist(), phi
    ([0.0, 3.0, 9.8], 1.0)
    """
    from scipy import stats

    ok = np.isfinite(counts)
    x = np.where(ok, counts, 0.0)
    lam = np.maximum(rate, 1e-9)
    pearson = ((x - lam) ** 2 / lam)[ok]
    # the dispersion from the bulk (the largest 1 % are where incidents are; at least the
    # largest one: under 100 counts, 99 % rounded up was all of them, the incident too)
    phi = 1.0
    if len(pearson) >= 30:
        bulk = min(int(np.ceil(0.99 * len(pearson))), len(pearson) - 1)
        phi = max(1.0, float(np.mean(np.sort(pearson)[:bulk])))
    if phi > 1.05:
        n_nb = lam / (phi - 1.0)
        dist = stats.nbinom(n_nb, 1.0 / phi)
    else:
        phi = 1.0
        dist = stats.poisson(lam)
    pm = dist.pmf(x)
    hi = dist.sf(x) + 0.5 * pm
    lo = dist.cdf(x) - 0.5 * pm
    with np.errstate(divide="ignore"):
        z = np.where(hi < lo, stats.norm.isf(np.clip(hi, 1e-300, 1)), -stats.norm.isf(np.clip(lo, 1e-300, 1)))
    return np.where(ok, np.clip(z, -40, 40), np.nan), phi


#: excursions (summed over the scales) at the level where the scales' overlap is measured
OVERLAP_EVENTS = 50


def scale_rate(u: np.ndarray, scs: list[Scale], obs: np.ndarray, step: pd.Timedelta, direction: str, gap: int,
               alarms_per_week: float, weeks: float, per_week: float) -> float:
    """Excursions a week asked of each scale so that the windows of all scales together are
    ``alarms_per_week``: ``alarms_per_week / (n f)``, ``f`` the windows the detector gives on
    this series per excursion asked, measured where they are countable -- with every scale's
    thresholds at a per-scale rate that makes ``OVERLAP_EVENTS`` excursions over the series
    (or the asked rate, if higher) -- and kept between ``1/n`` and 2. ``f`` holds what a fixed
    split cannot know: how much the scales' excursions fall into the same windows (nested
    scales of close lengths -- hourly data's point, six hours and day -- share many; minute
    data's are nearly separate) and how many of its allotted excursions a long scale, whose
    few separate excursions leave its threshold to the Gaussian rule, gives. The earlier fixed
    ``sqrt(n)`` split over-alarmed by 1.5-2 times at 5-10-minute steps.

    Examples
    --------
    >>> u = np.random.default_rng(0).normal(0, 1, 24 * 56)
    >>> scs = scores(u, [1, 6, 24], [24])
    >>> r = scale_rate(u, scs, np.ones(len(u), bool), pd.Timedelta("1h"), "both", 1, 1.0, 8.0, 168.0)
    >>> bool(1 / 8 <= r <= 1.0)
    True
    """
    n_sc = len(scs)
    if n_sc <= 1:
        return alarms_per_week
    level = max(alarms_per_week / n_sc, OVERLAP_EVENTS / (n_sc * weeks))
    for sc in scs:
        sc.threshold, sc.how = threshold(sc, level, weeks, per_week, gap)
    _, wins = flag_windows(u, scs, obs, step, direction, gap)
    f = min(2.0, max(1.0 / n_sc, len(wins) / (n_sc * level * weeks)))
    return alarms_per_week / (n_sc * f)


@dataclass
class Result:
    expected: np.ndarray
    sigma: np.ndarray
    u: np.ndarray
    flag: np.ndarray
    score: np.ndarray
    windows: list[dict]
    scales: list[Scale]
    baseline: str
    band_z: tuple[np.ndarray, np.ndarray]   # normal range of a point in sigmas around expected


def multiscale(x: np.ndarray, step: pd.Timedelta, *, alarms_per_week: float, season: int | None = None,
               periods: Sequence[int] | None = None, smooth: Sequence[int] | None = None, direction: str = "both",
               max_gap: int | None = None, min_points: int = 1, weights: np.ndarray | None = None,
               min_sigma: float = 0.0, counts: np.ndarray | None = None) -> Result:
    """Score ``x`` (on its grid, NaN = not observed) on every scale and flag windows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = np.random.default_rng(1).normal(0, 1, 24 * 28)
    >>> x[400] += 12
    >>> r = multiscale(x, pd.Timedelta("1h"), alarms_per_week=0.1)
    >>> [(w["a"], w["kind"]) for w in r.windows]
    [(400, 'spike')]
    """
    n = len(x)
    obs = np.isfinite(x)
    span = step * n
    ps = _periods(step, span, season, periods)
    expected, desc = baseline(x, step, ps)
    r = x - expected
    sigma = np.maximum(local_scale(r, step), min_sigma)
    u = r / sigma
    if weights is not None:
        w = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
        u = u * np.sqrt(w / np.median(w[w > 0]))
        u[w == 0] = np.nan
    u = np.where(obs, u, np.nan)
    means, spread = scale_ladder(step, int(obs.sum()), smooth)
    if direction != "both":
        spread = []
    scs = scores(u, means, spread, CONTRAST, max(1, int(HOUR // step)), step)
    if counts is not None and scs and scs[0].name == "point" and weights is None:
        # small counts: a single step is judged by the count's own tail (Poisson, or negative
        # binomial when overdispersed) at its expected rate, not by the square-root residual
        # (whose sd floor makes 7 counts after 199 zeros unremarkable)
        lam = count_rate(counts, np.maximum(np.maximum(expected, 0.0) ** 2 - 0.375, 0.0), step)
        z, _ = count_z(counts, lam)
        scs[0] = Scale("point", 1, z, calibrated=True)
    per_week = WEEK / step
    weeks = max(float(obs.sum()) / per_week, 1e-9)
    gap = max_gap if max_gap is not None else max(1, int(round(HOUR / step)))
    rate = scale_rate(u, scs, obs, step, direction, gap, alarms_per_week, weeks, per_week)
    for sc in scs:
        sc.threshold, sc.how = threshold(sc, rate, weeks, per_week, gap)
    # flagged centres per scale -> supporting points (trimmed to the points that exceed)
    flag, wins = flag_windows(u, scs, obs, step, direction, gap, min_points)
    # the normal range of a single point around the baseline, in sigmas: the point scale's
    # threshold in the residual's units (a point is judged against its surroundings, whose
    # wander this range leaves out)
    p0 = scs[0] if scs and scs[0].name == "point" else None
    half = p0.threshold * (p0.sd if p0.base is not None and not p0.calibrated else 1.0) if p0 is not None else 3.0
    band_z = (np.full(n, p0.centre - half if p0 is not None else -half), np.full(n, (p0.centre if p0 is not None else 0) + half))
    score = np.where(obs, u, 0.0)
    return Result(expected, sigma, u, flag, score, wins, scs, desc, band_z)
