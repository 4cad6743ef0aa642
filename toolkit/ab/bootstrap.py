"""Percentile and BCa bootstrap intervals for the difference or relative lift of two arms.

Why not ``scipy.stats.bootstrap``: measured with ``python benchmarks/run.py ab`` (rows
``bootstrap_ci ...``, 2-core VM), percentile + BCa with 2,000 resamples take 0.27 s for a
continuous metric with 10,000 units per arm against 2.3 s for ``scipy.stats.bootstrap(...,
method="BCa", vectorized=True, batch=250)`` (8.5x), and 0.003 s for a binary one with 20,000 per
arm against 5.9 s (about 2,000x): a resample's count of ones is drawn as a binomial and the
jackknife is closed form (:func:`_loo`), where scipy resamples every unit and jackknifes with
``batch x n`` indices (without ``batch=``, ``n x n``: 75 GiB at 100,000 per arm).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> r = bootstrap_ci(rng.normal(0, 1, 300), rng.normal(0.5, 1, 300), seed=1)
>>> r["percentile_low"] > 0
True
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import special as _sp

from toolkit.ab.metrics import KINDS, ABInputError, one_of

__all__ = ["bootstrap_ci", "mean_interval"]


def _resampled_stat(x: np.ndarray, den: np.ndarray | None, kind: str, B: int,
                    rng: np.random.Generator) -> np.ndarray:
    """The estimate (a mean, or ``sum x / sum den``) over ``B`` resamples of the units."""
    n = x.size
    if kind == "binary":
        # the number of ones in a resample of n is Binomial(n, k / n): exact and O(B)
        return rng.binomial(n, x.mean(), size=B) / n
    out = np.empty(B)
    chunk = max(1, int(4_000_000 // max(n, 1)))  # the draws do not depend on the chunks
    for s in range(0, B, chunk):
        b = min(chunk, B - s)
        idx = rng.integers(0, n, size=(b, n), dtype=np.int32 if n < 2**31 else np.int64)
        if den is None:
            out[s:s + b] = x[idx].mean(axis=1)
        else:
            out[s:s + b] = x[idx].sum(axis=1) / den[idx].sum(axis=1)
    return out


def mean_interval(d: np.ndarray, n_resamples: int, alpha: float,
                  rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``d`` (units resampled).

    Examples
    --------
    >>> lo, hi = mean_interval(np.arange(10.0), 500, 0.05, np.random.default_rng(0))
    >>> bool(lo < 4.5 < hi)
    True
    """
    means = _resampled_stat(d, None, "continuous", n_resamples, rng)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _loo(x: np.ndarray, den: np.ndarray | None) -> np.ndarray:
    """Leave-one-out estimates (closed form) of a mean or a ratio of sums."""
    if den is None:
        return (x.sum() - x) / (x.size - 1)
    return (x.sum() - x) / (den.sum() - den)


def bootstrap_ci(
    control,
    treatment,
    *,
    kind: str = "continuous",
    statistic: str = "diff",
    control_den=None,
    treatment_den=None,
    n_resamples: int = 2000,
    alpha: float = 0.05,
    seed: int | Sequence[int] = 0,
) -> dict[str, float]:
    """Percentile and BCa bootstrap intervals for the difference or relative lift of two arms.

    Each arm is resampled independently (stratified bootstrap). BCa follows Efron & Tibshirani
    (1993, eq. 14.14 and 15.36): bias correction from the share of resamples below the estimate,
    acceleration from the jackknife over both samples (closed-form leave-one-out estimates).

    Parameters
    ----------
    control, treatment : array
        Per-unit values (the numerators for ratio metrics).
    kind : {"binary", "continuous", "ratio"}
        Binary arms are resampled exactly via Binomial draws.
    statistic : {"diff", "rel", "both"}
        ``treatment - control`` or ``treatment / control - 1``; ``"both"`` returns
        ``{"diff": {...}, "rel": {...}}`` from the same resamples.
    control_den, treatment_den : array, optional
        Denominators for ratio metrics.
    n_resamples : int
    alpha : float
        1 - confidence level.
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    dict
        ``estimate, percentile_low, percentile_high, bca_low, bca_high, z0, acceleration,
        n_resamples``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> c, t = rng.normal(0, 1, 400), rng.normal(0.3, 1, 400)
    >>> r = bootstrap_ci(c, t, seed=1)
    >>> r["bca_low"] > 0 and r["percentile_low"] > 0
    True
    """
    kind = KINDS.get(kind, kind)
    xc = np.asarray(control, dtype=float)
    xt = np.asarray(treatment, dtype=float)
    dc = None if control_den is None else np.asarray(control_den, dtype=float)
    dt = None if treatment_den is None else np.asarray(treatment_den, dtype=float)
    if kind == "ratio" and (dc is None or dt is None):
        raise ABInputError("ratio bootstrap needs control_den and treatment_den")
    if min(xc.size, xt.size) < 2:
        raise ABInputError("bootstrap needs at least 2 units per arm")
    one_of(statistic, ("diff", "rel", "both"), "statistic")
    est_c = xc.mean() if dc is None else xc.sum() / dc.sum()
    est_t = xt.mean() if dt is None else xt.sum() / dt.sum()
    rng = np.random.default_rng(seed)
    bc = _resampled_stat(xc, dc, kind, n_resamples, rng)
    bt = _resampled_stat(xt, dt, kind, n_resamples, rng)
    loo_c, loo_t = _loo(xc, dc), _loo(xt, dt)
    if statistic == "both":
        return {s_: _bootstrap_interval(s_, est_c, est_t, bc, bt, loo_c, loo_t, alpha, n_resamples)
                for s_ in ("diff", "rel")}
    return _bootstrap_interval(statistic, est_c, est_t, bc, bt, loo_c, loo_t, alpha, n_resamples)


def _bootstrap_interval(statistic, est_c, est_t, bc, bt, loo_c, loo_t, alpha, n_resamples):
    def stat(t, c):
        return t - c if statistic == "diff" else t / c - 1.0

    theta = float(stat(est_t, est_c))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = stat(bt, bc)
    boot = boot[np.isfinite(boot)]
    lo_p, hi_p = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    # BCa
    prop = (np.sum(boot < theta) + 0.5 * np.sum(boot == theta)) / boot.size
    z0 = float(_sp.ndtri(prop)) if 0 < prop < 1 else (math.inf if prop >= 1 else -math.inf)
    nums = dens = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for jack in (stat(est_t, loo_c), stat(loo_t, est_c)):
            n = jack.size
            u = (n - 1) * (jack.mean() - jack)
            nums += np.sum(u ** 3) / n ** 3
            dens += np.sum(u ** 2) / n ** 2
    a = float(nums / (6.0 * dens ** 1.5)) if dens > 0 else 0.0
    if math.isfinite(z0):
        zl, zh = _sp.ndtri(alpha / 2), _sp.ndtri(1 - alpha / 2)
        a1 = _sp.ndtr(z0 + (z0 + zl) / (1 - a * (z0 + zl)))
        a2 = _sp.ndtr(z0 + (z0 + zh) / (1 - a * (z0 + zh)))
        lo_b, hi_b = np.quantile(boot, [a1, a2])
    else:
        lo_b = hi_b = math.nan
    return {"estimate": theta, "percentile_low": float(lo_p), "percentile_high": float(hi_p),
            "bca_low": float(lo_b), "bca_high": float(hi_b), "z0": z0, "acceleration": a,
            "n_resamples": int(n_resamples)}
