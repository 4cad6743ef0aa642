"""Langfuse exports (traces and observations) to the conversation log.

Reads what Langfuse's public API returns (``GET /api/public/traces``, ``/observations``: a list
or ``{"data": [...], "meta": ...}``), the same records as JSON Lines, or the CSV of its UI export
(nested fields as JSON text). Records are either **traces** (``id``, ``sessionId``, ``userId``,
``metadata``, ``tags``; a trace fetched by id may embed its ``observations``) or
**observations** (``id``, ``traceId``, ``type``, ``startTime``, ``endTime``, ``model``,
``input``, ``output``, ``usage`` / ``usageDetails``, ``costDetails`` / ``calculatedTotalCost``,
``level``, ``statusMessage``, ``parentObservationId``).

Each observation of type ``GENERATION`` becomes one turn: the conversation is the trace's
``sessionId`` (else the trace id, noted as ``no_conversation_id``), the user its ``userId``, the
variant ``metadata.variant`` (observation, then trace) or a ``variant:`` tag, the latency
``endTime - startTime``, the error ``statusMessage`` of a ``level: ERROR`` observation, the
tokens ``usageDetails`` (``input``/``output``) or ``usage`` (``input``/``output`` or
``promptTokens``/``completionTokens``), the cost Langfuse's own (``costDetails.total``,
``calculatedTotalCost``) else the local price table. Other observation types (SPAN, EVENT) are
skipped as ``not_genai``, a generation nested in another generation as ``non_root_in_trace``.

Examples
--------
>>> records = [
...     {"id": "t1", "sessionId": "s1", "userId": "u1", "metadata": {"variant": "B"}},
...     {"id": "o1", "traceId": "t1", "type": "GENERATION", "model": "gpt-4o-mini",
...      "startTime": "2026-01-05T10:00:00Z", "endTime": "2026-01-05T10:00:01.2Z",
...      "input": [{"role": "user", "content": "Where is my order?"}],
...      "output": {"role": "assistant", "content": "It ships today."},
...      "usageDetails": {"input": 12, "output": 5, "total": 17}}]
>>> t = to_log(records).log.turns
>>> t.loc[0, ["conversation_id", "user_id", "variant", "user_input", "bot_response"]].tolist()
['s1', 'u1', 'B', 'Where is my order?', 'It ships today.']
>>> float(t.loc[0, "response_time_s"]), int(t.loc[0, "prompt_tokens"])
(1.2, 12)
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from toolkit.sources._common import (
    first_value,
    json_lines,
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

__all__ = ["MAX_RECORDS", "read_langfuse", "is_langfuse_file", "to_log"]

#: most records read from one export (a limit on user-controlled size)
MAX_RECORDS = 2_000_000
_JSON_FIELDS = ("input", "output", "metadata", "usage", "usageDetails", "costDetails", "tags", "observations", "modelParameters")
_OBS_TYPES = ("GENERATION", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL")


def _bad(where: str, field: str, rule: str):
    from toolkit.errors import InputFileError

    return InputFileError(f"Langfuse export: {where}, field {field!r} {rule}")


def _where(i: int, rec: Any) -> str:
    rid = rec.get("id") if isinstance(rec, Mapping) else None
    return f"record {i}" + (f" (id {str(rid)[:60]!r})" if rid is not None else "")


def _load_records(path: Path) -> list:
    """The records of a Langfuse file: CSV, a JSON document (list or ``{"data": [...]}``) or JSONL."""
    from toolkit.errors import InputFileError

    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        reader, rows = csv.DictReader(_io.StringIO(text)), []
        try:
            for row in reader:
                rows.append(row)
        except csv.Error as exc:
            raise InputFileError(f"{path}: record {len(rows)} is not valid CSV ({exc})") from None
        return [{k: (None if v == "" else v) for k, v in row.items() if k is not None} for row in rows]
    stripped = text.strip()
    try:
        return _unwrap(json.loads(stripped))
    except json.JSONDecodeError:
        pass
    except RecursionError:
        raise InputFileError(f"{path}: nested too deeply") from None
    return json_lines(path, text)


def _unwrap(doc: Any) -> list:
    if isinstance(doc, Mapping) and "data" in doc:
        doc = doc["data"]
    elif isinstance(doc, Mapping):
        doc = [doc]
    if not isinstance(doc, list):
        raise _bad("the document", "data", f"must be a list of records, got {type(doc).__name__}")
    return doc


def _decode(rec: dict, i: int) -> dict:
    """JSON-text fields (CSV export) decoded; a ToolkitError naming the record and field if not JSON."""
    out = dict(rec)
    for k in _JSON_FIELDS:
        v = out.get(k)
        if isinstance(v, str) and v.strip()[:1] in ("{", "["):
            try:
                out[k] = json.loads(v)
            except json.JSONDecodeError:
                if k not in ("input", "output"):
                    raise _bad(_where(i, rec), k, "is not valid JSON") from None
    return out


def read_langfuse(source: str | os.PathLike | Iterable[Mapping] | Mapping) -> tuple[dict[str, dict], list[dict]]:
    """Split a Langfuse export into traces (by id) and observations.

    Parameters
    ----------
    source : path, list of dict or dict
        A ``.json`` / ``.jsonl`` / ``.csv`` file, the records, or an API page ``{"data": [...]}``.

    Returns
    -------
    (dict, list)
        Traces keyed by id, and the observations (those embedded in traces included), each
        with ``_index`` (its position in the export).

    Raises
    ------
    toolkit.errors.ToolkitError
        Naming the record (index and id) and the field that is malformed.

    Examples
    --------
    >>> traces, obs = read_langfuse({"data": [{"id": "t", "sessionId": "s",
    ...     "observations": [{"id": "o", "traceId": "t", "type": "SPAN"}]}]})
    >>> list(traces), [o["id"] for o in obs]
    (['t'], ['o'])
    """
    if isinstance(source, (str, os.PathLike)):
        records = _load_records(Path(source))
    elif isinstance(source, Mapping):
        records = _unwrap(source)
    else:
        records = list(source)
    if len(records) > MAX_RECORDS:
        raise _bad("the export", "data", f"has {len(records)} records, more than the limit of {MAX_RECORDS}")
    traces: dict[str, dict] = {}
    observations: list[dict] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise _bad(f"record {i}", "(record)", f"must be a JSON object, got {type(rec).__name__}")
        rec = _decode(dict(rec), i)
        if rec.get("id") in (None, ""):
            raise _bad(_where(i, rec), "id", "is missing")
        if _is_observation(rec):
            if rec.get("traceId") in (None, ""):
                raise _bad(_where(i, rec), "traceId", "is missing")
            observations.append({**rec, "_index": i})
            continue
        embedded = rec.get("observations")
        if embedded is not None and not isinstance(embedded, list):
            raise _bad(_where(i, rec), "observations", f"must be a list, got {type(embedded).__name__}")
        traces[str(rec["id"])] = rec
        for j, o in enumerate(embedded or []):
            if isinstance(o, str):  # the trace list endpoint gives observation ids only
                continue
            if not isinstance(o, Mapping):
                raise _bad(_where(i, rec), f"observations[{j}]", f"must be an object, got {type(o).__name__}")
            o = _decode(dict(o), i)
            if o.get("id") in (None, ""):
                raise _bad(_where(i, rec), f"observations[{j}].id", "is missing")
            observations.append({**o, "traceId": o.get("traceId") or rec["id"], "_index": i})
    return traces, observations


def _is_observation(rec: Mapping) -> bool:
    return "traceId" in rec or str(rec.get("type") or "").upper() in _OBS_TYPES


def is_langfuse_file(path: str | os.PathLike) -> bool:
    """Whether a JSON/JSONL file's first record looks like a Langfuse trace or observation.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "obs.jsonl"
    >>> _ = p.write_text('{"id": "o", "traceId": "t", "type": "GENERATION", "startTime": "2026-01-05T10:00:00Z"}')
    >>> is_langfuse_file(p)
    True
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    has_obs = b'"traceId"' in head and (b'"startTime"' in head or b'"type"' in head)
    has_trace = b'"sessionId"' in head or b'"observations"' in head
    return (has_obs or has_trace) and b'"resourceSpans"' not in head


