"""Test plans: :class:`PowerResult`, the planners for means and proportions, durations and
power curves.

Examples
--------
>>> plan_means(effect_size=0.5).n_control              # Cohen: 64 per group
64
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError
from toolkit.ab.power._common import (
    MEAN_METHODS,
    PROPORTION_METHODS,
    Design,
    _alpha_c,
    _check_baseline,
    _design,
    _mode,
    _round_up,
)
from toolkit.ab.power.means import _t_power_scalar, mde_means, power_means, sample_size_means
from toolkit.ab.power.proportions import (
    _check_props,
    mde_proportions,
    power_proportions,
    sample_size_proportions,
)

__all__ = ["PowerResult", "plan_means", "plan_proportions", "duration_days", "power_curve"]


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
    correlation : float
        Expected correlation of the metric with a CUPED covariate (0: no adjustment); the
        variance of the estimate is planned as ``1 - correlation**2`` times the unadjusted one
        (with ``r_squared=`` the planners store ``sqrt(r_squared)`` here).
    n_primary : int
        Primary metrics of the test: the family corrected together in the analysis is
        ``n_primary x (arms - 1)`` comparisons, and ``alpha_per_comparison`` is its Bonferroni
        level.
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
    correlation: float = 0.0
    n_primary: int = 1

    @property
    def n_per_arm(self) -> list[int]:
        """Sizes of all arms: control first, then each treatment arm."""
        return [self.n_control] + [self.n_treatment] * (self.arms - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of all fields plus ``n_per_arm``."""
        d = asdict(self)
        d["n_per_arm"] = self.n_per_arm
        return d

    def headline(self, prefix: str = "plan_") -> dict[str, Any]:
        """Flat keys of the main figures (for batch sidecars): units per arm, total, days,
        baseline and method."""
        return {f"{prefix}n_per_arm": self.n_control, f"{prefix}total": self.n_total,
                f"{prefix}days": self.duration_days, f"{prefix}baseline": self.baseline,
                f"{prefix}method": self.method}

    def summary_table(self) -> pd.DataFrame:
        """The plan, one row: method, solved quantity, sizes, power, MDE, duration."""
        keys = ("metric", "method", "solved_for", "alpha", "power", "achieved_power", "effect_size",
                "mde", "mde_relative", "n_control", "n_treatment", "n_total", "duration_days")
        return pd.DataFrame([{k: getattr(self, k) for k in keys}])

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
        if self.metric == "paired":
            parts = [f"pairs: {self.n_total:,} (examples answered by both variants)"]
        if self.metric == "proportion":
            eff = (f"baseline {self.baseline:.4g} -> {self.treatment_value:.4g} "
                   f"(abs {self.mde:+.4g}, rel {self.mde_relative:+.2%}, h = {self.effect_size:.3f})")
        else:
            eff = f"d = {self.effect_size:.4g}"
            if self.mde is not None and self.sd is not None:
                eff += f" (mde {self.mde:.4g}, sd {self.sd:.4g})"
        parts.append(eff)
        parts.append(f"alpha {self.alpha:g} ({self.alternative}"
                     + (f", {self.alpha_per_comparison:.4g} per comparison" if self.arms > 2 or self.n_primary > 1 else "")
                     + f"), power {self.power:.3f} (achieved {self.achieved_power:.4f})")
        if self.duration_days is not None:
            parts.append(f"{self.duration_days:,} days at {self.daily_traffic:,.0f} units/day")
        parts.append(f"method: {self.method}" + (
            f" with CUPED (r = {self.correlation:g}, variance x {1 - self.correlation ** 2:.3g})"
            if self.correlation else ""))
        return "; ".join(parts)


def duration_days(n_total: float, daily_traffic: float, exposure: float = 1.0) -> int:
    """Days needed to enrol ``n_total`` units at ``daily_traffic`` units/day (``exposure`` share).

    Examples
    --------
    >>> duration_days(16_804, 2_000)
    9
    """
    if not daily_traffic > 0:
        raise ABInputError(f"daily_traffic must be > 0, got {daily_traffic!r}")
    if not 0 < exposure <= 1:
        raise ABInputError(f"exposure must be in (0, 1], got {exposure!r}")
    return int(math.ceil(n_total / (daily_traffic * exposure) - 1e-9))


