"""Planning an A/B test: sample size, power, minimum detectable effect and duration.

Two metric families, each with named formulas (the name is stored in every result):

means (two-sample, common SD, standardised effect ``d = mde / sd``)
    ``"exact"``  -- noncentral t (the exact power of the pooled two-sample t-test, as R
    ``power.t.test``, G*Power and statsmodels ``TTestIndPower``);
    ``"normal"`` -- normal approximation (z).
proportions (baseline ``p1``, treatment ``p2 = p1 + mde``)
    ``"pooled"``   -- pooled-variance normal formula of R ``power.prop.test`` (generalised to
    unequal allocation); ``"cohen_h"`` -- arcsine transform, Cohen's ``h``; ``"unpooled"`` --
    unpooled (Wald) normal formula.

Conventions
-----------
* ``n`` is the size of the **control** arm; each treatment arm has ``ratio * n`` units.
* ``arms`` counts every arm including control. With more than two arms each treatment is compared
  with control at ``alpha / (arms - 1)`` (Bonferroni, ``multiplicity="bonferroni"``), which keeps
  the family-wise error rate at ``alpha`` whatever correction (Holm is never worse) is used later.
* Two-sided power counts rejections in the direction of the effect only (R's default
  ``strict=FALSE``); ``strict=True`` adds the opposite tail (G*Power's convention). The two
  differ by less than 1e-6 at any power worth planning for.
* Sample sizes are solved in closed form (normal formulas) or from the closed-form normal start
  followed by Newton steps on the exact power (noncentral t), then rounded up per arm; the
  result also reports the power actually achieved with the rounded sizes.

The vectorised ``power_means`` / ``power_proportions`` evaluate whole power curves in one call
(a 200-point exact curve takes well under a millisecond); see ``benchmarks/bench_ab.py``.

Examples
--------
>>> r = plan_means(effect_size=0.5, power=0.90, strict=True)   # G*Power: N = 172, power .9032
>>> r.n_total, round(r.achieved_power, 4)
(172, 0.9032)
>>> round(plan_proportions(baseline=0.5, mde=0.25, power=0.9).n_control_exact, 4)  # R: 76.7069
76.7069
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import special as _sp

__all__ = [
    "PowerResult",
    "plan_means",
    "plan_proportions",
    "power_means",
    "power_proportions",
    "sample_size_means",
    "sample_size_proportions",
    "mde_means",
    "mde_proportions",
    "duration_days",
    "power_curve",
    "MEAN_METHODS",
    "PROPORTION_METHODS",
    "ALTERNATIVES",
]

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


# ------------------------------------------------------------------------------------------
# result
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerResult:
    """A test plan: what was solved for, with which formula, and the sizes it needs.

    Attributes
    ----------
    metric : {"mean", "proportion"}
    method : str
        The formula, e.g. ``"noncentral t (exact)"`` or ``"pooled normal (R power.prop.test)"``.
    solved_for : {"n", "power", "mde"}
    alpha, alpha_per_comparison : float
        Family-wise level and the level of each treatment-vs-control test.
    power : float
        Target power (``solved_for`` "n" or "mde") or the computed power (``"power"``).
    achieved_power : float
        Power with the rounded-up arm sizes.
    effect_size : float
        Standardised effect: Cohen's d (means) or Cohen's h (proportions).
    mde, mde_relative : float
        Absolute effect (difference of means or of proportions) and relative to the baseline.
    baseline, treatment_value, sd : float or None
    n_control_exact : float
        Unrounded control-arm size; ``n_control`` / ``n_treatment`` are rounded up.
    n_total : int
        Units over all arms.
    duration_days : int or None
        ``ceil(n_total / daily_traffic)`` when daily traffic was given.
    """

    metric: str
    method: str
    solved_for: str
    alpha: float
    alpha_per_comparison: float
    power: float
    achieved_power: float
    alternative: str
    strict: bool
    arms: int
    ratio: float
    effect_size: float
    mde: float | None
    mde_relative: float | None
    baseline: float | None
    treatment_value: float | None
    sd: float | None
    n_control_exact: float
    n_control: int
    n_treatment: int
    n_total: int
    daily_traffic: float | None = None
    duration_days: int | None = None
    multiplicity: str = "bonferroni"
    notes: list[str] = field(default_factory=list)

    @property
    def n_per_arm(self) -> list[int]:
        """Sizes of all arms: control first, then each treatment arm."""
        return [self.n_control] + [self.n_treatment] * (self.arms - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of all fields plus ``n_per_arm``."""
        d = asdict(self)
        d["n_per_arm"] = self.n_per_arm
        return d

    def summary(self) -> str:
        """One readable paragraph describing the plan.

        Examples
        --------
        >>> print(plan_proportions(baseline=0.3, mde=0.02, daily_traffic=2000).summary())
        ... # doctest: +ELLIPSIS
        n per arm: 8,394 (2 arms, 16,788 units); ... 9 days at 2,000 units/day; ...
        """
        if self.n_control == self.n_treatment:
            sizes = f"n per arm: {self.n_control:,}"
        else:
            sizes = f"n per arm: {self.n_control:,} control, {self.n_treatment:,} per treatment"
        parts = [f"{sizes} ({self.arms} arms, {self.n_total:,} units)"]
        if self.metric == "proportion":
            eff = (f"baseline {self.baseline:.4g} -> {self.treatment_value:.4g} "
                   f"(abs {self.mde:+.4g}, rel {self.mde_relative:+.2%}, h = {self.effect_size:.3f})")
        else:
            eff = f"d = {self.effect_size:.4g}"
            if self.mde is not None and self.sd is not None:
                eff += f" (mde {self.mde:.4g}, sd {self.sd:.4g})"
        parts.append(eff)
        parts.append(f"alpha {self.alpha:g} ({self.alternative}"
                     + (f", {self.alpha_per_comparison:.4g} per comparison" if self.arms > 2 else "")
                     + f"), power {self.power:.3f} (achieved {self.achieved_power:.4f})")
        if self.duration_days is not None:
            parts.append(f"{self.duration_days:,} days at {self.daily_traffic:,.0f} units/day")
        parts.append(f"method: {self.method}")
        return "; ".join(parts)


