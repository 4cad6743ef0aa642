"""Shared pieces of the planning formulas: method names, argument checks, the z-test power and
a root finder."""

from __future__ import annotations

import math

import numpy as np
from scipy import special as _sp

from toolkit.ab.metrics import ABInputError

__all__ = ["MEAN_METHODS", "PROPORTION_METHODS", "ALTERNATIVES"]

MEAN_METHODS: dict[str, str] = {
    "exact": "noncentral t (exact)",
    "normal": "normal approximation (z)",
}
PROPORTION_METHODS: dict[str, str] = {
    "pooled": "pooled normal (R power.prop.test)",
    "cohen_h": "arcsine (Cohen's h)",
    "unpooled": "unpooled normal (Wald)",
}
ALTERNATIVES = ("two-sided", "larger", "smaller")
_ALT_ALIASES = {"two-sided": "two-sided", "two_sided": "two-sided", "2s": "two-sided",
                "larger": "larger", "greater": "larger", "smaller": "smaller", "less": "smaller"}

_ndtr = _sp.ndtr
_ndtri = _sp.ndtri
_stdtrit = _sp.stdtrit
_nctdtr_raw = _sp.nctdtr


def _nctdtr(df, nc, t):
    """Noncentral t CDF; scipy returns NaN far in a tail, where the value is 0 or 1."""
    p = _nctdtr_raw(df, nc, t)
    if np.isnan(p).any():
        p = np.where(np.isnan(p), np.where(np.asarray(t) < np.asarray(nc), 0.0, 1.0), p)
    return p


def _alt(alternative: str) -> str:
    try:
        return _ALT_ALIASES[alternative]
    except KeyError:
        raise ABInputError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}") from None


def _check_common(alpha: float, power: float | None, ratio: float, arms: int) -> None:
    if not 0.0 < alpha < 1.0:
        raise ABInputError(f"alpha must be in (0, 1), got {alpha!r}")
    if power is not None and not 0.0 < power < 1.0:
        raise ABInputError(f"power must be in (0, 1), got {power!r}")
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ABInputError(f"ratio (n_treatment / n_control) must be > 0, got {ratio!r}")
    if int(arms) != arms or arms < 2:
        raise ABInputError(f"arms must be an integer >= 2 (control included), got {arms!r}")


def _args(alpha: float, power: float | None, ratio: float, arms: int, alternative: str,
          multiplicity: str, method: str, methods) -> tuple[str, float]:
    """Check the arguments every power function takes; return the alternative's canonical
    name and the per-comparison significance level."""
    _check_common(alpha, power, ratio, arms)
    alt = _alt(alternative)
    if method not in methods:
        raise ABInputError(f"method must be one of {sorted(methods)}, got {method!r}")
    return alt, _alpha_c(alpha, arms, multiplicity)


def _check_baseline(p1: float) -> None:
    if not 0.0 < p1 < 1.0:
        raise ABInputError(f"baseline proportion must be in (0, 1), got {p1!r}")


def _alpha_c(alpha: float, arms: int, multiplicity: str) -> float:
    if multiplicity == "bonferroni":
        return alpha / (arms - 1)
    if multiplicity == "none":
        return alpha
    raise ABInputError(f"multiplicity must be 'bonferroni' or 'none', got {multiplicity!r}")


def _z_crit(a: float, alt: str) -> float:
    return float(_ndtri(1.0 - a / 2.0)) if alt == "two-sided" else float(_ndtri(1.0 - a))


def _z_power(nc, a, alt, strict):
    """Power of a z-test whose statistic is N(nc, 1) under the alternative."""
    if alt == "two-sided":
        z = _ndtri(1.0 - a / 2.0)
        nc = np.abs(nc)
        p = _ndtr(nc - z)
        if strict:
            p = p + _ndtr(-nc - z)
        return p
    z = _ndtri(1.0 - a)
    return _ndtr(nc - z) if alt == "larger" else _ndtr(-nc - z)


def _newton_increasing(f, x0: float, lo: float, hi: float = math.inf, tol: float = 1e-10,
                       maxiter: int = 30) -> float:
    """Root of an increasing function ``f`` by Newton steps (numerical slope), then bisection."""
    x = max(x0, lo)
    for _ in range(maxiter):
        h = max(abs(x) * 1e-6, 1e-9)
        fx, fh = f(np.array([x, x + h]))
        slope = (fh - fx) / h
        if not (slope > 0 and math.isfinite(fx)):
            break
        step = fx / slope
        xn = x - step
        if xn <= lo:
            xn = 0.5 * (x + lo)
        if xn >= hi:
            xn = 0.5 * (x + hi)
        if abs(xn - x) <= tol * max(1.0, abs(x)):
            return float(xn)
        x = xn
    # robust fallback
    from scipy.optimize import brentq

    a, b = lo + 1e-12, x
    fb = float(f(np.array([b]))[0])
    if fb < 0:
        b = max(x, 2.0)
        while float(f(np.array([b]))[0]) < 0:
            b *= 2.0
            if b > 1e15 or b >= hi:
                raise ABInputError("no solution: the target power is not reachable")
    return float(brentq(lambda v: float(f(np.array([v]))[0]), a, b, xtol=1e-12, rtol=1e-14))


def _round_up(x: float) -> int:
    return int(math.ceil(x - 1e-9))


def _mode(effect_given: bool, n: float | None, power: float | None) -> str:
    if effect_given and n is None:
        return "n"
    if effect_given and n is not None:
        if power is not None:
            raise ABInputError("give two of (effect, n, power): all three were given")
        return "power"
    if n is None:
        raise ABInputError("give the effect (to solve n or power) or n (to solve the MDE)")
    return "mde"
