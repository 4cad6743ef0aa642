"""Helpers shared by the source adapters: message text extraction, timestamps, JSON-safe values,
field and cost helpers, the per-turn record, turn numbering, the mapping report and the one
result type (:class:`MappedLog`) of every adapter."""

from __future__ import annotations

import collections.abc as _abc
import datetime as _dt
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "MappingReport",
    "json_lines",
    "message_role_text",
    "content_text",
    "last_text",
    "parse_time",
    "jsonable",
    "records_to_log",
    "first_value",
    "to_int",
    "to_float",
    "cost_or_estimate",
    "value_text",
    "time_ago",
    "maybe_json",
    "variant_tag",
    "MappedLog",
    "turn_record",
    "times_ok",
    "generation_record",
    "mapped_log",
]

_ROLES = {
    "human": "user",
    "user": "user",
    "humanmessage": "user",
    "humanmessagechunk": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "aimessage": "assistant",
    "aimessagechunk": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "system": "system",
    "systemmessage": "system",
    "developer": "system",
    "tool": "tool",
    "toolmessage": "tool",
    "function": "tool",
    "functionmessage": "tool",
    "chat": "user",
    "chatmessage": "user",
}


def norm_role(role: Any) -> str | None:
    if not isinstance(role, str):
        return None
    return _ROLES.get(role.strip().lower(), role.strip().lower())


def content_text(content: Any) -> str | None:
    """Text of a message content: a string, or a list of content blocks (text parts joined).

    Examples
    --------
    >>> print(content_text([{"type": "text", "text": "Hello"}, {"type": "image_url"}, "world"]))
    Hello
    world
    """
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict):
                kind = block.get("type")
                if kind not in (None, "text", "output_text", "input_text"):
                    continue
                if isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif isinstance(block.get("content"), str):
                    parts.append(block["content"])
        return "\n".join(parts) if parts else None
    if isinstance(content, dict):
        return message_role_text(content)[1]
    return None


def message_role_text(msg: Any) -> tuple[str | None, str | None]:
    """(role, text) of one chat message in any of the common serialisations.

    Handles LangChain's serialised messages (``{"lc": 1, "type": "constructor", "id": [...,
    "HumanMessage"], "kwargs": {"content": ...}}``), plain ``{"type": "human", "content": ...}``
    dicts, OpenAI ``{"role": "user", "content": ...}`` dicts (content string or blocks),
    OpenTelemetry GenAI ``{"role": ..., "parts": [{"type": "text", "content": ...}]}`` and
    ``("human", "text")`` tuples.

    Examples
    --------
    >>> message_role_text({"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages",
    ...                    "HumanMessage"], "kwargs": {"content": "hi", "type": "human"}})
    ('user', 'hi')
    >>> message_role_text({"role": "assistant", "parts": [{"type": "text", "content": "ok"}]})
    ('assistant', 'ok')
    """
    if isinstance(msg, str):
        return "user", msg
    if isinstance(msg, (list, tuple)) and len(msg) == 2 and isinstance(msg[0], str):
        return norm_role(msg[0]), content_text(msg[1])
    if not isinstance(msg, Mapping):
        return None, None
    kwargs = msg.get("kwargs")
    if isinstance(kwargs, Mapping) and ("lc" in msg or "id" in msg):
        cls = msg.get("id")
        cls_name = cls[-1] if isinstance(cls, list) and cls else None
        role = kwargs.get("type") or kwargs.get("role") or cls_name
        if isinstance(role, str) and role.lower() == "chat":
            role = kwargs.get("role") or role
        return norm_role(role), content_text(kwargs.get("content"))
    role = msg.get("role") or msg.get("type")
    if "content" in msg:
        content = msg.get("content")
    elif "parts" in msg:
        content = msg.get("parts")
    else:
        content = msg.get("text")
    if isinstance(content, Mapping) and not ("role" in content or "type" in content or "kwargs" in content):
        content = content.get("text")
    return norm_role(role), content_text(content)


def flatten_messages(messages: Any) -> list:
    """The first conversation of a (possibly batched: list of lists) message list."""
    if not isinstance(messages, list) or not messages:
        return []
    if isinstance(messages[0], list) and not (len(messages[0]) == 2 and isinstance(messages[0][0], str)):
        return list(messages[0])
    return list(messages)


def last_text(messages: Any, role: str) -> str | None:
    """Text of the last message with ``role`` ("user" or "assistant") in a message list.

    Examples
    --------
    >>> last_text([[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]], "user")
    'b'
    """
    for m in reversed(flatten_messages(messages)):
        r, text = message_role_text(m)
        if r == role and text is not None:
            return text
    return None


