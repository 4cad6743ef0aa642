"""Arize Phoenix span exports (its spans dataframe as Parquet or JSONL) to the conversation log.

Reads the frame ``px.Client().get_spans_dataframe()`` returns, saved with ``df.to_parquet(...)``
(the ``context.span_id`` index is kept) or ``df.reset_index().to_json(..., orient="records",
lines=True)``, or the frame itself. Column names follow the OpenInference semantic conventions:
``name``, ``span_kind``, ``parent_id``, ``start_time``, ``end_time``, ``status_code``,
``status_message``, ``context.trace_id``, ``context.span_id``, ``attributes.llm.model_name``,
``attributes.llm.token_count.prompt`` / ``.completion``, ``attributes.llm.cost.total``,
``attributes.llm.input_messages`` / ``output_messages``, ``attributes.input.value``,
``attributes.output.value``, ``attributes.session.id``, ``attributes.user.id``,
``attributes.metadata``, ``attributes.tag.tags``.

Each span of kind ``LLM`` becomes one turn: the conversation is ``session.id`` (the span's, else
its nearest ancestor's; else the trace id, noted as ``no_conversation_id``), the user
``user.id`` (likewise), the variant ``metadata.variant`` or a ``variant:`` tag, the texts the
last user / assistant message of ``llm.input_messages`` / ``llm.output_messages`` (else
``input.value`` / ``output.value``), the error ``status_message`` of an ``ERROR`` status, the
cost ``llm.cost.total`` else the local price table. Spans of other kinds (CHAIN, AGENT, TOOL,
RETRIEVER, ...) are skipped as ``not_genai``, an LLM span inside another LLM span as
``non_root_in_trace``.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"context.span_id": ["s1"], "context.trace_id": ["t1"], "parent_id": [None],
...     "name": ["ChatCompletion"], "span_kind": ["LLM"], "status_code": ["OK"],
...     "start_time": pd.to_datetime(["2026-01-05T10:00:00Z"]),
...     "end_time": pd.to_datetime(["2026-01-05T10:00:00.8Z"]),
...     "attributes.input.value": ["What is your refund policy?"],
...     "attributes.output.value": ["30 days, no questions asked."],
...     "attributes.session.id": ["sess-1"], "attributes.llm.model_name": ["gpt-4o-mini"],
...     "attributes.llm.token_count.prompt": [20], "attributes.llm.token_count.completion": [8]})
>>> t = to_log(df).log.turns
>>> t.loc[0, ["conversation_id", "user_input", "bot_response"]].tolist()
['sess-1', 'What is your refund policy?', '30 days, no questions asked.']
>>> float(t.loc[0, "response_time_s"]), t.loc[0, "cost_source"]
(0.8, 'price_table')
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolkit.sources._common import (
    content_text,
    first_value,
    json_lines,
    last_text,
    maybe_json,
    parse_time,
    to_int,
    value_text,
    variant_tag,
)
from toolkit.sources._mapping import (
    MappedLog,
    MappingReport,
    generation_record,
    lineage,
    mapped_log,
    times_ok,
)

__all__ = ["REQUIRED_COLUMNS", "MAX_SPANS", "read_spans", "is_phoenix_file", "to_log"]

#: columns a Phoenix spans export must have
REQUIRED_COLUMNS = ("context.span_id", "context.trace_id", "span_kind", "start_time")
#: most spans read from one export (a limit on user-controlled size)
MAX_SPANS = 2_000_000
_A = "attributes."


def _bad(where: str, field: str, rule: str):
    from toolkit.errors import InputFileError

    return InputFileError(f"Phoenix spans export: {where}, field {field!r} {rule}")


def read_spans(source: Any) -> list[dict]:
    """The spans of a Phoenix export as one dict per span (column name -> value, nulls as None).

    Parameters
    ----------
    source : path, DataFrame or list of dict
        A ``.parquet`` or ``.jsonl`` file, the spans dataframe, or its records.

    Raises
    ------
    toolkit.errors.ToolkitError
        When a required column is missing (naming it) or the file cannot be read.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"context.trace_id": ["t"], "span_kind": ["LLM"], "start_time": ["2026-01-05T10:00:00Z"]},
    ...                   index=pd.Index(["s"], name="context.span_id"))
    >>> read_spans(df)[0]["context.span_id"]
    's'
    """
    import pandas as pd

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() in (".parquet", ".pq"):
            try:
                frame = pd.read_parquet(path)
            except (ValueError, OSError) as exc:
                from toolkit.errors import InputFileError

                raise InputFileError(f"{path}: not a readable Phoenix spans export ({str(exc)[:120]})") from None
        else:
            frame = pd.DataFrame(_jsonl(path))
    elif isinstance(source, pd.DataFrame):
        frame = source
    else:
        records = list(source)
        for i, r in enumerate(records):
            if not isinstance(r, Mapping):
                raise _bad(f"row {i}", "(row)", f"must be an object, got {type(r).__name__}")
        frame = pd.DataFrame(records)
    if len(frame) > MAX_SPANS:
        raise _bad("the export", "(rows)", f"has {len(frame)} spans, more than the limit of {MAX_SPANS}")
    if "context.span_id" not in frame.columns and frame.index.name == "context.span_id":
        frame = frame.reset_index()
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        hint = " (save the frame with df.reset_index() so the span id index is kept)" if "context.span_id" in missing else ""
        raise _bad("the columns", missing[0], f"is missing{hint}; have {', '.join(map(str, frame.columns[:12]))}")
    frame = frame.astype(object).where(frame.notna(), None) if len(frame) else frame
    return frame.to_dict(orient="records")


def _jsonl(path: Path) -> list[dict]:
    rows = json_lines(path)
    for i, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise _bad(f"row {i}", "(row)", f"must be an object, got {type(row).__name__}")
    if len(rows) > MAX_SPANS:
        raise _bad("the export", "(rows)", f"has more than the limit of {MAX_SPANS} spans")
    return rows


def is_phoenix_file(path: str | os.PathLike) -> bool:
    """Whether a Parquet or JSONL file is a Phoenix spans export (has ``context.span_id`` and
    ``span_kind``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "spans.jsonl"
    >>> _ = p.write_text('{"context.span_id": "s", "context.trace_id": "t", "span_kind": "LLM"}')
    >>> is_phoenix_file(p)
    True
    """
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            names = set(pq.read_schema(path).names)
        except (OSError, ValueError):
            return False
        return {"context.span_id", "span_kind"} <= names or ("span_kind" in names and "context.trace_id" in names)
    with open(path, "rb") as fh:
        head = fh.read(8192)
    return b'"context.trace_id"' in head and b'"span_kind"' in head


def _null(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN / NaT
    except (TypeError, ValueError):
        return False


def _time(value: Any, where: str, field: str) -> _dt.datetime | None:
    """A UTC datetime from a Timestamp, ISO text or epoch (s, ms, us or ns, as pandas writes JSON)."""
    if _null(value) or value == "":
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        a = abs(value)
        value = value / 1e9 if a > 1e17 else value / 1e6 if a > 1e14 else value / 1e3 if a > 1e11 else value
    t = parse_time(value)
    if t is None:
        raise _bad(where, field, f"is not a timestamp: {str(value)[:40]!r}")
    return t


def _messages(value: Any) -> list[dict]:
    """OpenInference messages (``message.role`` / ``message.content`` or nested ``message``)."""
    value = maybe_json(value)
    out = []
    for m in value if isinstance(value, list) else []:
        if not isinstance(m, Mapping):
            continue
        inner = m.get("message") if isinstance(m.get("message"), Mapping) else m
        role = first_value(inner.get("message.role"), inner.get("role"))
        content = first_value(inner.get("message.content"), inner.get("content"))
        if content is None:
            parts = maybe_json(first_value(inner.get("message.contents"), inner.get("contents")))
            blocks = [p.get("message_content") if isinstance(p, Mapping) and isinstance(p.get("message_content"), Mapping) else p for p in parts or []]
            content = content_text(
                [{"type": "text", "text": first_value(b.get("message_content.text"), b.get("text"))} for b in blocks if isinstance(b, Mapping)]
            )
        out.append({"role": role, "content": content})
    return out


def _io_text(span: Mapping, kind: str, role: str) -> str | None:
    msgs = _messages(span.get(f"{_A}llm.{kind}_messages"))
    text = last_text(msgs, role) if msgs else None
    if text is None:
        value = span.get(f"{_A}{kind}.value")
        text = value_text(maybe_json(value), role) if not _null(value) else None
    return text


def _meta(span: Mapping) -> dict:
    m = maybe_json(span.get(f"{_A}metadata"))
    return dict(m) if isinstance(m, Mapping) else {}


def _inherited(span: Mapping, by_id: Mapping, get) -> Any:
    """``get(span)``, else of its nearest ancestor in the trace that has it."""
    tid = span.get("context.trace_id")
    for s in lineage(span, "parent_id", lambda parent: by_id.get((tid, parent))):
        v = get(s)
        if not _null(v) and v != "":
            return v
    return None


def _variant(span: Mapping, by_id: Mapping) -> str | None:
    v = _inherited(span, by_id, lambda s: _meta(s).get("variant"))
    if v is not None:
        return str(v)
    return variant_tag(_inherited(span, by_id, lambda s: maybe_json(s.get(f"{_A}tag.tags")) or None))


def to_log(
    source: Any,
    *,
    prices: Mapping[str, Mapping[str, float]] | str | os.PathLike | None = None,
) -> MappedLog:
    """Map a Phoenix spans export to a conversation log (one turn per LLM span).

    Parameters
    ----------
    source : path, DataFrame or list of dict
        See :func:`read_spans`.
    prices : mapping or path, optional
        Price table for spans without ``llm.cost.total`` (see :mod:`toolkit.sources.prices`).

    Returns
    -------
    MappedLog
        ``.log`` (turns also carry ``trace_id``, ``span_id``, ``span_name``, ``cost_source``:
        ``phoenix`` or ``price_table``) and ``.report`` (skipped and noted spans, with reasons).

    Raises
    ------
    toolkit.errors.ToolkitError
        For a malformed export, naming the span (row and id) and the field.

    Examples
    --------
    >>> rows = [{"context.span_id": "a", "context.trace_id": "t", "parent_id": None, "span_kind": "CHAIN",
    ...          "start_time": "2026-01-05T10:00:00Z", "end_time": "2026-01-05T10:00:02Z",
    ...          "attributes.session.id": "s1"},
    ...         {"context.span_id": "b", "context.trace_id": "t", "parent_id": "a", "span_kind": "LLM",
    ...          "start_time": "2026-01-05T10:00:00.5Z", "end_time": "2026-01-05T10:00:01.5Z",
    ...          "status_code": "ERROR", "status_message": "timeout",
    ...          "attributes.llm.input_messages": [{"message.role": "user", "message.content": "hi"}]}]
    >>> mapped = to_log(rows)
    >>> print(mapped.report)
    2 records -> 1 turns; skipped 1 (not_genai=1); notes: error=1, no_cost=1
    >>> mapped.log.turns.loc[0, ["conversation_id", "error"]].tolist()
    ['s1', 'timeout']
    """
    from toolkit.sources.prices import load_prices

    spans = read_spans(source)
    table = load_prices(prices) if prices is not None else None
    report = MappingReport(n_records=len(spans))
    by_id = {(s.get("context.trace_id"), s.get("context.span_id")): s for s in spans}
    records = []
    for i, s in enumerate(spans):
        rec = _map_span(i, s, by_id, report, table)
        if rec is not None:
            records.append(rec)
    return mapped_log(records, report, source="Phoenix spans",
                      string_columns=("trace_id", "span_id", "span_name", "cost_source"))


def _is_llm(s: Mapping | None) -> bool:
    return s is not None and str(s.get("span_kind") or "").upper() == "LLM"


def _map_span(i: int, s: Mapping, by_id: Mapping, report: MappingReport, table: Any) -> dict | None:
    sid, tid = s.get("context.span_id"), s.get("context.trace_id")
    where = f"row {i}" + (f" (span {str(sid)[:40]!r})" if not _null(sid) else "")
    if _null(sid) or _null(tid):
        raise _bad(where, "context.span_id" if _null(sid) else "context.trace_id", "is empty")
    kind = s.get("span_kind")
    if not _is_llm(s):
        report.add(sid, "not_genai", f"span {s.get('name')!r} of kind {kind!r} is not an LLM span")
        return None
    if _inherited(by_id.get((tid, s.get("parent_id"))) or {}, by_id, lambda p: True if _is_llm(p) else None):
        report.add(sid, "non_root_in_trace", "an LLM span inside another LLM span of the same trace")
        return None
    start, end = _time(s.get("start_time"), where, "start_time"), _time(s.get("end_time"), where, "end_time")
    if not times_ok(report, sid, start, end, "start_time", "end_time", s.get("end_time")):
        return None
    error = first_value(s.get("status_message"), "error") if str(s.get("status_code") or "").upper() == "ERROR" else None
    user, bot = _io_text(s, "input", "user"), _io_text(s, "output", "assistant")
    if user is None:
        report.add(sid, "unknown_shape", "no user text in llm.input_messages or input.value")
        return None
    if bot is None and error is None:
        report.add(sid, "missing_outputs", "no output and the status is not ERROR")
        return None
    model = s.get(f"{_A}llm.model_name")
    model = None if _null(model) else str(model)
    return generation_record(
        report, sid, trace_id=tid, conversation_id=_inherited(s, by_id, lambda x: x.get(f"{_A}session.id")),
        no_conversation="no session.id on the span or its ancestors: trace id used",
        cost=s.get(f"{_A}llm.cost.total"), cost_label="phoenix", prices=table,
        no_cost=f"no llm.cost.total and no price for model {model!r}",
        shape="llm_messages" if _messages(s.get(f"{_A}llm.input_messages")) else "input_value",
        start=start, end=end, user=user, bot=bot, error=error, model=model,
        prompt_tokens=to_int(s.get(f"{_A}llm.token_count.prompt")),
        completion_tokens=to_int(s.get(f"{_A}llm.token_count.completion")),
        user_id=_inherited(s, by_id, lambda x: x.get(f"{_A}user.id")), variant=_variant(s, by_id),
        ids={"trace_id": str(tid), "span_id": str(sid), "span_name": None if _null(s.get("name")) else str(s["name"])},
    )