# ------------------------------------------------------------------------------------------
# argument helpers
# ------------------------------------------------------------------------------------------


def _alt(alternative: str) -> str:
    try:
        return _ALT_ALIASES[alternative]
    except KeyError:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}") from None


def _check_common(alpha: float, power: float | None, ratio: float, arms: int) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if power is not None and not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    if not (ratio > 0 and math.isfinite(ratio)):
        raise ValueError(f"ratio (n_treatment / n_control) must be > 0, got {ratio!r}")
    if int(arms) != arms or arms < 2:
        raise ValueError(f"arms must be an integer >= 2 (control included), got {arms!r}")


def _args(alpha: float, power: float | None, ratio: float, arms: int, alternative: str,
          multiplicity: str, method: str, methods) -> tuple[str, float]:
    """Check the arguments every power function takes; return the alternative's canonical
    name and the per-comparison significance level."""
    _check_common(alpha, power, ratio, arms)
    alt = _alt(alternative)
    if method not in methods:
        raise ValueError(f"method must be one of {sorted(methods)}, got {method!r}")
    return alt, _alpha_c(alpha, arms, multiplicity)


def _check_baseline(p1: float) -> None:
    if not 0.0 < p1 < 1.0:
        raise ValueError(f"baseline proportion must be in (0, 1), got {p1!r}")


def _alpha_c(alpha: float, arms: int, multiplicity: str) -> float:
    if multiplicity == "bonferroni":
        return alpha / (arms - 1)
    if multiplicity == "none":
        return alpha
    raise ValueError(f"multiplicity must be 'bonferroni' or 'none', got {multiplicity!r}")


def _z_crit(a: float, alt: str) -> float:
    return float(_ndtri(1.0 - a / 2.0)) if alt == "two-sided" else float(_ndtri(1.0 - a))


