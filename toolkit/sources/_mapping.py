"""Turning source records into a conversation log: the per-turn record, its cost, the mapping
report, and :class:`MappedLog`, the one result type of every source adapter (LangSmith runs,
OpenTelemetry spans, Langfuse observations, Phoenix spans).

Examples
--------
>>> print(MappingReport(n_records=3, n_turns=2, counts={"not_genai": 1}))
3 records -> 2 turns; skipped 1 (not_genai=1)
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolkit.sources._common import parse_time, to_float  # noqa: F401 - parse_time: the examples

__all__ = [
    "SKIP_REASONS",
    "MappingReport",
    "MappedLog",
    "cost_or_estimate",
    "records_to_log",
    "times_ok",
    "turn_record",
    "generation_record",
    "mapped_log",
    "lineage",
]


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

    from toolkit.log import validate
    from toolkit.validation import LogValidationError, Problem

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
    >>> m = MappedLog(log=None, report=MappingReport(n_records=2, n_turns=2))
    >>> print(m)
    MappedLog(2 records -> 2 turns)
    >>> m.report.add("r9", "missing_end_time"); m.summary_table()
                 reason  records  skipped
    0  missing_end_time        1     True
    """

    log: Any
    report: MappingReport

    def summary_table(self):
        """Records per reason (kept with a note, or skipped), most frequent first."""
        import pandas as pd

        rows = [{"reason": r, "records": n, "skipped": r in SKIP_REASONS}
                for r, n in sorted(self.report.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        return pd.DataFrame(rows, columns=["reason", "records", "skipped"])

    def to_dict(self) -> dict:
        """The mapping report (records, turns, reasons, input shapes); the log itself is not in it."""
        return self.report.to_dict()

    def __repr__(self) -> str:
        return f"MappedLog({self.report})"


def lineage(record: Mapping, parent_key: str, lookup) -> Iterable[Mapping]:
    """``record``, its parent, the parent's parent, ...: ``record[parent_key]`` is the parent's
    id, ``lookup(id)`` the record (None ends the chain, as do an empty id and a cycle).

    Examples
    --------
    >>> spans = {"a": {"id": "a", "parent": None}, "b": {"id": "b", "parent": "a"}}
    >>> [r["id"] for r in lineage({"id": "c", "parent": "b"}, "parent", spans.get)]
    ['c', 'b', 'a']
    """
    seen = set()
    while record is not None:
        yield record
        parent = record.get(parent_key)
        if not parent or parent != parent or parent in seen:  # parent != parent: NaN
            return
        seen.add(parent)
        record = lookup(parent)


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
