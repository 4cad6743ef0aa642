"""Monitoring report: KPIs against direct computations, alert rules and severities, suggestions
finding the sample's planted incidents, figures, the CLI, and the quality notebook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from toolkit.monitoring.findings import _segment_differences, _segment_findings
from toolkit.monitoring.tables import _clustered_means
from toolkit.monitoring import (
    ALERT_COLUMNS,
    Thresholds,
    alerts_for,
    evaluate_alerts,
    kpi_table,
    monitoring_report,
    quality_by,
    suggestions,
    turn_kpis,
    worst_responses,
)
from toolkit.quality import QualityConfig, assign_levels, composite_quality, content_words, level_counts, score_turns


@pytest.fixture(scope="module")
def scored_small(sample_log):
    return sample_log.with_turns(score_turns(sample_log))


def _fake_turns(n, quality, rt, *, bot="b1", variant="A", error_every=0):
    q = np.asarray(quality, dtype=float) * np.ones(n)
    return pd.DataFrame({
        "conversation_id": [f"{bot}-{variant}-{i}" for i in range(n)], "turn": 0,
        "timestamp": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
        "bot_id": bot, "variant": variant, "model": "m",
        "user_input": "where is my order", "bot_response": "It ships today.",
        "response_time_s": np.asarray(rt, dtype=float) * np.ones(n),
        "error": [("timeout" if error_every and i % error_every == 0 else None) for i in range(n)],
        "quality": q, "level": assign_levels(q), "relevance": 0.1, "sentiment": 0.0,
        "coherence": 1.0, "length_fit": 1.0,
    })


def test_thresholds_defaults_and_validation():
    t = Thresholds()
    assert (t.quality_high, t.quality_medium, t.response_time_high, t.response_time_medium,
            t.high_quality_share_medium) == (0.45, 0.6, 5.0, 3.0, 0.5)
    for bad, msg in [
        ({"quality_high": 0.8}, "quality_high .* must be <= quality_medium"),
        ({"response_time_high": 2.0}, "response_time_high .* must be >="),
        ({"quality_medium": 1.5}, r"quality_medium must be in \[0, 1\]"),
        ({"response_time_medium": float("nan")}, "finite number"),
        ({"qualty": 1}, r"unknown setting\(s\) \['qualty'\]"),
    ]:
        with pytest.raises(ValueError, match=msg):
            Thresholds.from_dict(bad)


@pytest.mark.parametrize(
    "quality, rt, expected",
    [
        (0.9, 1.0, []),
        (0.55, 1.0, [("medium", "mean_quality", 0.6)]),
        (0.3, 1.0, [("high", "mean_quality", 0.45), ("medium", "high_quality_share", 0.5)]),
        (0.9, 3.5, [("medium", "mean_response_time_s", 3.0)]),
        (0.9, 6.0, [("high", "mean_response_time_s", 5.0)]),
        (0.45, 3.0, [("medium", "high_quality_share", 0.5), ("medium", "mean_quality", 0.6)]),
    ],
)
def test_alert_rules_and_severities(quality, rt, expected):
    alerts = evaluate_alerts(_fake_turns(40, quality, rt), by=())
    assert list(alerts.columns) == ALERT_COLUMNS
    got = [(a.severity, a.metric, a.threshold) for a in alerts.itertuples()]
    assert sorted(got) == sorted(expected)
    for a in alerts.itertuples():
        assert a.scope == "all" and a.n_turns == 40 and len(a.recommendation) > 40
        assert a.value == pytest.approx({"mean_quality": quality, "mean_response_time_s": rt,
                                         "high_quality_share": float(quality >= QualityConfig().cutoffs["good"])}[a.metric])


def test_alerts_per_scope_and_min_turns():
    turns = pd.concat([_fake_turns(50, 0.9, 1.0, bot="fast"), _fake_turns(50, 0.9, 6.0, bot="slow"),
                       _fake_turns(10, 0.2, 9.0, bot="tiny")], ignore_index=True)
    alerts = evaluate_alerts(turns, by=("bot_id",))
    scopes = set(alerts["scope"])
    assert "bot_id=slow" in scopes and "bot_id=fast" not in scopes
    assert "bot_id=tiny" not in scopes  # below min_turns
    slow = alerts[(alerts.scope == "bot_id=slow")].iloc[0]
    assert slow.severity == "high" and slow.value == pytest.approx(6.0)
    assert alerts.iloc[0]["severity"] == "high"  # sorted by severity
    # error-rate thresholds are off by default and work when set
    errs = _fake_turns(50, 0.9, 1.0, error_every=5)
    assert evaluate_alerts(errs, by=()).empty
    a = evaluate_alerts(errs, {"error_rate_medium": 0.1, "error_rate_high": 0.5}, by=())
    assert a[["severity", "metric"]].values.tolist() == [["medium", "error_rate"]]
    assert "timeout (10)" in a.iloc[0]["recommendation"]


def test_alerts_for_matches_kpis():
    out = alerts_for("variant=B", {"n_turns": 100, "mean_quality": 0.3, "mean_response_time_s": 3.2,
                                   "high_quality_share": 0.45})
    assert [(a["severity"], a["metric"]) for a in out] == [
        ("high", "mean_quality"), ("medium", "mean_response_time_s"), ("medium", "high_quality_share")]
    assert all(a["scope"] == "variant=B" for a in out)


def test_turn_kpis_against_direct_computation(scored_small):
    t = scored_small.turns
    k = turn_kpis(t)
    rt = t["response_time_s"].to_numpy(float)
    assert k["n_turns"] == len(t)
    assert k["mean_response_time_s"] == pytest.approx(rt.mean())
    assert k["median_response_time_s"] == pytest.approx(np.median(rt))
    assert k["p95_response_time_s"] == pytest.approx(np.quantile(rt, 0.95))
    assert k["p99_response_time_s"] == pytest.approx(np.quantile(rt, 0.99))
    assert k["error_rate"] == pytest.approx(t["error"].notna().mean())
    assert k["cost_usd"] == pytest.approx(t["cost_usd"].sum())
    assert k["mean_quality"] == pytest.approx(t["quality"].mean())
    assert k["high_quality_share"] == pytest.approx((t["quality"] >= QualityConfig().cutoffs["good"]).mean())


def test_report_tables(scored_small):
    log = scored_small
    r = monitoring_report(log)
    conv = log.conversations
    assert r.kpis["n_conversations"] == len(conv)
    assert r.kpis["resolution_rate"] == pytest.approx(conv["resolved"].dropna().astype(float).mean())
    assert r.kpis["mean_satisfaction"] == pytest.approx(conv["satisfaction"].mean())
    assert r.kpis["mean_turns_per_conversation"] == pytest.approx(len(log.turns) / len(conv))
    assert sum(r.kpis["levels"].values()) == len(log.turns)
    # by variant: turn and conversation KPIs of each arm
    bv = r.by_variant.set_index("group")
    for arm, part in log.turns.groupby("variant"):
        assert bv.loc[arm, "n_turns"] == len(part)
        assert bv.loc[arm, "mean_quality"] == pytest.approx(part["quality"].mean())
        c = conv[conv["variant"] == arm]
        assert bv.loc[arm, "n_conversations"] == len(c)
        assert bv.loc[arm, "resolution_rate"] == pytest.approx(c["resolved"].dropna().astype(float).mean())
    bm = r.by_model.set_index("group")
    for model, part in log.turns.groupby("model"):
        assert bm.loc[model, "cost_usd"] == pytest.approx(part["cost_usd"].sum())
        assert bm.loc[model, "completion_tokens"] == int(part["completion_tokens"].sum())
    assert r.over_time["n_turns"].sum() == len(log.turns)
    assert len(r.over_time) == log.turns["timestamp"].dt.floor("D").nunique()
    d = r.to_dict()
    json.dumps(d)  # JSON-ready
    assert set(d) >= {"kpis", "alerts", "suggestions", "by_bot", "by_variant", "by_model", "over_time"}


def test_report_does_not_mutate_and_rejudges_levels(sample_log, scored_small):
    before = sample_log.turns.copy(deep=True)
    monitoring_report(sample_log)
    pd.testing.assert_frame_equal(sample_log.turns, before)
    strict = {"cutoffs": {"excellent": 0.99, "good": 0.98, "average": 0.97, "poor": 0.96}}
    r = monitoring_report(scored_small, config=strict)
    assert r.kpis["high_quality_share"] == pytest.approx((scored_small.turns["quality"] >= 0.98).mean())


def test_suggestions_find_planted_incidents(bundled):
    from toolkit.sample import load_sample_truth

    truth = load_sample_truth()
    s = suggestions(bundled)
    assert list(s.columns) == ["area", "finding", "action", "evidence"]
    inc = {i["kind"]: i for i in truth["incidents"]}
    lat = s[s.area == "latency"]
    assert len(lat) >= 1
    ev = lat.iloc[0]["evidence"]
    assert ev["start"] == pd.Timestamp(inc["latency"]["start"])
    assert ev["end"] == pd.Timestamp(inc["latency"]["end"])
    drops = [e for a, e in zip(s.area, s.evidence) if a == "quality" and "typical_daily_mean" in e]
    assert len(drops) == 1
    assert drops[0]["start"] == pd.Timestamp(inc["quality_regression"]["start"])
    assert drops[0]["end"] == pd.Timestamp(inc["quality_regression"]["end"])
    # the variant with the planted lower good-answer rate is the one flagged
    control = truth["variants"]["control"]
    seg = [e["segment"] for a, e in zip(s.area, s.evidence) if a == "quality" and "segment" in e]
    assert f"variant={control}" in seg
    # every number in the findings is computed, e.g. the error counts
    err = s[s.area == "errors"].iloc[0]["evidence"]
    assert err["n_errors"] == int(bundled.turns["error"].notna().sum())


def test_quality_by_and_worst(scored_small):
    t = scored_small.turns
    qb = quality_by(scored_small, "variant").set_index("group")
    for arm, part in t.groupby("variant"):
        assert qb.loc[arm, "mean_quality"] == pytest.approx(part["quality"].mean())
        assert qb.loc[arm, "n_conversations"] == part["conversation_id"].nunique()
        # reference: statsmodels OLS on an intercept with conversation-clustered covariance
        groups = pd.factorize(part["conversation_id"])[0]
        ref = sm.OLS(part["quality"].to_numpy(float), np.ones(len(part))).fit(
            cov_type="cluster", cov_kwds={"groups": groups}).conf_int(alpha=0.05)[0]
        assert (qb.loc[arm, "ci_low"], qb.loc[arm, "ci_high"]) == pytest.approx(tuple(ref), rel=1e-9)
    hours = quality_by(scored_small, "hour")
    assert hours["n_turns"].sum() == len(t)
    w = worst_responses(scored_small, 5)
    assert w["quality"].tolist() == sorted(t["quality"].nsmallest(5).tolist())
    with pytest.raises(ValueError, match="no column 'nope'"):
        quality_by(scored_small, "nope")
    with pytest.raises(ValueError, match="no column 'nope'"):
        kpi_table(t, None, "nope")


def test_figures(scored_small):
    from matplotlib.figure import Figure

    from toolkit import monitoring as m

    r = monitoring_report(scored_small)
    figs = [m.quality_distribution_figure(scored_small), m.components_figure(scored_small),
            m.quality_by_figure(quality_by(scored_small, "hour")),
            m.quality_over_time_figure(scored_small, by="variant"),
            m.response_time_vs_quality_figure(scored_small),
            m.level_counts_figure(level_counts(scored_small.turns["level"])), m.kpis_over_time_figure(r)]
    assert all(isinstance(f, Figure) and f.axes for f in figs)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def _toolkit(*args):
    return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def small_log_dir(tmp_path_factory, sample):
    from toolkit.io import save

    d = tmp_path_factory.mktemp("log")
    save(sample.log, d)
    return d


def test_cli_score_and_report(small_log_dir, tmp_path, sample_log):
    out = tmp_path / "scored.parquet"
    r = _toolkit("score", str(small_log_dir), "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["scored_turns"] == len(sample_log.turns)
    assert f"wrote {out}" in r.stderr and "mean quality" in r.stderr  # says what it wrote
    df = pd.read_parquet(out)
    assert {"relevance", "sentiment", "coherence", "length_fit", "quality", "level"} <= set(df.columns)
    direct = score_turns(sample_log)
    np.testing.assert_allclose(df["quality"].to_numpy(), direct["quality"].to_numpy())

    th = tmp_path / "th.json"
    th.write_text(json.dumps({"quality_medium": 0.99, "quality_high": 0.2}))
    r = _toolkit("report", str(out), "--thresholds", str(th), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    q_alert = [a for a in rep["alerts"] if a["metric"] == "mean_quality" and a["scope"] == "all"][0]
    assert q_alert["severity"] == "medium" and q_alert["threshold"] == 0.99
    assert q_alert["value"] == pytest.approx(direct["quality"].mean())
    assert rep["kpis"]["n_turns"] == len(sample_log.turns)
    r = _toolkit("report", str(small_log_dir))
    assert r.returncode == 0 and "alerts (" in r.stdout and "suggestions (" in r.stdout
    # the tables its help promises, in 100 columns, and each piece of advice once
    for table in ("by bot:", "by variant:", "by model:", "over time (per day"):
        assert table in r.stdout, table
    assert max(len(line) for line in r.stdout.splitlines()) <= 100
    advice = [line for line in r.stdout.splitlines() if line.strip().startswith("what to do:")]
    assert len(advice) == len(set(advice))


def test_cli_bad_input(small_log_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"qualty": 1}')
    r = _toolkit("report", str(small_log_dir), "--thresholds", str(bad))
    assert r.returncode == 2 and "unknown setting(s) ['qualty']" in r.stderr
    bad.write_text("[1, 2")
    r = _toolkit("report", str(small_log_dir), "--thresholds", str(bad))
    assert r.returncode == 2 and "not valid JSON" in r.stderr
    r = _toolkit("score", str(tmp_path / "missing"), "--out", str(tmp_path / "x.parquet"))
    assert r.returncode == 2
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("weights:\n  relevance: -1\n")
    r = _toolkit("score", str(small_log_dir), "--out", str(tmp_path / "x.parquet"), "--config", str(cfg))
    assert r.returncode == 2 and "relevance must be a finite number >= 0" in r.stderr


def test_cli_report_thresholds_follow_the_quality_config(tmp_path):
    """``toolkit report --config`` with fast mode and no thresholds file: the fast mode's quality
    thresholds (0.3/0.5), as the Python API picks them; the CLI used the full mode's 0.45/0.6 (a
    mean of 0.55 raised a medium alert). A thresholds file without quality keys keeps them too."""
    log = tmp_path / "turns.csv"
    _fake_turns(40, 0.55, 1.0).to_csv(log, index=False)  # already scored: not rescored
    cfg = tmp_path / "fast.json"
    cfg.write_text(json.dumps({"mode": "fast"}))
    th = tmp_path / "th.json"
    th.write_text(json.dumps({"response_time_high": 9.0}))
    for extra in ([], ["--thresholds", str(th)]):
        r = _toolkit("report", str(log), "--config", str(cfg), "--json", *extra)
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout)
        assert (rep["thresholds"]["quality_high"], rep["thresholds"]["quality_medium"]) == (0.3, 0.5)
        assert "mean_quality" not in {a["metric"] for a in rep["alerts"]}
    r = _toolkit("report", str(log), "--json")  # full mode: its 0.6
    assert [a["threshold"] for a in json.loads(r.stdout)["alerts"]
            if a["metric"] == "mean_quality" and a["scope"] == "all"] == [0.6]


def test_cli_report_takes_the_score_commands_model_flags(tmp_path):
    """`toolkit score --fast` then `toolkit report`: `report --fast` (the flag the user already
    typed) gives the fast scale's thresholds, without writing a config file; `--composite` too."""
    log = tmp_path / "turns.csv"
    _fake_turns(40, 0.55, 1.0).to_csv(log, index=False)
    for flag, expected in (("--fast", (0.3, 0.5)), ("--composite", (0.6, 0.7))):
        r = _toolkit("report", str(log), flag, "--json")
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout)
        assert (rep["thresholds"]["quality_high"], rep["thresholds"]["quality_medium"]) == expected
    r = _toolkit("report", str(log), "--fast", "--composite")
    assert r.returncode == 2 and r.stderr.startswith("error: --fast and --composite")