# ------------------------------------------------------------------------------------------
# vectorised power functions (n = control-arm size; broadcasting over all array arguments)
# ------------------------------------------------------------------------------------------


def _t_power(d, n1, r, a, alt, strict):
    n2 = r * n1
    df = n1 + n2 - 2.0
    nc = d * np.sqrt(n1 * n2 / (n1 + n2))
    if alt == "two-sided":
        crit = _stdtrit(df, 1.0 - a / 2.0)
        nc = np.abs(nc)
        p = 1.0 - _nctdtr(df, nc, crit)
        if strict:
            p = p + _nctdtr(df, nc, -crit)
        return p
    crit = _stdtrit(df, 1.0 - a)
    if alt == "larger":
        return 1.0 - _nctdtr(df, nc, crit)
    return _nctdtr(df, nc, -crit)


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


def _newton_scalar(f, x0: float, lo: float, tol: float = 1e-10, maxiter: int = 20) -> float | None:
    """Newton steps with a forward-difference slope on a scalar increasing ``f``; None if stuck."""
    x = max(x0, lo)
    for _ in range(maxiter):
        h = max(abs(x) * 1e-7, 1e-10)
        fx = f(x)
        slope = (f(x + h) - fx) / h
        if not (slope > 0 and math.isfinite(fx)):
            return None
        xn = x - fx / slope
        if xn <= lo:
            xn = 0.5 * (x + lo)
        if abs(xn - x) <= tol * max(1.0, abs(x)):
            return xn
        x = xn
    return None


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


def power_means(
    n,
    effect_size,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "exact",
    strict: bool = False,
    multiplicity: str = "bonferroni",
):
    """Power of the two-sample t-test (vectorised over ``n`` and ``effect_size``).

    Parameters
    ----------
    n : float or array
        Control-arm size (each treatment arm has ``ratio * n``); non-integers allowed.
    effect_size : float or array
        Cohen's d (difference of means divided by the common SD), signed for one-sided tests.
    alpha : float
        Family-wise significance level; divided by ``arms - 1`` per comparison (Bonferroni).
    ratio : float
        ``n_treatment / n_control``.
    arms : int
        Number of arms including control.
    alternative : {"two-sided", "larger", "smaller"}
    method : {"exact", "normal"}
        Noncentral t (exact) or the normal approximation.
    strict : bool
        Two-sided only: add the probability of rejecting in the wrong direction.
    multiplicity : {"bonferroni", "none"}

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
    alt, a = _args(alpha, None, ratio, arms, alternative, multiplicity, method, MEAN_METHODS)
    n1 = np.asarray(n, dtype=float)
    d = np.asarray(effect_size, dtype=float)
    if method == "exact":
        out = _t_power(d, n1, float(ratio), a, alt, strict)
    else:
        r = float(ratio)
        out = _z_power(d * np.sqrt(n1 * r / (1.0 + r)), a, alt, strict)
    return out[()] if isinstance(out, np.ndarray) else out


def power_proportions(
    n,
    baseline,
    mde,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "pooled",
    strict: bool = False,
    multiplicity: str = "bonferroni",
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
    method : {"pooled", "cohen_h", "unpooled"}
    alpha, ratio, arms, alternative, strict, multiplicity
        As in :func:`power_means`.

    Returns
    -------
    ndarray or float

    Examples
    --------
    >>> round(float(power_proportions(50, 0.5, 0.25)), 7)   # R power.prop.test(n=50, .5, .75)
    0.7401659
    """
    alt, a = _args(alpha, None, ratio, arms, alternative, multiplicity, method, PROPORTION_METHODS)
    p1 = np.asarray(baseline, dtype=float)
    p2 = p1 + np.asarray(mde, dtype=float)
    out = _prop_power(p1, p2, np.asarray(n, dtype=float), float(ratio), a, alt, strict, method)
    return out[()] if isinstance(out, np.ndarray) else out


# ------------------------------------------------------------------------------------------
# solvers
# ------------------------------------------------------------------------------------------


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
                raise ValueError("no solution: the target power is not reachable")
    return float(brentq(lambda v: float(f(np.array([v]))[0]), a, b, xtol=1e-12, rtol=1e-14))


