"""OpenTelemetry GenAI spans (OTLP/JSON lines) -> conversation log, both attribute generations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from toolkit.sources.otel import read_otlp, read_otlp_jsonl, spans_to_log

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "otlp_genai.jsonl"


def _attr(k, v):
    if isinstance(v, int):
        return {"key": k, "value": {"intValue": str(v)}}
    return {"key": k, "value": {"stringValue": v}}


def _request(spans, service="bot"):
    return {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", service)]}, "scopeSpans": [{"spans": spans}]}]}


def _span(span_id, attrs, *, trace="ab" * 16, parent="", start=1767610800.0, end=1767610801.0, events=(), status=None):
    return {"traceId": trace, "spanId": span_id, "parentSpanId": parent, "name": "chat", "kind": 3,
            "startTimeUnixNano": str(int(start * 1e9)), "endTimeUnixNano": str(int(end * 1e9)),
            "attributes": [_attr(k, v) for k, v in attrs.items()], "events": list(events), "status": status or {}}  # fmt: skip


def test_both_naming_generations_map_to_turns():
    mapped = spans_to_log(FIXTURE)
    rep, t = mapped.report, mapped.log.turns
    assert rep.n_records == 4 and rep.n_turns == 3
    assert rep.counts == {"not_genai": 1, "error": 1, "no_cost": 1}
    assert rep.shapes == {"old": 1, "new": 2}
    t = t.set_index("span_id")

    old = t.loc["051581bf3cb55c13"]  # gen_ai.prompt.N.* / gen_ai.usage.prompt_tokens
    assert (old.conversation_id, old.turn, old.user_id, old.variant, old.bot_id) == ("otel-conv-1", 0, "u-1", "A", "acme-support-bot")
    assert old.user_input == "How do I get a refund?" and old.bot_response == "Open your order and choose 'Request refund'."
    assert (old.prompt_tokens, old.completion_tokens, old.model, old.convention) == (22, 11, "gpt-4o-mini-2024-07-18", "old")
    assert old.response_time_s == pytest.approx(1.5)
    assert old.cost_usd == pytest.approx(22 * 0.15e-6 + 11 * 0.6e-6)
    assert old.trace_id == "5b8aa5a2d2c872e8321cf37308d69df2"

    new = t.loc["b7ad6b7169203331"]  # gen_ai.input/output.messages / gen_ai.usage.input_tokens
    assert (new.conversation_id, new.turn, new.convention) == ("otel-conv-1", 1, "new")
    assert new.user_input == "How long does the refund take?" and new.bot_response == "Refunds take 3-5 business days."
    assert (new.prompt_tokens, new.completion_tokens) == (48, 20)
    assert new.cost_usd == pytest.approx(48 * 2.5e-6 + 20 * 10e-6)
    assert new.response_time_s == pytest.approx(2.25)
    assert new.timestamp == pd.Timestamp("2026-01-05T11:01:02.25Z")

    err = t.loc["00f067aa0ba902b8"]  # event-based content with an error status
    assert err.user_input == "Is my card charged twice?" and pd.isna(err.bot_response)
    assert err.error == "Request timed out." and err.response_time_s == pytest.approx(30.0)
    assert math.isnan(err.cost_usd)


def test_older_content_events_and_nested_spans():
    prompt = json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Track order 77"}])
    completion = json.dumps([{"role": "assistant", "content": "Order 77 arrives Friday."}])
    agent = _span("a1", {"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "c9",
                         "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Track order 77"}]}]),
                         "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Order 77 arrives Friday."}]}])},
                  end=1767610803.0)  # fmt: skip
    llm = _span("b2", {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 9,
                       "gen_ai.usage.completion_tokens": 6},
                parent="a1", start=1767610800.5, end=1767610802.0,
                events=[{"name": "gen_ai.content.prompt", "attributes": [_attr("gen_ai.prompt", prompt)]},
                        {"name": "gen_ai.content.completion", "attributes": [_attr("gen_ai.completion", completion)]}])  # fmt: skip
    spans = read_otlp([_request([agent, llm])])
    nested = spans_to_log(spans)
    assert nested.report.counts == {"non_root_in_trace": 1, "no_cost": 1}
    assert len(nested.log.turns) == 1 and nested.log.turns.loc[0, "span_id"] == "a1"
    flat = spans_to_log(spans, one_per_trace=False).log.turns.set_index("span_id")
    b = flat.loc["b2"]
    assert (b.user_input, b.bot_response, b.convention) == ("Track order 77", "Order 77 arrives Friday.", "old")
    assert (b.prompt_tokens, b.completion_tokens) == (9, 6) and b.cost_usd == pytest.approx(9 * 2.5e-6 + 6 * 1e-5)
    assert b.conversation_id == "ab" * 16  # no conversation attribute: the trace id


def test_unmappable_spans_are_counted(tmp_path):
    good = _span("01", {"gen_ai.request.model": "gpt-4o", "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hi",
                        "gen_ai.completion.0.content": "hello", "session.id": "s1"})  # fmt: skip
    embed = _span("02", {"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small"}, trace="cd" * 16)
    unfinished = _span("03", {"gen_ai.request.model": "gpt-4o"}, trace="ef" * 16)
    unfinished["endTimeUnixNano"] = "0"
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(json.dumps(_request([s])) for s in (good, embed, unfinished)) + "\n")
    mapped = spans_to_log(path)
    assert mapped.report.counts == {"unknown_shape": 1, "missing_end_time": 1, "no_cost": 1}
    assert mapped.log.turns["user_input"].tolist() == ["hi"]
    # a pretty-printed single document reads the same; broken lines name the line
    (tmp_path / "one.json").write_text(json.dumps(_request([good]), indent=2))
    assert read_otlp_jsonl(tmp_path / "one.json")[0]["span_id"] == "01"
    (tmp_path / "bad.jsonl").write_text(json.dumps(_request([good])) + "\n{nope\n")
    with pytest.raises(ValueError, match="bad.jsonl: line 2 is not JSON"):
        read_otlp_jsonl(tmp_path / "bad.jsonl")
