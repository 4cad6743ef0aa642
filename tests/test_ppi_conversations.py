"""toolkit.ppi with conversation-level labels: units are conversations (mean score of their turns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ToolkitError
from toolkit.ppi import ppi_lift, ppi_over_time


def _turns_and_labels(seed=0, n_conv=3000, n_lab=400):
    rng = np.random.default_rng(seed)
    conv = pd.DataFrame({"conversation_id": [f"c{i:05d}" for i in range(n_conv)],
                         "variant": rng.choice(["A", "B"], n_conv)})
    conv["true"] = rng.normal(3.5, 0.8, n_conv) + np.where(conv["variant"] == "B", 0.2, 0.0)
    turns = conv.loc[conv.index.repeat(3)].reset_index(drop=True)
    turns["turn"] = turns.groupby("conversation_id").cumcount()
    turns["timestamp"] = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        turns.index.to_numpy() // 3 * 600, unit="s")
    # a per-turn score: biased up by 0.5, favouring B by another 0.3
    turns["score"] = turns["true"] + 0.5 + np.where(turns["variant"] == "B", 0.3, 0) + rng.normal(0, 0.6, len(turns))
    pick = rng.choice(n_conv, n_lab, replace=False)
    labels = pd.DataFrame({"conversation_id": conv["conversation_id"].to_numpy()[pick],
                           "turn": pd.array([pd.NA] * n_lab, dtype="Int64"),
                           "rating": conv["true"].to_numpy()[pick] + rng.normal(0, 0.3, n_lab)})
    return turns.drop(columns="true"), labels, conv


def test_conversation_labels():
    turns, labels, conv = _turns_and_labels()
    res = ppi_lift(turns, labels, score="score")
    assert res.level == "conversation"
    assert res.arms["n_labels"].sum() == 400 and (res.arms["n_labels"] + res.arms["N_unlabelled"]).sum() == 3000
    lifts = res.lifts.set_index("estimator")
    true_lift = conv.groupby("variant")["true"].mean().diff().iloc[1]
    se = (lifts.loc["ppi", "ci_high"] - lifts.loc["ppi", "ci_low"]) / (2 * 1.96)
    assert abs(lifts.loc["ppi", "lift"] - true_lift) < 3 * se
    assert lifts.loc["naive", "ci_low"] > true_lift + 0.15  # the score favours B
    per, trend = ppi_over_time(turns, labels, score="score", freq="D")
    assert per["n"].sum() == 400 and trend.n == 400 and trend.N == 2600


def test_mixed_label_levels_are_refused():
    turns, labels, _ = _turns_and_labels(n_lab=50)
    mixed = labels.copy()
    mixed.loc[0, "turn"] = 0
    with pytest.raises(ToolkitError, match="mix turn labels and conversation labels"):
        ppi_lift(turns, mixed, score="score")


def test_a_non_random_label_sample_is_flagged():
    turns, labels, conv = _turns_and_labels(n_lab=400)
    assert not any("non-random" in n for n in ppi_lift(turns, labels, score="score").notes)
    # label the conversations the score likes best
    best = (turns.groupby("conversation_id")["score"].mean().sort_values().index[-400:])
    biased = pd.DataFrame({"conversation_id": best, "turn": pd.array([pd.NA] * 400, dtype="Int64"),
                           "rating": conv.set_index("conversation_id").loc[best, "true"].to_numpy()})
    notes = ppi_lift(turns, biased, score="score").notes
    assert any("arm A: the labelled conversations score" in n and "non-random" in n for n in notes)
