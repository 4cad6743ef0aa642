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

Modules
-------
means
    the two-sample t-test: ``power_means``, ``sample_size_means``, ``mde_means``.
proportions
    the two-proportion test: ``power_proportions``, ``sample_size_proportions``,
    ``mde_proportions``.
plan
    ``PowerResult``, ``plan_means``, ``plan_proportions``, ``duration_days``, ``power_curve``
    (``correlation=`` plans a CUPED-adjusted test: variance x ``1 - rho**2``).
paired
    paired designs (the same examples answered by both variants): ``power_paired``,
    ``sample_size_paired``, ``plan_paired``, ``sd_of_difference``.

Examples
--------
>>> r = plan_means(effect_size=0.5, power=0.90, strict=True)   # G*Power: N = 172, power .9032
>>> r.n_total, round(r.achieved_power, 4)
(172, 0.9032)
>>> round(plan_proportions(baseline=0.5, mde=0.25, power=0.9).n_control_exact, 4)  # R: 76.7069
76.7069
"""

from __future__ import annotations

from toolkit.ab.power._common import ALTERNATIVES, MEAN_METHODS, PROPORTION_METHODS, Design
from toolkit.ab.power.means import mde_means, power_means, sample_size_means
from toolkit.ab.power.paired import (
    PAIRED_METHODS,
    plan_paired,
    power_paired,
    sample_size_paired,
    sd_of_difference,
)
from toolkit.ab.power.plan import (
    PowerResult,
    duration_days,
    plan_means,
    plan_proportions,
    power_curve,
)
from toolkit.ab.power.proportions import (
    mde_proportions,
    power_proportions,
    sample_size_proportions,
)

__all__ = [
    "Design",
    "plan_paired",
    "power_paired",
    "sample_size_paired",
    "sd_of_difference",
    "PAIRED_METHODS",
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

