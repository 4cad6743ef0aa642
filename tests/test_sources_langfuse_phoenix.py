"""Langfuse and Arize Phoenix exports -> conversation log: mapping, skipped report, io.load, bad exports."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from toolkit import io as tio
from toolkit.errors import ToolkitError
from toolkit.sources import langfuse, phoenix

FIX = Path(__file__).resolve().parent / "fixtures"
LF_JSONL, LF_CSV, LF_TRACES = FIX / "langfuse_export.jsonl", FIX / "langfuse_observations.csv", FIX / "langfuse_traces.csv"
PH_JSONL = FIX / "phoenix_spans.jsonl"


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- Langfuse ---------------------------------------------------------------------------------


def test_langfuse_maps_sessions_turns_usage_cost_and_errors():
    mapped = langfuse.to_log(LF_JSONL)
    rep, t = mapped.report, mapped.log.turns
    assert rep.n_records == 7 and rep.n_turns == 5 and rep.n_skipped == 2
    assert rep.counts == {"not_genai": 1, "missing_end_time": 1, "error": 1, "no_conversation_id": 1, "no_cost": 2}
    skipped = rep.issues_frame().query("skipped").set_index("record_id")["reason"].to_dict()
    assert skipped == {"lf-o0": "not_genai", "lf-o5": "missing_end_time"}
    by = t.set_index("observation_id")
    # session 100: two turns in order, variant from trace metadata, usageDetails then usage shape
    s100 = t[t.conversation_id == "sess-100"].sort_values("turn")
    assert s100["user_input"].tolist() == ["Where is my order #123?", "When will it arrive?"]
    assert s100["bot_response"].tolist() == ["It left the warehouse this morning.", "Thursday, before noon."]
    assert set(s100["variant"]) == {"A"} and set(s100["user_id"]) == {"user-1"}
    assert by.loc["lf-o1", "prompt_tokens"] == 42 and by.loc["lf-o2", "completion_tokens"] == 6
    assert by.loc["lf-o1", "cost_usd"] == pytest.approx(1.17e-05) and by.loc["lf-o1", "cost_source"] == "langfuse"
    assert by.loc["lf-o2", "cost_usd"] == pytest.approx(1.26e-05)  # calculatedTotalCost
    assert by.loc["lf-o1", "response_time_s"] == pytest.approx(1.2)
    # legacy promptTokens usage, priced from the local table; variant from a "variant:" tag
    assert by.loc["lf-o3", "prompt_tokens"] == 20 and by.loc["lf-o3", "cost_source"] == "price_table"
    assert by.loc["lf-o3", "cost_usd"] == pytest.approx((20 * 0.15 + 8 * 0.60) / 1e6)
    assert by.loc["lf-o3", "variant"] == "B"
    # the ERROR observation is kept as a turn with its status message
    assert by.loc["lf-o4", "error"] == "RateLimitError: 429 Too Many Requests" and pd.isna(by.loc["lf-o4", "bot_response"])
    assert by.loc["lf-o4", "response_time_s"] == pytest.approx(30.0)
    # no sessionId: the trace id is the conversation
    assert by.loc["lf-o6", "conversation_id"] == "lf-t5" and by.loc["lf-o6", "trace_id"] == "lf-t5"


def test_langfuse_api_page_list_and_embedded_observations_agree():
    recs = _records(LF_JSONL)
    base = langfuse.to_log(LF_JSONL).log.turns
    for source in ({"data": recs, "meta": {"page": 1, "totalItems": len(recs)}}, recs):
        assert langfuse.to_log(source).log.turns["observation_id"].tolist() == base["observation_id"].tolist()
    # GET /api/public/traces/{id} embeds the observations in the trace
    traces = {r["id"]: {**r, "observations": []} for r in recs if "traceId" not in r}
    for r in recs:
        if "traceId" in r:
            traces[r["traceId"]]["observations"].append({k: v for k, v in r.items() if k != "traceId"})
    nested = langfuse.to_log(list(traces.values())).log.turns
    pd.testing.assert_frame_equal(nested.reset_index(drop=True), base.reset_index(drop=True))


def test_langfuse_ui_csv_with_traces_table_matches_json():
    cols = ["conversation_id", "turn", "user_id", "variant", "user_input", "bot_response", "prompt_tokens", "error"]
    from_json = langfuse.to_log(LF_JSONL).log.turns[cols].reset_index(drop=True)
    from_csv = langfuse.to_log(LF_CSV, traces=LF_TRACES)
    pd.testing.assert_frame_equal(from_csv.log.turns[cols].reset_index(drop=True), from_json)
    # without the traces table the session is unknown: every turn is noted, none is lost
    alone = langfuse.to_log(LF_CSV).report
    assert alone.n_turns == 5 and alone.counts["no_conversation_id"] == 5


def test_langfuse_nested_generation_is_one_turn():
    recs = [
        {"id": "g1", "traceId": "t", "type": "GENERATION", "startTime": "2026-01-05T10:00:00Z", "endTime": "2026-01-05T10:00:03Z",
         "input": "plan", "output": "done"},
        {"id": "g2", "traceId": "t", "type": "GENERATION", "parentObservationId": "g1", "startTime": "2026-01-05T10:00:01Z",
         "endTime": "2026-01-05T10:00:02Z", "input": "inner", "output": "inner out"},
    ]  # fmt: skip
    mapped = langfuse.to_log(recs)
    assert mapped.log.turns["observation_id"].tolist() == ["g1"]
    assert mapped.report.counts["non_root_in_trace"] == 1


@pytest.mark.parametrize(
    "records, needle",
    [
        ([["not", "an", "object"]], "record 0, field '(record)'"),
        ([{"traceId": "t", "type": "GENERATION"}], "record 0, field 'id' is missing"),
        ([{"id": "t1"}, {"id": "o9", "type": "GENERATION"}], "record 1 (id 'o9'), field 'traceId'"),
        ([{"id": "o1", "traceId": "t", "type": "GENERATION", "startTime": "yesterday", "input": "a", "output": "b"}],
         "record 0 (id 'o1'), field 'startTime' is not a timestamp"),
        ([{"id": "o1", "traceId": "t", "type": "GENERATION", "startTime": "2026-01-05T10:00:00Z", "endTime": "2026-01-05T10:00:01Z",
          "input": "a", "output": "b", "usage": 12}], "record 0 (id 'o1'), field 'usage' must be an object"),
        ([{"id": "t1", "observations": "o1,o2"}], "record 0 (id 't1'), field 'observations'"),
        ({"data": {"id": "x"}}, "field 'data' must be a list"),
    ],
)  # fmt: skip
def test_langfuse_bad_exports_name_record_and_field(records, needle):
    with pytest.raises(ToolkitError) as exc:
        langfuse.to_log(records)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_langfuse_bad_files(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"id": "o", "traceId": "t", "type": "GENERATION"}\n{not json\n')
    with pytest.raises(ToolkitError, match="line 2 is not JSON"):
        langfuse.to_log(p)
    c = tmp_path / "bad.csv"
    c.write_text('id,traceId,type,startTime,usage\no1,t,GENERATION,2026-01-05T10:00:00Z,"{broken"\n')
    with pytest.raises(ToolkitError, match=r"record 0 \(id 'o1'\), field 'usage' is not valid JSON"):
        langfuse.to_log(c)
    huge = tmp_path / "huge.csv"
    huge.write_text("id,traceId,type,input\no1,t,GENERATION," + "x" * 200_000 + "\n")
    with pytest.raises(ToolkitError, match="record 0 is not valid CSV"):
        langfuse.to_log(huge)
    empty = tmp_path / "spans_only.jsonl"
    empty.write_text('{"id": "o", "traceId": "t", "type": "SPAN", "startTime": "2026-01-05T10:00:00Z"}\n')
    with pytest.raises(ToolkitError, match="none of the 1 Langfuse export records could be mapped"):
        langfuse.to_log(empty)


# --- Phoenix ----------------------------------------------------------------------------------


def test_phoenix_maps_llm_spans_with_inherited_session():
    mapped = phoenix.to_log(PH_JSONL)
    rep, t = mapped.report, mapped.log.turns
    assert rep.n_records == 7 and rep.n_turns == 4
    assert rep.counts == {"not_genai": 2, "missing_end_time": 1, "error": 1, "no_cost": 1}
    assert rep.shapes == {"llm_messages": 3, "input_value": 1}
    by = t.set_index("span_id")
    # the LLM span under a CHAIN root takes session, user and variant from the root
    assert by.loc["ph-s2", ["conversation_id", "user_id", "variant"]].tolist() == ["conv-A", "cust-7", "control"]
    assert by.loc["ph-s2", "user_input"] == "Do you ship to Canada?"  # last user message, not the system prompt
    assert by.loc["ph-s2", "response_time_s"] == pytest.approx(1.6)
    assert by.loc["ph-s2", "cost_usd"] == pytest.approx((35 * 0.15 + 9 * 0.60) / 1e6) and by.loc["ph-s2", "cost_source"] == "price_table"
    assert by.loc["ph-s3", "cost_usd"] == pytest.approx(1.17e-05) and by.loc["ph-s3", "cost_source"] == "phoenix"
    assert by.loc["ph-s4", "variant"] == "treatment"
    assert by.loc["ph-s5", "error"] == "openai.APITimeoutError: Request timed out." and pd.isna(by.loc["ph-s5", "bot_response"])
    conv_a = t[t.conversation_id == "conv-A"].sort_values("turn")
    assert conv_a["user_input"].tolist() == ["Do you ship to Canada?", "And to Mexico?"]


def test_phoenix_parquet_with_index_matches_jsonl(tmp_path):
    df = pd.DataFrame(_records(PH_JSONL))
    df["start_time"] = pd.to_datetime(df["start_time"], utc=True)
    df["end_time"] = pd.to_datetime(df["end_time"], utc=True)
    df = df.set_index("context.span_id")  # as get_spans_dataframe() returns it
    pq = tmp_path / "spans.parquet"
    df.to_parquet(pq)
    cols = ["conversation_id", "turn", "user_input", "bot_response", "response_time_s", "prompt_tokens", "variant", "error"]
    a = phoenix.to_log(pq).log.turns[cols].reset_index(drop=True)
    b = phoenix.to_log(PH_JSONL).log.turns[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    # pandas' JSON writer (pandas < 4 default) stores times as epoch milliseconds
    ms = tmp_path / "spans_ms.jsonl"
    rows = _records(PH_JSONL)
    for r in rows:
        for k in ("start_time", "end_time"):
            r[k] = None if r[k] is None else int(pd.Timestamp(r[k]).value // 10**6)
    ms.write_text("\n".join(json.dumps(r) for r in rows))
    c = phoenix.to_log(ms).log.turns[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(c, b)
    assert tio.load(pq).summary()["turns"] == 4


def test_phoenix_bad_exports_name_row_and_field(tmp_path):
    df = pd.DataFrame(_records(PH_JSONL))
    with pytest.raises(ToolkitError, match=r"field 'context.span_id' is missing \(save the frame with df.reset_index\(\)"):
        phoenix.to_log(df.drop(columns=["context.span_id"]))
    bad = df.copy()
    bad.loc[3, "start_time"] = "not a time"
    with pytest.raises(ToolkitError, match=r"row 3 \(span 'ph-s4'\), field 'start_time' is not a timestamp"):
        phoenix.to_log(bad)
    bad = df.copy()
    bad.loc[2, "context.trace_id"] = None
    with pytest.raises(ToolkitError, match=r"row 2 \(span 'ph-s3'\), field 'context.trace_id' is empty"):
        phoenix.to_log(bad)
    with pytest.raises(ToolkitError, match=r"row 1, field '\(row\)'"):
        phoenix.to_log([{"context.span_id": "s"}, "oops"])
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(ToolkitError, match="not a readable Phoenix spans export"):
        phoenix.to_log(broken)


# --- io.load recognition ------------------------------------------------------------------------


@pytest.mark.parametrize("name, turns", [("langfuse_export.jsonl", 5), ("langfuse_observations.csv", 5), ("phoenix_spans.jsonl", 4)])
def test_io_load_recognises_exports(name, turns):
    log = tio.load(FIX / name)
    assert log.summary()["turns"] == turns
    assert not math.isnan(float(log.turns["response_time_s"].sum()))


def test_io_load_recognises_langfuse_api_page_json(tmp_path):
    p = tmp_path / "observations.json"
    p.write_text(json.dumps({"data": _records(LF_JSONL), "meta": {"page": 1}}, indent=2))
    assert tio.load(p).summary()["turns"] == 5


def test_io_load_leaves_plain_tables_alone(tmp_path):
    t = pd.DataFrame({"conversation_id": ["a"], "turn": [0], "timestamp": ["2026-03-01T09:00:00Z"], "user_input": ["hi"],
                      "bot_response": ["hello"], "response_time_s": [1.0]})  # fmt: skip
    for suffix, write in ((".csv", lambda p: t.to_csv(p, index=False)), (".parquet", t.to_parquet),
                          (".jsonl", lambda p: t.to_json(p, orient="records", lines=True))):  # fmt: skip
        p = tmp_path / f"turns{suffix}"
        write(p)
        assert tio.load(p).turns["bot_response"].tolist() == ["hello"]
