"""Paired offline experiments: equal to scipy/statsmodels, 5 % false positives by simulation,
paired power (statsmodels TTestPower), inputs (two tables, runs files, one long table), CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.ab.metrics import ABInputError
from toolkit.ab.paired import analyze_paired, compare_paired, paired_table
from toolkit.ab.power import plan_means, plan_paired, power_paired, sample_size_paired


def _pairs(rng, n, rho=0.7, effect=0.0):
    z = rng.normal(0, 1, n)
    a = rho ** 0.5 * z + (1 - rho) ** 0.5 * rng.normal(0, 1, n)
    b = rho ** 0.5 * z + (1 - rho) ** 0.5 * rng.normal(0, 1, n) + effect
    return a, b


def test_each_test_equals_scipy_and_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar

    rng = np.random.default_rng(0)
    for n in (30, 120):  # Wilcoxon exact and normal approximation
        a, b = _pairs(rng, n, effect=0.2)
        r = compare_paired(a, b, n_resamples=0)
        t = stats.ttest_rel(b, a)
        assert r["t"] == pytest.approx(t.statistic, rel=1e-12)
        assert r["t_p"] == pytest.approx(t.pvalue, rel=1e-10)
        ci = t.confidence_interval()
        assert [r["ci_low"], r["ci_high"]] == pytest.approx([ci.low, ci.high], rel=1e-10)
        w = stats.wilcoxon(b, a)
        assert r["wilcoxon_p"] == pytest.approx(w.pvalue, rel=1e-12)
        assert r["wilcoxon_method"] == ("exact" if n <= 50 else "normal approximation")
        d = b - a
        sign = stats.binomtest(int((d > 0).sum()), int((d != 0).sum()), 0.5)
        assert r["sign_p"] == pytest.approx(sign.pvalue, rel=1e-12)
    for n, p in ((40, 0.5), (600, 0.5)):  # McNemar exact (< 25 discordant) and chi-square
        a = (rng.random(n) < 0.7).astype(float)
        flip = rng.random(n) < (0.08 if n == 40 else 0.2)
        b = np.where(flip, 1 - a, a)
        r = compare_paired(a, b, "binary", n_resamples=0)
        table = [[((a == 1) & (b == 1)).sum(), ((a == 1) & (b == 0)).sum()],
                 [((a == 0) & (b == 1)).sum(), ((a == 0) & (b == 0)).sum()]]
        exact = r["mcnemar_a_wins"] + r["mcnemar_b_wins"] < 25
        ref = mcnemar(table, exact=exact, correction=False)
        assert r["mcnemar_p"] == pytest.approx(ref.pvalue, rel=1e-10)
        assert r["test"].startswith("McNemar exact" if exact else "McNemar chi-square")


def test_paired_bootstrap_interval_matches_the_t_interval_on_normal_data():
    rng = np.random.default_rng(1)
    a, b = _pairs(rng, 400, effect=0.1)
    r = compare_paired(a, b, n_resamples=4000, seed=3)
    assert r["boot_low"] == pytest.approx(r["ci_low"], abs=0.01)
    assert r["boot_high"] == pytest.approx(r["ci_high"], abs=0.01)


def test_false_positive_rate_is_five_percent():
    """A/A paired experiments with 94 pairs (the exact sign test's size is 4.95 % there):
    paired t, Wilcoxon and sign test over 5,000, the paired bootstrap over 1,500, McNemar on
    300 pass/fail pairs (about 63 discordant: the chi-square branch) over 5,000; each rejects
    5 +/- 1 %. The vectorised p-values are those compare_paired reports (checked on the first
    rows)."""
    from toolkit.ab.bootstrap import mean_interval as _paired_bootstrap
    from toolkit.ab.paired import mcnemar_pvalue, paired_pvalues

    rng = np.random.default_rng(42)
    reps, n = 5000, 94
    z = rng.normal(0, 1, (reps, 1))
    a = 0.8 * z + 0.6 * rng.normal(0, 1, (reps, n))
    b = 0.8 * z + 0.6 * rng.normal(0, 1, (reps, n))
    p = paired_pvalues(b - a)
    for i in range(3):
        r = compare_paired(a[i], b[i], n_resamples=0)
        assert (r["t_p"], r["sign_p"], r["wilcoxon_p"]) == pytest.approx(
            (p["t"][i], p["sign"][i], p["wilcoxon"][i]), rel=1e-10)
    rates = {k: float(np.mean(v < 0.05)) for k, v in p.items()}
    boot = [_paired_bootstrap(b[i] - a[i], 400, 0.05, np.random.default_rng(i))
            for i in range(1500)]
    rates["bootstrap"] = float(np.mean([not (lo <= 0 <= hi) for lo, hi in boot]))
    pa = rng.random((reps, 300)) < 0.7
    pb = np.where(rng.random((reps, 300)) < 0.5, rng.random((reps, 300)) < 0.7, pa)
    mp, _ = mcnemar_pvalue((~pa & pb).sum(axis=1), (pa & ~pb).sum(axis=1))
    r = compare_paired(pa[0].astype(float), pb[0].astype(float), "binary", n_resamples=0)
    assert r["p_value"] == pytest.approx(mp[0], rel=1e-10)
    rates["mcnemar"] = float(np.mean(mp < 0.05))
    for name, rate in rates.items():
        assert abs(rate - 0.05) <= 0.01, (name, rates)


def test_paired_power_equals_statsmodels_and_simulation():
    from statsmodels.stats.power import TTestPower

    for d, n in ((0.5, 30), (0.2, 200), (0.8, 12)):
        assert power_paired(n, d, strict=True) == pytest.approx(
            TTestPower().power(d, n, 0.05), rel=1e-6)
    assert sample_size_paired(0.5, strict=True) == pytest.approx(
        TTestPower().solve_power(0.5, power=0.8, alpha=0.05), rel=1e-6)
    from toolkit.ab.paired import paired_pvalues

    plan = plan_paired(mde=0.2, sd=1.0, correlation=0.7)
    rng = np.random.default_rng(9)
    n, reps = plan.n_total, 4000
    z = rng.normal(0, 1, (reps, 1))
    a = 0.7 ** 0.5 * z + 0.3 ** 0.5 * rng.normal(0, 1, (reps, n))
    b = 0.7 ** 0.5 * z + 0.3 ** 0.5 * rng.normal(0, 1, (reps, n)) + 0.2
    rate = float(np.mean(paired_pvalues(b - a)["t"] < 0.05))
    assert abs(rate - plan.achieved_power) < 0.025
    # the pairing pays: far fewer examples than two independent arms
    unpaired = plan_means(mde=0.2, sd=1.0)
    assert plan.n_total < 0.2 * unpaired.n_total


def test_inputs_two_tables_one_long_table_and_runs_files(tmp_path):
    rng = np.random.default_rng(2)
    a, b = _pairs(rng, 60, effect=0.5)
    ta = pd.DataFrame({"example_id": range(60), "score": a, "ok": (a > 0).astype(int)})
    tb = pd.DataFrame({"example_id": range(5, 65), "score": np.r_[b[5:], b[:5]],
                       "ok": (np.r_[b[5:], b[:5]] > 0).astype(int)})
    r = analyze_paired(ta, tb, bootstrap=0)
    assert r.n_pairs == 55 and r.n_only_a == 5 and r.n_only_b == 5
    assert set(r.table["metric"]) == {"score", "ok"}
    long = pd.concat([ta.assign(variant="v1"), tb.assign(variant="v2")])
    r2 = analyze_paired(long, bootstrap=0)
    assert r2.arms == ["v1", "v2"]
    pd.testing.assert_frame_equal(r.table.drop(columns="verdict"),
                                  r2.table.drop(columns="verdict"))
    with pytest.raises(ABInputError, match="not unique"):
        paired_table(pd.concat([ta, ta]), tb)
    with pytest.raises(ABInputError, match="key column 'qid'"):
        paired_table(ta, tb, key="qid")
    paths = []
    for name, t in (("v1", ta), ("v2", tb)):
        p = tmp_path / f"{name}.jsonl"
        with open(p, "w") as fh:
            for row in t.itertuples():
                fh.write(json.dumps({
                    "id": f"{name}-{row.example_id}", "run_type": "chain", "inputs": {},
                    "reference_example_id": f"ex{row.example_id}",
                    "feedback_stats": {"score": {"avg": row.score, "n": 1}},
                    "start_time": "2026-01-01T00:00:00Z",
                    "end_time": "2026-01-01T00:00:01.5Z"}) + "\n")
        paths.append(p)
    r3 = analyze_paired(*paths, metrics=["score"], bootstrap=0)
    assert r3.n_pairs == 55
    assert r3.table.loc[0, "p_value"] == pytest.approx(r.table.loc[0, "p_value"], rel=1e-12)


def test_compare_cli(tmp_path, capsys):
    from toolkit.cli import main

    rng = np.random.default_rng(4)
    a, b = _pairs(rng, 80, effect=0.4)
    pa, pb = tmp_path / "base.csv", tmp_path / "cand.csv"
    pd.DataFrame({"example_id": range(80), "score": a}).to_csv(pa, index=False)
    pd.DataFrame({"example_id": range(80), "score": b}).to_csv(pb, index=False)
    assert main(["paired", str(pa), str(pb), "--key", "example_id", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["arms"] == ["base", "cand"] and out["n_pairs"] == 80
    assert out["metrics"][0]["verdict"] == "cand higher"
    assert main(["paired", str(pa), str(pb)]) == 0
    assert "paired t-test" in capsys.readouterr().out
    assert main(["paired", str(pa), str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_replayed_sample_experiment_finds_the_planted_difference_with_fewer_examples():
    from toolkit.ab.replay import replay_experiment

    t = replay_experiment(n_examples=1500, seed=0)
    r = analyze_paired(t, metrics=["good", "quality"], bootstrap=0)
    good = r.table.set_index("metric").loc["good"]
    assert good["test"].startswith("McNemar") and good["diff"] > 0
    wide, _, _ = paired_table(t, metrics=["good", "quality"])
    d = wide["good_b"] - wide["good_a"]
    paired_n = plan_paired(mde=0.05, sd_diff=float(d.std())).n_total
    unpaired_examples = plan_means(mde=0.05, sd=float(wide["good_a"].std())).n_total
    assert paired_n < 0.6 * unpaired_examples


def test_power_cli_paired_and_cuped(capsys):
    from toolkit.cli import main

    assert main(["power", "--metric", "paired", "--mde", "0.05", "--sd", "0.2",
                 "--pair-correlation", "0.7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = plan_paired(mde=0.05, sd=0.2, correlation=0.7)
    assert out["metric"] == "paired" and out["n_total"] == ref.n_total
    assert main(["power", "--metric", "proportion", "--baseline", "0.3", "--mde", "0.02",
                 "--cuped-correlation", "0.5"]) == 0
    assert "with CUPED (r = 0.5" in capsys.readouterr().out
    assert main(["power", "--metric", "paired", "--mde", "0.05"]) == 2
    assert "sd_diff" in capsys.readouterr().err
    # options of unpaired designs are refused, not silently ignored
    assert main(["power", "--metric", "paired", "--mde", "0.05", "--sd-diff", "0.2", "--arms", "3",
                 "--ratio", "2"]) == 2
    assert "--ratio, --arms do(es) not apply to --metric paired" in capsys.readouterr().err
