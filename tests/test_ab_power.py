"""Planning: published reference values (Cohen, R, G*Power), statsmodels, round trips, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from toolkit.ab.power import (
    duration_days,
    mde_means,
    mde_proportions,
    plan_means,
    plan_proportions,
    power_curve,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)


# ---- published values ----------------------------------------------------------------------

@pytest.mark.parametrize("d, n", [(0.2, 393.4), (0.5, 63.8), (0.8, 25.5)])
def test_cohen_table_two_sample_t(d, n):
    # Cohen (1988), table 2.4.1: alpha .05 two-sided, power .80 -> 393 / 64 / 26 per group
    exact = sample_size_means(d, alpha=0.05, power=0.80)
    assert round(exact, 1) == n
    assert plan_means(effect_size=d).n_control == math.ceil(n)


def test_r_power_t_test_power():
    # R: power.t.test(n = 20, delta = 1)  ->  power = 0.8689528
    assert power_means(20, 1.0) == pytest.approx(0.8689528, abs=5e-8)
    r = plan_means(effect_size=1.0, n=20)
    assert r.solved_for == "power" and r.power == pytest.approx(0.8689528, abs=5e-8)
    assert r.method == "noncentral t (exact)"


def test_r_power_t_test_sample_size():
    # R: power.t.test(power = .90, delta = 1) -> n = 22.02110; one-sided -> n = 17.84713
    assert sample_size_means(1.0, power=0.9) == pytest.approx(22.02110, abs=2e-5)
    assert sample_size_means(1.0, power=0.9, alternative="larger") == pytest.approx(17.84713, abs=2e-5)


def test_r_power_prop_test():
    # R: power.prop.test(p1 = .50, p2 = .75, power = .90) -> n = 76.7069 (printed 76.7 in ?power.prop.test)
    n = sample_size_proportions(0.5, 0.25, power=0.9)
    assert n == pytest.approx(76.7069, abs=1e-4)
    r = plan_proportions(baseline=0.5, mde=0.25, power=0.9)
    assert r.n_control == 77 and r.method == "pooled normal (R power.prop.test)"
    # R: power.prop.test(n = 50, p1 = .50, p2 = .75) -> power = 0.7401659
    assert power_proportions(50, 0.5, 0.25) == pytest.approx(0.7401659, abs=5e-8)


@pytest.mark.parametrize("strict", [False, True])
def test_gpower_total_n_and_actual_power(strict):
    # G*Power 3.1, t tests - means, two independent groups, d = 0.5, alpha .05, power .90:
    # n = 86 per group, total N = 172, actual power = 0.9032
    r = plan_means(effect_size=0.5, power=0.90, strict=strict)
    assert (r.n_control, r.n_treatment, r.n_total) == (86, 86, 172)
    assert round(r.achieved_power, 4) == 0.9032


# ---- agreement with statsmodels ------------------------------------------------------------

def test_matches_statsmodels_ttest_power():
    from statsmodels.stats.power import TTestIndPower

    sm = TTestIndPower()
    for d, n, ratio in [(0.3, 50, 1.5), (0.8, 12, 1.0), (0.1, 900, 0.5)]:
        assert power_means(n, d, ratio=ratio, strict=True) == pytest.approx(
            sm.power(d, n, 0.05, ratio=ratio), abs=1e-12)
        assert power_means(n, d, ratio=ratio, alternative="larger") == pytest.approx(
            sm.power(d, n, 0.05, ratio=ratio, alternative="larger"), abs=1e-12)
    assert sample_size_means(0.5, ratio=2, strict=True) == pytest.approx(
        sm.solve_power(0.5, nobs1=None, alpha=0.05, power=0.8, ratio=2), rel=1e-7)
    assert mde_means(50, ratio=1.5, strict=True) == pytest.approx(
        sm.solve_power(None, nobs1=50, alpha=0.05, power=0.8, ratio=1.5), rel=1e-6)


def test_matches_statsmodels_cohen_h():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = proportion_effectsize(0.32, 0.30)
    expected = NormalIndPower().solve_power(h, nobs1=None, alpha=0.05, power=0.8)
    n = sample_size_proportions(0.30, 0.02, method="cohen_h", strict=True)
    assert n == pytest.approx(expected, rel=1e-7)
    r = plan_proportions(baseline=0.30, mde=0.02, method="cohen_h")
    assert r.method == "arcsine (Cohen's h)" and r.effect_size == pytest.approx(h, rel=1e-12)
    assert power_proportions(1000, 0.3, 0.05, method="cohen_h", strict=True) == pytest.approx(
        NormalIndPower().power(proportion_effectsize(0.35, 0.3), 1000, 0.05), abs=1e-12)


def test_unpooled_closed_form():
    # n = (z_a + z_b)^2 (p1 q1 + p2 q2) / delta^2
    za, zb = 1.959963984540054, 0.8416212335729143
    expected = (za + zb) ** 2 * (0.3 * 0.7 + 0.32 * 0.68) / 0.02 ** 2
    assert sample_size_proportions(0.3, 0.02, method="unpooled") == pytest.approx(expected, rel=1e-12)
    assert plan_proportions(baseline=0.3, mde=0.02, method="unpooled").method == "unpooled normal (Wald)"


# ---- round trips, allocation, arms -----------------------------------------------------------

@pytest.mark.parametrize("method", ["exact", "normal"])
@pytest.mark.parametrize("ratio", [1.0, 0.5, 3.0])
def test_means_round_trip(method, ratio):
    n = sample_size_means(0.35, power=0.85, ratio=ratio, method=method)
    assert power_means(n, 0.35, ratio=ratio, method=method) == pytest.approx(0.85, abs=1e-9)
    assert mde_means(n, power=0.85, ratio=ratio, method=method) == pytest.approx(0.35, rel=1e-7)


@pytest.mark.parametrize("method", ["pooled", "cohen_h", "unpooled"])
@pytest.mark.parametrize("strict", [False, True])
def test_proportions_round_trip(method, strict):
    n = sample_size_proportions(0.1, 0.015, power=0.9, ratio=2.0, method=method, strict=strict)
    assert power_proportions(n, 0.1, 0.015, ratio=2.0, method=method, strict=strict) == pytest.approx(0.9, abs=1e-9)
    m = mde_proportions(n, 0.1, power=0.9, ratio=2.0, method=method, strict=strict)
    assert m == pytest.approx(0.015, rel=1e-6)
    down = mde_proportions(n, 0.1, power=0.9, ratio=2.0, method=method, direction="decrease")
    assert down < 0 and power_proportions(n, 0.1, down, ratio=2.0, method=method) == pytest.approx(0.9, abs=1e-9)


def test_more_arms_use_bonferroni_and_unequal_allocation():
    two = plan_proportions(baseline=0.3, mde=0.03)
    three = plan_proportions(baseline=0.3, mde=0.03, arms=3)
    assert three.alpha_per_comparison == pytest.approx(0.025)
    assert three.n_control == math.ceil(sample_size_proportions(0.3, 0.03, alpha=0.025))
    assert three.n_control > two.n_control and three.n_per_arm == [three.n_control] * 3
    assert three.n_total == 3 * three.n_control
    unequal = plan_means(effect_size=0.4, ratio=2.0)
    assert unequal.n_treatment == math.ceil(2 * unequal.n_control_exact)
    assert unequal.n_total == unequal.n_control + unequal.n_treatment
    assert plan_means(effect_size=0.4, arms=4, multiplicity="none").alpha_per_comparison == 0.05


def test_mde_and_relative_and_duration():
    r = plan_proportions(baseline=0.3, mde=0.1, relative=True, daily_traffic=1500)
    assert r.mde == pytest.approx(0.03) and r.mde_relative == pytest.approx(0.1)
    assert r.duration_days == math.ceil(r.n_total / 1500)
    m = plan_proportions(baseline=0.3, n=r.n_control_exact, power=0.8)
    assert m.solved_for == "mde" and m.mde == pytest.approx(0.03, rel=1e-6)
    mm = plan_means(n=100, sd=2.0, baseline=10.0)
    assert mm.solved_for == "mde" and mm.mde == pytest.approx(2.0 * mde_means(100), rel=1e-12)
    assert mm.mde_relative == pytest.approx(mm.mde / 10.0)
    assert duration_days(10_000, 1_000) == 10 and duration_days(10_001, 1_000) == 11
    assert duration_days(10_000, 1_000, exposure=0.5) == 20


def test_summary_and_dict_name_the_method():
    r = plan_proportions(baseline=0.3, mde=0.02, daily_traffic=2000)
    s = r.summary()
    assert s.startswith(f"n per arm: {r.n_control:,}") and "pooled normal (R power.prop.test)" in s
    d = r.to_dict()
    assert d["n_per_arm"] == [r.n_control, r.n_treatment] and d["method"] == r.method


# ---- vectorised curves ---------------------------------------------------------------------

def test_power_curve_is_vectorised_and_matches_scalar():
    n = np.linspace(5, 400, 200)
    pw = power_means(n, 0.4)
    assert pw.shape == (200,) and np.all(np.diff(pw) > 0)
    for i in (0, 57, 199):
        assert pw[i] == pytest.approx(float(power_means(float(n[i]), 0.4)), abs=1e-15)
    plan = plan_proportions(baseline=0.2, mde=0.03)
    nn, curve = power_curve(plan)
    assert nn.shape == curve.shape == (200,)
    j = np.searchsorted(nn, plan.n_control_exact)
    assert curve[j - 1] < 0.8 <= curve[j]
    _, half = power_curve(plan, nn, effect_scale=0.5)
    assert np.all(half <= curve + 1e-12)


# ---- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(baseline=1.2, mde=0.01), "baseline proportion must be in"),
    (dict(baseline=0.98, mde=0.05), "baseline \\+ mde must be in"),
    (dict(baseline=0.3, mde=0.0), "mde must be non-zero"),
    (dict(baseline=0.3, mde=0.02, alpha=1.5), "alpha must be in"),
    (dict(baseline=0.3, mde=0.02, power=1.0), "power must be in"),
    (dict(baseline=0.3, mde=0.02, ratio=0), "ratio"),
    (dict(baseline=0.3, mde=0.02, arms=1), "arms must be an integer >= 2"),
    (dict(baseline=0.3, mde=0.02, method="magic"), "method must be one of"),
    (dict(baseline=0.3, mde=-0.02, alternative="larger"), "points the other way"),
    (dict(baseline=0.3, mde=0.02, n=100, power=0.8), "all three were given"),
    (dict(baseline=0.3, n=5, power=0.99), "too small to detect"),
])
def test_plan_proportions_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plan_proportions(**kwargs)


def test_plan_means_errors():
    with pytest.raises(ValueError, match="needs sd"):
        plan_means(mde=1.0)
    with pytest.raises(ValueError, match="give the effect"):
        plan_means()
    with pytest.raises(ValueError, match="non-zero"):
        plan_means(effect_size=0.0)
    with pytest.raises(ValueError, match="alternative must be one of"):
        plan_means(effect_size=0.5, alternative="sideways")


def test_design_is_checked_once_and_cannot_go_stale():
    """A Design is validated when built; changing a field afterwards must not bypass the checks or
    leave the per-comparison alpha of the old arms in place (review fix: it was mutable)."""
    import dataclasses

    from toolkit.ab.power import Design

    d = Design(power=0.8, method="exact")
    with pytest.raises(AttributeError):
        d.arms = 3  # would keep alpha_c = 0.05 (no Bonferroni split over 2 comparisons)
    with pytest.raises(AttributeError):
        d.power = 1.5  # would send the solver into an endless search
    three = dataclasses.replace(d, arms=3)
    assert three.alpha_c == pytest.approx(0.025)
    assert sample_size_means(0.3, design=three) == pytest.approx(sample_size_means(0.3, arms=3))
    # keywords replace the design's fields
    assert sample_size_means(0.3, design=three, arms=2) == pytest.approx(sample_size_means(0.3))


def test_design_with_an_unknown_keyword_is_the_same_type_error_with_or_without_design():
    """``design=`` plus a keyword that is no field of Design (``alpha_c`` is derived, not set) is the
    TypeError of a bad keyword, as without ``design=`` (dataclasses.replace raised a ValueError)."""
    from toolkit.ab.power import plan_means
    from toolkit.ab.power._common import Design

    for kw in ({"bogus": 1}, {"alpha_c": 0.01}):
        for design in (None, Design(alpha=0.01)):
            with pytest.raises(TypeError, match=f"unexpected keyword argument '{next(iter(kw))}'"):
                plan_means(mde=0.5, sd=2.0, design=design, **kw)
