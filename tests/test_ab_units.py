"""The per-unit table from a conversation log, and the analysis on the sample data's truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from toolkit.ab.analysis import ABInputError, analyze
from toolkit.ab.units import default_metrics, units_from_log


def test_one_row_per_conversation(sample_log):
    u = units_from_log(sample_log)
    conv = sample_log.conversations
    assert len(u) == len(conv) and u["conversation_id"].is_unique
    turns = sample_log.turns
    g = turns.groupby("conversation_id")
    merged = u.set_index("conversation_id")
    assert (merged["n_turns"] == g.size().reindex(merged.index)).all()
    assert np.allclose(merged["total_response_time_s"], g["response_time_s"].sum().reindex(merged.index))
    res = conv.set_index("conversation_id")["resolved"].reindex(merged.index)
    assert (merged["resolved"].isna() == res.isna()).all()
    assert (merged["resolved"].dropna() == res.dropna().astype(float)).all()
    assert "mean_quality" not in u.columns  # turns are not scored: handled, not an error
    names = [m.name for m in default_metrics(u)]
    assert names[:2] == ["resolved", "satisfaction"] and "response_time_s" in names
    assert "mean_quality" not in names


def test_quality_column_becomes_a_metric_when_present(sample_log):
    rng = np.random.default_rng(0)
    scored = sample_log.with_turns(sample_log.turns.assign(quality=rng.random(len(sample_log.turns))))
    u = units_from_log(scored)
    q = scored.turns.groupby("conversation_id")["quality"].mean()
    assert np.allclose(u.set_index("conversation_id")["mean_quality"], q.reindex(u["conversation_id"]))
    assert "mean_quality" in [m.name for m in default_metrics(u)]
    assert len(sample_log.turns.columns) == len(scored.turns.columns) - 1  # input untouched


def test_response_time_ratio_is_per_turn(sample_log):
    res = analyze(sample_log, sequential=False)
    row = res.table.set_index("metric").loc["response_time_s"]
    t = sample_log.turns
    ctl = t[t["variant"] == res.control]
    assert row["control_value"] == pytest.approx(ctl["response_time_s"].sum() / len(ctl), rel=1e-12)
    assert row["kind"] == "ratio" and row["test"] == "z-test (delta-method ratio)"


def test_user_unit_requires_one_variant_per_user(sample_log):
    t = sample_log.turns
    per_user = t.groupby("user_id")["variant"].nunique()
    assert (per_user > 1).any(), "the sample no longer has users who saw both variants"
    with pytest.raises(ABInputError, match="each user must see a single variant"):
        units_from_log(sample_log, unit="user")
    # make users consistent: the variant of a user's first conversation
    first = sample_log.conversations.sort_values("start_time").groupby("user_id")["variant"].first()
    conv = sample_log.conversations.assign(variant=lambda c: c["user_id"].map(first))
    turns = t.assign(variant=t["conversation_id"].map(conv.set_index("conversation_id")["variant"]))
    from toolkit.log import ConversationLog

    log = ConversationLog(turns=turns, conversations=conv)
    u = units_from_log(log, unit="user")
    assert u["user_id"].is_unique and u["n_conversations"].sum() == len(conv)
    assert [m.kind for m in default_metrics(u)][0] == "ratio"


def test_mixed_variants_within_a_conversation_are_rejected(sample_log):
    t = sample_log.turns.copy()
    cid = t["conversation_id"].iloc[0]
    rows = t.index[t["conversation_id"] == cid]
    if len(rows) < 2:
        pytest.skip("first conversation has one turn")
    t.loc[rows[1], "variant"] = "B" if t.loc[rows[0], "variant"] == "A" else "A"
    with pytest.raises(ABInputError, match="turns.variant must be constant within each conversation"):
        units_from_log(sample_log.with_turns(t))


def test_analysis_of_small_sample_log(sample, sample_log):
    truth = sample.truth["variants"]
    res = analyze(sample_log, planned_allocation=truth["allocation"])
    assert res.control == truth["control"] and res.treatments == truth["treatment"]
    assert not res.srm.flagged
    assert set(res.table["metric"]) >= {"resolved", "satisfaction", "response_time_s", "cost_usd"}
    assert res.table["seq_p"].notna().all()


def test_planted_resolution_effect_on_bundled_sample():
    """On the bundled sample the CI for the resolution lift covers the planted value."""
    from toolkit.sample import default_sample_path, load_sample

    path = default_sample_path()
    truth_file = path / "truth.json"
    assert truth_file.exists(), "the bundled sample's truth.json is part of the repository"
    truth = json.loads(truth_file.read_text())["variants"]
    res = analyze(load_sample(), planned_allocation=truth["allocation"], control=truth["control"])
    row = res.table.set_index("metric").loc["resolved"]
    planted = truth["effects"]["resolved"]["abs_lift"]
    assert row["arm"] == truth["treatment"][0]
    assert row["abs_ci_low"] <= planted <= row["abs_ci_high"], (row["abs_ci_low"], planted, row["abs_ci_high"])
    assert row["abs_lift"] > 0 and row["p_value"] < 0.05
