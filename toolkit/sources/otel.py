"""OpenTelemetry GenAI spans (OTLP/JSON lines) to the conversation log.

Reads the JSON encoding of OTLP trace exports, one ``ExportTraceServiceRequest`` per line (what
the OpenTelemetry Collector's file exporter writes; a single JSON document also works), and maps
each GenAI span (a span with ``gen_ai.*`` attributes) to a turn. Both generations of the GenAI
semantic conventions are understood:

- older: ``gen_ai.system``, ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``, content in
  indexed attributes ``gen_ai.prompt.N.role/content`` and ``gen_ai.completion.N.*`` or in span
  events ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` (attributes
  ``gen_ai.prompt`` / ``gen_ai.completion`` holding JSON);
- newer: ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.usage.input_tokens`` /
  ``output_tokens``, ``gen_ai.conversation.id``, content in ``gen_ai.input.messages`` /
  ``gen_ai.output.messages`` (JSON messages with ``parts``) or in per-message events
  (``gen_ai.user.message``, ``gen_ai.choice``, ...).

Conversation id from ``gen_ai.conversation.id``, ``session.id``, ``conversation.id`` or
``thread.id`` (span, then resource attributes), else the trace id (noted in the report); user
from ``user.id`` / ``enduser.id``; variant from ``variant`` / ``app.variant``; bot from the
resource's ``service.name``; latency from the span's start and end; error from an error status
or ``error.type``; cost from ``gen_ai.usage.cost`` or the local price table.

Examples
--------
>>> line = {"resourceSpans": [{"resource": {"attributes": [
...     {"key": "service.name", "value": {"stringValue": "bot"}}]}, "scopeSpans": [{"spans": [{
...     "traceId": "5b8aa5a2d2c872e8321cf37308d69df2", "spanId": "051581bf3cb55c13",
...     "name": "chat gpt-4o", "startTimeUnixNano": "1767610800000000000",
...     "endTimeUnixNano": "1767610801500000000", "attributes": [
...       {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
...       {"key": "gen_ai.conversation.id", "value": {"stringValue": "c1"}},
...       {"key": "gen_ai.prompt.0.role", "value": {"stringValue": "user"}},
...       {"key": "gen_ai.prompt.0.content", "value": {"stringValue": "Hi"}},
...       {"key": "gen_ai.completion.0.content", "value": {"stringValue": "Hello!"}}]}]}]}]}
>>> t = spans_to_log(read_otlp([line])).log.turns
>>> t.loc[0, ["conversation_id", "bot_id", "user_input", "bot_response"]].tolist()
['c1', 'bot', 'Hi', 'Hello!']
>>> float(t.loc[0, "response_time_s"])
1.5
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit.sources._common import (
    content_text,
    first_value,
    json_lines,
    last_text,
    maybe_json,
    message_role_text,
    parse_time,
    to_int,
)
from toolkit.sources._mapping import (
    MappedLog,
    MappingReport,
    generation_record,
    lineage,
    mapped_log,
    times_ok,
)

__all__ = ["MappedSpans", "CONVERSATION_KEYS", "read_otlp", "read_otlp_jsonl", "spans_to_log"]

#: attributes holding the conversation id, in order (span attributes first, then resource)
CONVERSATION_KEYS = ("gen_ai.conversation.id", "session.id", "conversation.id", "thread.id", "thread_id", "session_id")
USER_KEYS = ("user.id", "enduser.id", "gen_ai.user.id")
VARIANT_KEYS = ("variant", "app.variant", "experiment.variant")


#: what :func:`spans_to_log` returns: the one mapped-log type of every source adapter
MappedSpans = MappedLog


def _any_value(v: Any) -> Any:
    """Decode an OTLP/JSON AnyValue."""
    if not isinstance(v, Mapping):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    for key, convert in (("intValue", int), ("doubleValue", float), ("boolValue", bool)):
        if key in v:
            try:
                return convert(v[key])
            except (TypeError, ValueError):
                return None
    if "arrayValue" in v:
        return [_any_value(x) for x in (v["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in v:
        return _attributes((v["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in v:
        try:
            return base64.b64decode(v["bytesValue"])
        except (ValueError, TypeError):
            return None
    return None


def _attributes(items: Any) -> dict:
    out: dict[str, Any] = {}
    for kv in items or []:
        if isinstance(kv, Mapping) and "key" in kv:
            out[str(kv["key"])] = _any_value(kv.get("value"))
    return out


def _hex_id(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    if re.fullmatch(r"[0-9a-fA-F]+", text):
        return text.lower()
    try:  # the protobuf JSON mapping's base64 ids, written by some exporters
        return base64.b64decode(text).hex()
    except (ValueError, TypeError):
        return text


def _status(span: Mapping) -> tuple[int, str | None]:
    st = span.get("status") or {}
    code = st.get("code", 0)
    if isinstance(code, str):
        code = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code.upper(), 0)
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = 0
    return code, st.get("message") or None


def _items(value: Any, name: str) -> list:
    """A list of mappings from an OTLP field; a ToolkitError naming the field when it is not one."""
    from toolkit.errors import InputFileError

    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InputFileError(f"OTLP/JSON field {name!r} must be a list of objects, got {type(value).__name__} {str(value)[:40]!r}")
    return value


def read_otlp(requests: Iterable[Mapping]) -> list[dict]:
    """Flatten OTLP/JSON trace export requests into one dict per span.

    Each span dict has ``trace_id``, ``span_id``, ``parent_span_id`` (hex), ``name``, ``start``,
    ``end`` (the ``*UnixNano`` values), ``attributes``, ``resource`` (decoded dicts), ``events``
    (``name``, ``time``, ``attributes``), ``status_code`` (0 unset, 1 ok, 2 error) and
    ``status_message``.

    Examples
    --------
    >>> spans = read_otlp([{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab", "spanId": "cd",
    ...     "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}]}]}]}]}])
    >>> spans[0]["attributes"], spans[0]["trace_id"]
    ({'gen_ai.usage.input_tokens': 12}, 'ab')
    """
    spans = []
    for req in requests:
        if not isinstance(req, Mapping):
            continue
        for rs in _items(req.get("resourceSpans") or req.get("resource_spans"), "resourceSpans"):
            resource = _attributes(((rs or {}).get("resource") or {}).get("attributes"))
            for ss in _items(rs.get("scopeSpans") or rs.get("scope_spans") or rs.get("instrumentationLibrarySpans"), "scopeSpans"):
                for span in _items(ss.get("spans"), "spans"):
                    code, message = _status(span)
                    spans.append(
                        {
                            "trace_id": _hex_id(span.get("traceId") or span.get("trace_id")),
                            "span_id": _hex_id(span.get("spanId") or span.get("span_id")),
                            "parent_span_id": _hex_id(span.get("parentSpanId") or span.get("parent_span_id")),
                            "name": span.get("name"),
                            "start": span.get("startTimeUnixNano") or span.get("start_time_unix_nano"),
                            "end": span.get("endTimeUnixNano") or span.get("end_time_unix_nano"),
                            "attributes": _attributes(span.get("attributes")),
                            "resource": resource,
                            "events": [
                                {"name": e.get("name"), "time": e.get("timeUnixNano"), "attributes": _attributes(e.get("attributes"))}
                                for e in span.get("events") or []
                                if isinstance(e, Mapping)
                            ],
                            "status_code": code,
                            "status_message": message,
                        }
                    )
    return spans


def read_otlp_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read an OTLP/JSON file (one export request per line, or one JSON document) into spans.

    Raises
    ------
    ValueError
        Naming the file and line that is not JSON.

    Examples
    --------
    >>> spans = read_otlp_jsonl("traces.jsonl")  # doctest: +SKIP
    >>> spans_to_log(spans).report.counts  # doctest: +SKIP
    """
    from toolkit.errors import InputFileError

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        requests = json_lines(path, text)
    except InputFileError as exc:
        try:  # a pretty-printed single document
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise exc from None
        requests = doc if isinstance(doc, list) else [doc]
    return read_otlp(requests)


def _indexed(attrs: Mapping, prefix: str) -> list[dict]:
    """``gen_ai.prompt.0.role`` / ``.content`` attributes as a list of messages."""
    msgs: dict[int, dict] = {}
    pat = re.compile(re.escape(prefix) + r"\.(\d+)\.(role|content)$")
    for k, v in attrs.items():
        m = pat.match(k)
        if m:
            msgs.setdefault(int(m.group(1)), {})[m.group(2)] = v
    return [msgs[i] for i in sorted(msgs)]


def _event_text(event: Mapping) -> str | None:
    a = event.get("attributes") or {}
    for key in ("content", "gen_ai.event.content", "message", "body"):
        if key in a:
            v = maybe_json(a[key])
            if isinstance(v, Mapping) and "message" in v:
                v = v["message"]
            text = content_text(v) if not isinstance(v, Mapping) else message_role_text(v)[1]
            if text is not None:
                return text
    return None


def _texts(span: Mapping) -> tuple[str | None, str | None, str]:
    """(user text, bot text, convention) of a GenAI span."""
    a = span["attributes"]
    events = span["events"]
    if "gen_ai.input.messages" in a or "gen_ai.output.messages" in a:
        user = last_text(maybe_json(a.get("gen_ai.input.messages")) or [], "user")
        out = maybe_json(a.get("gen_ai.output.messages")) or []
        bot = last_text(out, "assistant") if isinstance(out, list) else None
        return user, bot, "new"
    prompt, completion = _indexed(a, "gen_ai.prompt"), _indexed(a, "gen_ai.completion")
    if prompt or completion:
        comp = [{"role": m.get("role") or "assistant", "content": m.get("content")} for m in completion]
        return last_text(prompt, "user"), last_text(comp, "assistant"), "old"
    ev = {e["name"]: e for e in events}
    if "gen_ai.content.prompt" in ev or "gen_ai.content.completion" in ev:
        p = maybe_json((ev.get("gen_ai.content.prompt") or {}).get("attributes", {}).get("gen_ai.prompt"))
        c = maybe_json((ev.get("gen_ai.content.completion") or {}).get("attributes", {}).get("gen_ai.completion"))
        user = last_text(p, "user") if isinstance(p, list) else (p if isinstance(p, str) else None)
        if isinstance(c, list):
            bot = last_text([{"role": m.get("role") or "assistant", **m} if isinstance(m, Mapping) else m for m in c], "assistant")
        else:
            bot = c if isinstance(c, str) else None
        return user, bot, "old"
    user = bot = None
    for e in events:
        if e["name"] == "gen_ai.user.message":
            user = _event_text(e) or user
        elif e["name"] in ("gen_ai.choice", "gen_ai.assistant.message") and bot is None:
            bot = _event_text(e)
    return user, bot, "new"


def _lookup(span: Mapping, keys: Sequence[str]) -> Any:
    for source in (span["attributes"], span["resource"]):
        for k in keys:
            if source.get(k) not in (None, ""):
                return source[k]
    return None


def _is_genai(span: Mapping) -> bool:
    return any(k.startswith("gen_ai.") for k in span["attributes"])


def spans_to_log(
    spans: Iterable[Mapping] | str | os.PathLike,
    *,
    conversation_keys: Sequence[str] = CONVERSATION_KEYS,
    prices: Mapping[str, Mapping[str, float]] | str | os.PathLike | None = None,
    one_per_trace: bool = True,
) -> MappedSpans:
    """Map GenAI spans to a conversation log (one turn per span).

    Parameters
    ----------
    spans : iterable of dict, or path
        Spans from :func:`read_otlp` / :func:`read_otlp_jsonl`, or the path of an OTLP/JSON file.
    conversation_keys : sequence of str
        Attributes holding the conversation id, in order.
    prices : mapping or path, optional
        Price table for spans without ``gen_ai.usage.cost`` (see :mod:`toolkit.sources.prices`).
    one_per_trace : bool
        Skip a GenAI span whose ancestor in the same trace is a mapped GenAI span (an agent
        span and its model calls are one turn), counted as ``non_root_in_trace``.

    Returns
    -------
    MappedSpans
        ``.log`` (turns also carry ``trace_id``, ``span_id``, ``span_name``, ``convention``
        ("old" or "new" attribute naming), ``cost_source``) and ``.report`` (non-GenAI spans
        are counted as ``not_genai``).

    Examples
    --------
    >>> mapped = spans_to_log("otel-export.jsonl", prices="prices.csv")  # doctest: +SKIP
    >>> print(mapped.report)  # doctest: +SKIP
    """
    if isinstance(spans, (str, os.PathLike)):
        spans = read_otlp_jsonl(spans)
    spans = list(spans)
    table = _price_table(prices)
    report = MappingReport(n_records=len(spans))
    candidates = _genai_spans(spans, report)
    nested = _nested_genai(spans, candidates)
    records = []
    for s in candidates:
        if one_per_trace and nested(s):
            report.add(s.get("span_id"), "non_root_in_trace", "a GenAI span inside another GenAI span of the same trace")
            continue
        record = _span_record(s, report, conversation_keys, table)
        if record is not None:
            records.append(record)
    return mapped_log(records, report, source="OpenTelemetry spans",
                      string_columns=("trace_id", "span_id", "span_name", "convention", "cost_source"))


def _price_table(prices: Mapping[str, Mapping[str, float]] | str | os.PathLike | None) -> Any:
    from toolkit.sources.prices import load_prices

    return load_prices(prices) if prices is not None else None


def _genai_spans(spans: list, report: MappingReport) -> list[Mapping]:
    """The spans with ``gen_ai.*`` attributes; the others are counted in ``report``."""
    candidates = []
    for s in spans:
        if not isinstance(s, Mapping) or "attributes" not in s:
            report.add(None, "invalid_record", "not a span")
            continue
        if not _is_genai(s):
            report.add(s.get("span_id"), "not_genai", f"span {s.get('name')!r} has no gen_ai.* attributes")
            continue
        candidates.append(s)
    return candidates


def _nested_genai(spans: list, candidates: list[Mapping]) -> Callable[[Mapping], bool]:
    """A test of whether a span has a GenAI ancestor (among ``candidates``) in its trace."""
    by_id = {(s.get("trace_id"), s.get("span_id")): s for s in spans if isinstance(s, Mapping)}
    genai_ids = {(s["trace_id"], s["span_id"]) for s in candidates}

    def has_genai_ancestor(s: Mapping) -> bool:
        ancestors = lineage(s, "parent_span_id", lambda parent: by_id.get((s["trace_id"], parent)))
        next(ancestors)  # the span itself
        return any((p.get("trace_id"), p.get("span_id")) in genai_ids for p in ancestors)

    return has_genai_ancestor


def _span_record(s: Mapping, report: MappingReport, conversation_keys: Sequence[str], table: Any) -> dict | None:
    """The turn record of one GenAI span, or None (with the reason in ``report``)."""
    sid = s.get("span_id")
    start, end = parse_time(to_int(s.get("start"))), parse_time(to_int(s.get("end")))
    if not times_ok(report, sid, start, end, "startTimeUnixNano", "endTimeUnixNano", s.get("end")):
        return None
    a = s["attributes"]
    error = _span_error(s)
    user, bot, convention = _texts(s)
    if user is None or (bot is None and error is None):
        missing = "user text" if user is None else "bot text"
        report.add(sid, "unknown_shape", f"span {s.get('name')!r}: no {missing} in gen_ai attributes or events")
        return None
    if "gen_ai.usage.input_tokens" in a or "gen_ai.usage.output_tokens" in a:
        convention = "new"
    elif "gen_ai.usage.prompt_tokens" in a or "gen_ai.usage.completion_tokens" in a:
        convention = "old"
    model = first_value(a.get("gen_ai.response.model"), a.get("gen_ai.request.model"))
    return generation_record(
        report, sid, trace_id=s["trace_id"], conversation_id=_lookup(s, conversation_keys),
        no_conversation=f"no {'/'.join(conversation_keys)}: trace id used",
        cost=a.get("gen_ai.usage.cost"), cost_label="span", prices=table,
        no_cost=f"no gen_ai.usage.cost and no price for model {model!r}", shape=convention,
        start=start, end=end, user=user, bot=bot, error=error, model=model,
        prompt_tokens=to_int(first_value(a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.prompt_tokens"))),
        completion_tokens=to_int(first_value(a.get("gen_ai.usage.output_tokens"), a.get("gen_ai.usage.completion_tokens"))),
        user_id=_lookup(s, USER_KEYS), bot_id=s["resource"].get("service.name"), variant=_lookup(s, VARIANT_KEYS),
        ids={"trace_id": s["trace_id"], "span_id": sid, "span_name": s.get("name"), "convention": convention},
    )


def _span_error(s: Mapping) -> Any:
    """The span's error (status message, ``error.type`` or ``"error"``), or None."""
    a = s["attributes"]
    code, message = s.get("status_code", 0), s.get("status_message")
    if code == 2 or a.get("error.type"):
        return first_value(message, a.get("error.type"), "error")
    return None

