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
    with pytest.raises(LabelsError, match="must name a turn of that conversation.*turn=5"):
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
