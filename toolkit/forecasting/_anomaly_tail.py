"""Thresholds of the multi-scale anomaly detector (:mod:`toolkit.forecasting._multiscale`, step 5):
from each scale's own excursions, peaks over threshold with an exponential (or, from 30 peaks, a
generalised Pareto) tail, never below the Gaussian threshold for the same alarm rate.

Examples
--------
>>> round(gaussian_threshold(0.1, 168, 1, True), 2)    # hourly points, 0.1 alarms a week
3.43
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["threshold", "gaussian_threshold", "MIN_PEAKS", "SHAPE_PEAKS"]

#: peaks needed on a scale before its own tail sets the threshold
MIN_PEAKS = 12
#: peaks needed before the tail's shape (not only its scale) is fitted
SHAPE_PEAKS = 30


def _excursion_peaks(a: np.ndarray, u0: float, gap: int) -> np.ndarray:
    """Peak of each run of ``a > u0`` (runs closer than ``gap`` points joined)."""
    idx = np.flatnonzero(a > u0)
    if not len(idx):
        return np.empty(0)
    cut = np.flatnonzero(np.diff(idx) > gap + 1) + 1
    return np.maximum.reduceat(a[idx], np.r_[0, cut]) if len(idx) else np.empty(0)


def gaussian_threshold(rate: float, per_week: float, k: int, two_sided: bool) -> float:
    """Threshold with ``rate`` excursions a week for Gaussian noise averaged over k points
    (about 3 per_week / k independent looks a week, per_week at k = 1).

    Examples
    --------
    >>> round(gaussian_threshold(1.0, 168, 1, True), 2), round(gaussian_threshold(1.0, 168, 24, True), 2)
    (2.75, 1.98)
    """
    from scipy import stats

    looks = per_week * min(1.0, 3.0 / k)
    p = min(0.5, rate / looks / (2 if two_sided else 1))
    return float(stats.norm.isf(p))


def threshold(sc, rate: float, weeks: float, per_week: float, gap: int) -> tuple[float, str]:
    """Peaks-over-threshold rule on the scale's own excursions (see the module notes); ``sc`` is
    a :class:`toolkit.forecasting._multiscale.Scale` (its scores ``z``, length ``k``, ``name``).

    Examples
    --------
    >>> from toolkit.forecasting._multiscale import Scale
    >>> sc = Scale("point", 1, np.random.default_rng(0).standard_normal(24 * 7 * 8))
    >>> t, how = threshold(sc, rate=0.1, weeks=8.0, per_week=168, gap=1)
    >>> bool(t >= gaussian_threshold(0.1, 168, 1, True)), how.split()[0] in ("tail", "gaussian")
    (True, True)
    """
    a = np.abs(sc.z) if sc.name != "spread" else sc.z
    a = np.where(np.isfinite(a), a, 0.0)
    floor = gaussian_threshold(rate, per_week, sc.k, sc.name != "spread")
    g = max(gap, sc.k)
    best = None
    # the highest base level with enough separate excursions (at low levels the excursions of
    # autocorrelated scores merge into a few long runs)
    for u0 in np.arange(1.0, 8.01, 0.25):
        pk = _excursion_peaks(a, u0, g)
        if len(pk) >= MIN_PEAKS:
            best = (u0, pk)
        elif best is not None:
            break
    if best is None:
        # too few excursions to see the tail: the series' own quantile at the Gaussian
        # exceedance probability (not below the Gaussian threshold plus one sd)
        looks = per_week * min(1.0, 3.0 / sc.k)
        p = min(rate / looks, 0.5)
        if p * len(a) >= 10 and not sc.calibrated:   # a quantile the series has seen often enough
            return max(floor + 1.0, float(np.quantile(a, 1 - p))), "quantile"
        if sc.calibrated:
            # a score that is already the null's own tail quantile (counts): no margin needed
            return floor, "count tail"
        return floor + 1.0, "gaussian + 1"
    u0, pk = best
    lam = len(pk) / weeks
    if len(pk) >= SHAPE_PEAKS:
        xi, beta = _gpd_quartiles(pk - u0)
    else:
        # too few peaks to tell a heavy tail from chance (the shape of 12 peaks ranges over
        # 0-0.6 on Gaussian noise): an exponential tail, its scale from the median excess
        xi, beta = 0.0, max(float(np.median(pk - u0)) / math.log(2), 0.05)
    m = lam / rate
    if m <= 1:
        # more alarms asked than the base level gives: the level the series exceeds that often
        c = u0
        for lv in np.arange(u0 - 0.25, 0.99, -0.25):
            c = float(lv)
            if len(_excursion_peaks(a, lv, g)) / weeks >= rate:
                break
    elif xi < 1e-3:
        # the predictive tail: an exponential scale estimated from n peaks is uncertain, and a
        # threshold from the estimate alone (beta log m) is exceeded more often than m says
        # (by 3 times at 0.1 a week asked on 8 weeks of 5-minute data: 12 peaks extrapolated
        # to 0.4). With the scale's uncertainty integrated out (n beta (m^(1/n) - 1), the
        # Lomax predictive of an exponential tail) the expected excursions are rate exactly
        # when beta is the mean excess; the median excess used here is as efficient
        n_pk = len(pk)
        c = u0 + n_pk * beta * (m ** (1 / n_pk) - 1)
    else:
        c = u0 + beta * (m**xi - 1) / xi
    return max(c, floor), ("tail" if c > floor else "gaussian") + f" (xi {xi:.2f})"


_XI = np.linspace(0.0, 0.6, 61)


def _gpd_quartiles(ex: np.ndarray) -> tuple[float, float]:
    """Shape and scale of a generalised Pareto tail from the 10 % and 50 % quantiles of the
    excesses (robust: the incidents, which are the largest peaks, move neither); shape 0 is
    the exponential tail, clipped to [0, 0.6]."""
    q10, q50 = np.quantile(ex, [0.1, 0.5])
    if not q10 > 0:
        return 0.0, max(float(q50) / math.log(2), 0.05)
    ratio = q50 / q10
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(_XI > 0, (0.5 ** -_XI - 1) / (0.9 ** -_XI - 1), math.log(2) / math.log(1 / 0.9))
    xi = float(_XI[int(np.argmin(np.abs(r - ratio)))])
    beta = q50 * xi / (0.5 ** -xi - 1) if xi > 0 else q50 / math.log(2)
    return xi, max(float(beta), 0.05)