# ------------------------------------------------------------------------------------------
# notebook
# ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_quality_notebook_runs(run_notebook, small_log_dir):
    side = run_notebook("01_quality", data_path=str(small_log_dir), quality_medium=0.99)
    res = side["results"]
    from toolkit.io import load

    log = load(small_log_dir)
    direct = score_turns(log)
    assert res["n_turns"] == len(log.turns)
    assert res["mean_quality"] == pytest.approx(direct["quality"].mean())
    assert sum(res["levels"].values()) == len(log.turns)
    assert any(a["metric"] == "mean_quality" and a["scope"] == "all" and a["threshold"] == 0.99
               for a in res["alerts"])
    out = Path(side["_output_dir"])
    for name in ("quality_distribution", "quality_by_variant", "response_time_vs_quality", "reaction_by_variant"):
        assert (out / "figures" / f"{name}.png").exists()
    assert res["mean_reaction"] == pytest.approx(direct["reaction"].mean())
    nb = json.loads(Path(side["_executed"]).read_text())
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error"
            assert not (o.get("output_type") == "stream" and o.get("name") == "stderr"), o


@pytest.mark.slow
def test_quality_notebook_thresholds_follow_the_quality_mode(run_notebook, tmp_path):
    """Notebook 01 with quality_mode="fast" (as a batch entry sets it) and no quality thresholds:
    the fast mode's 0.3/0.5 (its defaults were the full mode's 0.45/0.6 whatever the mode); a
    threshold given is used as given."""
    from toolkit.io import save
    from toolkit.sample import generate_sample

    d = tmp_path / "log"
    save(generate_sample(seed=3, days=2).log, d)
    side = run_notebook("01_quality", data_path=str(d), quality_mode="fast", interactive=False)
    th = side["parameters"]["thresholds"]
    assert (th["quality_high"], th["quality_medium"]) == (0.3, 0.5)
    side = run_notebook("01_quality", data_path=str(d), quality_mode="fast", quality_medium=0.4,
                        interactive=False)
    th = side["parameters"]["thresholds"]
    assert (th["quality_high"], th["quality_medium"]) == (0.3, 0.4)


