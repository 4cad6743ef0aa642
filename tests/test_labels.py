"""toolkit.labels: reading human ratings (every rule's error) and agreement with the scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ToolkitError
from toolkit.labels import LabelsError, label_means, read_labels


def _log_turns():
    return pd.DataFrame({"conversation_id": ["c1", "c1", "c2"], "turn": [0, 1, 0],
                         "run_id": ["r-a", "r-b", "r-c"]})


def test_csv_round_trip_with_conversation_labels(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_text("conversation_id,turn,rating,rater\nc1,0,4,ann\nc1,0,2,bob\nc2,,5,ann\n")
    lab = read_labels(p, log=_log_turns(), scale=(1, 5))
    assert lab["turn"].dtype == "Int64" and lab["rating"].dtype == "float64"
    assert lab["turn"].isna().tolist() == [False, False, True]
    assert lab["rater"].tolist() == ["ann", "bob", "ann"]
    means = label_means(lab)
    assert means["rating"].tolist() == [3.0, 5.0] and means["n_raters"].tolist() == [2, 1]


def test_parquet_and_frame_give_the_same_table(tmp_path):
    df = pd.DataFrame({"conversation_id": ["c1", "c2"], "turn": [1, 0], "rating": [0.5, 1.0]})
    df.to_parquet(tmp_path / "l.parquet")
    a = read_labels(tmp_path / "l.parquet")
    b = read_labels(df)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("rows, rule, column", [
    ({"conversation_id": ["c1"], "turn": [0]}, "missing column 'rating'", "rating"),
    ({"conversation_id": ["c1", "c1"], "turn": [0, 1], "rating": ["4", "good"]}, "must be numeric", "rating"),
    ({"conversation_id": ["c1"], "turn": [0], "rating": [np.inf]}, "must be finite", "rating"),
    ({"conversation_id": ["c1"], "turn": [0], "rating": [None]}, "must not be empty", "rating"),
    ({"conversation_id": ["c1"], "turn": [1.5], "rating": [3]}, "non-negative integer", "turn"),
    ({"conversation_id": ["c1"], "turn": [-1], "rating": [3]}, "non-negative integer", "turn"),
    ({"conversation_id": [None], "turn": [0], "rating": [3]}, "must not be empty", "conversation_id"),
    ({"conversation_id": ["c1", "c1"], "turn": [0, 0], "rating": [3, 4]}, "one row per (conversation_id, turn)",
     "rating"),
])
def test_each_rule_names_column_rule_and_rows(rows, rule, column):
    with pytest.raises(LabelsError) as err:
        read_labels(pd.DataFrame(rows))
    msg = str(err.value)
    assert rule in msg and column in msg and "labels (DataFrame)" in msg
    assert isinstance(err.value, ToolkitError) and "\n" not in msg


def test_scale_and_first_rows_are_quoted(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("conversation_id,turn,rating\n" + "".join(f"c{i},0,{9 + i}\n" for i in range(8)))
    with pytest.raises(LabelsError) as err:
        read_labels(p, scale=(1, 5))
    msg = str(err.value)
    assert str(p) in msg and "within the scale [1, 5]" in msg and "(8 rows)" in msg
    assert "row 0 (conversation_id='c0', turn='0', rating='9')" in msg and "(3 more)" in msg
    with pytest.raises(ToolkitError, match="lo < hi"):
        read_labels(p, scale=(5, 1))


def test_duplicates_per_rater_and_unknown_keys():
    dup = pd.DataFrame({"conversation_id": ["c1", "c1", "c1"], "turn": [0, 0, 0], "rating": [1, 2, 3],
                        "rater": ["a", "b", "a"]})
    with pytest.raises(LabelsError, match=r"one row per \(conversation_id, turn, rater\).*row 0.*row 2"):
        read_labels(dup)
    read_labels(dup.iloc[:2])  # two raters of one turn are fine
    with pytest.raises(LabelsError, match="must name a conversation of the log.*'zz'"):
        read_labels(pd.DataFrame({"conversation_id": ["c1", "zz"], "rating": [1, 2]}), log=_log_turns())
    with pytest.raises(LabelsError, match=r"must name a turn of that conversation .*\(conversation_id='c2', turn=5\)$"):
        read_labels(pd.DataFrame({"conversation_id": ["c2"], "turn": [5], "rating": [1]}), log=_log_turns())


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(LabelsError, match="file not found"):
        read_labels(tmp_path / "none.csv")
    (tmp_path / "l.xlsx").write_text("x")
    with pytest.raises(LabelsError, match="unknown file type"):
        read_labels(tmp_path / "l.xlsx")
    (tmp_path / "l.parquet").write_text("not parquet")
    with pytest.raises(LabelsError, match="cannot be read"):
        read_labels(tmp_path / "l.parquet")


def test_langsmith_feedback_maps_runs_to_turns():
    fb = pd.DataFrame({"run_id": ["r-b", "r-c", "r-a"], "key": ["helpful", "helpful", "other"],
                       "score": [1.0, 0.0, 0.5], "created_by": ["u1", "u1", "u2"]})
    with pytest.raises(LabelsError, match="2 keys"):
        read_labels(fb, log=_log_turns())
    lab = read_labels(fb, log=_log_turns(), feedback_key="helpful")
    assert lab[["conversation_id", "turn", "rating", "rater"]].astype(object).values.tolist() == [
        ["c1", 1, 1.0, "u1"], ["c2", 0, 0.0, "u1"]]
    with pytest.raises(LabelsError, match="needs log="):
        read_labels(fb)
    with pytest.raises(LabelsError, match="must name a run of the log"):
        read_labels(fb.assign(run_id="nope"), log=_log_turns(), feedback_key="helpful")


# -- agreement -----------------------------------------------------------------------------------

FIXTURES = __import__("pathlib").Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def labelled():
    """The labelled fixture (synthetic ratings from the sample's truth, see make_label_fixture.py)."""
    from toolkit.io import load
    from toolkit.quality import score_log

    log = load(FIXTURES / "labelled_log")
    return score_log(log), read_labels(FIXTURES / "sample_labels.csv", log=log, scale=(1, 5))


def test_agreement_on_the_labelled_fixture(labelled):
    from toolkit.labels import agreement

    scored, labels = labelled
    rep = agreement(scored, labels, threshold=3, n_boot=300, seed=1)
    tab = rep.table.set_index(["score", "level"])
    q = tab.loc[("quality", "turn")]
    assert q["n"] == 229 and q["conversations"] == 70 and q["n_fail"] > 20
    assert 0.2 < q["spearman_low"] < q["spearman"] < q["spearman_high"] < 0.7
    assert q["auc"] > 0.7 and q["auc_low"] > 0.6
    r = tab.loc[("reaction", "turn")]
    assert r["n"] < q["n"] and r["auc"] > 0.6  # the last turns have no reaction
    assert ("quality", "conversation") in tab.index and rep.unmatched == 0
    # the same seed gives the same CIs; the dict is JSON-ready
    again = agreement(scored, labels, threshold=3, n_boot=300, seed=1)
    pd.testing.assert_frame_equal(rep.table, again.table)
    import json

    json.dumps(rep.to_dict(), allow_nan=False)
    fig = rep.plot_calibration(["quality", "reaction"], bins=5)
    assert len(fig.axes[0].lines) >= 2


def test_inter_rater_flags_the_random_rater(labelled):
    from toolkit.labels import inter_rater

    ir = inter_rater(labelled[1])
    assert ir.n_raters == 3 and ir.n_items == 229
    assert ir.raters["rater"].iloc[0] == "cal"  # the rater who rates at random disagrees most
    assert 0.0 < ir.alpha < 0.6
    pair = ir.pairwise.set_index(["rater_a", "rater_b"])["spearman"]
    assert pair[("ann", "ben")] > 0.6 > 0.3 > abs(pair[("ann", "cal")])
    two = inter_rater(labelled[1][labelled[1]["rater"] != "cal"])
    assert two.alpha > 0.6


def test_krippendorff_alpha_by_hand():
    from toolkit.labels import inter_rater

    # units (1,1) (2,2) (4,5) (5,5): D_o = 2/8, D_e = 366/56 -> alpha = 1 - 0.25 / (366/56)
    lab = pd.DataFrame({"conversation_id": list("aabbccdd"), "turn": [0] * 8,
                        "rating": [1, 1, 2, 2, 4, 5, 5, 5], "rater": ["x", "y"] * 4})
    assert inter_rater(lab).alpha == pytest.approx(1 - 0.25 / (366 / 56))
    assert inter_rater(lab.drop(columns="rater")) is None


def test_agreement_errors(labelled):
    from toolkit.labels import agreement

    scored, labels = labelled
    with pytest.raises(ToolkitError, match="n_boot"):
        agreement(scored, labels, n_boot=10**6)
    with pytest.raises(ToolkitError, match="not columns"):
        agreement(scored, labels, scores=("nope",))
    with pytest.raises(LabelsError, match="must name a conversation"):
        agreement(scored, pd.DataFrame({"conversation_id": ["zz"], "turn": [0], "rating": [1.0]}))


def test_cli_labels_table_json_and_one_line_errors(tmp_path, capsys):
    from toolkit.cli import main

    lab, log = str(FIXTURES / "sample_labels.csv"), str(FIXTURES / "labelled_log")
    assert main(["labels", lab, "--log", log, "--threshold", "3", "--n-boot", "50", "--json",
                 "--plot", str(tmp_path / "cal.png")]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert {r["score"] for r in doc["scores"]} >= {"quality", "reaction"}
    assert doc["inter_rater"]["raters"][0]["rater"] == "cal" and (tmp_path / "cal.png").stat().st_size > 0
    assert main(["labels", lab, "--log", log, "--n-boot", "0"]) == 0
    assert "Krippendorff" in capsys.readouterr().out
    assert main(["labels", lab, "--log", log, "--threshold", "3", "--n-boot", "50"]) == 0
    text = capsys.readouterr().out  # 100 columns, the README's promise (it was 120 wide)
    assert max(len(line) for line in text.splitlines()) <= 100, text
    assert "spearman [95% CI]" in text and "AUC [95% CI]" in text
    bad = tmp_path / "bad.csv"
    bad.write_text("conversation_id,turn,rating\nc000001,0,great\n")
    assert main(["labels", str(bad), "--log", log]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv" in err and "'rating' must be numeric" in err


def test_weighted_bootstrap_equals_resampling_the_rows():
    """A resample as row weights gives the Spearman and AUC of the resampled rows (ties included)."""
    from toolkit.labels.report import _auc, _boot_weights, _spearman, _weighted_stats

    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=60), 1)
    y = np.round(x + rng.normal(size=60))
    passed = y > 0
    W = next(_boot_weights(np.repeat(np.arange(20), 3), 8, 5, 8))
    rho, auc = _weighted_stats(x, y, passed, W)
    for b in range(8):
        idx = np.repeat(np.arange(60), W[b].astype(int))
        assert rho[b] == pytest.approx(_spearman(x[idx], y[idx]))
        assert auc[b] == pytest.approx(_auc(passed[idx], x[idx]))
