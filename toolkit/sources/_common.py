"""Helpers shared by the source adapters for reading a record's values: message text
extraction, timestamps and durations, JSON-safe values, JSON Lines, numbers and tags.

What the adapters build from those values (the per-turn record, the mapping report, the one
result type) is in :mod:`toolkit.sources._mapping`.
"""

from __future__ import annotations

import collections.abc as _abc
import datetime as _dt
import json
import math
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = [
    "json_lines",
    "message_role_text",
    "content_text",
    "last_text",
    "parse_time",
    "jsonable",
    "first_value",
    "to_int",
    "to_float",
    "value_text",
    "time_ago",
    "maybe_json",
    "variant_tag",
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
    try:
        if isinstance(value, _dt.timedelta):
            return _dt.datetime.now(_dt.timezone.utc) - value
        if isinstance(value, str):
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
            if m:
                return _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(**{_DURATION_UNITS[m.group(2)]: float(m.group(1))})
    except OverflowError:  # longer ago than a date can be ("99999999999d"): not a usable duration
        return None
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