def test_notebook_committed_without_outputs():
    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "01_quality.ipynb").read_text())
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and "data_path: str = \"\"" in "".join(params[0]["source"])
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None


def test_component_costs_add_up_to_lost_quality(scored_small):
    from toolkit.monitoring.alerts import _weighted_shortfalls

    t = scored_small.turns
    costs = _weighted_shortfalls(t)
    composite = composite_quality(t, content_words=content_words(t["bot_response"]))
    assert sum(costs.values()) == pytest.approx(1 - composite.mean(), abs=1e-12)
    s = suggestions(scored_small)
    first = s.iloc[0]
    assert first["evidence"][f"lost_{max(costs, key=costs.get)}"] == pytest.approx(max(costs.values()))


def test_quality_interval_without_conversations_is_the_plain_one():
    y = np.array([0.2, 0.4, 0.9, 0.7, 0.5, 0.65])
    g = np.array(["a", "a", "a", "b", "b", "b"])
    out = _clustered_means(y, g, None)
    for name in ("a", "b"):
        part = y[g == name]
        assert out.loc[name, "se"] == pytest.approx(part.std(ddof=1) / np.sqrt(part.size))
        assert out.loc[name, "clusters"] == part.size


def test_clustered_quality_interval_covers_at_its_nominal_rate():
    """Simulation: 2,000 replicate groups of 150 conversations with 1-9 turns each and a strong
    conversation effect (ICC 0.5). The clustered interval covers the true mean at about 95 %;
    intervals that treat turns as independent cover far less often."""
    rng = np.random.default_rng(7)
    reps, convs = 2000, 150
    sizes = rng.integers(1, 10, size=reps * convs)
    conv = np.repeat(np.arange(reps * convs), sizes)
    group = conv // convs
    y = 0.6 + rng.normal(0, 0.1, size=reps * convs)[conv] + rng.normal(0, 0.1, size=conv.size)

    def coverage(m):
        return float((np.abs(m["mean"] - 0.6) <= 1.959963984540054 * m["se"]).mean())

    # binomial SE of a 95 % rate over 2,000 replicates is 0.5 %
    assert 0.935 <= coverage(_clustered_means(y, group, conv)) <= 0.965
    assert coverage(_clustered_means(y, group, None)) < 0.85


