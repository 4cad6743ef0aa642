"""Power, sample size and MDE of the two-sample t-test: exact (noncentral t) or normal.

Examples
--------
>>> round(float(power_means(20, 1.0)), 7)          # R power.t.test(n=20, delta=1)
0.8689528
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.ab.metrics import ABInputError
from toolkit.ab.power._common import (
    MEAN_METHODS,
    Design,
    _design,
    _nct_power,
    _nctdtr_raw,
    _ndtri,
    _newton_increasing,
    _stdtrit,
    _z_crit,
    _z_power,
)

__all__ = ["power_means", "sample_size_means", "mde_means"]


def _t_power(d, n1, r, a, alt, strict):
    n2 = r * n1
    return _nct_power(n1 + n2 - 2.0, d * np.sqrt(n1 * n2 / (n1 + n2)), a, alt, strict)


def _t_power_scalar(d: float, n1: float, r: float, a: float, alt: str, strict: bool) -> float:
    """Scalar :func:`_t_power` with Python floats (no array overhead: the solver's hot path)."""
    n2 = r * n1
    df = n1 + n2 - 2.0
    nc = d * math.sqrt(n1 * n2 / (n1 + n2))
    if alt == "two-sided":
        crit = float(_stdtrit(df, 1.0 - a / 2.0))
        nc = abs(nc)
        c = float(_nctdtr_raw(df, nc, crit))
        if c != c:  # NaN far in a tail
            c = 0.0 if crit < nc else 1.0
        p = 1.0 - c
        if strict:
            o = float(_nctdtr_raw(df, nc, -crit))
            p += 0.0 if o != o else o
        return p
    crit = float(_stdtrit(df, 1.0 - a))
    if alt == "larger":
        c = float(_nctdtr_raw(df, nc, crit))
        return 1.0 - (c if c == c else (0.0 if crit < nc else 1.0))
    c = float(_nctdtr_raw(df, nc, -crit))
    return c if c == c else (0.0 if -crit < nc else 1.0)


def _secant_t(d, r, a, alt, strict, target, n0, lo, za, tol=1e-10, maxiter=20):
    """Solve exact t power = target in n: one Newton step with the normal-approximation slope,
    then secant steps (one noncentral-t evaluation per step). None if it does not converge."""
    k = abs(d) * math.sqrt(r / (1.0 + r))
    x0 = n0
    f0 = _t_power_scalar(d, x0, r, a, alt, strict) - target
    nc = k * math.sqrt(x0)
    slope = math.exp(-0.5 * (nc - za) ** 2) / math.sqrt(2 * math.pi) * nc / (2.0 * x0)
    if not slope > 0:
        return None
    x1 = max(x0 - f0 / slope, 0.5 * (x0 + lo))
    for _ in range(maxiter):
        if abs(x1 - x0) <= tol * max(1.0, abs(x1)):
            return x1
        f1 = _t_power_scalar(d, x1, r, a, alt, strict) - target
        if not math.isfinite(f1) or f1 == f0:
            return x1 if f1 == 0 else None
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        if x2 <= lo:
            x2 = 0.5 * (x1 + lo)
        x0, f0, x1 = x1, f1, x2
    return None


def power_means(
    n,
    effect_size,
    *,
    design: Design | None = None,
    **settings,
):
    """Power of the two-sample t-test (vectorised over ``n`` and ``effect_size``).

    Parameters
    ----------
    n : float or array
        Control-arm size (each treatment arm has ``ratio * n``); non-integers allowed.
    effect_size : float or array
        Cohen's d (difference of means divided by the common SD), signed for one-sided tests.
    design : Design, optional
        The shared settings (alpha, ratio, arms, alternative, strict, multiplicity) and
        ``method``: ``"exact"`` (noncentral t, the default) or ``"normal"`` (z).
    **settings
        Fields of :class:`Design` as keywords (``alpha=0.01``); they replace those of ``design``.

    Returns
    -------
    ndarray or float

    Examples
    --------
    >>> round(float(power_means(20, 1.0)), 7)          # R power.t.test(n=20, delta=1)
    0.8689528
    >>> power_means([10, 50, 100], 0.5).round(3)
    array([0.184, 0.697, 0.94 ])
    """
    d = _design(design, settings, MEAN_METHODS, "exact")
    alt, a, ratio, method, strict = d.alternative, d.alpha_c, d.ratio, d.method, d.strict
    n1 = np.asarray(n, dtype=float)
    d = np.asarray(effect_size, dtype=float)
    if method == "exact":
        out = _t_power(d, n1, float(ratio), a, alt, strict)
    else:
        r = float(ratio)
        out = _z_power(d * np.sqrt(n1 * r / (1.0 + r)), a, alt, strict)
    return out[()] if isinstance(out, np.ndarray) else out


def sample_size_means(
    effect_size: float,
    *,
    design: Design | None = None,
    **settings,
) -> float:
    """Unrounded control-arm size for a two-sample t-test (fast scalar solve).

    Closed-form normal approximation first, then Newton steps on the exact noncentral-t power.

    Examples
    --------
    >>> [round(sample_size_means(d), 1) for d in (0.2, 0.5, 0.8)]   # Cohen (1988), table 2.4.1
    [393.4, 63.8, 25.5]
    """
    d = _design(design, settings, MEAN_METHODS, "exact", power=0.8)
    alt, a, ratio, method, strict, power = (d.alternative, d.alpha_c, d.ratio, d.method, d.strict,
                                            d.power)
    d = float(effect_size)
    if not math.isfinite(d) or d == 0:
        raise ABInputError(f"effect_size must be a non-zero finite number, got {effect_size!r}")
    if (alt == "larger" and d < 0) or (alt == "smaller" and d > 0):
        raise ABInputError(f"effect_size {d} points the other way than alternative={alt!r}")
    r = float(ratio)
    za = _z_crit(a, alt)
    zb = float(_ndtri(power))
    n0 = (za + zb) ** 2 * (1.0 + 1.0 / r) / (d * d)
    if method == "normal":
        if not strict or alt != "two-sided":
            return n0
        return _newton_increasing(
            lambda n: _z_power(d * np.sqrt(n * r / (1.0 + r)), a, alt, True) - power, n0, 1e-9)
    # Guenther's correction to the normal start makes Newton converge in 1-3 steps.
    n0 += za * za / (2.0 * (1.0 + r))
    lo = 2.0 / (1.0 + r) + 1e-9  # df = n1 (1 + r) - 2 > 0
    n = _secant_t(d, r, a, alt, strict, power, n0, lo, za)
    if n is not None:
        return n
    return _newton_increasing(lambda n: _t_power(d, n, r, a, alt, strict) - power, n0, lo)


def mde_means(
    n: float,
    *,
    design: Design | None = None,
    **settings,
) -> float:
    """Smallest standardised effect (Cohen's d) detectable with control-arm size ``n``.

    Positive, except for ``alternative="smaller"`` where it is negative.

    Examples
    --------
    >>> round(mde_means(64), 3)
    0.499
    """
    d = _design(design, settings, MEAN_METHODS, "exact", power=0.8)
    alt, a, ratio, method, strict, power = (d.alternative, d.alpha_c, d.ratio, d.method, d.strict,
                                            d.power)
    r = float(ratio)
    n1 = float(n)
    if not n1 * (1 + r) > 2:
        raise ABInputError(f"n must give at least 1 degree of freedom, got n={n!r}")
    za = _z_crit(a, alt)
    d0 = (za + float(_ndtri(power))) * math.sqrt((1.0 + r) / (n1 * r))
    sign = -1.0 if alt == "smaller" else 1.0
    if method == "normal" and (not strict or alt != "two-sided"):
        return sign * d0
    if method == "normal":
        return _newton_increasing(
            lambda d: _z_power(d * np.sqrt(n1 * r / (1.0 + r)), a, alt, True) - power, d0, 1e-12)
    return sign * _newton_increasing(
        lambda d: _t_power(sign * d, n1, r, a, alt, strict) - power, d0, 1e-12)
