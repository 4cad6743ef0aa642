"""Score (Miettinen-Nurminen without the ``N / (N - 1)`` factor, i.e. Mee 1984 / Koopman 1984)
intervals for the difference and the ratio of two proportions, vectorised.

Both invert the same score statistic whose value at "no difference" is the **pooled
two-proportion z** of the test, so the interval excludes 0 (difference) or 1 (ratio) exactly when
the pooled z-test rejects at the same level: test and interval cannot disagree. For a difference
``delta = p_t - p_c`` the statistic is

    z(delta) = (p_t_hat - p_c_hat - delta) / sqrt(p_t~ (1 - p_t~) / n_t + p_c~ (1 - p_c~) / n_c)

with ``(p_t~, p_c~)`` the maximum-likelihood proportions under ``p_t - p_c = delta`` (closed form:
Farrington & Manning 1990); for a ratio ``phi = p_t / p_c`` the same with
``p_t_hat - phi p_c_hat`` and the restricted MLE under ``p_t = phi p_c``. The bounds are where
``|z| = z_{1 - alpha/2}``, found by Brent's method for one table and by vectorised bisection for arrays (``z`` is
monotone in ``delta`` and in ``phi``).
``statsmodels.stats.proportion.confint_proportions_2indep(method="score", correction=False)``
gives the same interval.

Examples
--------
>>> lo, hi = score_interval_diff(10, 200, 50, 2000)
>>> round(float(lo), 4), round(float(hi), 4)
(0.001, 0.065)
>>> lo, hi = score_interval_ratio(10, 200, 50, 2000)
>>> bool(lo > 1)
True
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special as _sp

__all__ = ["score_z_diff", "score_z_ratio", "score_interval_diff", "score_interval_ratio",
           "SCORE_METHOD"]

SCORE_METHOD = "score (Miettinen-Nurminen / Mee, inverts the pooled z-test)"

_ITER = 60


def _restricted_diff(p1, p2, n1, n2, delta):
    """Restricted MLE ``(p1~, p2~)`` under ``p1 - p2 = delta`` (Farrington-Manning)."""
    theta = n2 / n1
    a = 1.0 + theta
    b = -(1.0 + theta + p1 + theta * p2 + delta * (theta + 2.0))
    c = delta * delta + delta * (2.0 * p1 + theta + 1.0) + p1 + theta * p2
    d = -p1 * delta * (1.0 + delta)
    v = b ** 3 / (27.0 * a ** 3) - b * c / (6.0 * a * a) + d / (2.0 * a)
    u2 = np.maximum(b * b / (9.0 * a * a) - c / (3.0 * a), 0.0)
    u = np.where(v >= 0, 1.0, -1.0) * np.sqrt(u2)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosarg = np.where(u != 0, v / np.where(u != 0, u ** 3, 1.0), 0.0)
    w = (np.pi + np.arccos(np.clip(cosarg, -1.0, 1.0))) / 3.0
    q1 = np.clip(2.0 * u * np.cos(w) - b / (3.0 * a), 0.0, 1.0)
    q2 = np.clip(q1 - delta, 0.0, 1.0)
    return q1, q2


def score_z_diff(k1, n1, k2, n2, delta=0.0):
    """Score statistic of ``p1 - p2 = delta`` (group 1 = treatment); at ``delta = 0`` the pooled z.

    Examples
    --------
    >>> round(float(score_z_diff(45, 100, 30, 100)), 4)   # = pooled z, statsmodels proportions_ztest
    2.1909
    """
    k1, n1, k2, n2 = (np.asarray(v, dtype=float) for v in (k1, n1, k2, n2))
    p1, p2 = k1 / n1, k2 / n2
    q1, q2 = _restricted_diff(p1, p2, n1, n2, np.asarray(delta, dtype=float))
    var = q1 * (1.0 - q1) / n1 + q2 * (1.0 - q2) / n2
    num = p1 - p2 - delta
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)),
                        np.where(num == 0, 0.0, np.sign(num) * np.inf))


def _restricted_ratio(k1, n1, k2, n2, phi):
    """Restricted MLE ``(p1~, p2~)`` under ``p1 = phi p2`` (Koopman / Miettinen-Nurminen)."""
    a = (n1 + n2) * phi
    b = -(n1 * phi + k1 + n2 + k2 * phi)
    c = k1 + k2
    disc = np.sqrt(np.maximum(b * b - 4.0 * a * c, 0.0))
    # the smaller root, as 2c / (-b + sqrt(disc)): no cancellation when a is tiny or huge
    with np.errstate(divide="ignore", invalid="ignore"):
        q2 = np.clip(np.where(-b + disc > 0, 2.0 * c / (-b + disc), 0.0), 0.0, 1.0)
    q1 = np.clip(phi * q2, 0.0, 1.0)
    return q1, q2


def score_z_ratio(k1, n1, k2, n2, phi=1.0):
    """Score statistic of ``p1 / p2 = phi``; at ``phi = 1`` the pooled z.

    Examples
    --------
    >>> round(float(score_z_ratio(45, 100, 30, 100)), 4)
    2.1909
    """
    k1, n1, k2, n2 = (np.asarray(v, dtype=float) for v in (k1, n1, k2, n2))
    phi = np.asarray(phi, dtype=float)
    p1, p2 = k1 / n1, k2 / n2
    q1, q2 = _restricted_ratio(k1, n1, k2, n2, phi)
    var = q1 * (1.0 - q1) / n1 + phi * phi * q2 * (1.0 - q2) / n2
    num = p1 - phi * p2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)),
                        np.where(num == 0, 0.0, np.sign(num) * np.inf))


def _bisect(f, lo, hi, target):
    """Where the decreasing function ``f`` crosses ``target`` in ``[lo, hi]`` (elementwise)."""
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    for _ in range(_ITER):
        mid = 0.5 * (lo + hi)
        above = f(mid) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _z_diff_scalar(k1: float, n1: float, k2: float, n2: float, delta: float) -> float:
    """:func:`score_z_diff` for one table, in plain floats (the analysis calls it per row)."""
    p1, p2 = k1 / n1, k2 / n2
    theta = n2 / n1
    a = 1.0 + theta
    b = -(1.0 + theta + p1 + theta * p2 + delta * (theta + 2.0))
    c = delta * delta + delta * (2.0 * p1 + theta + 1.0) + p1 + theta * p2
    d = -p1 * delta * (1.0 + delta)
    v = b ** 3 / (27.0 * a ** 3) - b * c / (6.0 * a * a) + d / (2.0 * a)
    u = math.copysign(math.sqrt(max(b * b / (9.0 * a * a) - c / (3.0 * a), 0.0)), v if v else 1.0)
    cosarg = v / u ** 3 if u != 0 else 0.0
    w = (math.pi + math.acos(min(1.0, max(-1.0, cosarg)))) / 3.0
    q1 = min(1.0, max(0.0, 2.0 * u * math.cos(w) - b / (3.0 * a)))
    q2 = min(1.0, max(0.0, q1 - delta))
    var = q1 * (1.0 - q1) / n1 + q2 * (1.0 - q2) / n2
    num = p1 - p2 - delta
    if var > 0:
        return num / math.sqrt(var)
    return 0.0 if num == 0 else math.copysign(math.inf, num)


def _z_ratio_scalar(k1: float, n1: float, k2: float, n2: float, phi: float) -> float:
    """:func:`score_z_ratio` for one table, in plain floats."""
    a = (n1 + n2) * phi
    b = -(n1 * phi + k1 + n2 + k2 * phi)
    c = k1 + k2
    den = -b + math.sqrt(max(b * b - 4.0 * a * c, 0.0))
    q2 = min(1.0, max(0.0, 2.0 * c / den)) if den > 0 else 0.0
    q1 = min(1.0, max(0.0, phi * q2))
    var = q1 * (1.0 - q1) / n1 + phi * phi * q2 * (1.0 - q2) / n2
    num = k1 / n1 - phi * k2 / n2
    if var > 0:
        return num / math.sqrt(var)
    return 0.0 if num == 0 else math.copysign(math.inf, num)


def _root(f, lo: float, hi: float, target: float) -> float:
    """Where the decreasing ``f`` crosses ``target`` in ``[lo, hi]`` (Brent; an end if none)."""
    from scipy.optimize import brentq

    flo, fhi = f(lo) - target, f(hi) - target
    if flo <= 0:
        return lo
    if fhi >= 0:
        return hi
    return float(brentq(lambda x: f(x) - target, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=200))


def _interval_diff_scalar(k1, n1, k2, n2, alpha):
    z = float(_sp.ndtri(1.0 - alpha / 2.0))
    d = k1 / n1 - k2 / n2
    f = lambda x: _z_diff_scalar(k1, n1, k2, n2, x)  # noqa: E731
    eps = 1e-12
    return _root(f, -1 + eps, d, z), _root(f, d, 1 - eps, -z)


def _interval_ratio_scalar(k1, n1, k2, n2, alpha):
    z = float(_sp.ndtri(1.0 - alpha / 2.0))
    if k2 > 0 and k1 > 0:
        r = math.log((k1 / n1) / (k2 / n2))
    else:
        r = 40.0 if k2 == 0 else -40.0
    f = lambda x: _z_ratio_scalar(k1, n1, k2, n2, math.exp(x))  # noqa: E731
    lo, hi = _root(f, -40.0, r, z), _root(f, r, 40.0, -z)
    return (0.0 if lo <= -39.9 else math.exp(lo)), (math.inf if hi >= 39.9 else math.exp(hi))


def score_interval_diff(k1, n1, k2, n2, alpha: float = 0.05):
    """Score interval of ``p1 - p2`` (treatment minus control), vectorised over arrays.

    Examples
    --------
    >>> lo, hi = score_interval_diff([45, 10], [100, 200], [30, 50], [100, 2000])
    >>> bool(lo[0] > 0), bool(lo[1] > 0)
    (True, True)
    """
    if all(np.ndim(v) == 0 for v in (k1, n1, k2, n2)):
        return _interval_diff_scalar(float(k1), float(n1), float(k2), float(n2), alpha)
    k1, n1, k2, n2 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k1, n1, k2, n2)))
    z = float(_sp.ndtri(1.0 - alpha / 2.0))
    d = k1 / n1 - k2 / n2
    eps = 1e-12
    lo = _bisect(lambda x: score_z_diff(k1, n1, k2, n2, x), np.full_like(d, -1 + eps), d, z)
    hi = _bisect(lambda x: score_z_diff(k1, n1, k2, n2, x), d, np.full_like(d, 1 - eps), -z)
    return lo, hi


def score_interval_ratio(k1, n1, k2, n2, alpha: float = 0.05):
    """Score interval of ``p1 / p2`` (subtract 1 for the relative lift); bounds may be 0 or inf.

    Examples
    --------
    >>> lo, hi = score_interval_ratio(45, 100, 30, 100)
    >>> round(float(lo), 3), round(float(hi), 3)
    (1.043, 2.181)
    """
    if all(np.ndim(v) == 0 for v in (k1, n1, k2, n2)):
        return _interval_ratio_scalar(float(k1), float(n1), float(k2), float(n2), alpha)
    k1, n1, k2, n2 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k1, n1, k2, n2)))
    z = float(_sp.ndtri(1.0 - alpha / 2.0))
    # bisection on log(phi) in [-40, 40]; a bound that reaches the edge is 0 or inf
    with np.errstate(divide="ignore"):
        r = np.log(np.clip((k1 / n1) / np.where(k2 > 0, k2 / n2, np.nan), 1e-17, 1e17))
    r = np.where(k2 > 0, np.where(k1 > 0, r, -40.0), 40.0)
    f = lambda x: score_z_ratio(k1, n1, k2, n2, np.exp(x))  # noqa: E731
    lo = _bisect(f, np.full_like(r, -40.0), r, z)
    hi = _bisect(f, r, np.full_like(r, 40.0), -z)
    lo = np.where(lo <= -39.9, 0.0, np.exp(lo))
    hi = np.where(hi >= 39.9, np.inf, np.exp(hi))
    return lo, hi
