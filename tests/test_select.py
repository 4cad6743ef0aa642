"""Selecting whole conversations by start time and variant, in the API and in the notebooks."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.log import validate
from toolkit.notebook import load_log

from .test_log import make_convs, make_turns


def small_log():
    # c1 starts 10:00 and runs past 10:00:30; c2 starts 10:00 UTC (11:00+01:00); c3 next day
    return validate(make_turns(variant=["A", "A", "B", "B"]), make_convs())


def test_window_keeps_whole_conversations_by_their_first_turn():
    log = small_log()
    # end is exclusive and applies to the first turn: c1's second turn (10:00:30) stays with it
    sel = log.select(start="2026-01-01T10:00:00Z", end="2026-01-01T10:00:01Z")
    assert sorted(sel.turns["conversation_id"].unique()) == ["c1", "c2"]
    assert len(sel.turns) == 3 and list(sel.turns.index) == [0, 1, 2]
    assert sorted(sel.conversations["conversation_id"]) == ["c1", "c2"]
    # start is inclusive; a date without offset is UTC midnight
    assert sel.turns["conversation_id"].tolist() == log.select(end="2026-01-02").turns["conversation_id"].tolist()
    assert log.select(start="2026-01-02").turns["conversation_id"].tolist() == ["c3"]
    # offsets are honoured: 11:00+01:00 is 10:00 UTC
    assert log.select(start="2026-01-01T11:00:00+01:00", end="2026-01-01T11:00:01+01:00") \
        .turns["conversation_id"].unique().tolist() == ["c1", "c2"]
    # naive bounds can be read in another zone: 11:00 in Paris (winter) is 10:00 UTC
    assert log.select(start="2026-01-01 11:00", end="2026-01-01 11:00:01", tz="Europe/Paris") \
        .turns["conversation_id"].unique().tolist() == ["c1", "c2"]
    with pytest.raises(ValueError, match="tz='Mars/Olympus' is not a time zone"):
        log.select(start="2026-01-01", tz="Mars/Olympus")
    # a selection is itself a valid log
    again = validate(sel.turns, sel.conversations)
    pd.testing.assert_frame_equal(again.turns, sel.turns)


def test_variants_one_several_or_comma_separated():
    log = small_log()
    assert log.select(variant="A").turns["conversation_id"].unique().tolist() == ["c1"]
    assert log.select(variant="B").turns["conversation_id"].unique().tolist() == ["c2", "c3"]
    assert len(log.select(variant="A, B").turns) == 4
    assert log.select(variant=["B"], start="2026-01-02").turns["conversation_id"].tolist() == ["c3"]
    # nothing to select: the same object back
    assert log.select() is log and log.select(start="", end="", variant="") is log


@pytest.mark.parametrize("kw, fragments", [
    ({"start": "soon"}, ["start='soon' is not a date or time"]),
    ({"end": "2026-13-45"}, ["end='2026-13-45' is not a date or time"]),
    ({"start": "2026-01-02", "end": "2026-01-01"}, ["end 2026-01-01 00:00:00+00:00 is not after start"]),
    ({"variant": "C,A"}, ["turns.variant has no ['C']", "variants are ['A', 'B']"]),
    ({"start": "2027-01-01"}, ["no conversation starts in [2027-01-01 00:00:00+00:00, +inf)",
                               "the log runs from 2026-01-01T10:00:00+00:00 to 2026-01-02T08:00:00+00:00"]),
    ({"variant": "A", "start": "2026-01-02"}, ["on variant(s) ['A']"]),
])
def test_bad_selections_say_what_and_why(kw, fragments):
    with pytest.raises(ValueError) as info:
        small_log().select(**kw)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_week_of_one_variant_of_the_bundled_sample(bundled):
    week = bundled.select(start="2026-09-07", end="2026-09-14", variant="B")
    first = week.turns.groupby("conversation_id")["timestamp"].min()
    assert first.min() >= pd.Timestamp("2026-09-07", tz="UTC") and first.max() < pd.Timestamp("2026-09-14", tz="UTC")
    assert set(week.turns["variant"]) == {"B"}
    # every turn of every selected conversation is there
    full = bundled.turns[bundled.turns["conversation_id"].isin(first.index)]
    assert len(week.turns) == len(full) and len(week.conversations) == len(first)
    assert 500 < len(first) < 1000  # about 7 days x 206 conversations x one half


def test_notebook_parameters_select_the_same_conversations(run_notebook):
    side = run_notebook("00_overview", start="2026-09-07", end="2026-09-14", variant="B")
    week = load_log("", start="2026-09-07", end="2026-09-14", variant="B")
    res = side["results"]
    assert res["turns"] == len(week.turns) and res["conversations"] == len(week.conversations)
    assert res["variants"] == ["B"]
    assert side["parameters"]["variant"] == "B" and side["parameters"]["start"] == "2026-09-07"
