"""What notebook 06 calls (``toolkit.experiments.workflow``), the tables of the spec classes and the
stand-in demo, and the result's headline: the notebook only calls and shows these."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from toolkit.experiments import Endpoint, ExperimentSpecError, Variant, load_spec
from toolkit.experiments.analysis import analyze_repeated
from toolkit.experiments.standin import _local_run, demo_experiment
from toolkit.experiments.workflow import ExperimentInputs, experiment_inputs

KEY = "sk-test-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


def test_spec_tables_show_the_variants_and_never_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("EXP_TABLE_KEY", KEY)
    spec = load_spec({"test_set": "t.csv", "repetitions": 4,
                      "endpoint": {"base_url": "https://api.example.com/v1", "model": "m1", "api_key_env": "EXP_TABLE_KEY",
                                   "prices": {"m1": [1, 2]}},
                      "variants": [{"name": "a"}, {"name": "b", "model": "m2", "temperature": 0.3,
                                                   "params": {"top_p": 0.9}}]})
    table = spec.summary_table()
    assert table["variant"].tolist() == ["a", "b"] and table["model"].tolist() == ["m1", "m2"]
    assert table["repetitions"].tolist() == [4, 4] and set(table["target"]) == {"https://api.example.com/v1"}
    assert json.loads(table.loc[1, "params"]) == {"top_p": 0.9}
    ep = spec.endpoint.summary_table()
    assert ep.loc[0, "key_set"] is True and ep.loc[0, "prices"] == "m1: 1 / 2 USD per 1M tokens"
    for out in (table.to_string(), ep.to_string(), json.dumps(spec.to_dict()), json.dumps(spec.endpoint.to_dict()),
                Variant("x").summary_table().to_string()):
        assert KEY not in out and "sk-test" not in out
    with pytest.raises(ExperimentSpecError, match="api_key"):
        Endpoint.from_dict({"api_key": KEY})


def test_stand_in_demo_table_truth_and_comparison():
    demo = demo_experiment(40, seed=1)
    table = demo.summary_table()
    assert table["variant"].tolist() == ["baseline", "grounded", "concise"]
    assert table["expected_lift"].isna().tolist() == [True, False, False]  # the control has no lift
    assert table.set_index("variant").loc["grounded", "expected_lift"] == pytest.approx(
        demo.truth["expected_lift"]["grounded"])
    d = demo.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["n_flaky"] == len(demo.truth["flaky_examples"]) and "p_good" not in d["truth"]
    runs = _local_run(demo, repetitions=3)
    passed = analyze_repeated(runs, "passed", n_boot=0)
    cmp = demo.compare(passed)
    assert list(cmp.index) == ["grounded", "concise"]
    lo, hi = passed.comparisons.set_index("treatment").loc["grounded", ["ci_low", "ci_high"]]
    assert bool(cmp.loc["grounded", "covered by the CI"]) == (lo <= cmp.loc["grounded", "planted lift (this test set)"] <= hi)
    # on another metric only the planted lifts are shown (the estimate is on another scale)
    other = analyze_repeated(runs.assign(score=runs["passed"].astype(float)), "score", n_boot=0)
    assert list(demo.compare(other).columns) == ["planted lift (this test set)", "planted lift (population)"]
    flagged = set(passed.flaky_examples["example_id"])
    assert f"flagged: **{len(flagged)}**" in demo.flaky_note(passed)


def test_headline_names_the_best_treatment():
    runs = pd.DataFrame({"variant": list("AAAABBBBCCCC"), "example_id": list("xxyy") * 3,
                         "repetition": [0, 1] * 6, "q": [0.1, 0.2, 0.3, 0.3, 0.5, 0.6, 0.6, 0.8, 0.0, 0.1, 0.2, 0.2]})
    res = analyze_repeated(runs, "q", n_boot=0)
    assert res.best["treatment"] == "B"
    assert res.headline().startswith("B vs A: lift +0.400 [")
    assert res.headline().endswith(f"; {res.flaky_examples['example_id'].nunique()} flaky examples")


def test_notebook_inputs_demo_then_the_saved_log(tmp_path):
    demo = experiment_inputs(n_examples=15, repetitions=2, seed=3, output_dir=tmp_path)
    assert demo.metric == "passed" and demo.truth is not None and demo.run.calls.total == 90
    assert (tmp_path / "runs.parquet").is_file() and (tmp_path / "cache").is_dir()
    table = demo.summary_table()
    assert table["calls"].tolist() == [30, 30, 30] and table["failed_calls"].sum() == 0
    assert demo.message().startswith("90 calls from the offline stand-in bot (planted truth): 3 variants x 15")
    res = demo.analyze(alpha=0.1, n_boot=0)
    assert res.control == "baseline" and res.alpha == 0.1
    plan = res.plan(0.2, max_repetitions=3)
    out = demo.sidecar_results(res, plan)
    json.dumps(out, allow_nan=False)
    assert out["best_variant"] == res.best["treatment"] and out["n_flaky"] == res.flaky_examples["example_id"].nunique()
    assert out["truth"]["flaky_examples"] == demo.truth["flaky_examples"] and out["calls"]["total"] == 90
    # a rerun is free: every call comes from the cache
    assert experiment_inputs(n_examples=15, repetitions=2, seed=3, output_dir=tmp_path).run.calls.cached == 90
    saved = experiment_inputs(data_path=tmp_path / "runs.parquet", output_dir=tmp_path / "again")
    assert saved.metric == "quality" and saved.run is None and saved.truth is None
    assert saved.variant_order[0] == "baseline" and len(saved.variant_order) == 3  # the order in the log
    again = saved.analyze("grounded", n_boot=0)
    assert again.control == "grounded" and set(again.treatments) == {"baseline", "concise"}
    assert "truth" not in saved.sidecar_results(again, again.plan(0.1, max_repetitions=2))
    json.dumps(saved.to_dict(), allow_nan=False)


def test_notebook_inputs_from_a_spec_with_a_python_bot(tmp_path):
    pd.DataFrame({"example_id": ["1", "2", "3"], "input": ["Where is my order?", "Refund please", "Hi"]}).to_csv(
        tmp_path / "t.csv", index=False)
    (tmp_path / "exp_workflow_bot.py").write_text(
        "def answer(example, variant):\n    return variant.name + ': ' + example['input']\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("test_set: t.csv\nrepetitions: 2\ntarget: exp_workflow_bot:answer\n"
                    "variants:\n  - {name: plain}\n  - {name: other}\n")
    inputs = experiment_inputs(spec_path=spec, output_dir=tmp_path / "out")
    assert inputs.source == "the spec's Python target" and inputs.metric == "quality"
    assert inputs.run.calls.ok == 12 and (tmp_path / "out" / "cache").is_dir()
    assert inputs.summary_table()["variant"].tolist() == ["plain", "other"]


def test_inputs_table_of_a_log_without_errors_column():
    log = pd.DataFrame({"variant": ["b", "a"], "example_id": ["1", "1"], "repetition": [0, 0], "m": [1.0, 0.0]})
    inputs = ExperimentInputs(log, "m", "a frame")
    assert inputs.variant_order == ["b", "a"] and inputs.summary_table()["failed_calls"].tolist() == [0, 0]
    with pytest.raises(ValueError, match="no column"):
        ExperimentInputs(log, "missing", "a frame").analyze()