def plan_means(
    *,
    effect_size: float | None = None,
    mde: float | None = None,
    sd: float | None = None,
    baseline: float | None = None,
    n: float | None = None,
    daily_traffic: float | None = None,
    exposure: float = 1.0,
    correlation: float = 0.0,
    r_squared: float | None = None,
    n_primary: int = 1,
    design: Design | None = None,
    **settings,
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
    daily_traffic : float, optional
        Units per day entering the experiment (all arms); gives ``duration_days``.
    exposure : float
        Share of the daily traffic that is enrolled.
    correlation : float
        Expected correlation between the metric and a pre-experiment covariate used for CUPED
        (:mod:`toolkit.ab.cuped`): the variance shrinks by ``1 - correlation**2``, so the test
        needs that share of the units (0 = no CUPED).
    r_squared : float, optional
        Instead of ``correlation``: the share of the metric's within-arm variance explained by
        the covariates of a regression adjustment (:func:`toolkit.ab.cuped.regression_adjust`,
        several covariates); the variance shrinks by ``1 - r_squared``.
    n_primary : int
        Primary metrics of the analysis (``analyze(primary=...)``): the significance level is
        split over ``n_primary x (arms - 1)`` comparisons, the family the analysis corrects
        (secondary metrics and guardrails are not in it).
    design, **settings
        :class:`~toolkit.ab.power.Design` or its fields as keywords (see :func:`power_means`):
        ``power`` is the target (default 0.8 when solving n or the MDE; with ``n`` and an effect
        it is solved), ``method`` ``"exact"`` (default) or ``"normal"``.

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
    ds = _design(design, settings, MEAN_METHODS, "exact")
    if effect_size is None and mde is not None:
        if sd is None or not sd > 0:
            raise ABInputError("an absolute mde needs sd > 0 (or give effect_size = mde / sd)")
        effect_size = mde / sd
    mode = _mode(effect_size is not None, n, ds.power)
    alpha, power, ratio, arms, alt, method, strict, multiplicity = (
        ds.alpha, ds.power, ds.ratio, ds.arms, ds.alternative, ds.method, ds.strict, ds.multiplicity)
    target = 0.8 if power is None else power
    correlation = _correlation(correlation, r_squared)
    a_fam = _family_alpha(alpha, n_primary, multiplicity)
    solve = Design(a_fam, target, ratio, arms, alt, method, strict, multiplicity)
    shrink = math.sqrt(_variance_factor(correlation))  # CUPED: d grows by 1 / shrink
    if mode == "n":
        n1 = sample_size_means(effect_size / shrink, design=solve)
        d = float(effect_size)
    elif mode == "power":
        n1 = float(n)
        d = float(effect_size)
        target = float(power_means(n1, d / shrink, design=solve))
    else:
        n1 = float(n)
        d = mde_means(n1, design=solve) * shrink
    n_c = _round_up(n1)
    n_t = _round_up(ratio * n1) if mode == "n" else _round_up(ratio * n_c)
    if method == "exact" and n_c + n_t > 2:
        achieved = _t_power_scalar(d / shrink, float(n_c), n_t / n_c,
                                   _alpha_c(a_fam, arms, multiplicity), alt, strict)
    else:
        achieved = float(power_means(n_c, d / shrink, design=solve, ratio=n_t / n_c))
    mde_abs = d * sd if sd is not None else (mde if mde is not None else None)
    return _result(ds, solve, "mean", MEAN_METHODS, mode, target, achieved, n1, n_c, n_t,
                   daily_traffic, exposure, correlation, n_primary, effect_size=d, mde=mde_abs,
                   baseline=baseline, sd=sd)


def plan_proportions(
    *,
    baseline: float,
    mde: float | None = None,
    relative: bool = False,
    n: float | None = None,
    daily_traffic: float | None = None,
    exposure: float = 1.0,
    direction: str | None = None,
    correlation: float = 0.0,
    r_squared: float | None = None,
    n_primary: int = 1,
    design: Design | None = None,
    **settings,
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
    direction : {"increase", "decrease"}, optional
        Sign of the MDE when solving it.
    daily_traffic, exposure, correlation, r_squared, n_primary, design, **settings
        See :func:`plan_means`; ``method`` is ``"pooled"`` (R ``power.prop.test``, the
        default), ``"cohen_h"`` (arcsine) or ``"unpooled"`` (normal).

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
    ds = _design(design, settings, PROPORTION_METHODS, "pooled")
    p1 = float(baseline)
    _check_baseline(p1)
    delta = None if mde is None else (float(mde) * p1 if relative else float(mde))
    mode = _mode(delta is not None, n, ds.power)
    alpha, power, ratio, arms, alt, method, strict, multiplicity = (
        ds.alpha, ds.power, ds.ratio, ds.arms, ds.alternative, ds.method, ds.strict, ds.multiplicity)
    target = 0.8 if power is None else power
    correlation = _correlation(correlation, r_squared)
    a_fam = _family_alpha(alpha, n_primary, multiplicity)
    solve = Design(a_fam, target, ratio, arms, alt, method, strict, multiplicity)
    k = _variance_factor(correlation)  # CUPED: n units count as n / k
    if mode == "n":
        n1 = sample_size_proportions(p1, delta, design=solve) * k
    elif mode == "power":
        _check_props(p1, p1 + delta)
        n1 = float(n)
        target = float(power_proportions(n1 / k, p1, delta, design=solve))
    else:
        n1 = float(n)
        delta = mde_proportions(n1 / k, p1, direction=direction, design=solve)
    n_c = _round_up(n1)
    n_t = _round_up(ratio * n1) if mode == "n" else _round_up(ratio * n_c)
    achieved = float(power_proportions(n_c / k, p1, delta, design=solve, ratio=n_t / n_c))
    h = 2.0 * math.asin(math.sqrt(p1 + delta)) - 2.0 * math.asin(math.sqrt(p1))
    return _result(ds, solve, "proportion", PROPORTION_METHODS, mode, target, achieved, n1, n_c,
                   n_t, daily_traffic, exposure, correlation, n_primary, effect_size=h, mde=delta,
                   baseline=p1, sd=math.sqrt(p1 * (1 - p1)))


def _result(ds: Design, solve: Design, metric: str, methods: dict, mode: str, target: float,
            achieved: float, n1: float, n_c: int, n_t: int, daily_traffic, exposure: float,
            correlation: float, n_primary: int, *, effect_size: float, mde: float | None,
            baseline: float | None, sd: float | None, **fields) -> PowerResult:
    """The :class:`PowerResult` of a planner: ``ds`` as asked, ``solve`` as solved (the level per
    comparison), ``n_t`` units in each of the ``arms - 1`` treatment arms."""
    n_total = n_c + (ds.arms - 1) * n_t if metric != "paired" else n_c
    fields.setdefault("notes", _cuped_notes(correlation))
    return PowerResult(
        metric=metric, method=methods[ds.method], solved_for=mode, alpha=ds.alpha,
        alpha_per_comparison=solve.alpha_c, power=target, achieved_power=achieved,
        alternative=ds.alternative, strict=ds.strict, arms=int(ds.arms), ratio=float(ds.ratio),
        effect_size=effect_size, mde=mde,
        mde_relative=(mde / baseline) if (mde is not None and baseline) else None,
        baseline=baseline, treatment_value=(baseline + mde) if (
            baseline is not None and mde is not None) else None, sd=sd, n_control_exact=n1,
        n_control=n_c, n_treatment=n_t, n_total=n_total, daily_traffic=daily_traffic,
        duration_days=duration_days(n_total, daily_traffic, exposure) if daily_traffic else None,
        multiplicity=ds.multiplicity, correlation=float(correlation), n_primary=int(n_primary),
        **fields)


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
    kw = dict(alpha=_family_alpha(plan.alpha, plan.n_primary, plan.multiplicity),
              ratio=plan.ratio, arms=plan.arms, alternative=plan.alternative,
              strict=plan.strict, multiplicity=plan.multiplicity)
    if plan.metric == "proportion":
        method = {v: k for k, v in PROPORTION_METHODS.items()}[plan.method]
        mde = plan.mde * np.asarray(effect_scale, dtype=float)
        p1 = plan.baseline
        mde = np.clip(mde, -p1 + 1e-9, 1 - p1 - 1e-9)
        return n, np.asarray(power_proportions(n / _variance_factor(plan.correlation), p1, mde,
                                               method=method, **kw))
    if plan.metric != "mean":
        raise ABInputError(f"power_curve draws mean and proportion plans, not {plan.metric!r}")
    method = {v: k for k, v in MEAN_METHODS.items()}[plan.method]
    d = plan.effect_size / math.sqrt(_variance_factor(plan.correlation))
    return n, np.asarray(power_means(n, d * np.asarray(effect_scale, dtype=float),
                                     method=method, **kw))


def _variance_factor(correlation: float) -> float:
    """``1 - rho**2``: the variance of a CUPED estimate relative to the unadjusted one."""
    if not -1.0 < correlation < 1.0:
        raise ABInputError(f"correlation must be in (-1, 1), got {correlation!r}")
    return 1.0 - correlation ** 2


def _correlation(correlation: float, r_squared: float | None) -> float:
    """The correlation whose square is the planned variance reduction."""
    if r_squared is None:
        return float(correlation)
    if correlation:
        raise ABInputError("give correlation= or r_squared=, not both")
    if not 0.0 <= r_squared < 1.0:
        raise ABInputError(f"r_squared must be in [0, 1), got {r_squared!r}")
    return math.sqrt(r_squared)


def _family_alpha(alpha: float, n_primary: int, multiplicity: str) -> float:
    """The level split over the primary metrics (Bonferroni; the arms are split later)."""
    if int(n_primary) != n_primary or n_primary < 1:
        raise ABInputError(f"n_primary must be an integer >= 1, got {n_primary!r}")
    return alpha if multiplicity == "none" else alpha / n_primary


def _cuped_notes(correlation: float) -> list[str]:
    if not correlation:
        return []
    return [f"CUPED planned: covariate correlation {correlation:g}, variance x "
            f"{_variance_factor(correlation):.3g}"]
