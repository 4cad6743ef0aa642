"""Bayesian read-out: closed forms vs Monte Carlo, GrowthBook's formulas, priors, A/A uniformity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.ab.analysis import analyze
from toolkit.ab.bayes import Prior, bayes_readout, expected_loss


def _growthbook(mean_c, var_c, mean_t, var_t, relative, prior_mean=0.0, prior_var=1.0,
                proper=False, inverse=False, alpha=0.05):
    """GrowthBook gbstats EffectBayesianABTest.compute_result, written out with scipy
    (frequentist_diff / frequentist_variance, posterior precision, norm.sf, get_risk with
    truncated-normal means)."""
    if relative:
        data_mean = mean_t / mean_c - 1
        data_var = var_t / mean_c ** 2 + var_c * mean_t ** 2 / mean_c ** 4
    else:
        data_mean, data_var = mean_t - mean_c, var_t + var_c
    post_prec = 1 / data_var + int(proper) / prior_var
    mu = (data_mean / data_var + prior_mean / prior_var) / post_prec if proper else data_mean
    sd = math.sqrt(1 / post_prec)
    ctw = 1 - stats.norm.sf(0, mu, sd) if inverse else stats.norm.sf(0, mu, sd)
    ci = stats.norm.ppf([alpha / 2, 1 - alpha / 2], mu, sd)
    p_ctrl = stats.norm.cdf(0.0, loc=mu, scale=sd)
    mn_neg = stats.truncnorm.mean(-np.inf, (0 - mu) / sd, loc=mu, scale=sd)
    mn_pos = stats.truncnorm.mean((0 - mu) / sd, np.inf, loc=mu, scale=sd)
    risk = [(1 - p_ctrl) * mn_pos, -p_ctrl * mn_neg]
    if inverse:
        risk = risk[::-1]
    return mu, sd, ctw, ci, risk


CASES = [
    (0.30, 0.30 * 0.70 / 5000, 0.31, 0.31 * 0.69 / 5000),
    (10.0, 4.0 / 800, 9.9, 4.4 / 760),
    (1.2, 0.002, 1.3, 0.003),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize("prior", [Prior(), Prior(0.02, 0.3), Prior(-0.01, 0.05)])
@pytest.mark.parametrize("higher", [True, False])
def test_equals_growthbooks_effect_model(case, relative, prior, higher):
    mc, vc, mt, vt = case
    r = bayes_readout(mc, vc, mt, vt, scale="relative" if relative else "absolute",
                      prior=prior, higher_is_better=higher)
    mu, sd, ctw, ci, risk = _growthbook(
        mc, vc, mt, vt, relative, prior_mean=prior.mean,
        prior_var=(prior.sd or 1.0) ** 2, proper=not prior.flat, inverse=not higher)
    assert r["post_mean"] == pytest.approx(mu, rel=1e-12, abs=1e-15)
    assert r["post_sd"] == pytest.approx(sd, rel=1e-12)
    assert r["chance_to_win"] == pytest.approx(ctw, abs=1e-12)
    assert [r["cred_low"], r["cred_high"]] == pytest.approx(list(ci), rel=1e-9, abs=1e-12)
    assert [r["risk_control"], r["risk_treatment"]] == pytest.approx(risk, rel=1e-8, abs=1e-12)


def test_closed_forms_equal_monte_carlo_from_the_posterior():
    rng = np.random.default_rng(11)
    for mc, vc, mt, vt in CASES:
        r = bayes_readout(mc, vc, mt, vt)
        draws = rng.normal(r["post_mean"], r["post_sd"], 4_000_000)
        assert r["chance_to_win"] == pytest.approx((draws > 0).mean(), abs=1e-3)
        # risks are in units of the lift: compare relative to its scale, to 3 decimals
        scale = r["post_sd"]
        assert r["risk_control"] / scale == pytest.approx(np.maximum(draws, 0).mean() / scale,
                                                          abs=1e-3)
        assert r["risk_treatment"] / scale == pytest.approx(
            np.maximum(-draws, 0).mean() / scale, abs=1e-3)
        lo, hi = np.quantile(draws, [0.025, 0.975])
        assert (r["cred_low"] - lo) / scale == pytest.approx(0, abs=3e-3)
        assert (r["cred_high"] - hi) / scale == pytest.approx(0, abs=3e-3)


def test_delta_method_equals_monte_carlo_from_the_arm_posteriors():
    """Flat prior: the lift posterior agrees to 3 decimals with Monte Carlo from independent arm
    posteriors -- exactly on the absolute scale; on the relative scale the delta method's error
    shrinks like the standard error (2e-3 at 20,000 per arm here, < 1e-3 at 200,000)."""
    rng = np.random.default_rng(5)
    for n, scale in ((20_000, "absolute"), (200_000, "relative")):
        for z in (0.5, 1.0, -1.5):
            pc = 0.30
            pt = pc + z * math.sqrt(2 * pc * (1 - pc) / n)
            vc, vt = pc * (1 - pc) / n, pt * (1 - pt) / n
            r = bayes_readout(pc, vc, pt, vt, scale=scale)
            mt = rng.normal(pt, math.sqrt(vt), 4_000_000)
            mc = rng.normal(pc, math.sqrt(vc), 4_000_000)
            lift = mt / mc - 1 if scale == "relative" else mt - mc
            assert r["chance_to_win"] == pytest.approx((lift > 0).mean(), abs=1e-3)
            # risks to 3 decimals of the lift, and to 3e-3 posterior SDs (a far finer scale)
            for got, draws in ((r["risk_treatment"], np.maximum(-lift, 0)),
                               (r["risk_control"], np.maximum(lift, 0))):
                assert got == pytest.approx(draws.mean(), abs=1e-3)
                assert got / r["post_sd"] == pytest.approx(draws.mean() / r["post_sd"], abs=3e-3)


def test_expected_loss_identities():
    for mu, s in ((0.0, 1.0), (0.3, 0.1), (-2.0, 0.5)):
        up, down = expected_loss(mu, s)
        assert up - down == pytest.approx(mu, abs=1e-12)  # E[max(X,0)] - E[max(-X,0)] = E[X]
        assert up >= 0 and down >= 0
    assert expected_loss(0.0, 1.0)[0] == pytest.approx(1 / math.sqrt(2 * math.pi))


def test_prior_shrinks_and_a_wide_prior_is_flat():
    args = (0.30, 0.30 * 0.7 / 2000, 0.33, 0.33 * 0.67 / 2000)
    flat = bayes_readout(*args)
    tight = bayes_readout(*args, prior=Prior(0.0, 0.02))
    wide = bayes_readout(*args, prior=Prior(0.0, 1e4))
    assert 0 < tight["post_mean"] < flat["post_mean"]
    assert tight["post_sd"] < flat["post_sd"]
    assert wide["post_mean"] == pytest.approx(flat["post_mean"], rel=1e-6)
    with pytest.raises(ValueError, match="prior sd"):
        Prior(0.0, -1.0)


def test_aa_chance_to_win_is_uniform():
    """2,500 A/A tests (binary, n = 2,000 per arm; continuous, n = 500): chance to win ~ U(0,1)."""
    rng = np.random.default_rng(2024)
    reps = 2500
    kc = rng.binomial(2000, 0.3, reps)
    kt = rng.binomial(2000, 0.3, reps)
    ctw = []
    for a, b in zip(kc / 2000, kt / 2000):
        ctw.append(bayes_readout(a, a * (1 - a) / 2000, b, b * (1 - b) / 2000)["chance_to_win"])
    assert stats.kstest(ctw, "uniform").pvalue > 0.01
    x = rng.gamma(2.0, 5.0, size=(reps, 2, 500))
    m, v = x.mean(axis=2), x.var(axis=2, ddof=1) / 500
    ctw = [bayes_readout(mc, vc, mt, vt)["chance_to_win"]
           for (mc, mt), (vc, vt) in zip(m, v)]
    assert stats.kstest(ctw, "uniform").pvalue > 0.01


def test_analyze_carries_the_bayesian_columns_and_flips_for_lower_is_better():
    rng = np.random.default_rng(3)
    units = pd.DataFrame({"variant": np.repeat(["A", "B"], 4000),
                          "ok": np.r_[rng.random(4000) < 0.30, rng.random(4000) < 0.34],
                          "lat": np.r_[rng.gamma(2, 1.0, 4000), rng.gamma(2, 1.1, 4000)]})
    r = analyze(units, "ok:binary,lat:continuous:lower", prior_sd=0.3)
    t = r.table.set_index("metric")
    assert t.loc["ok", "chance_to_win"] > 0.99 and t.loc["lat", "chance_to_win"] < 0.01
    assert t.loc["lat", "risk_treatment"] > t.loc["lat", "risk_control"]
    ref = bayes_readout(t.loc["ok", "control_value"], t.loc["ok", "control_value"] * (
        1 - t.loc["ok", "control_value"]) / 4000, t.loc["ok", "treatment_value"],
        t.loc["ok", "treatment_value"] * (1 - t.loc["ok", "treatment_value"]) / 4000,
        prior=Prior(0.0, 0.3))
    assert t.loc["ok", "post_mean"] == pytest.approx(ref["post_mean"], rel=1e-12)
    rec = r.to_dict()["metrics"][0]
    assert set(rec["risk"]) == {"A", "B"} and "chance_to_win" in rec
    assert "bayes_method" in t and "normal(0, 0.3) prior" in t.loc["ok", "bayes_method"]
    assert "chance_to_win" not in analyze(units, "ok:binary", bayes=False).table
