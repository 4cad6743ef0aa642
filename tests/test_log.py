"""The conversation log's rules: every bad input gets one clear message naming column and rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.log import ConversationLog, conversation_metrics, validate
from toolkit.validation import LogValidationError


def make_turns(**overrides) -> pd.DataFrame:
    base = {
        "conversation_id": ["c1", "c1", "c2", "c3"],
        "turn": [0, 1, 0, 0],
        "timestamp": [
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:00:30Z",
            "2026-01-01T11:00:00+01:00",
            "2026-01-02T08:00:00Z",
        ],
        "user_id": ["u1", "u1", "u2", "u3"],
        "bot_id": ["b", "b", "b", "b"],
        "variant": ["A", "A", "B", None],
        "model": ["m1", "m1", "m2", "m1"],
        "user_input": ["hi", "where is my order?", "refund please", "hours?"],
        "bot_response": ["Hello!", "Let me check.", "Sure.", "9 to 5."],
        "response_time_s": [0.8, 1.2, 2.0, 0.5],
        "prompt_tokens": [10, 20, 15, None],
        "completion_tokens": [5, 7, 3, 2],
        "cost_usd": [0.001, 0.002, None, 0.0005],
        "error": [None, None, "timeout", None],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def make_convs(**overrides) -> pd.DataFrame:
    base = {
        "conversation_id": ["c1", "c2", "c3"],
        "satisfaction": [0.9, None, 0.2],
        "resolved": [True, False, None],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def error_of(turns, conversations=None, **kw) -> str:
    with pytest.raises(LogValidationError) as info:
        validate(turns, conversations, **kw)
    return str(info.value)


# ---- a valid log ----------------------------------------------------------------------------


def test_valid_log_has_canonical_dtypes_and_derived_conversations():
    log = validate(make_turns(), make_convs())
    t, c = log.turns, log.conversations
    assert str(t["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert t["turn"].dtype == np.int64
    assert str(t["prompt_tokens"].dtype) == "Int64"
    assert t.loc[t["conversation_id"] == "c2", "timestamp"].iloc[0] == pd.Timestamp("2026-01-01T10:00:00Z")
    assert str(c["resolved"].dtype) == "boolean"
    assert c.set_index("conversation_id").loc["c1", "start_time"] == pd.Timestamp("2026-01-01T10:00:00Z")
    assert c.set_index("conversation_id").loc["c1", "end_time"] == pd.Timestamp("2026-01-01T10:00:30Z")
    assert c.set_index("conversation_id").loc["c2", "variant"] == "B"


def test_input_is_not_mutated():
    turns, convs = make_turns(), make_convs()
    before_t, before_c = turns.copy(), convs.copy()
    validate(turns, convs)
    pd.testing.assert_frame_equal(turns, before_t)
    pd.testing.assert_frame_equal(convs, before_c)


def test_extra_columns_are_kept():
    log = validate(make_turns(intent_hint=["a", "b", "c", "d"]))
    assert "intent_hint" in log.turns.columns


def test_conversations_derived_when_absent():
    log = validate(make_turns())
    assert list(log.conversations["conversation_id"]) == ["c1", "c2", "c3"]
    assert log.conversations["satisfaction"].isna().all()


def test_naive_timestamps_localised_only_when_asked():
    turns = make_turns(timestamp=["2026-03-01 09:00"] * 4)
    log = validate(turns, tz="Europe/Berlin")
    assert log.turns["timestamp"].iloc[0] == pd.Timestamp("2026-03-01T08:00:00Z")
    with pytest.raises(ValueError, match="validate: tz='Mars/Base' is not a time zone"):
        validate(turns, tz="Mars/Base")  # named, not pytz's UnknownTimeZoneError from deep inside


def test_conversation_metrics():
    m = conversation_metrics(validate(make_turns(), make_convs())).set_index("conversation_id")
    assert m.loc["c1", "n_turns"] == 2
    assert m.loc["c1", "first_user_input"] == "hi"
    assert m.loc["c1", "mean_response_time_s"] == pytest.approx(1.0)
    assert m.loc["c1", "total_cost_usd"] == pytest.approx(0.003)
    assert m.loc["c1", "total_tokens"] == 42
    assert m.loc["c2", "n_errors"] == 1
    assert m.loc["c1", "duration_s"] == 30


# ---- bad inputs: each asserts the message ------------------------------------------------------

CASES = [
    # (id, turns overrides / callable, conversations, expected fragments)
    ("missing column", lambda: make_turns().drop(columns="response_time_s"), None,
     ["turns.response_time_s is a required column and is missing"]),
    ("two missing columns", lambda: make_turns().drop(columns=["turn", "timestamp"]), None,
     ["turns.turn is a required column", "turns.timestamp is a required column", "2 problems"]),
    ("NaN conversation id", lambda: make_turns(conversation_id=["c1", None, "c2", "c3"]), None,
     ["turns.conversation_id must not be missing (1 row)", "row 1"]),
    ("empty conversation id", lambda: make_turns(conversation_id=["c1", "  ", "c2", "c3"]), None,
     ["turns.conversation_id must not be empty", "row 1"]),
    ("duplicate key", lambda: make_turns(turn=[0, 0, 0, 0]), None,
     ["turns.turn must be unique within a conversation", "(2 rows)", "row 0", "row 1"]),
    ("naive timestamps", lambda: make_turns(timestamp=["2026-01-01 10:00"] * 4), None,
     ["turns.timestamp has naive timestamps", "tz='UTC'", "(4 rows)"]),
    ("unparsable timestamp", lambda: make_turns(timestamp=["2026-01-01T10:00:00Z", "yesterday", "2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"]), None,
     ["turns.timestamp has text that is not an ISO 8601 timestamp (1 row)", "'yesterday'"]),
    ("non-ISO date", lambda: make_turns(timestamp=["01/02/2026 10:00+00:00"] * 4), None,
     ["turns.timestamp has text that is not an ISO 8601 timestamp"]),
    ("epoch numbers", lambda: make_turns(timestamp=[1.7e9, 1.7e9 + 1, 1.7e9 + 2, 1.7e9 + 3]), None,
     ["turns.timestamp must be timestamps, not numbers", "unit='s'"]),
    ("naive datetime64", lambda: make_turns(timestamp=pd.to_datetime(["2026-01-01"] * 4)), None,
     ["turns.timestamp has naive timestamps"]),
    ("negative response time", lambda: make_turns(response_time_s=[0.8, -1.0, 2.0, 0.5]), None,
     ["turns.response_time_s must be >= 0 (1 row)", "response_time_s=-1.0"]),
    ("non-numeric response time", lambda: make_turns(response_time_s=["0.8", "fast", 2.0, 0.5]), None,
     ["turns.response_time_s must be numeric (1 row)", "'fast'"]),
    ("missing response time", lambda: make_turns(response_time_s=[0.8, None, 2.0, 0.5]), None,
     ["turns.response_time_s must not be missing (1 row)"]),
    ("infinite response time", lambda: make_turns(response_time_s=[0.8, np.inf, 2.0, 0.5]), None,
     ["turns.response_time_s must be finite"]),
    ("fractional turn", lambda: make_turns(turn=[0, 1.5, 0, 0]), None,
     ["turns.turn must be whole numbers (1 row)", "turn=1.5"]),
    ("negative turn", lambda: make_turns(turn=[0, -1, 0, 0]), None,
     ["turns.turn must be >= 0"]),
    ("negative tokens", lambda: make_turns(prompt_tokens=[10, -5, 1, 1]), None,
     ["turns.prompt_tokens must be >= 0"]),
    ("negative cost", lambda: make_turns(cost_usd=[0.1, -0.2, 0.0, 0.0]), None,
     ["turns.cost_usd must be >= 0"]),
    ("text column holding lists", lambda: make_turns(user_input=["hi", ["a", "b"], "x", "y"]), None,
     ["turns.user_input must hold text, not lists"]),
    ("satisfaction out of range", make_turns, lambda: make_convs(satisfaction=[1.5, 0.2, -0.1]),
     ["conversations.satisfaction must be in [0, 1] (2 rows)", "satisfaction=1.5", "satisfaction=-0.1"]),
    ("resolved not boolean", make_turns, lambda: make_convs(resolved=["yes", "maybe", None]),
     ["conversations.resolved must be boolean", "'maybe'"]),
    ("turns without conversation", make_turns, lambda: make_convs().iloc[:2],
     ["turns.conversation_id refers to a conversation that is not in the conversations table", "'c3'"]),
    ("conversation without turns", make_turns,
     lambda: pd.concat([make_convs(), pd.DataFrame({"conversation_id": ["c9"], "satisfaction": [0.5], "resolved": [True]})], ignore_index=True),
     ["conversations.conversation_id has no turns", "'c9'"]),
    ("duplicate conversation", make_turns,
     lambda: pd.concat([make_convs(), make_convs().iloc[:1]], ignore_index=True),
     ["conversations.conversation_id must be unique (2 rows)"]),
    ("variant disagrees", make_turns, lambda: make_convs(variant=["B", "B", None]),
     ["conversations.variant disagrees with the variant of the conversation's turns", "'c1'"]),
    ("end before start", make_turns,
     lambda: make_convs(start_time=["2026-01-02T00:00:00Z"] * 3, end_time=["2026-01-01T00:00:00Z"] * 3),
     ["conversations.end_time must not be before start_time (3 rows)"]),
    ("conversations without id", make_turns, lambda: make_convs().drop(columns="conversation_id"),
     ["conversations.conversation_id is a required column and is missing"]),
    ("empty log", lambda: make_turns().iloc[:0], None,
     ["turns is empty: the log has no turns"]),
    ("not a frame", lambda: [{"a": 1}], None,
     ["turns must be a pandas DataFrame, got list"]),
    ("duplicate column names", lambda: pd.concat([make_turns(), make_turns()[["turn"]]], axis=1), None,
     ["turns has duplicate column names: ['turn']"]),
]


@pytest.mark.parametrize("turns, conversations, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_message(turns, conversations, fragments):
    message = error_of(turns(), conversations() if conversations else None)
    assert message.startswith("invalid conversation log")
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_many_offending_rows_are_summarised():
    n = 50
    turns = pd.DataFrame(
        {
            "conversation_id": [f"c{i}" for i in range(n)],
            "turn": 0,
            "timestamp": "2026-01-01T00:00:00Z",
            "user_input": "x",
            "bot_response": "y",
            "response_time_s": -1.0,
        }
    )
    message = error_of(turns)
    assert "(50 rows)" in message
    assert "... and 45 more" in message
    assert message.count("row ") == 5 + 0  # five examples shown, then a count


def test_error_lists_problems_and_columns():
    with pytest.raises(LogValidationError) as info:
        validate(make_turns(response_time_s=[-1, 0, 0, 0], turn=[0, 0.5, 0, 0]))
    err = info.value
    assert sorted(err.columns) == ["response_time_s", "turn"]
    assert all(p.n_rows == 1 for p in err.problems)


def test_log_repr_and_summary():
    log = validate(make_turns(), make_convs())
    s = log.summary()
    assert s["turns"] == 4 and s["conversations"] == 3 and s["variants"] == ["A", "B"]
    assert s["error_rate"] == pytest.approx(0.25)
    assert "4 turns" in repr(log)
    assert isinstance(log.with_turns(log.turns.assign(quality=0.5)), ConversationLog)


def test_date_only_timestamps_are_naive_not_utc():
    message = error_of(make_turns(timestamp=["2026-01-01"] * 4))
    assert "turns.timestamp has naive timestamps" in message
    log = validate(make_turns(timestamp=["2026-01-01"] * 4, conversation_id=["a", "b", "c", "d"]), tz="Europe/Berlin")
    assert log.turns["timestamp"].iloc[0] == pd.Timestamp("2025-12-31T23:00:00Z")


def test_naive_text_times_in_a_daylight_saving_change_are_named_as_such():
    """'2026-10-25 02:30' with tz='Europe/Berlin' (the hour that happens twice) was reported as
    'text that is not an ISO 8601 timestamp', which it is."""
    ts = ["2026-10-25 02:30:00", "2026-10-25 03:30:00", "2026-03-29 02:30:00", "garbage"]
    with pytest.raises(LogValidationError) as exc:
        validate(make_turns(timestamp=ts), tz="Europe/Berlin")
    msg = str(exc.value)
    assert "do not exist or are ambiguous in time zone 'Europe/Berlin'" in msg
    ambiguous_rule = msg.split("ambiguous in time zone")[1]
    assert "02:30:00" in ambiguous_rule.split("\n")[0] and "03:30" not in ambiguous_rule.split("\n")[0]
    assert "not an ISO 8601 timestamp (1 row): row 3" in msg