def sample_size_means(
    effect_size: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "exact",
    strict: bool = False,
    multiplicity: str = "bonferroni",
) -> float:
    """Unrounded control-arm size for a two-sample t-test (fast scalar solve).

    Closed-form normal approximation first, then Newton steps on the exact noncentral-t power.

    Examples
    --------
    >>> [round(sample_size_means(d), 1) for d in (0.2, 0.5, 0.8)]   # Cohen (1988), table 2.4.1
    [393.4, 63.8, 25.5]
    """
    alt, a = _args(alpha, power, ratio, arms, alternative, multiplicity, method, MEAN_METHODS)
    d = float(effect_size)
    if not math.isfinite(d) or d == 0:
        raise ValueError(f"effect_size must be a non-zero finite number, got {effect_size!r}")
    if (alt == "larger" and d < 0) or (alt == "smaller" and d > 0):
        raise ValueError(f"effect_size {d} points the other way than alternative={alt!r}")
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
        raise ValueError(f"baseline + mde must be in (0, 1), got {p2!r}")
    if p1 == p2:
        raise ValueError("mde must be non-zero")


def sample_size_proportions(
    baseline: float,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "pooled",
    strict: bool = False,
    multiplicity: str = "bonferroni",
) -> float:
    """Unrounded control-arm size for a two-proportion test (closed form; Newton if strict).

    Examples
    --------
    >>> round(sample_size_proportions(0.5, 0.25, power=0.9), 4)   # R power.prop.test: 76.7069
    76.7069
    """
    alt, a = _args(alpha, power, ratio, arms, alternative, multiplicity, method, PROPORTION_METHODS)
    p1 = float(baseline)
    p2 = p1 + float(mde)
    _check_props(p1, p2)
    if (alt == "larger" and p2 < p1) or (alt == "smaller" and p2 > p1):
        raise ValueError(f"mde {mde} points the other way than alternative={alt!r}")
    r = float(ratio)
    n0 = _prop_closed_n(p1, p2, r, _z_crit(a, alt), float(_ndtri(power)), method)
    if not strict or alt != "two-sided":
        return n0
    return _newton_increasing(
        lambda n: _prop_power(p1, p2, n, r, a, alt, True, method) - power, n0, 1e-9)


def mde_means(
    n: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "exact",
    strict: bool = False,
    multiplicity: str = "bonferroni",
) -> float:
    """Smallest standardised effect (Cohen's d) detectable with control-arm size ``n``.

    Positive, except for ``alternative="smaller"`` where it is negative.

    Examples
    --------
    >>> round(mde_means(64), 3)
    0.499
    """
    alt, a = _args(alpha, power, ratio, arms, alternative, multiplicity, method, MEAN_METHODS)
    r = float(ratio)
    n1 = float(n)
    if not n1 * (1 + r) > 2:
        raise ValueError(f"n must give at least 1 degree of freedom, got n={n!r}")
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


