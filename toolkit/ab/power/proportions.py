"""Power, sample size and MDE of the two-proportion test: pooled (R ``power.prop.test``),
Cohen's h or unpooled normal formulas.

Examples
--------
>>> round(float(power_proportions(50, 0.5, 0.25)), 7)   # R power.prop.test(n=50, .5, .75)
0.7401659
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.ab.metrics import ABInputError, one_of
from toolkit.ab.power._common import (
    PROPORTION_METHODS,
    Design,
    _design,
    _check_baseline,
    _ndtr,
    _ndtri,
    _newton_increasing,
    _z_crit,
    _z_power,
)

__all__ = ["power_proportions", "sample_size_proportions", "mde_proportions"]


def _prop_power(p1, p2, n1, r, a, alt, strict, method):
    n2 = r * n1
    if method == "cohen_h":
        h = 2.0 * np.arcsin(np.sqrt(p2)) - 2.0 * np.arcsin(np.sqrt(p1))
        return _z_power(h * np.sqrt(n1 * n2 / (n1 + n2)), a, alt, strict)
    delta = p2 - p1
    sd1 = np.sqrt(p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2)
    if method == "unpooled":
        return _z_power(delta / sd1, a, alt, strict)
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    sd0 = np.sqrt(pbar * (1.0 - pbar) * (1.0 / n1 + 1.0 / n2))
    if alt == "two-sided":
        z = _ndtri(1.0 - a / 2.0)
        ad = np.abs(delta)
        p = _ndtr((ad - z * sd0) / sd1)
        if strict:
            p = p + _ndtr((-ad - z * sd0) / sd1)
        return p
    z = _ndtri(1.0 - a)
    if alt == "larger":
        return _ndtr((delta - z * sd0) / sd1)
    return _ndtr((-delta - z * sd0) / sd1)


def power_proportions(
    n,
    baseline,
    mde,
    *,
    design: Design | None = None,
    **settings,
):
    """Power of the two-proportion test (vectorised over ``n``, ``baseline`` and ``mde``).

    Parameters
    ----------
    n : float or array
        Control-arm size.
    baseline : float or array
        Control proportion ``p1``.
    mde : float or array
        Absolute difference ``p2 - p1`` (signed).
    design, **settings
        As in :func:`power_means`; ``method`` is ``"pooled"`` (the default), ``"cohen_h"`` or
        ``"unpooled"``.

    Returns
    -------
    ndarray or float

    Examples
    --------
    >>> round(float(power_proportions(50, 0.5, 0.25)), 7)   # R power.prop.test(n=50, .5, .75)
    0.7401659
    """
    d = _design(design, settings, PROPORTION_METHODS, "pooled")
    alt, a, ratio, method, strict = d.alternative, d.alpha_c, d.ratio, d.method, d.strict
    p1 = np.asarray(baseline, dtype=float)
    p2 = p1 + np.asarray(mde, dtype=float)
    out = _prop_power(p1, p2, np.asarray(n, dtype=float), float(ratio), a, alt, strict, method)
    return out[()] if isinstance(out, np.ndarray) else out


def _prop_closed_n(p1, p2, r, za, zb, method):
    delta = p2 - p1
    if method == "cohen_h":
        h = 2.0 * math.asin(math.sqrt(p2)) - 2.0 * math.asin(math.sqrt(p1))
        return (za + zb) ** 2 * (1.0 + 1.0 / r) / (h * h)
    v1 = p1 * (1 - p1) + p2 * (1 - p2) / r
    if method == "unpooled":
        return (za + zb) ** 2 * v1 / (delta * delta)
    pbar = (p1 + r * p2) / (1.0 + r)
    v0 = pbar * (1 - pbar) * (1.0 + 1.0 / r)
    return ((za * math.sqrt(v0) + zb * math.sqrt(v1)) / abs(delta)) ** 2


def _check_props(p1: float, p2: float) -> None:
    _check_baseline(p1)
    if not 0.0 < p2 < 1.0:
        raise ABInputError(f"baseline + mde must be in (0, 1), got {p2!r}")
    if p1 == p2:
        raise ABInputError("mde must be non-zero")


def sample_size_proportions(
    baseline: float,
    mde: float,
    *,
    design: Design | None = None,
    **settings,
) -> float:
    """Unrounded control-arm size for a two-proportion test (closed form; Newton if strict).

    Examples
    --------
    >>> round(sample_size_proportions(0.5, 0.25, power=0.9), 4)   # R power.prop.test: 76.7069
    76.7069
    """
    d = _design(design, settings, PROPORTION_METHODS, "pooled", power=0.8)
    alt, a, ratio, method, strict, power = (d.alternative, d.alpha_c, d.ratio, d.method, d.strict,
                                            d.power)
    p1 = float(baseline)
    p2 = p1 + float(mde)
    _check_props(p1, p2)
    if (alt == "larger" and p2 < p1) or (alt == "smaller" and p2 > p1):
        raise ABInputError(f"mde {mde} points the other way than alternative={alt!r}")
    r = float(ratio)
    n0 = _prop_closed_n(p1, p2, r, _z_crit(a, alt), float(_ndtri(power)), method)
    if not strict or alt != "two-sided":
        return n0
    return _newton_increasing(
        lambda n: _prop_power(p1, p2, n, r, a, alt, True, method) - power, n0, 1e-9)


def mde_proportions(
    n: float,
    baseline: float,
    *,
    direction: str | None = None,
    design: Design | None = None,
    **settings,
) -> float:
    """Smallest absolute lift ``p2 - p1`` detectable with control-arm size ``n``.

    ``direction`` ("increase" or "decrease") defaults to "decrease" for ``alternative="smaller"``
    and "increase" otherwise; the result is signed accordingly.

    Examples
    --------
    >>> round(mde_proportions(77, 0.5, power=0.9), 3)
    0.25
    """
    d = _design(design, settings, PROPORTION_METHODS, "pooled", power=0.8)
    alt, a, ratio, method, strict, power = (d.alternative, d.alpha_c, d.ratio, d.method, d.strict,
                                            d.power)
    p1 = float(baseline)
    _check_baseline(p1)
    direction = direction or ("decrease" if alt == "smaller" else "increase")
    one_of(direction, ("increase", "decrease"), "direction")
    sgn = 1.0 if direction == "increase" else -1.0
    r = float(ratio)
    n1 = float(n)
    if not n1 > 0:
        raise ABInputError(f"n must be > 0, got {n!r}")
    room = (1.0 - p1) if sgn > 0 else p1  # the lift cannot push p2 outside (0, 1)
    za = _z_crit(a, alt)
    zb = float(_ndtri(power))
    if method == "cohen_h" and (not strict or alt != "two-sided"):
        h = (za + zb) * math.sqrt((1.0 + r) / (n1 * r))
        phi = math.asin(math.sqrt(p1)) + sgn * h / 2.0
        if not 0.0 < phi < math.pi / 2:
            raise ABInputError(f"n = {n1:g} is too small to detect any lift from {p1:g} "
                             f"at power {power:g}")
        return math.sin(phi) ** 2 - p1

    def f(m):
        m = np.minimum(m, room * (1 - 1e-12))
        return _prop_power(p1, p1 + sgn * m, n1, r, a, alt, strict, method) - power

    top = room * (1 - 1e-12)
    if float(f(np.array([top]))[0]) < 0:
        raise ABInputError(f"n = {n1:g} is too small to detect any lift from {p1:g} "
                         f"at power {power:g}")
    m0 = min((za + zb) * math.sqrt(p1 * (1 - p1) * (1.0 + 1.0 / r) / n1), 0.5 * top)
    return sgn * _newton_increasing(f, m0, 1e-15, top)