def _tokens(o: Mapping, where: str) -> tuple[int | None, int | None]:
    for field in ("usageDetails", "usage"):
        u = o.get(field)
        if u is None:
            continue
        if not isinstance(u, Mapping):
            raise _bad(where, field, f"must be an object, got {type(u).__name__}")
        p = first_value(u.get("input"), u.get("promptTokens"), u.get("prompt_tokens"), u.get("input_tokens"))
        c = first_value(u.get("output"), u.get("completionTokens"), u.get("completion_tokens"), u.get("output_tokens"))
        if p is not None or c is not None:
            return to_int(p), to_int(c)
    return to_int(first_value(o.get("inputUsage"), o.get("promptTokens"))), to_int(first_value(o.get("outputUsage"), o.get("completionTokens")))


def _cost(o: Mapping) -> Any:
    cd = o.get("costDetails")
    total = cd.get("total") if isinstance(cd, Mapping) else None
    return first_value(total, o.get("calculatedTotalCost"), o.get("totalCost"))


def _variant(o: Mapping, trace: Mapping) -> str | None:
    for meta in (o.get("metadata"), trace.get("metadata")):
        if isinstance(meta, Mapping) and meta.get("variant") not in (None, ""):
            return str(meta["variant"])
    return variant_tag(trace.get("tags"))