def mde_proportions(
    n: float,
    baseline: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "pooled",
    strict: bool = False,
    multiplicity: str = "bonferroni",
    direction: str | None = None,
) -> float:
    """Smallest absolute lift ``p2 - p1`` detectable with control-arm size ``n``.

    ``direction`` ("increase" or "decrease") defaults to "decrease" for ``alternative="smaller"``
    and "increase" otherwise; the result is signed accordingly.

    Examples
    --------
    >>> round(mde_proportions(77, 0.5, power=0.9), 3)
    0.25
    """
    alt, a = _args(alpha, power, ratio, arms, alternative, multiplicity, method, PROPORTION_METHODS)
    p1 = float(baseline)
    _check_baseline(p1)
    direction = direction or ("decrease" if alt == "smaller" else "increase")
    if direction not in ("increase", "decrease"):
        raise ValueError(f"direction must be 'increase' or 'decrease', got {direction!r}")
    sgn = 1.0 if direction == "increase" else -1.0
    r = float(ratio)
    n1 = float(n)
    if not n1 > 0:
        raise ValueError(f"n must be > 0, got {n!r}")
    room = (1.0 - p1) if sgn > 0 else p1  # the lift cannot push p2 outside (0, 1)
    za = _z_crit(a, alt)
    zb = float(_ndtri(power))
    if method == "cohen_h" and (not strict or alt != "two-sided"):
        h = (za + zb) * math.sqrt((1.0 + r) / (n1 * r))
        phi = math.asin(math.sqrt(p1)) + sgn * h / 2.0
        if not 0.0 < phi < math.pi / 2:
            raise ValueError(f"n = {n1:g} is too small to detect any lift from {p1:g} "
                             f"at power {power:g}")
        return math.sin(phi) ** 2 - p1

    def f(m):
        m = np.minimum(m, room * (1 - 1e-12))
        return _prop_power(p1, p1 + sgn * m, n1, r, a, alt, strict, method) - power

    top = room * (1 - 1e-12)
    if float(f(np.array([top]))[0]) < 0:
        raise ValueError(f"n = {n1:g} is too small to detect any lift from {p1:g} "
                         f"at power {power:g}")
    m0 = min((za + zb) * math.sqrt(p1 * (1 - p1) * (1.0 + 1.0 / r) / n1), 0.5 * top)
    return sgn * _newton_increasing(f, m0, 1e-15, top)


def duration_days(n_total: float, daily_traffic: float, exposure: float = 1.0) -> int:
    """Days needed to enrol ``n_total`` units at ``daily_traffic`` units/day (``exposure`` share).

    Examples
    --------
    >>> duration_days(16_804, 2_000)
    9
    """
    if not daily_traffic > 0:
        raise ValueError(f"daily_traffic must be > 0, got {daily_traffic!r}")
    if not 0 < exposure <= 1:
        raise ValueError(f"exposure must be in (0, 1], got {exposure!r}")
    return int(math.ceil(n_total / (daily_traffic * exposure) - 1e-9))


# ------------------------------------------------------------------------------------------
# planners
# ------------------------------------------------------------------------------------------


def _round_up(x: float) -> int:
    return int(math.ceil(x - 1e-9))


def _mode(effect_given: bool, n: float | None, power: float | None) -> str:
    if effect_given and n is None:
        return "n"
    if effect_given and n is not None:
        if power is not None:
            raise ValueError("give two of (effect, n, power): all three were given")
        return "power"
    if n is None:
        raise ValueError("give the effect (to solve n or power) or n (to solve the MDE)")
    return "mde"