def test_segment_share_standard_error_is_the_cluster_robust_one(bundled):
    t = bundled.turns
    rng = np.random.default_rng(3)
    y = (rng.random(len(t)) < 0.1).astype(float)
    inside = (t["model"] == "gpt-4o").to_numpy()
    codes = pd.factorize(t["conversation_id"])[0]
    got = _clustered_means(y, inside, codes)
    for side in (True, False):
        part = inside == side
        ref = sm.OLS(y[part], np.ones(part.sum())).fit(cov_type="cluster", cov_kwds={"groups": codes[part]})
        assert got.loc[side, "mean"] == pytest.approx(y[part].mean())
        assert got.loc[side, "se"] == pytest.approx(float(ref.bse[0]), rel=1e-9)


@pytest.mark.parametrize("column", ["model", "hour"])
def test_segment_z_is_the_cluster_robust_wald_statistic(bundled, column):
    # "hour" splits conversations across segments, "model" does not
    t = bundled.turns
    rng = np.random.default_rng(4)
    y = (rng.random(len(t)) < 0.1).astype(float)
    key = (t["timestamp"].dt.hour if column == "hour" else t[column]).to_numpy()
    codes = pd.factorize(t["conversation_id"])[0]
    got = _segment_differences(y, key, codes).set_index("segment")
    for g in list(got.index)[:3]:
        x = (key == g).astype(float)
        ref = sm.OLS(y, sm.add_constant(x)).fit(cov_type="cluster", cov_kwds={"groups": codes})
        assert got.loc[g, "share"] - got.loc[g, "share_rest"] == pytest.approx(ref.params[1], abs=1e-12)
        assert got.loc[g, "z"] == pytest.approx(ref.tvalues[1], rel=1e-9)


