"""Shared pieces of the planning formulas: method names, argument checks, the z-test power and
a root finder."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special as _sp

from toolkit.ab.metrics import ABInputError

__all__ = ["Design", "MEAN_METHODS", "PROPORTION_METHODS", "ALTERNATIVES"]

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


@dataclass(slots=True, frozen=True)
class Design:
    """The settings every planning function shares: its common keyword tail, in one object.

    Every function of :mod:`toolkit.ab.power` takes ``design=`` and/or these fields as keywords
    (``sample_size_means(0.3, alpha=0.01)`` is ``sample_size_means(0.3,
    design=Design(alpha=0.01))``); keywords replace fields of ``design``.

    Attributes
    ----------
    alpha : float
        Family-wise significance level; divided by ``arms - 1`` per comparison (Bonferroni).
    power : float, optional
        Target power (the solvers' default 0.8; ``plan_*``: None means "solve the power").
    ratio : float
        ``n_treatment / n_control``.
    arms : int
        Number of arms including control.
    alternative : {"two-sided", "larger", "smaller"}
    method : str, optional
        The formula (``MEAN_METHODS``, ``PROPORTION_METHODS``, ``PAIRED_METHODS``); None: the
        family's default.
    strict : bool
        Two-sided only: add the probability of rejecting in the wrong direction.
    multiplicity : {"bonferroni", "none"}

    Examples
    --------
    >>> d = Design(alpha=0.05, arms=3, alternative="greater")
    >>> d.alternative, d.alpha_c
    ('larger', 0.025)
    >>> d.summary_table()["value"].tolist()[:2]
    [0.05, None]
    """

    alpha: float = 0.05
    power: float | None = None
    ratio: float = 1.0
    arms: int = 2
    alternative: str = "two-sided"
    method: str | None = None
    strict: bool = False
    multiplicity: str = "bonferroni"
    alpha_c: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # frozen: a field changed after the checks would bypass them (and leave alpha_c stale);
        # use dataclasses.replace or keywords to vary a design
        _check_common(self.alpha, self.power, self.ratio, self.arms)
        object.__setattr__(self, "alternative", _alt(self.alternative))
        object.__setattr__(self, "alpha_c", _alpha_c(self.alpha, self.arms, self.multiplicity))

    def to_dict(self) -> dict:
        """JSON-ready dict of the fields."""
        return {f: getattr(self, f) for f in _FIELDS}

    def summary_table(self):
        """One row per setting."""
        import pandas as pd

        return pd.DataFrame({"setting": list(_FIELDS), "value": [getattr(self, f) for f in _FIELDS]})


_FIELDS = ("alpha", "power", "ratio", "arms", "alternative", "method", "strict", "multiplicity")
_DEFAULTS: dict[tuple, Design] = {}


def _default(method: str, power: float | None) -> Design:
    """The checked default design of a family (cached: the common call builds nothing)."""
    d = _DEFAULTS.get((method, power))
    if d is None:
        d = _DEFAULTS[(method, power)] = Design(power=power, method=method)
    return d


def _design(design: Design | None, settings: dict, methods, default_method: str,
            power: float | None = None) -> Design:
    """The design of one call: ``design`` (or the family's default) with ``settings`` replacing
    fields, checked; ``power`` is the default target power, ``default_method`` the method."""
    if settings and design is None:  # keywords only: Design() itself refuses unknown ones
        settings.setdefault("method", default_method)
        if power is not None:
            settings.setdefault("power", power)
        d = Design(**settings)
    elif settings:
        d = Design(**{**{f: getattr(design, f) for f in _FIELDS}, **settings})  # unknown: TypeError
    elif design is None:
        return _default(default_method, power)
    else:
        d = design
    if (d.power is None and power is not None) or d.method is None:
        d = replace(d, power=power if d.power is None else d.power, method=d.method or default_method)
    if d.method not in methods:
        raise ABInputError(f"method must be one of {sorted(methods)}, got {d.method!r}")
    return d


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


def _nct_power(df, nc, a, alt, strict):
    """Power of a t-test whose statistic is noncentral t(df, nc) under the alternative."""
    if alt == "two-sided":
        crit = _stdtrit(df, 1.0 - a / 2.0)
        nc = np.abs(nc)
        p = 1.0 - _nctdtr(df, nc, crit)
        if strict:
            p = p + _nctdtr(df, nc, -crit)
        return p
    crit = _stdtrit(df, 1.0 - a)
    return 1.0 - _nctdtr(df, nc, crit) if alt == "larger" else _nctdtr(df, nc, -crit)


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