def plan_means(
    *,
    effect_size: float | None = None,
    mde: float | None = None,
    sd: float | None = None,
    baseline: float | None = None,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "exact",
    strict: bool = False,
    multiplicity: str = "bonferroni",
    daily_traffic: float | None = None,
    exposure: float = 1.0,
) -> PowerResult:
    """Plan a test of a difference in means: solve n, power or the MDE (give the other two).

    Parameters
    ----------
    effect_size : float, optional
        Cohen's d. Or give ``mde`` and ``sd`` (then ``d = mde / sd``).
    mde, sd : float, optional
        Absolute difference of means to detect and the (common) standard deviation. With ``n``
        and no effect, ``sd`` turns the solved d into an absolute MDE.
    baseline : float, optional
        Control mean, only to report the relative MDE.
    n : float, optional
        Control-arm size (to solve power or the MDE).
    power : float, optional
        Target power (default 0.8 when solving n or the MDE).
    alpha, ratio, arms, alternative, method, strict, multiplicity
        See :func:`power_means`.
    daily_traffic : float, optional
        Units per day entering the experiment (all arms); gives ``duration_days``.
    exposure : float
        Share of the daily traffic that is enrolled.

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> plan_means(effect_size=0.5).n_control              # Cohen: 64 per group
    64
    >>> round(plan_means(effect_size=1.0, n=20).power, 7)  # R power.t.test(n=20, delta=1)
    0.8689528
    >>> r = plan_means(n=100, sd=2.0, method="normal")
    >>> round(r.mde, 3), r.method
    (0.792, 'normal approximation (z)')
    """
    if method not in MEAN_METHODS:
        raise ValueError(f"method must be one of {sorted(MEAN_METHODS)}, got {method!r}")
    if effect_size is None and mde is not None:
        if sd is None or not sd > 0:
            raise ValueError("an absolute mde needs sd > 0 (or give effect_size = mde / sd)")
        effect_size = mde / sd
    mode = _mode(effect_size is not None, n, power)
    alt = _alt(alternative)
    target = 0.8 if power is None else power
    _check_common(alpha, target, ratio, arms)
    kw = dict(alpha=alpha, ratio=ratio, arms=arms, alternative=alt, method=method, strict=strict,
              multiplicity=multiplicity)
    if mode == "n":
        n1 = sample_size_means(effect_size, power=target, **kw)
        d = float(effect_size)
    elif mode == "power":
        n1 = float(n)
        d = float(effect_size)
        target = float(power_means(n1, d, **kw))
    else:
        n1 = float(n)
        d = mde_means(n1, power=target, **kw)
    n_c = _round_up(n1)
    n_t = _round_up(ratio * n1) if mode == "n" else _round_up(ratio * n_c)
    if method == "exact" and n_c + n_t > 2:
        achieved = _t_power_scalar(d, float(n_c), n_t / n_c, _alpha_c(alpha, arms, multiplicity),
                                   alt, strict)
    else:
        achieved = float(power_means(n_c, d, **{**kw, "ratio": n_t / n_c}))
    n_total = n_c + (arms - 1) * n_t
    mde_abs = d * sd if sd is not None else (mde if mde is not None else None)
    rel = (mde_abs / baseline) if (mde_abs is not None and baseline) else None
    return PowerResult(
        metric="mean", method=MEAN_METHODS[method], solved_for=mode, alpha=alpha,
        alpha_per_comparison=_alpha_c(alpha, arms, multiplicity), power=target,
        achieved_power=achieved, alternative=alt, strict=strict, arms=int(arms),
        ratio=float(ratio), effect_size=d, mde=mde_abs, mde_relative=rel, baseline=baseline,
        treatment_value=(baseline + mde_abs) if (baseline is not None and mde_abs is not None)
        else None, sd=sd, n_control_exact=n1, n_control=n_c, n_treatment=n_t, n_total=n_total,
        daily_traffic=daily_traffic,
        duration_days=duration_days(n_total, daily_traffic, exposure) if daily_traffic else None,
        multiplicity=multiplicity,
    )