def test_a_segment_where_every_answer_is_poor_is_flagged():
    n = 200
    turns = pd.DataFrame({"conversation_id": [f"c{i // 2}" for i in range(n)],
                          "model": ["bad"] * 40 + ["good"] * (n - 40),
                          "quality": [0.1] * 40 + [0.9] * (n - 40)})
    found = _segment_findings(turns, {"average": 0.5})
    assert [f["evidence"]["segment"] for f in found] == ["model=bad"]
    assert found[0]["evidence"]["z"] == np.inf and found[0]["evidence"]["poor_share"] == 1.0


def test_default_thresholds_follow_the_quality_model():
    """No thresholds given: the fitted score's (0.45/0.6) by default, its fast mode's
    (0.3/0.5) and the composite's (0.6/0.7) with them."""
    from toolkit.monitoring import evaluate_alerts
    from toolkit.quality import QualityConfig

    t = pd.DataFrame({"quality": [0.65] * 40, "response_time_s": [1.0] * 40, "user_input": ["where is my order"] * 40,
                      "bot_response": ["ok"] * 40})
    composite = evaluate_alerts(t, by=(), config=QualityConfig(model="composite"))
    q = composite[composite["metric"] == "mean_quality"]
    # the composite's thresholds, not the fitted score's 0.45/0.6
    assert len(q) == 1 and q["threshold"].iloc[0] in (0.6, 0.7) and q["value"].iloc[0] < q["threshold"].iloc[0]
    given = evaluate_alerts(t, {"quality_high": 0.1, "quality_medium": 0.2}, by=(),
                            config=QualityConfig(model="composite"))
    assert "mean_quality" not in set(given["metric"])  # thresholds given are used as given
    t55 = _fake_turns(40, 0.55, 1.0)  # already scored: not rescored
    fitted = evaluate_alerts(t55, by=())
    assert fitted.loc[fitted["metric"] == "mean_quality", "threshold"].tolist() == [0.6]
    fast = evaluate_alerts(t55, by=(), config=QualityConfig(mode="fast"))
    assert "mean_quality" not in set(fast["metric"])  # the fast mode's 0.5


