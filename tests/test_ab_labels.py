"""A/B with human labels: ab.analyze_with_labels and ``toolkit abtest --labels`` (PPI++ lift)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from toolkit.judges import simulate_judge_and_labels


@pytest.fixture(scope="module")
def labelled(sample, tmp_path_factory):
    """The small sample with a simulated judge column, saved, and its simulated labels as CSV."""
    from toolkit.io import save

    sim = simulate_judge_and_labels(sample.log, sample.truth, n_labels=500, seed=4)
    root = tmp_path_factory.mktemp("ablabels")
    save(sample.log.with_turns(sim.turns), root / "log")
    sim.labels.to_csv(root / "labels.csv", index=False)
    return sim, root


def test_analyze_with_labels(sample, labelled):
    from toolkit import ab

    sim, _ = labelled
    res = ab.analyze_with_labels(sample.log.with_turns(sim.turns), sim.labels, score="judge_sim",
                                 metrics="resolved:binary", sequential=False, bayes=False)
    assert res.result.control == "A" and len(res.result.summary_table()) == 1
    lifts = res.summary_table().set_index("estimator")
    assert lifts.loc["ppi", "ci_low"] <= sim.truth["lift"]["B"] <= lifts.loc["ppi", "ci_high"]
    assert lifts.loc["ppi", "ci_high"] - lifts.loc["ppi", "ci_low"] < lifts.loc["label_only", "ci_high"] - lifts.loc["label_only", "ci_low"]
    assert "ppi" in res.to_dict()


def test_cli_abtest_labels_three_estimates(labelled, capsys):
    from toolkit.cli import main

    sim, root = labelled
    args = ["abtest", str(root / "log"), "--labels", str(root / "labels.csv"), "--label-score", "judge_sim",
            "--label-scale", "1,5", "--metrics", "resolved:binary", "--no-sequential", "--no-bayes"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "mean human rating by arm" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("B ")]
    assert {r[1] for r in rows if len(r) > 2} >= {"ppi", "label_only", "naive"}
    assert main(args + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    lifts = {r["estimator"]: r for r in d["ppi"]["lifts"]}
    assert set(lifts) == {"ppi", "label_only", "naive"} and lifts["ppi"]["n_labels"] == 500
    assert lifts["ppi"]["effective_labels"] > 500


@pytest.mark.parametrize("change, message", [
    (lambda l: pd.concat([l, l.iloc[:1]]), "must have one row per (conversation_id, turn, rater)"),
    (lambda l: l.assign(rating=l["rating"].where(l.index != 3, 9.0)), "within the scale [1, 5]"),
    (lambda l: l.assign(conversation_id=l["conversation_id"].where(l.index != 2, "zzz")), "zzz"),
])
def test_cli_abtest_bad_labels_one_clear_error(labelled, tmp_path, capsys, change, message):
    from toolkit.cli import main

    sim, root = labelled
    bad = tmp_path / "bad.csv"
    change(sim.labels).to_csv(bad, index=False)
    code = main(["abtest", str(root / "log"), "--labels", str(bad), "--label-score", "judge_sim",
                 "--label-scale", "1,5", "--metrics", "resolved:binary", "--no-sequential", "--no-bayes"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