def plan_proportions(
    *,
    baseline: float,
    mde: float | None = None,
    relative: bool = False,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    arms: int = 2,
    alternative: str = "two-sided",
    method: str = "pooled",
    strict: bool = False,
    multiplicity: str = "bonferroni",
    daily_traffic: float | None = None,
    exposure: float = 1.0,
    direction: str | None = None,
) -> PowerResult:
    """Plan a test of a difference in proportions: solve n, power or the MDE.

    Parameters
    ----------
    baseline : float
        Control proportion ``p1``.
    mde : float, optional
        Lift to detect: absolute (``p2 - p1``) or, with ``relative=True``, relative to ``p1``.
    n : float, optional
        Control-arm size (to solve power or the MDE).
    power : float, optional
        Target power (default 0.8 when solving n or the MDE).
    method : {"pooled", "cohen_h", "unpooled"}
        Pooled normal (R ``power.prop.test``), arcsine (Cohen's h) or unpooled normal.
    direction : {"increase", "decrease"}, optional
        Sign of the MDE when solving it.
    alpha, ratio, arms, alternative, strict, multiplicity, daily_traffic, exposure
        See :func:`plan_means`.

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> r = plan_proportions(baseline=0.30, mde=0.02)
    >>> r.n_control, r.method
    (8394, 'pooled normal (R power.prop.test)')
    >>> round(plan_proportions(baseline=0.5, mde=0.25, n=50).power, 7)  # R: 0.7401659
    0.7401659
    """
    if method not in PROPORTION_METHODS:
        raise ValueError(f"method must be one of {sorted(PROPORTION_METHODS)}, got {method!r}")
    p1 = float(baseline)
    _check_baseline(p1)
    delta = None if mde is None else (float(mde) * p1 if relative else float(mde))
    mode = _mode(delta is not None, n, power)
    alt = _alt(alternative)
    target = 0.8 if power is None else power
    _check_common(alpha, target, ratio, arms)
    kw = dict(alpha=alpha, ratio=ratio, arms=arms, alternative=alt, method=method, strict=strict,
              multiplicity=multiplicity)
    if mode == "n":
        n1 = sample_size_proportions(p1, delta, power=target, **kw)
    elif mode == "power":
        _check_props(p1, p1 + delta)
        n1 = float(n)
        target = float(power_proportions(n1, p1, delta, **kw))
    else:
        n1 = float(n)
        delta = mde_proportions(n1, p1, power=target, direction=direction, **kw)
    n_c = _round_up(n1)
    n_t = _round_up(ratio * n1) if mode == "n" else _round_up(ratio * n_c)
    achieved = float(power_proportions(n_c, p1, delta, **{**kw, "ratio": n_t / n_c}))
    n_total = n_c + (arms - 1) * n_t
    p2 = p1 + delta
    h = 2.0 * math.asin(math.sqrt(p2)) - 2.0 * math.asin(math.sqrt(p1))
    return PowerResult(
        metric="proportion", method=PROPORTION_METHODS[method], solved_for=mode, alpha=alpha,
        alpha_per_comparison=_alpha_c(alpha, arms, multiplicity), power=target,
        achieved_power=achieved, alternative=alt, strict=strict, arms=int(arms),
        ratio=float(ratio), effect_size=h, mde=delta, mde_relative=delta / p1, baseline=p1,
        treatment_value=p2, sd=math.sqrt(p1 * (1 - p1)), n_control_exact=n1, n_control=n_c,
        n_treatment=n_t, n_total=n_total, daily_traffic=daily_traffic,
        duration_days=duration_days(n_total, daily_traffic, exposure) if daily_traffic else None,
        multiplicity=multiplicity,
    )


def power_curve(plan: PowerResult, n=None, *, points: int = 200, effect_scale=1.0):
    """Power of a plan's test as a function of the control-arm size (vectorised).

    Parameters
    ----------
    plan : PowerResult
        A result of :func:`plan_means` or :func:`plan_proportions`.
    n : array, optional
        Control-arm sizes; default ``points`` values from 2 to 2.5 x the planned size.
    effect_scale : float or array
        Multiplies the planned effect (e.g. 0.5 for half the MDE); broadcast against ``n``.

    Returns
    -------
    (ndarray, ndarray)
        ``n`` and the power at each ``n``.

    Examples
    --------
    >>> plan = plan_proportions(baseline=0.3, mde=0.02)
    >>> n, pw = power_curve(plan)
    >>> n.shape, bool(pw[0] < 0.1 < 0.99 < pw[-1])
    ((200,), True)
    """
    if n is None:
        hi = max(2.5 * plan.n_control_exact, 10.0)
        n = np.linspace(2.0 if plan.metric == "proportion" else 3.0 / (1 + plan.ratio) + 0.5,
                        hi, points)
    n = np.asarray(n, dtype=float)
    kw = dict(alpha=plan.alpha, ratio=plan.ratio, arms=plan.arms, alternative=plan.alternative,
              strict=plan.strict, multiplicity=plan.multiplicity)
    if plan.metric == "proportion":
        method = {v: k for k, v in PROPORTION_METHODS.items()}[plan.method]
        mde = plan.mde * np.asarray(effect_scale, dtype=float)
        p1 = plan.baseline
        mde = np.clip(mde, -p1 + 1e-9, 1 - p1 - 1e-9)
        return n, np.asarray(power_proportions(n, p1, mde, method=method, **kw))
    method = {v: k for k, v in MEAN_METHODS.items()}[plan.method]
    return n, np.asarray(power_means(n, plan.effect_size * np.asarray(effect_scale, dtype=float),
                                     method=method, **kw))