def _time(o: Mapping, field: str, where: str):
    value = o.get(field)
    t = parse_time(value)
    if value not in (None, "") and t is None:
        raise _bad(where, field, f"is not a timestamp: {str(value)[:40]!r}")
    return t


def to_log(
    source: str | os.PathLike | Iterable[Mapping] | Mapping,
    *,
    traces: str | os.PathLike | Iterable[Mapping] | Mapping | None = None,
    prices: Mapping[str, Mapping[str, float]] | str | os.PathLike | None = None,
) -> MappedLog:
    """Map a Langfuse export to a conversation log (one turn per GENERATION observation).

    Parameters
    ----------
    source : path, list of dict or dict
        See :func:`read_langfuse`.
    traces : path, list of dict or dict, optional
        A separate traces export (the UI exports traces and observations as two tables), for
        the sessions, users, metadata and tags of the observations in ``source``.
    prices : mapping or path, optional
        Price table for generations without a Langfuse cost (see :mod:`toolkit.sources.prices`).

    Returns
    -------
    MappedLog
        ``.log`` (turns also carry ``trace_id``, ``observation_id``, ``observation_name``,
        ``cost_source``: ``langfuse`` or ``price_table``) and ``.report`` (one entry per
        skipped or noted observation, with the reason).

    Raises
    ------
    toolkit.errors.ToolkitError
        For a malformed export, naming the record and field; LogValidationError when no
        observation could be mapped.

    Examples
    --------
    >>> mapped = to_log([{"id": "o", "traceId": "t", "type": "SPAN", "startTime": "2026-01-05T10:00:00Z"},
    ...                  {"id": "g", "traceId": "t", "type": "GENERATION", "startTime": "2026-01-05T10:00:00Z",
    ...                   "endTime": "2026-01-05T10:00:02Z", "input": "hi", "output": "hello"}])
    >>> print(mapped.report)
    2 records -> 1 turns; skipped 1 (not_genai=1); notes: no_conversation_id=1, no_cost=1
    """
    from toolkit.sources.prices import load_prices

    found, observations = read_langfuse(source)
    if traces is not None:
        extra, more = read_langfuse(traces)
        found = {**extra, **found}
        observations += more
    traces = found
    table = load_prices(prices) if prices is not None else None
    report = MappingReport(n_records=len(observations))
    by_id = {(str(o["traceId"]), str(o["id"])): o for o in observations}
    records = []
    for o in observations:
        rec = _map_observation(o, traces.get(str(o["traceId"])) or {}, by_id, report, table)
        if rec is not None:
            records.append(rec)
    return mapped_log(records, report, source="Langfuse export",
                      string_columns=("trace_id", "observation_id", "observation_name", "cost_source"))


def _nested_in_generation(o: Mapping, by_id: Mapping) -> bool:
    ancestors = lineage(o, "parentObservationId", lambda pid: by_id.get((str(o["traceId"]), str(pid))))
    next(ancestors)  # the observation itself
    return any(str(p.get("type") or "").upper() == "GENERATION" for p in ancestors)


def _map_observation(o: Mapping, trace: Mapping, by_id: Mapping, report: MappingReport, table: Any) -> dict | None:
    oid, where = o["id"], _where(o["_index"], o)
    kind = str(o.get("type") or "").upper()
    if kind != "GENERATION":
        report.add(oid, "not_genai", f"observation type {kind or 'missing'!r} is not a GENERATION")
        return None
    if _nested_in_generation(o, by_id):
        report.add(oid, "non_root_in_trace", "a generation inside another generation of the same trace")
        return None
    start, end = _time(o, "startTime", where), _time(o, "endTime", where)
    if not times_ok(report, oid, start, end, "startTime", "endTime", o.get("endTime")):
        return None
    error = first_value(o.get("statusMessage"), "error") if str(o.get("level") or "").upper() == "ERROR" else None
    user, bot = value_text(o.get("input"), "user"), value_text(o.get("output"), "assistant")
    if user is None:
        report.add(oid, "unknown_shape", "no user text in input")
        return None
    if bot is None and error is None:
        report.add(oid, "missing_outputs", "no output and level is not ERROR")
        return None
    model = o.get("model")
    pt, ct = _tokens(o, where)
    return generation_record(
        report, oid, trace_id=o["traceId"], conversation_id=trace.get("sessionId") or o.get("sessionId"),
        no_conversation="the trace has no sessionId: trace id used",
        cost=_cost(o), cost_label="langfuse", prices=table,
        no_cost=f"no Langfuse cost and no price for model {model!r}", shape="generation",
        start=start, end=end, user=user, bot=bot, error=error, model=model, prompt_tokens=pt, completion_tokens=ct,
        user_id=first_value(trace.get("userId"), o.get("userId")), variant=_variant(o, trace),
        ids={"trace_id": str(o["traceId"]), "observation_id": str(oid),
             "observation_name": None if o.get("name") is None else str(o["name"])},
    )
