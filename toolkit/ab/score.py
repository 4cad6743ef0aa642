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
``|z| = z_{1 - alpha/2}``, found by bisection (``z`` is monotone in ``delta`` and in ``phi``).
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
    q2 = np.clip((-b - disc) / (2.0 * a), 0.0, 1.0)
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


def score_interval_diff(k1, n1, k2, n2, alpha: float = 0.05):
    """Score interval of ``p1 - p2`` (treatment minus control), vectorised over arrays.

    Examples
    --------
    >>> lo, hi = score_interval_diff([45, 10], [100, 200], [30, 50], [100, 2000])
    >>> bool(lo[0] > 0), bool(lo[1] > 0)
    (True, True)
    """
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
