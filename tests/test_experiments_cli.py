"""``toolkit experiment analyze`` and ``toolkit experiment plan`` (their parsers live in
``toolkit.commands._experiment_analysis``; ``toolkit.commands.experiment`` adds them)."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from toolkit.commands._experiment_analysis import register_analyze, register_plan
from toolkit.errors import ToolkitError
from toolkit.experiments.planner import plan_repetitions
from toolkit.experiments.standin import _local_run, demo_experiment


def _parser():
    p = argparse.ArgumentParser(prog="toolkit experiment")
    sub = p.add_subparsers(dest="experiment_command", required=True)
    register_analyze(sub)
    register_plan(sub)
    return p


def cli(argv):
    """The parsers' own functions (errors raised as ToolkitError, not printed)."""
    args = _parser().parse_args(argv)
    return args.experiment_func(args)


def test_the_toolkit_command_has_both(capsys):
    from toolkit.cli import main

    assert main(["experiment", "plan", "--mde", "0.1", "--var-between-diff", "0.01", "--var-within", "0.04"]) == 0
    assert "73 examples x 1 repetition(s)" in capsys.readouterr().out
    assert main(["experiment", "plan", "--mde", "0.1"]) == 2  # one line on stderr, exit 2
    assert "--var-between-diff" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["experiment", "analyze", "--help"])
    assert "repetitions counted as examples" in capsys.readouterr().out


@pytest.fixture(scope="module")
def run_log(tmp_path_factory):
    """A stand-in run saved as a conversation log (one turn per call) with its pass/fail."""
    from toolkit.io import load, save

    demo = demo_experiment(24, seed=2)
    t = _local_run(demo, repetitions=3)
    t["conversation_id"] = t["variant"] + "/" + t["example_id"] + "/r" + t["repetition"].astype(str)
    t["turn"] = 0
    t["timestamp"] = pd.Timestamp("2026-12-01", tz="UTC")
    t["response_time_s"] = 0.1
    path = tmp_path_factory.mktemp("exp") / "runs.parquet"
    save(load(t), path)
    return path, demo


def test_plan_from_given_components(capsys):
    assert cli(["plan", "--mde", "0.1", "--var-between-diff", "0.01", "--var-within", "0.04", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04)
    assert [r["examples"] for r in out["table"]] == expected.table["examples"].tolist()
    assert out["recommended"]["repetitions"] == 1 and "var(lift)" in out["formula"]


def test_plan_text_with_costs(capsys):
    assert cli(["plan", "--mde", "0.1", "--var-between-diff", "0.002", "--var-within", "0.05",
                "--cost-per-call", "0.01", "--cost-per-example", "1", "--max-repetitions", "6"]) == 0
    text = capsys.readouterr().out
    assert "var(lift)" in text and "recommended" in text and "17 examples x 6 repetition(s)" in text


def test_analyze_and_plan_from_a_saved_log(run_log, capsys):
    path, demo = run_log
    assert cli(["analyze", str(path), "--metric", "passed", "--control", "baseline", "--json",
                "--plan-mde", "0.2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["control"] == "baseline" and set(out["treatments"]) == {"grounded", "concise"}
    assert out["plan"]["mde"] == 0.2 and out["n_flaky"] >= 1
    assert cli(["analyze", str(path), "--metric", "passed", "--control", "baseline"]) == 0
    text = capsys.readouterr().out
    assert "naive: repetitions as examples" in text and "flaky examples" in text
    assert cli(["plan", "--mde", "0.2", "--from", str(path), "--metric", "passed", "--control", "baseline",
                "--treatment", "grounded", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["variants"] == 2


def test_analyze_scores_quality_when_the_log_has_none(run_log, capsys):
    path, _ = run_log
    assert cli(["analyze", str(path), "--control", "baseline", "--bootstrap", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metric"] == "quality"


@pytest.mark.parametrize("argv, message", [
    (["plan", "--mde", "0.1"], "--var-between-diff"),
    (["plan", "--mde", "0.1", "--var-within", "0.1", "--var-between-diff", "0.1", "--from", "x.parquet"], "not both"),
    (["analyze", "/no/such/log.parquet"], "no such file"),
])
def test_errors_are_one_clear_line(argv, message):
    with pytest.raises(ToolkitError, match=message):
        cli(argv)


def test_bad_option_values_are_refused_while_parsing():
    with pytest.raises(SystemExit):
        _parser().parse_args(["plan", "--mde", "-1", "--var-within", "1", "--var-between-diff", "1"])
    with pytest.raises(SystemExit):
        _parser().parse_args(["analyze", "x", "--alpha", "2"])


def test_variant_order_from_the_runs_experiment_json_and_100_columns(run_log, tmp_path, capsys):
    import shutil

    path, _ = run_log
    log = tmp_path / "runs.parquet"
    shutil.copy(path, log)
    shutil.copy(path.with_name("runs.conversations.parquet"), tmp_path / "runs.conversations.parquet")
    (tmp_path / "runs.experiment.json").write_text(json.dumps(
        {"variants": [{"name": "baseline"}, {"name": "grounded"}, {"name": "concise"}]}))
    assert cli(["analyze", str(log), "--metric", "passed", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["control"] == "baseline" and out["treatments"] == ["grounded", "concise"]
    assert cli(["analyze", str(log), "--metric", "passed", "--plan-mde", "0.1"]) == 0
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 100
