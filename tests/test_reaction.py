"""reaction: the user's next message read as a verdict on each answer (hand-written cases)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from toolkit.quality import conversation_quality, score_turns
from toolkit.quality.reaction import conversation_reaction, reaction, reaction_cues


def _pair(first: str, answer: str, follow: str) -> pd.DataFrame:
    return pd.DataFrame({"conversation_id": ["c", "c"], "turn": [0, 1], "user_input": [first, follow],
                         "bot_response": [answer, "OK."]})


def _r(first, answer, follow) -> float:
    return float(reaction(_pair(first, answer, follow))[0])


NEUTRAL = _r  # a follow-up with no cue: the reference level


@pytest.mark.parametrize("follow", ["thanks!", "Great, that worked.", "Perfect, thank you so much",
                                    "ok thanks, that fixed it", "got it, it's sorted now"])
def test_thanks_and_confirmation_read_high(follow):
    assert _r("where is my order?", "It ships today.", follow) > 0.85


@pytest.mark.parametrize("follow", ["that is not what I asked", "That doesn't answer my question.",
                                    "useless", "human please", "Can I talk to a real person?",
                                    "WHY IS THIS STILL BROKEN", "are you serious?!", "I already told you that",
                                    "what do you mean?", "huh?"])
def test_complaints_confusion_and_escalation_read_low(follow):
    assert _r("where is my order?", "We open at 9.", follow) < 0.3


def test_repeating_or_rephrasing_the_request_reads_low():
    same = _r("how do I reset my password", "Our stores open at 9.", "how do I reset my password?")
    rephrased = _r("how do I reset my password", "Our stores open at 9.", "reset password how?")
    new_topic = _r("how do I reset my password", "Use the reset link.", "and where is my order?")
    assert same < 0.3 and rephrased < 0.45 and new_topic > 0.55


def test_last_turn_is_nan_and_order_does_not_matter():
    t = pd.DataFrame({"conversation_id": ["b", "a", "a", "b"], "turn": [1, 1, 0, 0],
                      "user_input": ["thanks", "useless", "hi", "hello"], "bot_response": ["x", "y", "z", "w"]})
    r = reaction(t)
    assert np.isnan(r[0]) and np.isnan(r[1])
    assert r[2] < 0.3 and r[3] > 0.85  # a/0 is followed by "useless", b/0 by "thanks"
    single = pd.DataFrame({"user_input": ["hi"], "bot_response": ["hello"]})
    assert np.isnan(reaction(single)).all()  # no conversation columns: no next message


def test_missing_next_message_text_and_cues_frame():
    t = _pair("hi", "hello", None)
    cues = reaction_cues(t)
    assert cues["next_user"].isna().all() and np.isnan(reaction(t)).all()


def test_score_turns_adds_reaction_and_the_conversation_rolls_it_up():
    t = pd.DataFrame({"conversation_id": ["a", "a", "b", "b"], "turn": [0, 1, 0, 1],
                      "user_input": ["where is my order?", "thanks, perfect", "refund please", "useless bot"],
                      "bot_response": ["Order 12 ships today.", "You're welcome.", "We sell shoes.", "Sorry."]})
    s = score_turns(t)
    assert s["reaction"].notna().tolist() == [True, False, True, False]
    cq = conversation_quality(s).set_index("conversation_id")
    assert cq.loc["a", "reaction"] > 0.85 > 0.3 > cq.loc["b", "reaction"]
    # abandonment: a conversation marked not resolved counts its last answer as 0
    conv = pd.DataFrame({"conversation_id": ["a", "b"], "resolved": [False, pd.NA]})
    roll = conversation_reaction(s, conv)
    assert roll["a"] == pytest.approx(s["reaction"].iloc[0] / 2)
    assert roll["b"] == pytest.approx(s["reaction"].iloc[2])


def test_separates_the_samples_planted_answer_kinds(sample):
    """On the synthetic sample the follow-ups depend on the planted answer kind."""
    truth = sample.truth["conversations"]
    t = sample.log.turns.head(6000)
    kinds = [truth[c]["answer_kinds"][k] if k < len(truth[c]["answer_kinds"]) else None
             for c, k in zip(t["conversation_id"], t["turn"])]
    r = pd.Series(reaction(t), index=t.index)
    by = r.groupby(pd.Series(kinds, index=t.index)).mean()
    assert by["good"] > 0.55 > 0.45 > max(by["generic"], by["off_topic"], by["garbled"])


def test_fast_on_a_large_log(sample_log):
    t = pd.concat([sample_log.turns] * 3, ignore_index=True)
    t["conversation_id"] = t["conversation_id"] + pd.Series(np.repeat(["-0", "-1", "-2"], len(sample_log.turns)))
    start = time.perf_counter()
    r = reaction(t)
    assert time.perf_counter() - start < 30 and np.isfinite(r).sum() > len(t) // 2


def test_monitoring_ab_and_figure_show_reaction(sample_log):
    from toolkit.ab.units import default_metrics, units_from_log
    from toolkit.monitoring import Thresholds, monitoring_report, reaction_by_figure
    from toolkit.quality import score_log

    log = score_log(sample_log.select(end="2026-09-04"))
    rep = monitoring_report(log, Thresholds(reaction_medium=0.99))
    assert 0.3 < rep.kpis["mean_reaction"] < 0.8
    assert "mean_reaction" in rep.by_variant.columns
    alert = rep.alerts[rep.alerts["metric"] == "mean_reaction"]
    assert len(alert) >= 1 and (alert["severity"] == "medium").all()
    assert "mean_reaction" not in set(monitoring_report(log).alerts["metric"])  # default 0.45 not crossed
    fig = reaction_by_figure(log, "variant")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["A", "B"]
    units = units_from_log(log)
    per_conv = log.turns.groupby("conversation_id")["reaction"].mean()
    assert np.allclose(units.set_index("conversation_id")["mean_reaction"], per_conv.reindex(units["conversation_id"]),
                       equal_nan=True)
    assert "mean_reaction" in [m.name for m in default_metrics(units)]
    assert "mean_reaction" not in units_from_log(sample_log).columns  # unscored log: no column


def test_cli_score_writes_reaction(tmp_path):
    from toolkit.cli import main
    from toolkit.io import load

    out = tmp_path / "scored.parquet"
    assert main(["score", str(__import__("pathlib").Path(__file__).parent / "fixtures" / "labelled_log"),
                 "--out", str(out)]) == 0
    turns = load(out).turns
    assert turns["reaction"].notna().any() and turns["reaction"].isna().any()


def test_bit_identical_on_any_split_of_the_conversations(sample_log):
    """The Dask engine scores partitions of whole conversations: the values must not move."""
    t = sample_log.turns.head(4000)
    full = reaction(t)
    ids = t["conversation_id"].unique()
    parts = [pd.Series(reaction(sub), index=sub.index)
             for sub in (t[t["conversation_id"].isin(ids[k::3])] for k in range(3))]
    assert np.array_equal(full, pd.concat(parts).reindex(t.index).to_numpy(), equal_nan=True)


def test_langsmith_push_can_send_reaction_offline_dry_run(tmp_path, capsys):
    import json
    from pathlib import Path

    from toolkit.cli import main
    from toolkit.sources.langsmith import save_runs

    runs = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "langsmith_runs.jsonl").open()]
    path = save_runs(runs, tmp_path / "runs.jsonl")
    assert main(["langsmith", "push", str(path), "--key", "reaction", "--dry-run", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert counts["create"] >= 1 and counts["skip_missing_score"] >= 1  # last turns have no reaction


def test_uss_reader_aligns_each_answer_with_the_rated_user_turn_after_it(tmp_path, monkeypatch):
    """User Satisfaction Simulation format: the rating on a USER line judges the SYSTEM turn before it."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.reaction_data import read_uss

    repo = tmp_path / "sunnweiwei+user-satisfaction-simulation" / "repo"
    (repo / "dataset").mkdir(parents=True)
    lines = ["USER\tfind me a cheap hotel\tInform\t3,3,3",
             "SYSTEM\tThe Acorn is cheap.\tInform\t",
             "SYSTEM\tShall I book it?\tReqmore\t",
             "USER\tNo, I said a hotel in the north.\tInform\t2,2,3",
             "USER\tIn the north please.\tInform\t3,3,3",
             "SYSTEM\tThe Alpha is in the north.\tInform\t",
             "USER\tthanks, bye\tbye\t4,3,4",
             "USER\tOVERALL\t\t3,3,3",
             "",
             "SYSTEM\tHello, how can I help?\t\t",
             "USER\tmy train?\t\t2,3,3"]
    (repo / "dataset" / "MWOZ.txt").write_text("\n".join(lines) + "\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    monkeypatch.setenv("TOOLKIT_HUMAN_DATA_DIR", str(tmp_path))
    df = read_uss("uss_mwoz")
    assert df["response"].tolist() == ["The Acorn is cheap. Shall I book it?", "The Alpha is in the north.",
                                       "Hello, how can I help?"]
    assert df["next_user"].tolist() == ["No, I said a hotel in the north. In the north please.", "thanks, bye",
                                        "my train?"]
    assert df["user_input"].tolist() == ["find me a cheap hotel",
                                         "No, I said a hotel in the north. In the north please.", ""]
    assert df["rating"].round(3).tolist() == [2.333, 3.667, 2.667]
    assert df["failure"].tolist() == [True, False, False]  # most frequent rating <= 2
    assert df["dialogue_id"].nunique() == 2


@pytest.mark.parametrize("follow", ["No, I meant the one in the north.", "no, the reservation should be on the 11th",
                                    "Can you try again?", "Actually I wanted it for 4 nights instead."])
def test_service_objections_corrections_and_retries_read_below_a_plain_follow_up(follow):
    plain = _r("book a hotel", "Booked the Acorn.", "what is the address?")
    assert _r("book a hotel", "Booked the Acorn.", follow) < min(0.45, plain - 0.2)


def test_shipped_weights_cover_every_cue_with_the_sign_of_its_meaning():
    from toolkit.quality.reaction import CUES, REACTION_PRIOR, REACTION_WEIGHTS

    assert set(REACTION_WEIGHTS) == set(REACTION_PRIOR) == {"intercept", *CUES}
    for k in CUES:
        assert np.sign(REACTION_WEIGHTS[k]) in (0, np.sign(REACTION_PRIOR[k])), k