def test_partial_thresholds_keep_the_quality_thresholds_of_the_model_in_use():
    """A mapping without the quality thresholds (a thresholds file with response times only)
    takes the quality thresholds of the model in use, as no thresholds do: fast mode 0.3/0.5,
    not the full mode's 0.45/0.6 (a mean of 0.55 raised a medium alert it would not raise
    without the file); a fast-mode quality_medium of 0.4 is valid beside its default high 0.3."""
    from toolkit.monitoring import Thresholds, evaluate_alerts
    from toolkit.monitoring.thresholds import _thresholds

    fast = QualityConfig(mode="fast")
    t55 = _fake_turns(40, 0.55, 1.0)
    part = evaluate_alerts(t55, {"response_time_high": 9.0}, by=(), config=fast)
    assert "mean_quality" not in set(part["metric"])
    th = _thresholds({"response_time_high": 9.0}, fast)
    assert (th.quality_high, th.quality_medium, th.response_time_high) == (0.3, 0.5, 9.0)
    assert _thresholds({"quality_medium": 0.4}, fast).quality_high == 0.3
    assert _thresholds({"quality_medium": 0.65}, {"model": "composite"}).quality_high == 0.6
    assert _thresholds({"quality_medium": 0.7}).quality_high == 0.45  # no config: full mode
    # given values win; the keyword form leaves out the None ones (a notebook's "not set")
    assert Thresholds.for_config(fast, quality_high=0.1, quality_medium=None).quality_medium == 0.5
    assert Thresholds.for_config(None, quality_medium=None) == Thresholds()
