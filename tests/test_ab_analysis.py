"""Analysis: statistics equal scipy/statsmodels, simulations (A/A, power, coverage), SRM, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.ab.analysis import (
    ABInputError,
    Metric,
    adjust_pvalues,
    analyze,
    bootstrap_ci,
    two_sample_test as compare,
    parse_metrics,
    srm_check,
)
from toolkit.ab.power import power_means, power_proportions


def _units(seed=0, n=(600, 550), p=(0.30, 0.36), mu=(5.0, 5.3), sd=(2.0, 2.6)):
    rng = np.random.default_rng(seed)
    parts = []
    for arm, k, pp, m, s in zip("AB", n, p, mu, sd):
        turns = rng.integers(1, 6, k)
        parts.append(pd.DataFrame({
            "variant": arm,
            "resolved": rng.random(k) < pp,
            "latency": rng.normal(m, s, k),
            "rt_total": turns * rng.gamma(4.0, 0.4, k),
            "n_turns": turns,
        }))
    return pd.concat(parts, ignore_index=True)


def _arm(df, arm, col):
    return df.loc[df["variant"] == arm, col].to_numpy(dtype=float)


# ---- equality with scipy / statsmodels -----------------------------------------------------

def test_continuous_matches_scipy():
    df = _units()
    res = analyze(df, "latency:continuous", sequential=False)
    row = res.table.iloc[0]
    a, b = _arm(df, "A", "latency"), _arm(df, "B", "latency")
    w = stats.ttest_ind(b, a, equal_var=False)
    ci = w.confidence_interval(0.95)
    assert row["welch_t"] == pytest.approx(w.statistic, abs=1e-9)
    assert row["welch_p"] == pytest.approx(w.pvalue, abs=1e-9)
    assert row["welch_df"] == pytest.approx(w.df, abs=1e-9)
    assert row["abs_ci_low"] == pytest.approx(ci.low, abs=1e-9)
    assert row["abs_ci_high"] == pytest.approx(ci.high, abs=1e-9)
    mw = stats.mannwhitneyu(b, a, alternative="two-sided")
    assert row["mw_u"] == pytest.approx(mw.statistic, abs=1e-9)
    assert row["mw_p"] == pytest.approx(mw.pvalue, abs=1e-9)
    pooled = math.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    assert row["effect_size"] == pytest.approx((b.mean() - a.mean()) / pooled, abs=1e-12)
    assert row["test"] == "Welch t-test" and row["effect_size_name"] == "Cohen's d"


def test_binary_matches_statsmodels_and_scipy():
    from statsmodels.stats.proportion import proportions_ztest

    df = _units(seed=1)
    row = analyze(df, "resolved:binary", sequential=False).table.iloc[0]
    a, b = _arm(df, "A", "resolved"), _arm(df, "B", "resolved")
    z, p = proportions_ztest([b.sum(), a.sum()], [b.size, a.size])
    assert row["z"] == pytest.approx(z, abs=1e-9) and row["p_value"] == pytest.approx(p, abs=1e-9)
    table = [[b.sum(), b.size - b.sum()], [a.sum(), a.size - a.sum()]]
    chi = stats.chi2_contingency(table, correction=False)
    assert row["chi2"] == pytest.approx(chi.statistic, abs=1e-9)
    assert row["chi2_p"] == pytest.approx(chi.pvalue, abs=1e-9)
    pa, pb = a.mean(), b.mean()
    se = math.sqrt(pa * (1 - pa) / a.size + pb * (1 - pb) / b.size)
    assert row["se"] == pytest.approx(se, abs=1e-12)
    assert row["effect_size"] == pytest.approx(2 * math.asin(math.sqrt(pb)) - 2 * math.asin(math.sqrt(pa)), abs=1e-12)
    assert row["ci_method"].startswith("score") and row["test"] == "two-proportion z (pooled score)"


def test_small_counts_report_fisher_beside_the_score_test():
    c = np.r_[np.ones(1), np.zeros(19)]
    t = np.r_[np.ones(7), np.zeros(13)]          # expected successes 4 per arm < 5
    r = compare(c, t, "binary")
    assert r["test"] == "two-proportion z (pooled score)"
    assert r["fisher_p"] == pytest.approx(stats.fisher_exact([[7, 13], [1, 19]]).pvalue, abs=1e-12)
    assert r["ci_method"].startswith("score")
    # the interval excludes 0 exactly when the score test rejects
    assert (r["abs_ci_low"] > 0) == (r["p_value"] < 0.05)


def test_ratio_metric_delta_method():
    df = _units(seed=2)
    row = analyze(df, "rt:ratio:rt_total/n_turns:lower", sequential=False).table.iloc[0]
    est, var = {}, {}
    for arm in "AB":
        x, y = _arm(df, arm, "rt_total"), _arm(df, arm, "n_turns")
        r = x.sum() / y.sum()
        n = x.size
        cov = np.cov(x, y, ddof=1)
        est[arm] = r
        var[arm] = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * y.mean() ** 2)
    assert row["control_value"] == pytest.approx(est["A"], rel=1e-12)
    se = math.sqrt(var["A"] + var["B"])
    assert row["se"] == pytest.approx(se, rel=1e-9)
    assert row["z"] == pytest.approx((est["B"] - est["A"]) / se, rel=1e-9)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(row["z"])), abs=1e-12)
    assert row["ci_method"] == "delta method (normal)" and not row["higher_is_better"]


def test_relative_lift_delta_method():
    df = _units(seed=3)
    row = analyze(df, "latency:continuous", sequential=False).table.iloc[0]
    a, b = _arm(df, "A", "latency"), _arm(df, "B", "latency")
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(vb / ma ** 2 + mb ** 2 * va / ma ** 4)
    assert row["rel_lift"] == pytest.approx(mb / ma - 1, rel=1e-12)
    assert row["rel_ci_low"] == pytest.approx(mb / ma - 1 - 1.959963984540054 * se, rel=1e-9)


def test_multiple_testing_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(4).random(25) ** 3
    assert np.allclose(adjust_pvalues(p, "holm"), multipletests(p, method="holm")[1], atol=1e-12)
    assert np.allclose(adjust_pvalues(p, "bh"), multipletests(p, method="fdr_bh")[1], atol=1e-12)
    assert np.allclose(adjust_pvalues(p, "bonferroni"), multipletests(p, method="bonferroni")[1])
    q = adjust_pvalues([0.01, np.nan, 0.02], "holm")
    assert np.isnan(q[1]) and q[0] == pytest.approx(0.02)


def test_bh_of_round_p_values_is_not_pushed_across_alpha():
    """BH's step m/k*p: the largest p-value adjusts to itself and 0.03 at rank 3 of 5 to 0.05,
    exactly as in real arithmetic. Computed as p*m/k (the order of the one-row copy that replaced
    the 1-D function) they came out 0.1 + 1 ulp and 0.05 - 1 ulp: the 0.03s turned significant at
    alpha 0.05 (p_adjusted < alpha); the decision changed in 164 of 20,000 random families of
    plain, rounded and round p-values at alpha 0.01/0.05/0.1."""
    adj = adjust_pvalues([0.05, 0.01, 0.03, 0.03, 0.1], "bh")
    assert adj[-1] == 0.1 and adj[2] == adj[3] == 0.05
    assert not (adj[2] < 0.05)
    from toolkit.ab.segments import adjust_rows

    assert adjust_rows([[0.01, 0.02, 0.05]], "bh")[0, 2] == 0.05


def test_three_arms_holm_and_bh_across_metrics_and_arms():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"variant": rng.choice(["ctl", "B", "C"], 6000),
                       "x": rng.normal(0, 1, 6000), "y": rng.random(6000) < 0.2})
    res = analyze(df, "x:continuous,y:binary", control="ctl", sequential=False, primary="all")
    t = res.table
    assert len(t) == 4 and set(t["arm"]) == {"B", "C"} and res.treatments == ["B", "C"]
    from statsmodels.stats.multitest import multipletests
    assert np.allclose(t["p_holm"], multipletests(t["p_value"], method="holm")[1])
    assert np.allclose(t["p_bh"], multipletests(t["p_value"], method="fdr_bh")[1])
    assert (t["p_adjusted"] == t["p_holm"]).all()
    bh = analyze(df, "x:continuous,y:binary", control="ctl", correction="bh", sequential=False,
                 primary="all")
    assert (bh.table["p_adjusted"] == bh.table["p_bh"]).all()


def test_srm_check_matches_scipy_and_flags():
    counts = {"A": 5210, "B": 4790}
    r = srm_check(counts)
    ref = stats.chisquare([5210, 4790])
    assert r.chi2 == pytest.approx(ref.statistic, abs=1e-9) and r.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    assert r.flagged and "SAMPLE RATIO MISMATCH" in r.message
    planned = srm_check({"A": 2000, "B": 1000}, {"A": 2, "B": 1})
    assert not planned.flagged and planned.expected_share == {"A": pytest.approx(2 / 3), "B": pytest.approx(1 / 3)}
    with pytest.raises(ABInputError, match="planned arms not observed"):
        srm_check({"A": 10, "B": 10}, {"A": 1, "B": 1, "C": 1})
    df = pd.DataFrame({"variant": ["A"] * 6000 + ["B"] * 5000, "x": np.random.default_rng(0).normal(size=11000)})
    res = analyze(df, "x:continuous", sequential=False)
    assert res.srm.flagged and res.verdicts[0].startswith("[SRM: do not trust]")


# ---- bootstrap -------------------------------------------------------------------------------

def test_bootstrap_is_seeded_and_close_to_analytic():
    rng = np.random.default_rng(6)
    c, t = rng.exponential(1.0, 800), rng.exponential(1.2, 800)
    a = bootstrap_ci(c, t, n_resamples=3000, seed=11)
    assert a == bootstrap_ci(c, t, n_resamples=3000, seed=11)
    assert a != bootstrap_ci(c, t, n_resamples=3000, seed=12)
    w = stats.ttest_ind(t, c, equal_var=False).confidence_interval()
    width = w.high - w.low
    for key in ("percentile", "bca"):
        assert abs(a[f"{key}_low"] - w.low) < 0.1 * width
        assert abs(a[f"{key}_high"] - w.high) < 0.1 * width
    assert a["estimate"] == pytest.approx(t.mean() - c.mean())


def test_bootstrap_jackknife_acceleration_matches_explicit_loop():
    rng = np.random.default_rng(7)
    c, t = rng.exponential(1.0, 30), rng.exponential(2.0, 25)
    r = bootstrap_ci(c, t, statistic="rel", n_resamples=200, seed=0)
    theta = [np.r_[[t.mean() / np.delete(c, i).mean() - 1 for i in range(c.size)]],
             np.r_[[np.delete(t, i).mean() / c.mean() - 1 for i in range(t.size)]]]
    num = den = 0.0
    for j in theta:
        u = (j.size - 1) * (j.mean() - j)
        num += (u ** 3).sum() / j.size ** 3
        den += (u ** 2).sum() / j.size ** 2
    assert r["acceleration"] == pytest.approx(num / (6 * den ** 1.5), rel=1e-9)


def test_bootstrap_columns_in_analysis():
    df = _units(seed=8, n=(300, 300))
    res = analyze(df, "resolved:binary,latency:continuous,rt:ratio:rt_total/n_turns",
                  bootstrap=500, seed=3, sequential=False)
    t = res.table
    for col in ("boot_abs_pct_low", "boot_abs_bca_high", "boot_rel_pct_low", "boot_rel_bca_high"):
        assert t[col].notna().all()
    assert (t["boot_abs_pct_low"] < t["abs_lift"]).all() and (t["abs_lift"] < t["boot_abs_pct_high"]).all()
    again = analyze(df, "resolved:binary,latency:continuous,rt:ratio:rt_total/n_turns",
                    bootstrap=500, seed=3, sequential=False)
    pd.testing.assert_frame_equal(t, again.table)


# ---- simulations -----------------------------------------------------------------------------

def _within_binomial(k, n, p):
    return stats.binomtest(int(k), n, p).pvalue > 0.001


def test_aa_rejects_at_alpha():
    rng = np.random.default_rng(100)
    S, n = 2000, 400
    xb = rng.random((S, 2, n)) < 0.3
    xc = rng.gamma(2.0, 1.0, (S, 2, n))
    rej_b = sum(compare(xb[s, 0], xb[s, 1], "binary")["p_value"] < 0.05 for s in range(S))
    rej_c = sum(compare(xc[s, 0], xc[s, 1], nonparametric=False)["p_value"] < 0.05 for s in range(S))
    assert _within_binomial(rej_b, S, 0.05), rej_b / S
    assert _within_binomial(rej_c, S, 0.05), rej_c / S


def test_planted_effect_detected_at_analytic_power():
    rng = np.random.default_rng(101)
    S = 2000
    n_b, p0, lift = 700, 0.30, 0.06
    expected_b = float(power_proportions(n_b, p0, lift, method="pooled", strict=True))
    xb_c = rng.random((S, n_b)) < p0
    xb_t = rng.random((S, n_b)) < p0 + lift
    hit_b = np.mean([compare(xb_c[s], xb_t[s], "binary")["p_value"] < 0.05 for s in range(S)])
    assert abs(hit_b - expected_b) < 0.03, (hit_b, expected_b)
    n_c, d = 60, 0.45
    expected_c = float(power_means(n_c, d, strict=True))
    yc = rng.normal(0, 1, (S, n_c))
    yt = rng.normal(d, 1, (S, n_c))
    hit_c = np.mean([compare(yc[s], yt[s], nonparametric=False)["p_value"] < 0.05 for s in range(S)])
    assert abs(hit_c - expected_c) < 0.03, (hit_c, expected_c)
    assert 0.5 < expected_b < 0.9 and 0.5 < expected_c < 0.9


def test_confidence_intervals_cover_at_95_percent():
    rng = np.random.default_rng(102)
    S = 2000
    cover = {"binary": 0, "continuous": 0, "rel": 0, "ratio": 0}
    for s in range(S):
        c = rng.random(500) < 0.3
        t = rng.random(450) < 0.35
        r = compare(c, t, "binary")
        cover["binary"] += r["abs_ci_low"] <= 0.05 <= r["abs_ci_high"]
        yc, yt = rng.lognormal(0, 0.5, 300), rng.lognormal(0.1, 0.5, 320)
        r = compare(yc, yt, nonparametric=False)
        true_diff = math.exp(0.1 + 0.125) - math.exp(0.125)
        cover["continuous"] += r["abs_ci_low"] <= true_diff <= r["abs_ci_high"]
        cover["rel"] += r["rel_ci_low"] <= math.exp(0.1) - 1 <= r["rel_ci_high"]
        kc, kt = rng.integers(1, 6, 400), rng.integers(1, 6, 400)
        nc = kc * rng.gamma(4.0, 0.5, 400)     # mean 2.0 s per turn
        nt = kt * rng.gamma(4.0, 0.55, 400)    # mean 2.2 s per turn
        r = compare(nc, nt, "ratio", control_den=kc, treatment_den=kt)
        cover["ratio"] += r["abs_ci_low"] <= 0.2 <= r["abs_ci_high"]
    for k, v in cover.items():
        assert _within_binomial(v, S, 0.95), (k, v / S)


# ---- verdicts ---------------------------------------------------------------------------------

def test_verdicts_winner_worse_underpowered_no_difference():
    rng = np.random.default_rng(9)
    n = 20000
    df = pd.DataFrame({
        "variant": np.repeat(["A", "B"], n),
        "good": np.r_[rng.random(n) < 0.30, rng.random(n) < 0.33],        # clear win
        "slow": np.r_[rng.normal(2.0, 1, n), rng.normal(2.1, 1, n)],       # worse, lower is better
        "flat": np.r_[rng.normal(10, 1, n), rng.normal(10, 1, n)],         # 10% MDE: huge power
        "noisy": np.r_[rng.normal(1, 40, n), rng.normal(1, 40, n)],        # 10% of 1 in sd 40
    })
    res = analyze(df, "good:binary,slow:continuous:lower,flat:continuous,noisy:continuous",
                  sequential=False, primary="all")
    v = dict(zip(res.table["metric"], res.table["verdict"]))
    assert v == {"good": "winner", "slow": "worse", "flat": "no detectable difference",
                 "noisy": "underpowered"}
    texts = dict(zip(res.table["metric"], res.table["verdict_text"]))
    assert texts["good"].startswith("good: B beats A by +") and " pp (+" in texts["good"]
    assert "power" in texts["noisy"] and "not evidence of no effect" in texts["noisy"]
    row = res.table.set_index("metric").loc["noisy"]
    a, b = df.loc[:n - 1, "noisy"], df.loc[n:, "noisy"]
    assert row["mde"] == pytest.approx(0.1 * abs(a.mean()), rel=1e-12)   # default: 10 % of control
    sd = math.sqrt((a.var() + b.var()) / 2)
    # from variances, not the effect, at the Bonferroni level of the Holm correction (4 metrics)
    expected = float(power_means(n, row["mde"] / sd, alpha=0.05 / 4, strict=True))
    assert row["power_at_mde"] == pytest.approx(expected, rel=1e-9)


def test_verdict_says_when_only_the_correction_removes_significance():
    rng = np.random.default_rng(1)
    n = 4000
    df = pd.DataFrame({"variant": np.repeat(["A", "B"], n)})
    for i in range(6):
        df[f"m{i}"] = np.r_[rng.normal(0, 1, n), rng.normal(0.05 if i == 0 else 0, 1, n)]
    res = analyze(df, ",".join(f"m{i}:continuous" for i in range(6)), sequential=False,
                  primary="all")
    row = res.table.set_index("metric").loc["m0"]
    assert row["p_value"] < 0.05 <= row["p_adjusted"], "the seed no longer gives the intended case"
    text = row["verdict_text"]
    assert "unadjusted 95% CI" in text and "not after the holm correction" in text


def test_metric_specific_mde():
    df = _units(seed=10)
    res = analyze(df, [Metric("latency", "continuous", mde=5.0)], sequential=False)
    assert res.table.loc[0, "mde"] == 5.0 and res.table.loc[0, "power_at_mde"] > 0.999


# ---- bad input --------------------------------------------------------------------------------

def test_one_variant_only():
    df = pd.DataFrame({"variant": ["A"] * 10, "x": np.arange(10.0)})
    with pytest.raises(ABInputError, match="1 distinct value.*'A'.*needs a control and at least one treatment"):
        analyze(df, "x:continuous")


def test_variant_values_with_the_same_text_are_refused_not_merged():
    df = pd.DataFrame({"variant": [1] * 10 + ["1"] * 10 + ["B"] * 10, "x": np.arange(30.0) % 7})
    with pytest.raises(ABInputError, match="column 'variant': different values read as the same arm 1, '1' -> '1'"):
        analyze(df, "x:continuous")
    ok = pd.DataFrame({"variant": [0] * 10 + [1] * 10, "x": np.arange(20.0) % 7})
    assert analyze(ok, "x:continuous").table["arm"].tolist() == ["1"]


def test_unknown_control():
    with pytest.raises(ABInputError, match="control 'Z' not found in column 'variant'; its values are: 'A', 'B'"):
        analyze(_units(), "latency:continuous", control="Z")


def test_constant_metric():
    df = _units().assign(flat=1.0)
    with pytest.raises(ABInputError, match="metric 'flat' is constant \\(every value = 1\\)"):
        analyze(df, "flat:continuous")
    # inferred metrics skip constants instead (with a note)
    res = analyze(df[["variant", "flat", "latency"]], sequential=False)
    assert list(res.table["metric"]) == ["latency"]


def test_fewer_than_two_units_in_an_arm():
    df = pd.DataFrame({"variant": ["A"] * 10 + ["B"], "x": np.arange(11.0)})
    with pytest.raises(ABInputError, match="arm 'B' has 1 unit\\(s\\) with a value; at least 2"):
        analyze(df, "x:continuous")
    df2 = pd.DataFrame({"variant": ["A"] * 10 + ["B"] * 3, "x": list(np.arange(11.0)) + [np.nan, np.nan]})
    with pytest.raises(ABInputError, match="arm 'B' has 1 unit"):
        analyze(df2, "x:continuous")


def test_nan_values_dropped_and_counted_or_rejected():
    df = _units(seed=11)
    df.loc[[0, 1, 2, 700], "latency"] = np.nan
    res = analyze(df, "latency:continuous", sequential=False)
    row = res.table.iloc[0]
    assert (row["n_missing_control"], row["n_missing_treatment"]) == (3, 1)
    assert row["n_control"] == 597 and row["n_treatment"] == 549
    ref = stats.ttest_ind(df.loc[df.variant.eq("B"), "latency"].dropna(),
                          df.loc[df.variant.eq("A"), "latency"].dropna(), equal_var=False)
    assert row["p_value"] == pytest.approx(ref.pvalue, abs=1e-9)
    with pytest.raises(ABInputError, match="metric 'latency': 4 missing values \\(nan_policy='raise'\\), e.g. rows \\[0, 1, 2, 700\\]"):
        analyze(df, "latency:continuous", nan_policy="raise")
    missing_variant = df.assign(variant=df["variant"].where(df.index != 5))
    res2 = analyze(missing_variant, "resolved:binary", sequential=False)
    assert res2.n_missing_variant == 1 and res2.n_units["A"] == 599


def test_non_binary_values_in_proportion_metric():
    df = _units().assign(score=lambda d: np.where(d.index % 7 == 0, 2.0, d.index % 2))
    with pytest.raises(ABInputError, match="metric 'score' is binary but column 'score' has values other than 0/1/True/False: \\[2.0\\] \\(e.g. rows \\[0, 7, 14"):
        analyze(df, "score:proportion")


def test_missing_and_non_numeric_columns_and_bad_specs():
    df = _units().assign(label=lambda d: np.where(d.index % 2, "yes", "no"))
    with pytest.raises(ABInputError, match="column 'nope' not found"):
        analyze(df, "nope:continuous")
    with pytest.raises(ABInputError, match="must be numeric or boolean; non-numeric values in"):
        analyze(df, "label:binary")
    with pytest.raises(ABInputError, match="variant column 'arm' not found"):
        analyze(df, "latency:continuous", variant_col="arm")
    with pytest.raises(ABInputError, match="expected 'name:kind'"):
        parse_metrics("latency")
    with pytest.raises(ABInputError, match="kind must be one of"):
        parse_metrics("latency:median")
    with pytest.raises(ABInputError, match="needs numerator and denominator"):
        parse_metrics("rt:ratio")
    with pytest.raises(ABInputError, match="duplicate metric names"):
        analyze(df, "latency:continuous,latency:mean")


def test_analysis_options_equal_keywords_and_reject_unknown_names():
    from toolkit.ab.analysis import AnalysisOptions

    units = _units(seed=4)
    metrics = "resolved:binary,latency:continuous"
    by_kw = analyze(units, metrics, alpha=0.01, correction="bh", bootstrap=200, seed=2)
    opts = AnalysisOptions(alpha=0.01, correction="bh", bootstrap=200, seed=2)
    by_opts = analyze(units, metrics, options=opts)
    pd.testing.assert_frame_equal(by_kw.table, by_opts.table)
    # a keyword overrides the field of the options object
    assert analyze(units, metrics, options=opts, alpha=0.05).alpha == 0.05
    with pytest.raises(TypeError, match="alpah"):
        analyze(units, metrics, alpah=0.01)
    with pytest.raises(ValueError, match="correction"):
        AnalysisOptions(correction="fdr")


def test_two_sample_result_summary_table_and_to_dict():
    """The public result of ``two_sample_test`` renders its one-row table (review fix)."""
    r = compare(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(45), np.zeros(55)], "binary")
    t = r.summary_table()
    assert list(t.columns) == ["control", "treatment", "abs lift", "abs CI", "rel lift",
                               "effect", "test", "p"]
    assert t.loc[0, "p"] == pytest.approx(r["p_value"])
    assert r.to_dict()["abs_lift"] == pytest.approx(0.15)


@pytest.mark.parametrize("control, treatment, kind, match", [
    ([0.0, 1.0, 2.0], [1.0, 1.0, 0.0], "binary", r"control.*other than 0/1.*\[2\.0\].*positions \[2\]"),
    ([1.0, np.nan, 2.0], [2.0, 3.0, 4.0], "continuous", r"control.*missing or infinite.*positions \[1\]"),
    ([1.0, 2.0], [2.0], "continuous", r"treatment has 1 value.*at least 2"),
    ([], [1.0, 2.0], "continuous", r"control has 0 value"),
    ([1.0, 2.0], [2.0, 3.0], "ratio", r"ratio metric needs control_den"),
])
def test_two_sample_test_rejects_what_analyze_rejects(control, treatment, kind, match):
    """``two_sample_test`` names the arm, the rule and the positions instead of returning a
    p-value for non-0/1 binary values (or NaN), or dividing by zero (review fix)."""
    with pytest.raises(ABInputError, match=match):
        compare(control, treatment, kind)


def test_dask_partitions_name_the_conversations_of_non_binary_values():
    """The Dask engine's sums reject a binary metric with values other than 0/1 naming the values
    and conversations, as the pandas engine names the rows (review fix: only a count was given)."""
    from toolkit.ab.metrics import Metric
    from toolkit.ab.moments import _first_pass, arm_stats

    def part(ids, values):
        return pd.DataFrame({"conversation_id": ids, "variant": ["A", "B"] * (len(ids) // 2),
                             "ok": values})

    m = Metric("ok", "binary")
    first = (_first_pass(part(["c1", "c2", "c3", "c4"], [0.0, 1.0, 2.0, 1.0]), "variant", [m])
             + _first_pass(part(["c5", "c6", "c7", "c8"], [1.0, 0.0, 1.0, 5.0]), "variant", [m]))
    sums = first.metrics["ok"]
    assert sums.non_binary == 2
    with pytest.raises(ABInputError, match=r"column 'ok' has 2 values other than 0/1.*\[2\.0, 5\.0\] "
                                           r"\(e\.g\. conversations \['c3', 'c8'\]\)"):
        arm_stats(sums, m, ["A", "B"], lambda est, md: np.zeros(2))


def test_dask_partitions_name_the_conversations_of_missing_values_under_nan_policy_raise():
    from toolkit.ab.metrics import Metric
    from toolkit.ab.moments import _first_pass, arm_stats

    m = Metric("x", "continuous")
    parts = [pd.DataFrame({"conversation_id": ids, "variant": ["A", "B", "A", "B"], "x": x})
             for ids, x in ((["c1", "c2", "c3", "c4"], [1.0, np.nan, 2.0, 3.0]),
                            (["c5", "c6", "c7", "c8"], [4.0, 5.0, 6.0, np.nan]))]
    sums = (_first_pass(parts[0], "variant", [m]) + _first_pass(parts[1], "variant", [m])).metrics["x"]
    with pytest.raises(ABInputError, match=r"2 missing values \(nan_policy='raise'\), e\.g\. "
                                           r"conversations \['c2', 'c8'\]"):
        arm_stats(sums, m, ["A", "B"], lambda est, md: np.zeros(2), nan_policy="raise")