def value_text(value: Any, role: str) -> str | None:
    """The user's (``role="user"``) or bot's (``"assistant"``) text of a traced input/output value:
    a string, a message list, a message, ``{"messages": [...]}``, an OpenAI completion
    (``choices``) or a dict with a text key (``input``, ``query``, ``output``, ``answer``, ...).

    Examples
    --------
    >>> value_text({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}, "user")
    'hi'
    >>> value_text({"choices": [{"message": {"role": "assistant", "content": "hello"}}]}, "assistant")
    'hello'
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return last_text(value, role) if role == "user" else last_text([m if not isinstance(m, Mapping) or m.get("role") else {"role": "assistant", **m} for m in value], role)
    if isinstance(value, Mapping):
        if isinstance(value.get("messages"), list):
            return last_text(value["messages"], role)
        if isinstance(value.get("choices"), list) and value["choices"]:
            ch = value["choices"][0]
            if isinstance(ch, Mapping):
                return message_role_text(ch.get("message") or {})[1] or content_text(ch.get("text"))
        if "role" in value or "content" in value:
            return message_role_text(value)[1]
        for k in ("input", "query", "question", "text", "output", "answer", "completion", "response"):
            if isinstance(value.get(k), (str, list, Mapping)):
                return value_text(value[k], role)
    return None


def parse_time(value: Any) -> _dt.datetime | None:
    """A timezone-aware UTC datetime from ISO text, a datetime, or epoch nanos/seconds; naive
    values are UTC (LangSmith and OTLP both record UTC).

    Examples
    --------
    >>> parse_time("2026-01-05T10:00:00.5").isoformat()
    '2026-01-05T10:00:00.500000+00:00'
    >>> parse_time("1767607200000000000").isoformat()
    '2026-01-05T10:00:00+00:00'
    """
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        d = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return None
        seconds = value / 1e9 if abs(value) > 1e14 else value
        return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_time(int(text))
        try:
            d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return d.astimezone(_dt.timezone.utc)


_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def time_ago(value: Any) -> _dt.datetime | None:
    """The UTC time ``value`` ago for a ``timedelta`` or a duration like ``"7d"``, ``"12h"``
    (units s, m, h, d, w); None for anything else.

    Examples
    --------
    >>> import datetime as dt
    >>> now = dt.datetime.now(dt.timezone.utc)
    >>> round((now - time_ago("1.5h")).total_seconds() / 60)
    90
    >>> time_ago("2026-01-05") is None
    True
    """
    if isinstance(value, _dt.timedelta):
        return _dt.datetime.now(_dt.timezone.utc) - value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
        if m:
            return _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(**{_DURATION_UNITS[m.group(2)]: float(m.group(1))})
    return None


def maybe_json(value: Any) -> Any:
    """``value`` decoded when it is JSON text of an object or array (attributes that exporters
    store as strings), a numpy array as a list (Parquet), anything else as it is.

    Examples
    --------
    >>> maybe_json('[{"role": "user"}]'), maybe_json("{not json"), maybe_json(3)
    ([{'role': 'user'}], '{not json', 3)
    """
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def variant_tag(tags: Any) -> str | None:
    """The ``NAME`` of the first ``variant:NAME`` tag (case-insensitive prefix), or None.

    Examples
    --------
    >>> variant_tag(["prod", "Variant: B"]), variant_tag("variant:A"), variant_tag(["variant:"])
    ('B', None, None)
    """
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and tag.lower().startswith("variant:") and tag.split(":", 1)[1].strip():
            return tag.split(":", 1)[1].strip()
    return None


def jsonable(obj: Any) -> Any:
    """Plain JSON values: UUIDs and Decimals to str/float, datetimes to ISO (UTC), recursively.

    Examples
    --------
    >>> import datetime, decimal
    >>> jsonable({"t": datetime.datetime(2026, 1, 5), "c": decimal.Decimal("0.5")})
    {'t': '2026-01-05T00:00:00Z', 'c': 0.5}
    """
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:  # fast paths: most of a run is plain JSON
        return obj
    if t is float:
        return obj if math.isfinite(obj) else None
    if t is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in obj.items()}
    if t is list:
        return [jsonable(v) for v in obj]
    if isinstance(obj, _abc.Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, _dt.datetime):
        d = obj if obj.tzinfo else obj.replace(tzinfo=_dt.timezone.utc)
        return d.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(obj, (_dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "model_dump"):
        return jsonable(obj.model_dump())
    if callable(getattr(obj, "dict", None)) and hasattr(obj, "__fields__"):  # pydantic v1
        return jsonable(obj.dict())
    if hasattr(obj, "value") and type(obj).__module__.startswith("enum"):
        return obj.value
    try:
        json.dumps(obj)
        return obj
    except TypeError:
        return str(obj)


def json_lines(path: Any, text: str | None = None) -> list:
    r"""The JSON values of the non-empty lines of a JSON Lines file (``text``: its content, if read).

    Raises an ``InputFileError`` naming the file and the line that is not JSON or nested too deeply.

    Examples
    --------
    >>> json_lines("x.jsonl", '{"a": 1}\n\n[2]\n')
    [{'a': 1}, [2]]
    """
    from pathlib import Path

    from toolkit.errors import InputFileError

    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path}: line {i} is not JSON ({exc.msg}): {line[:80]!r}") from None
        except RecursionError:
            raise InputFileError(f"{path}: line {i} is nested too deeply") from None
    return out


def first_value(*values: Any) -> Any:
    """The first value that is neither None nor an empty string.

    Examples
    --------
    >>> first_value(None, "", 0, 5)
    0
    """
    for v in values:
        if v is not None and v != "":
            return v
    return None


def to_int(x: Any) -> int | None:
    """A non-negative int from a number or numeric text; None otherwise (NaN, negative, text).

    Examples
    --------
    >>> to_int("12.0"), to_int(float("nan")), to_int(-1)
    (12, None, None)
    """
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return int(v) if math.isfinite(v) and v >= 0 else None


def to_float(x: Any) -> float | None:
    """A finite float, or None.

    Examples
    --------
    >>> to_float("0.25"), to_float("inf")
    (0.25, None)
    """
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def cost_or_estimate(cost: Any, model: Any, prompt_tokens: int | None, completion_tokens: int | None, prices: Any, source: str) -> tuple[float | None, str | None]:
    """(cost, where it came from): the source's own cost (labelled ``source``), else the local
    price table's estimate (``"price_table"``), else ``(None, None)``.

    Examples
    --------
    >>> cost_or_estimate(0.002, "gpt-4o", 10, 5, None, "server")
    (0.002, 'server')
    >>> cost_or_estimate(None, "gpt-4o", 1200, 300, None, "server")
    (0.006, 'price_table')
    """
    from toolkit.sources.prices import estimate_cost

    value = to_float(cost)
    if value is not None:
        return value, source
    if prompt_tokens or completion_tokens:
        est = estimate_cost(None if model is None else str(model), prompt_tokens, completion_tokens, prices)
        if not math.isnan(est):
            return est, "price_table"
    return None, None


#: reasons for which a record is left out of the log (anything else is a note on a kept turn)
SKIP_REASONS = ("invalid_record", "missing_outputs", "missing_end_time", "unknown_shape", "non_root_in_trace", "not_genai")


@dataclass
class MappingReport:
    """What happened to each source record on its way to the log.

    Attributes
    ----------
    n_records : int
        Records read (runs or spans).
    n_turns : int
        Turns in the resulting log.
    counts : dict
        Number of records per reason. Skipped: ``invalid_record`` (not a run: no id or start
        time), ``missing_outputs`` (no outputs and no error: an unfinished run),
        ``missing_end_time`` (no end time, so no latency), ``unknown_shape`` (no user or bot
        text found), ``non_root_in_trace`` (a child run of a
        trace whose root run is present), ``not_genai`` (OpenTelemetry spans without
        ``gen_ai.*`` attributes, Langfuse observations that are not GENERATIONs, Phoenix spans
        whose kind is not LLM). Kept with a note: ``error`` (the turn carries the error),
        ``no_conversation_id`` (the trace id is used), ``no_cost`` (no cost from the source and
        no price for the model).
    issues : list of dict
        One entry per (record, reason): ``record_id``, ``reason``, ``detail``, ``skipped``.
    shapes : dict
        Number of mapped turns per input shape.
    """

    n_records: int = 0
    n_turns: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    issues: list[dict] = field(default_factory=list)
    shapes: dict[str, int] = field(default_factory=dict)

    def add(self, record_id: Any, reason: str, detail: str = "") -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        self.issues.append(
            {"record_id": None if record_id is None else str(record_id), "reason": reason, "detail": detail, "skipped": reason in SKIP_REASONS}
        )

    @property
    def n_skipped(self) -> int:
        return sum(n for r, n in self.counts.items() if r in SKIP_REASONS)

    def issues_frame(self):
        """The issues as a DataFrame (record_id, reason, detail, skipped)."""
        import pandas as pd

        return pd.DataFrame(self.issues, columns=["record_id", "reason", "detail", "skipped"])

    def to_dict(self) -> dict:
        return {
            "n_records": self.n_records,
            "n_turns": self.n_turns,
            "n_skipped": self.n_skipped,
            "counts": dict(sorted(self.counts.items())),
            "shapes": dict(sorted(self.shapes.items())),
        }

    def __str__(self) -> str:
        parts = [f"{self.n_records} records -> {self.n_turns} turns"]
        if self.n_skipped:
            skipped = ", ".join(f"{r}={n}" for r, n in sorted(self.counts.items()) if r in SKIP_REASONS)
            parts.append(f"skipped {self.n_skipped} ({skipped})")
        notes = ", ".join(f"{r}={n}" for r, n in sorted(self.counts.items()) if r not in SKIP_REASONS)
        if notes:
            parts.append(f"notes: {notes}")
        return "; ".join(parts)


def records_to_log(records: Iterable[dict], report: MappingReport, *, source: str, conversations=None):
    """Turn records (one dict per turn, without ``turn``) into a validated ConversationLog.

    Turns are numbered 0.. within each conversation by ``start_time`` then ``timestamp`` then
    ``record_id``. Raises LogValidationError (naming the report) when no record could be mapped.

    Examples
    --------
    >>> rec = {"conversation_id": "c", "timestamp": "2026-01-05T10:00:01Z", "start_time": "2026-01-05T10:00:00Z",
    ...        "record_id": "r", "user_input": "hi", "bot_response": "hello", "response_time_s": 1.0}
    >>> records_to_log([rec], MappingReport(n_records=1), source="example").turns["turn"].tolist()
    [0]
    """
    import pandas as pd

    from toolkit.log import LogValidationError, Problem, validate

    rows = list(records)
    if not rows:
        raise LogValidationError(
            [Problem("turns", None, f"is empty: none of the {report.n_records} {source} records could be mapped ({report})")],
            source=source,
        )
    frame = pd.DataFrame(rows)
    order = frame.sort_values(["conversation_id", "start_time", "timestamp", "record_id"], kind="stable").index
    frame = frame.loc[order].reset_index(drop=True)
    frame["turn"] = frame.groupby("conversation_id", sort=False).cumcount().astype("int64")
    frame = frame.drop(columns=["start_time", "record_id"])
    log = validate(frame, conversations, source=source)
    report.n_turns = int(len(log.turns))
    return log


@dataclass
class MappedLog:
    """The conversation log made from source records (runs, spans, observations), with the
    report of what was kept and skipped: what every source adapter returns.

    Examples
    --------
    >>> print(MappedLog(log=None, report=MappingReport(n_records=2, n_turns=2)))
    MappedLog(2 records -> 2 turns)
    """

    log: Any
    report: MappingReport

    def __repr__(self) -> str:
        return f"MappedLog({self.report})"


def times_ok(report: MappingReport, record_id: Any, start: Any, end: Any, start_field: str, end_field: str,
             end_value: Any) -> bool:
    """Whether a record has a start and an end not before it; otherwise the reason goes to
    ``report`` (``invalid_record`` without a start, ``missing_end_time``) and the record is skipped.

    Examples
    --------
    >>> rep = MappingReport()
    >>> times_ok(rep, "s", parse_time("2026-01-05T10:00:00Z"), None, "start", "end", None), rep.counts
    (False, {'missing_end_time': 1})
    """
    if start is None:
        report.add(record_id, "invalid_record", f"no {start_field}")
        return False
    if end is None or end < start:
        report.add(record_id, "missing_end_time", f"{end_field}={end_value!r}")
        return False
    return True


def turn_record(
    *,
    conversation_id: Any,
    start: _dt.datetime,
    end: _dt.datetime,
    user: str | None,
    bot: str | None,
    error: Any,
    model: Any,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cost: float | None,
    cost_source: str | None,
    record_id: str,
    user_id: Any = None,
    bot_id: Any = None,
    variant: Any = None,
    ids: Mapping[str, Any] | None = None,
) -> dict:
    """The turn record of one mapped source record (for :func:`records_to_log`): the log's
    columns, then the source's own ``ids`` columns, ``cost_source``, and the ordering keys.

    Examples
    --------
    >>> t0, t1 = parse_time("2026-01-05T10:00:00Z"), parse_time("2026-01-05T10:00:02Z")
    >>> r = turn_record(conversation_id="c", start=t0, end=t1, user="hi", bot="hello", error=None,
    ...                 model=None, prompt_tokens=None, completion_tokens=None, cost=None,
    ...                 cost_source=None, record_id="t:s", ids={"span_id": "s"})
    >>> r["timestamp"], r["response_time_s"], r["span_id"]
    ('2026-01-05T10:00:02+00:00', 2.0, 's')
    """
    return {
        "conversation_id": str(conversation_id),
        "timestamp": end.isoformat(),
        "user_id": None if user_id is None else str(user_id),
        "bot_id": None if bot_id is None else str(bot_id),
        "variant": None if variant is None else str(variant),
        "model": None if model is None else str(model),
        "user_input": user,
        "bot_response": bot,
        "response_time_s": (end - start).total_seconds(),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": cost,
        "error": None if error is None else str(error)[:500],
        **(ids or {}),
        "cost_source": cost_source,
        "start_time": start.isoformat(),
        "record_id": record_id,
    }


def generation_record(
    report: MappingReport,
    record_id: Any,
    *,
    trace_id: Any,
    conversation_id: Any,
    no_conversation: str,
    cost: Any,
    cost_label: str,
    prices: Any,
    no_cost: str,
    shape: str,
    **fields: Any,
) -> dict:
    """The turn record of one model call (an OpenTelemetry span, a Langfuse generation, a
    Phoenix LLM span), with its notes in ``report``.

    Notes ``error`` (when ``fields["error"]`` is set), ``no_conversation_id`` (``no_conversation``
    says why; the trace id stands in) and ``no_cost`` (the source's ``cost``, labelled
    ``cost_label``, else the price table's estimate; ``no_cost`` says why neither); counts
    ``shape``. ``fields`` go to :func:`turn_record`; the record id is ``trace_id:record_id``.

    Examples
    --------
    >>> rep = MappingReport(n_records=1)
    >>> t0, t1 = parse_time("2026-01-05T10:00:00Z"), parse_time("2026-01-05T10:00:02Z")
    >>> r = generation_record(rep, "s", trace_id="t", conversation_id=None, no_conversation="none",
    ...                       cost=0.01, cost_label="span", prices=None, no_cost="", shape="new",
    ...                       start=t0, end=t1, user="hi", bot="hello", error=None, model="m",
    ...                       prompt_tokens=1, completion_tokens=1)
    >>> r["conversation_id"], r["cost_source"], r["record_id"], str(rep)
    ('t', 'span', 't:s', '1 records -> 0 turns; notes: no_conversation_id=1')
    """
    error = fields.get("error")
    if error is not None:
        report.add(record_id, "error", str(error)[:200])
    if conversation_id is None or conversation_id == "":
        conversation_id = trace_id
        report.add(record_id, "no_conversation_id", no_conversation)
    model = fields.get("model")
    cost, cost_source = cost_or_estimate(cost, model, fields.get("prompt_tokens"), fields.get("completion_tokens"),
                                         prices, cost_label)
    if cost is None:
        report.add(record_id, "no_cost", no_cost)
    report.shapes[shape] = report.shapes.get(shape, 0) + 1
    return turn_record(conversation_id=conversation_id, cost=cost, cost_source=cost_source,
                       record_id=f"{trace_id}:{record_id}", **fields)


def mapped_log(records: Iterable[dict], report: MappingReport, *, source: str, string_columns: Iterable[str]) -> MappedLog:
    """:func:`records_to_log`, with the source's own columns (ids, names, ``cost_source``) as
    pandas strings: the :class:`MappedLog` an adapter returns.

    Examples
    --------
    >>> rec = {"conversation_id": "c", "timestamp": "2026-01-05T10:00:01Z", "start_time": "2026-01-05T10:00:00Z",
    ...        "record_id": "r", "user_input": "hi", "bot_response": "hello", "response_time_s": 1.0, "span_id": "s"}
    >>> str(mapped_log([rec], MappingReport(n_records=1), source="example", string_columns=["span_id"]).log.turns["span_id"].dtype)
    'string'
    """
    log = records_to_log(records, report, source=source)
    for name in string_columns:
        log.turns[name] = log.turns[name].astype("string")
    return MappedLog(log=log, report=report)
