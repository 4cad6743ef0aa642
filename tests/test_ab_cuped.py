"""CUPED: equal to ANCOVA (statsmodels), unbiased, 95 % coverage, variance reduction = rho^2;
the sample's pre-period; planning with the expected correlation; quantile differences."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.ab.analysis import analyze
from toolkit.ab.cuped import cuped_fit, pre_period_units
from toolkit.ab.frequentist import two_sample_test as compare
from toolkit.ab.metrics import ABInputError
from toolkit.ab.power import plan_means, plan_proportions, power_curve
from toolkit.ab.quantiles import quantile_diff


def _data(rng, n, rho, effect=0.0):
    x = rng.normal(0.0, 1.0, n)
    arm = rng.integers(0, 2, n)
    y = 5.0 + rho * x + np.sqrt(1 - rho ** 2) * rng.normal(0.0, 1.0, n) + effect * arm
    return x, y, arm


def test_cuped_difference_equals_the_ancova_coefficient():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    x, y, arm = _data(rng, 3000, 0.6, effect=0.1)
    fit = cuped_fit(y, x, arm)
    adj = fit.adjusted
    est = adj[arm == 1].mean() - adj[arm == 0].mean()
    ols = sm.OLS(y, sm.add_constant(np.column_stack([arm, x]))).fit(cov_type="HC2")
    assert est == pytest.approx(ols.params[1], abs=1e-10)
    assert fit.theta == pytest.approx(ols.params[2], abs=1e-10)
    se = compare(adj[arm == 0], adj[arm == 1], "continuous")["se"]
    assert se == pytest.approx(ols.bse[1], rel=0.01)  # Welch on adjusted values ~ HC2 SE


@pytest.mark.parametrize("rho", [0.3, 0.5, 0.7, 0.9])
def test_cuped_simulation_unbiased_covers_95_and_reduces_variance_by_rho_squared(rho):
    rng = np.random.default_rng(int(rho * 100))
    reps, n, effect = 2500, 400, 0.15
    est_adj, est_raw, covered, reduction = [], [], 0, []
    for _ in range(reps):
        x, y, arm = _data(rng, n, rho, effect)
        fit = cuped_fit(y, x, arm)
        adj = fit.adjusted
        r = compare(adj[arm == 0], adj[arm == 1], "continuous", nonparametric=False)
        covered += r["abs_ci_low"] <= effect <= r["abs_ci_high"]
        est_adj.append(r["abs_lift"])
        est_raw.append(y[arm == 1].mean() - y[arm == 0].mean())
        reduction.append(fit.variance_reduction)
    est_adj, est_raw = np.array(est_adj), np.array(est_raw)
    assert abs(covered / reps - 0.95) <= 0.015
    assert abs(est_adj.mean() - effect) < 3 * est_adj.std() / np.sqrt(reps)
    assert abs(np.mean(reduction) - rho ** 2) <= 0.03
    assert abs((1 - est_adj.var() / est_raw.var()) - rho ** 2) <= 0.03


def test_analyze_with_a_covariate_column_reports_the_reduction():
    rng = np.random.default_rng(7)
    x, y, arm = _data(rng, 6000, 0.7, effect=0.05)
    x[:300] = np.nan  # units without a pre-period value get the covariate mean
    units = pd.DataFrame({"variant": np.where(arm == 1, "B", "A"), "y": y, "y_pre": x})
    r = analyze(units, "y:continuous", covariates={"y": "y_pre"}, sequential=False)
    row = r.table.iloc[0]
    assert row["cuped_variance_reduction"] == pytest.approx(0.49, abs=0.05)
    assert row["abs_ci_high"] - row["abs_ci_low"] < 0.8 * (
        row["unadjusted_abs_ci_high"] - row["unadjusted_abs_ci_low"])
    assert row["cuped_n_missing_covariate"] == 300 and "CUPED" in row["test"]
    assert any("300 units without 'y_pre'" in n for n in r.notes)
    with pytest.raises(ABInputError, match="covariate column 'nope'"):
        analyze(units, "y:continuous", covariates={"y": "nope"})


def test_sample_pre_period_narrows_the_resolution_ci_and_covers_the_planted_effect(bundled):
    from toolkit.sample import load_sample_truth

    sample_log = bundled
    planted = load_sample_truth()["variants"]["effects"]["resolved"]["abs_lift"]
    r = analyze(sample_log, "resolved:binary", pre_period=("2026-09-01", "2026-09-21"),
                sequential=False, nonparametric=False)
    row = r.table.iloc[0]
    width = row["abs_ci_high"] - row["abs_ci_low"]
    raw_width = row["unadjusted_abs_ci_high"] - row["unadjusted_abs_ci_low"]
    assert width < raw_width and row["cuped_variance_reduction"] > 0.005
    assert row["abs_ci_low"] <= planted <= row["abs_ci_high"]
    units, cov = pre_period_units(sample_log, "2026-09-01", "2026-09-21")
    assert cov["resolved"] == "pre_resolved"
    assert (units["start_time"] >= pd.Timestamp("2026-09-21", tz="UTC")).all()
    with pytest.raises(ABInputError, match="before its end"):
        pre_period_units(sample_log, "2026-09-21", "2026-09-01")


def test_abtest_json_carries_bayes_and_cuped(capsys):
    from toolkit.cli import main

    assert main(["abtest", "", "--metrics", "resolved:binary", "--pre-period", "2026-09-01",
                 "2026-09-21", "--no-sequential", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = out["metrics"][0]
    assert 0.99 < m["chance_to_win"] <= 1 and set(m["risk"]) == {"A", "B"}
    assert m["cuped_variance_reduction"] > 0


def test_planning_with_the_expected_correlation():
    base = plan_means(effect_size=0.3, method="normal")
    cuped = plan_means(effect_size=0.3, method="normal", correlation=0.6)
    assert cuped.n_control_exact / base.n_control_exact == pytest.approx(0.64, rel=1e-9)
    exact = plan_means(effect_size=0.3, correlation=0.6)
    assert exact.n_control == plan_means(effect_size=0.3 / 0.8).n_control
    assert exact.achieved_power >= 0.8 and exact.correlation == 0.6
    p = plan_proportions(baseline=0.3, mde=0.02, correlation=0.5)
    assert p.n_control_exact == pytest.approx(
        0.75 * plan_proportions(baseline=0.3, mde=0.02).n_control_exact, rel=1e-12)
    n, pw = power_curve(p, [p.n_control_exact])
    assert pw[0] == pytest.approx(0.8, abs=1e-9)
    assert "CUPED" in p.summary()
    with pytest.raises(ValueError, match="correlation"):
        plan_means(effect_size=0.3, correlation=1.0)


def test_quantile_diff_estimates_and_coverage():
    rng = np.random.default_rng(3)
    c, t = rng.exponential(1.0, 2000), rng.exponential(1.3, 2000)
    q = quantile_diff(c, t, seed=1, n_resamples=500)
    assert q["diff"].tolist() == pytest.approx(
        (np.quantile(t, [0.5, 0.9, 0.95], method="inverted_cdf")
         - np.quantile(c, [0.5, 0.9, 0.95], method="inverted_cdf")).tolist())
    assert (q["diff_ci_low"] > 0).all() and "bootstrap" in q.loc[0, "method"]
    # coverage of the p90 difference (true: 0.3 ln 10) over 250 replicates (SE 1.4 %)
    truth, hits, reps = 0.3 * np.log(10), 0, 250
    for i in range(reps):
        r = quantile_diff(rng.exponential(1.0, 300), rng.exponential(1.3, 300), [0.9],
                          n_resamples=250, seed=i)
        hits += r.loc[0, "diff_ci_low"] <= truth <= r.loc[0, "diff_ci_high"]
    assert 0.90 <= hits / reps <= 0.985
    with pytest.raises(ABInputError, match="quantiles must be in"):
        quantile_diff(c, t, [1.5])


def test_clustered_quantiles_on_the_sample(bundled):
    r = analyze(bundled, "resolved:binary", quantiles=(0.5, 0.9, 0.95), sequential=False,
                quantile_resamples=200)
    q = r.quantiles
    assert list(q["quantile"]) == [0.5, 0.9, 0.95] and (q["metric"] == "response_time_s").all()
    assert (q["diff_ci_low"] <= q["diff"]).all() and (q["diff"] <= q["diff_ci_high"]).all()
    assert q.loc[0, "method"].startswith("clustered Poisson bootstrap")
    assert r.to_dict()["quantiles"][0]["quantile"] == 0.5


def test_clustered_quantile_ci_covers_where_the_unclustered_one_does_not():
    """Turns share their conversation's level: resampling conversations keeps the 95 % coverage
    of the median shift; resampling turns as if independent falls short."""
    rng = np.random.default_rng(8)
    reps, k, m = 200, 150, 4
    cl = np.repeat(np.arange(k), m)
    hit_c = hit_u = 0
    for i in range(reps):
        c = np.repeat(rng.normal(0, 1, k), m) + rng.normal(0, 0.5, k * m)
        t = np.repeat(rng.normal(0, 1, k), m) + rng.normal(0, 0.5, k * m) + 0.3
        rc = quantile_diff(c, t, [0.5], control_clusters=cl, treatment_clusters=cl,
                           n_resamples=200, seed=i)
        ru = quantile_diff(c, t, [0.5], n_resamples=200, seed=i)
        hit_c += rc.loc[0, "diff_ci_low"] <= 0.3 <= rc.loc[0, "diff_ci_high"]
        hit_u += ru.loc[0, "diff_ci_low"] <= 0.3 <= ru.loc[0, "diff_ci_high"]
    assert 0.90 <= hit_c / reps <= 0.99
    assert hit_u / reps < 0.85


def test_abtest_cli_covariate_column(tmp_path, capsys):
    from toolkit.cli import main

    rng = np.random.default_rng(5)
    x, y, arm = _data(rng, 3000, 0.6, effect=0.05)
    path = tmp_path / "units.csv"
    pd.DataFrame({"variant": np.where(arm == 1, "B", "A"), "y": y, "y_pre": x}).to_csv(path,
                                                                                      index=False)
    assert main(["abtest", str(path), "--metrics", "y:continuous", "--covariate", "y=y_pre",
                 "--no-sequential", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)["metrics"][0]
    assert m["cuped_variance_reduction"] == pytest.approx(0.36, abs=0.05)
    assert main(["abtest", str(path), "--covariate", "y"]) == 2
    assert "METRIC=COLUMN" in capsys.readouterr().err


def test_regression_adjust_without_a_covariate_is_an_input_error():
    """No covariate column at all (the arm-centring's edge case): the ABInputError it always
    was, not numpy's "need at least one array to stack"."""
    from toolkit.ab.cuped import regression_adjust

    with pytest.raises(ABInputError, match="constant within the arms"):
        regression_adjust(np.arange(6.0), np.zeros((6, 0)), [0, 1, 0, 1, 0, 1])
