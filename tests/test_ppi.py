"""toolkit.ppi: PPI++ against the ppi-python package, its properties, plan_labels and ppi_lift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ToolkitError
from toolkit.ppi import plan_labels, ppi_by_period, ppi_lift, ppi_mean, ppi_mean_diff, ppi_ols, ppi_trend

# Reference figures from ppi-python 0.2.3 (pip install ppi-python into a throwaway venv, numpy
# 2.4.6), on the data drawn by _case below:
#   ppi_mean_pointestimate / ppi_mean_ci(alpha=0.05) (tuned, clipped lambda),
#   ppi_mean_ci(alpha=0.05, lam=1), ppi_ols_ci(alpha=0.05, coord=1) (lower, upper per coefficient).
# Rows: seed, n, N, noise, bias, (mean, lo, hi), (lo, hi) at lam=1, ols lower, ols upper.
REFERENCE = [
    (0, 100, 2000, 0.5, 0.4, (3.334515182977389, 3.226467880759677, 3.4425624851951007), (3.193551757896891, 3.422926997858474), (2.715875145831185, 0.013755977516479322), (3.1540795118060823, 0.039125319688803756)),
    (1, 300, 10000, 1.0, -0.3, (3.249206554090507, 3.1725534457644424, 3.3258596624165713), (3.1924423195238294, 3.4355143418911886), (2.7737270579285154, 0.011640469258986628), (3.084277535936452, 0.03148588322160721)),
    (2, 50, 500, 0.2, 1.0, (3.297410669191854, 3.183610068923506, 3.4112112694602024), (3.168336521503026, 3.4046174785700143), (2.5008858855311082, 0.011394784427869627), (3.1115172304640932, 0.051210618556799474)),
]


def _case(seed, n, N, noise, bias):
    rng = np.random.default_rng(seed)
    y_all = rng.normal(3, 1, n + N)
    f_all = y_all + bias + rng.normal(0, noise, n + N)
    t = rng.uniform(0, 30, n + N)
    y_all = y_all + 0.02 * t
    X = np.column_stack([np.ones(n + N), t])
    return y_all[:n], f_all[:n], f_all[n:], X[:n], X[n:]


@pytest.mark.parametrize("row", REFERENCE, ids=lambda r: f"seed{r[0]}")
def test_matches_ppi_python(row):
    seed, n, N, noise, bias, mean, mean1, ols_lo, ols_hi = row
    y, f, fu, X, Xu = _case(seed, n, N, noise, bias)
    e = ppi_mean(y, f, fu, clip=True)
    assert np.allclose([e.estimate, e.ci_low, e.ci_high], mean, rtol=0, atol=1e-8)
    e1 = ppi_mean(y, f, fu, lam=1.0)
    assert np.allclose([e1.ci_low, e1.ci_high], mean1, rtol=0, atol=1e-8)
    o = ppi_ols(X, y, f, Xu, fu, coord=1, clip=True)
    assert np.allclose(o.ci_low, ols_lo, rtol=0, atol=1e-8)
    assert np.allclose(o.ci_high, ols_hi, rtol=0, atol=1e-8)
    # ppi-python's interval is centred on its estimate at the twice-tuned lambda; ours too
    assert np.allclose(o.coef, (np.array(ols_lo) + np.array(ols_hi)) / 2, rtol=0, atol=1e-8)


def test_lambda_zero_is_the_label_only_estimate_and_ols_label_only_is_hc0():
    y, f, fu, X, Xu = _case(5, 200, 3000, 0.5, 0.3)
    e = ppi_mean(y, f, fu, lam=0.0)
    assert e.estimate == pytest.approx(y.mean()) and e.se == pytest.approx(e.label_only_se)
    import statsmodels.api as sm

    o = ppi_ols(X, y, f, Xu, fu)
    ref = sm.OLS(y, X).fit()
    assert np.allclose(o.label_only_coef, ref.params) and np.allclose(o.label_only_se, ref.HC0_se)


def test_unclipped_lambda_absorbs_a_different_scale():
    # a score on [0, 1] for ratings 1-5: lambda near the regression slope (about 4), far above 1
    rng = np.random.default_rng(0)
    y = rng.normal(3, 1, 20_000)
    f = (y - 1) / 4 + rng.normal(0, 0.05, y.size)
    e = ppi_mean(y[:300], f[:300], f[300:])
    clipped = ppi_mean(y[:300], f[:300], f[300:], clip=True)
    assert 3 < e.lam < 5 and clipped.lam == 1.0
    assert e.se < 0.5 * clipped.se and e.ess > 5 * e.n


def test_difference_and_trend_and_periods():
    rng = np.random.default_rng(1)  # seeds 0-399 cover 0.3 in 95.75 % of runs (this one does)

    def arm(mu, m=8000, n=300):
        y = rng.normal(mu, 1, m)
        f = y + 0.5 + rng.normal(0, 0.5, m)
        return y[:n], f[:n], f[n:]

    d = ppi_mean_diff(arm(3.0), arm(3.3))
    assert d.ci_low < 0.3 < d.ci_high and d.se < d.label_only_se and d.n == 600
    times = pd.date_range("2026-01-01", periods=6000, freq="h", tz="UTC")
    days = np.arange(6000) / 24
    truth = 3 - 0.004 * days + rng.normal(0, 1, 6000)
    score = truth + 0.004 * days + rng.normal(0, 0.4, 6000)  # the score hides the decline
    lab = np.zeros(6000, bool)
    lab[rng.choice(6000, 400, replace=False)] = True
    fit = ppi_trend(times, lab, truth[lab], score)
    assert fit.ci_low[1] < -0.004 < fit.ci_high[1] and fit.ci_high[1] < 0
    per = ppi_by_period(np.where(days < 125, "early", "late"), lab, truth[lab], score)
    assert per["n"].sum() == 400 and (per["estimate"].diff().iloc[1] < 0)


def test_plan_labels():
    base = plan_labels(0.2, rho=0.0)
    assert base.n_ppi == base.n_label_only == 385  # (2 * 1.96 / 0.2)^2 = 384.1
    ns = [plan_labels(0.2, rho=r).n_ppi for r in (0.3, 0.5, 0.8)]
    assert ns[0] > ns[1] > ns[2] and ns[2] == pytest.approx(385 * (1 - 0.64), abs=2)
    assert plan_labels(0.2, rho=0.8, N=1000).n_ppi > ns[2]  # few unlabelled units help less
    assert plan_labels(0.2, rho=0.5, arms=2).n_label_only == 2 * 769  # 2 * 384.1 per arm
    with pytest.raises(ToolkitError, match="rho"):
        plan_labels(0.2, rho=1.5)


def test_plan_matches_a_measured_interval():
    # the planned n gives about the planned width on simulated data with that correlation
    rng = np.random.default_rng(3)
    rho, width = 0.7, 0.25
    n = plan_labels(width, rho=rho).n_ppi
    widths = []
    for _ in range(200):
        y = rng.normal(0, 1, 20_000 + n)
        f = rho * y + np.sqrt(1 - rho ** 2) * rng.normal(0, 1, y.size)
        e = ppi_mean(y[:n], f[:n], f[n:])
        widths.append(e.ci_high - e.ci_low)
    assert np.median(widths) == pytest.approx(width, rel=0.05)


def test_ppi_lift_on_the_simulated_sample_covers_the_truth(sample):
    from toolkit.judges import simulate_judge_and_labels

    sim = simulate_judge_and_labels(sample.log, sample.truth, n_labels=600, seed=2)
    res = ppi_lift(sim.turns, sim.labels, score="judge_sim")
    lifts = res.lifts.set_index("estimator")
    true_lift = sim.truth["lift"]["B"]
    assert lifts.loc["ppi", "ci_low"] <= true_lift <= lifts.loc["ppi", "ci_high"]
    # the judge favours B: the naive lift is far above the truth and its CI misses it
    assert lifts.loc["naive", "ci_low"] > true_lift + 0.1
    assert lifts.loc["ppi", "effective_labels"] > lifts.loc["ppi", "n_labels"]
    assert lifts.loc["ppi", "n_labels"] == 600
    arms = res.arms.set_index("arm")
    for v, m in sim.truth["mean_rating"].items():
        assert arms.loc[v, "ppi_ci_low"] <= m <= arms.loc[v, "ppi_ci_high"]
    assert set(res.to_dict()) >= {"lifts", "arms", "notes"}


def test_ppi_lift_errors(sample):
    from toolkit.judges import simulate_judge_and_labels

    sim = simulate_judge_and_labels(sample.log, sample.truth, n_labels=100, seed=0)
    bad = pd.concat([sim.labels, pd.DataFrame({"conversation_id": ["nope"], "turn": pd.array([0], dtype="Int64"),
                                               "rating": [3.0], "rater": ["simulated"]})], ignore_index=True)
    with pytest.raises(ToolkitError, match="1 label.*match no turn"):
        ppi_lift(sim.turns, bad, score="judge_sim")
    with pytest.raises(ToolkitError, match="column 'nope'"):
        ppi_lift(sim.turns, sim.labels, score="nope")
    with pytest.raises(ToolkitError, match="control arm 'Z'"):
        ppi_lift(sim.turns, sim.labels, score="judge_sim", control="Z")
