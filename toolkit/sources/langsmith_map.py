"""Mapping LangSmith runs to turns: the three run shapes, texts, model, tokens, cost, variant.

:func:`runs_to_log` maps a LangChain chat-model run, an OpenAI-wrapper run or a ``@traceable``
chain to one turn each; runs that cannot be mapped are counted in a
:class:`~toolkit.sources._mapping.MappingReport`, never dropped silently and never fatal.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.sources._common import (
    first_value,
    flatten_messages,
    last_text,
    message_role_text,
    parse_time,
    to_float,
    to_int,
    variant_tag,
)
from toolkit.sources._mapping import (
    MappedLog,
    MappingReport,
    cost_or_estimate,
    mapped_log,
    turn_record,
)
from toolkit.sources.langsmith_runs import normalise_run, read_runs

__all__ = ["MappedRuns", "CONVERSATION_KEYS", "INPUT_KEYS", "OUTPUT_KEYS", "detect_shape", "runs_to_log"]

#: metadata keys holding the conversation id, in order of preference (LangSmith threads use these)
CONVERSATION_KEYS = ("thread_id", "session_id", "conversation_id")
#: argument names tried, in order, for the user's text of a traceable chain
INPUT_KEYS = ("input", "question", "query", "user_input", "message", "text", "prompt", "messages")
#: output keys tried, in order, for the bot's text of a traceable chain
OUTPUT_KEYS = ("output", "answer", "response", "bot_response", "text", "result", "content", "generation", "messages")


#: what :func:`runs_to_log` returns: the one mapped-log type of every source adapter
MappedRuns = MappedLog


def _metadata(run: Mapping) -> dict:
    meta = dict(((run.get("extra") or {}).get("metadata")) or {})
    meta.update(run.get("metadata") or {})
    return meta


def _is_lc_message(m: Any) -> bool:
    return isinstance(m, Mapping) and isinstance(m.get("kwargs"), Mapping) and ("lc" in m or "id" in m)


def detect_shape(run: Mapping) -> str | None:
    """"langchain", "openai" or "traceable" (None for a run with no inputs and no outputs).

    Examples
    --------
    >>> detect_shape({"inputs": {"messages": [{"role": "user", "content": "hi"}]},
    ...               "outputs": {"choices": [{"message": {"content": "hello"}}]}})
    'openai'
    """
    inputs = run.get("inputs") or {}
    outputs = run.get("outputs") or {}
    if isinstance(outputs, Mapping):
        if "generations" in outputs:
            return "langchain"
        if "choices" in outputs:
            return "openai"
    msgs = flatten_messages(inputs.get("messages")) if isinstance(inputs, Mapping) else []
    if msgs and (run.get("run_type") or "").lower() == "llm":
        if any(_is_lc_message(m) for m in msgs):
            return "langchain"
        if all(isinstance(m, Mapping) and "role" in m for m in msgs):
            return "openai"
    if isinstance(inputs, Mapping) and "prompts" in inputs and (run.get("run_type") or "").lower() == "llm":
        return "langchain"
    if not inputs and not outputs:
        return None
    return "traceable"


def _value_text(value: Any, role: str) -> str | None:
    """Text in a traceable input/output value: a string, a message, a list of messages."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return value[-1] if role == "user" else "\n".join(value)
        return last_text(value, role)
    if isinstance(value, Mapping):
        if _is_lc_message(value) or "role" in value or "type" in value and "content" in value:
            return message_role_text(value)[1]
        for k in ("content", "text", "output", "answer"):
            if isinstance(value.get(k), str):
                return value[k]
        if "messages" in value:
            return last_text(value["messages"], role)
        if "generations" in value or "choices" in value:
            return _output_text({"outputs": value}, "langchain" if "generations" in value else "openai")
    return None


def _pick(d: Mapping, keys: Sequence[str], role: str) -> tuple[str | None, str | None]:
    for k in keys:
        if k in d:
            text = _value_text(d[k], role)
            if text is not None:
                return k, text
    if len(d) == 1:
        (k, v), = d.items()
        text = _value_text(v, role)
        if text is not None:
            return k, text
    return None, None


def _input_text(run: Mapping, shape: str, input_keys: Sequence[str]) -> str | None:
    inputs = run.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        return _value_text(inputs, "user")
    if shape in ("langchain", "openai"):
        if "messages" in inputs:
            text = last_text(inputs["messages"], "user")
            if text is not None:
                return text
        if "prompts" in inputs and isinstance(inputs["prompts"], list) and inputs["prompts"]:
            p = inputs["prompts"][0]
            return p if isinstance(p, str) else None
        if "prompt" in inputs and isinstance(inputs["prompt"], str):
            return inputs["prompt"]
    return _pick(inputs, input_keys, "user")[1]


def _output_text(run: Mapping, shape: str, output_keys: Sequence[str] = OUTPUT_KEYS) -> str | None:
    outputs = run.get("outputs")
    if outputs is None:
        return None
    if not isinstance(outputs, Mapping):
        return _value_text(outputs, "assistant")
    if shape == "langchain" and "generations" in outputs:
        first = _first_generation(outputs)
        if isinstance(first, Mapping):
            msg = first.get("message")
            text = message_role_text(msg)[1] if msg is not None else None
            if text:
                return text
            if isinstance(first.get("text"), str):
                return first["text"]
        return None
    if shape == "openai" and "choices" in outputs:
        choices = outputs["choices"]
        first = choices[0] if isinstance(choices, list) and choices else None
        if isinstance(first, Mapping):
            if first.get("message") is not None:
                return message_role_text(first["message"])[1]
            if isinstance(first.get("text"), str):
                return first["text"]
        return None
    return _pick(outputs, output_keys, "assistant")[1]


def _first_generation(outputs: Mapping) -> Any:
    """The first generation of ``outputs.generations`` (a list, or a batch: a list of lists)."""
    gens = outputs.get("generations")
    first = gens[0] if isinstance(gens, list) and gens else None
    if isinstance(first, list):
        first = first[0] if first else None
    return first


def _dig(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, Mapping):
            return None
        d = d.get(p)
    return d


def _model_of(run: Mapping, meta: Mapping) -> str | None:
    extra = run.get("extra") or {}
    outputs = run.get("outputs") if isinstance(run.get("outputs"), Mapping) else {}
    inputs = run.get("inputs") if isinstance(run.get("inputs"), Mapping) else {}
    gen_msg = _dig(_first_generation(outputs), "message", "kwargs", "response_metadata", "model_name")
    model = first_value(
        meta.get("ls_model_name"),
        _dig(extra, "invocation_params", "model"),
        _dig(extra, "invocation_params", "model_name"),
        _dig(meta, "ls_invocation_params", "model"),
        _dig(outputs, "llm_output", "model_name"),
        gen_msg,
        outputs.get("model") if isinstance(outputs.get("model"), str) else None,
        inputs.get("model") if isinstance(inputs.get("model"), str) else None,
        meta.get("model"),
    )
    return str(model) if model is not None else None


def _usage_of(run: Mapping) -> tuple[int | None, int | None]:
    """Token counts from the run's outputs (OpenAI usage, LangChain llm_output/usage_metadata)."""
    outputs = run.get("outputs") if isinstance(run.get("outputs"), Mapping) else {}
    candidates = [outputs.get("usage_metadata"), outputs.get("usage"), _dig(outputs, "llm_output", "token_usage"), _dig(outputs, "llm_output", "usage")]
    g = _first_generation(outputs)
    candidates.append(_dig(g, "message", "kwargs", "usage_metadata"))
    candidates.append(_dig(g, "message", "kwargs", "response_metadata", "token_usage"))
    for u in candidates:
        if isinstance(u, Mapping):
            p = first_value(u.get("input_tokens"), u.get("prompt_tokens"))
            c = first_value(u.get("output_tokens"), u.get("completion_tokens"))
            if p is not None or c is not None:
                return to_int(p), to_int(c)
    return None, None


def _variant_of(run: Mapping, meta: Mapping) -> str | None:
    if meta.get("variant") not in (None, ""):
        return str(meta["variant"])
    return variant_tag(run.get("tags"))


def _error_text(err: Any) -> str | None:
    if err is None or err == "":
        return None
    text = str(err).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # a Python traceback: its last line names the exception; otherwise the first line
    if lines and lines[0].startswith("Traceback"):
        return lines[-1][:500]
    return (lines[0] if lines else text)[:500]


def runs_to_log(
    runs: Iterable[Mapping] | str | os.PathLike,
    *,
    input_key: str | Sequence[str] | None = None,
    output_key: str | Sequence[str] | None = None,
    conversation_keys: Sequence[str] = CONVERSATION_KEYS,
    bot_id: str | None = None,
    prices: Mapping[str, Mapping[str, float]] | str | os.PathLike | None = None,
    one_per_trace: bool = True,
) -> MappedRuns:
    """Map LangSmith runs to a conversation log (one turn per run).

    Parameters
    ----------
    runs : iterable of dict, or path
        Runs as returned by :func:`pull_runs` / :func:`read_runs` (v1 or v2 shape), or the path
        of a saved JSONL file.
    input_key, output_key : str or list of str, optional
        For traceable chains: the argument name(s) holding the user's text and the output
        key(s) holding the bot's text. Default: :data:`INPUT_KEYS`, :data:`OUTPUT_KEYS`, then
        the only key when there is one.
    conversation_keys : sequence of str
        Metadata keys for the conversation id, in order (also a v2 run's ``thread_id``).
        Runs without one become their own conversation (the trace id) and are noted.
    bot_id : str, optional
        Used when ``metadata.bot_id`` is absent (e.g. the project name).
    prices : mapping or path, optional
        Price table for runs without a server-side cost (see :mod:`toolkit.sources.prices`).
    one_per_trace : bool
        When a trace's root run is among the runs, its child runs are skipped (counted as
        ``non_root_in_trace``), so a trace is one turn.

    Returns
    -------
    MappedRuns
        ``.log`` (a validated ConversationLog whose turns also carry ``run_id``, ``trace_id``,
        ``project_id``, ``run_name``, ``shape``, ``cost_source``) and ``.report``.

    Raises
    ------
    toolkit.log.LogValidationError
        When no run at all could be mapped (the message includes the report).

    Examples
    --------
    >>> run = {"id": "r1", "run_type": "llm", "start_time": "2026-01-05T10:00:00Z",
    ...        "end_time": "2026-01-05T10:00:02Z", "extra": {"metadata": {"session_id": "s9"}},
    ...        "inputs": {"messages": [{"role": "user", "content": "Hi"}], "model": "gpt-4o-mini"},
    ...        "outputs": {"choices": [{"message": {"role": "assistant", "content": "Hello!"}}],
    ...                    "usage": {"prompt_tokens": 1000, "completion_tokens": 1000}}}
    >>> t = runs_to_log([run]).log.turns
    >>> t.loc[0, ["shape", "model", "cost_source"]].tolist(), float(t.loc[0, "cost_usd"])
    (['openai', 'gpt-4o-mini', 'price_table'], 0.00075)
    """
    from toolkit.sources.prices import load_prices

    if isinstance(runs, (str, os.PathLike)):
        runs = read_runs(runs)
    runs = [normalise_run(r) if isinstance(r, Mapping) or hasattr(r, "model_dump") or hasattr(r, "dict") else r for r in runs]
    ctx = _MapContext(
        input_keys=[input_key] if isinstance(input_key, str) else list(input_key or INPUT_KEYS),
        output_keys=[output_key] if isinstance(output_key, str) else list(output_key or OUTPUT_KEYS),
        conversation_keys=conversation_keys,
        bot_id=bot_id,
        prices=load_prices(prices) if prices is not None else None,
        one_per_trace=one_per_trace,
    )
    if one_per_trace:
        ctx.root_traces, ctx.child_models = _trace_index(runs)
    report = MappingReport(n_records=len(runs))
    records = []
    for r in runs:
        rec = _map_run(r, ctx, report)
        if rec is not None:
            records.append(rec)
    return mapped_log(records, report, source="langsmith runs",
                      string_columns=("project_id", "run_name", "shape", "cost_source", "run_id", "trace_id"))


@dataclass
class _MapContext:
    """The settings of one :func:`runs_to_log` call that every run's mapping needs."""

    input_keys: list
    output_keys: list
    conversation_keys: Sequence[str]
    bot_id: str | None
    prices: Any
    one_per_trace: bool
    root_traces: set = field(default_factory=set)  # traces whose root run is among the runs
    child_models: dict = field(default_factory=dict)  # trace -> model of its first LLM child run


def _trace_index(runs: list) -> tuple[set, dict[str, str]]:
    """The traces whose root run is among the runs, and the model of each trace's first LLM child."""
    root_traces = set()
    child_models: dict[str, str] = {}
    for r in runs:
        if isinstance(r, Mapping) and r.get("id") and not r.get("parent_run_id") and (r.get("trace_id") in (None, r.get("id"))):
            root_traces.add(str(r.get("trace_id") or r.get("id")))
        elif isinstance(r, Mapping) and r.get("parent_run_id") and (r.get("run_type") or "").lower() == "llm":
            m = _model_of(r, _metadata(r))
            if m is not None:
                child_models.setdefault(str(r.get("trace_id")), m)
    return root_traces, child_models


def _run_error(r: Mapping) -> str | None:
    error = _error_text(r.get("error"))
    if error is None and str(r.get("status") or "").lower() == "error":
        error = "error"
    return error


def _map_run(r: Any, ctx: _MapContext, report: MappingReport) -> dict | None:
    """One run as a turn record, or None (the reason added to ``report``)."""
    if not isinstance(r, Mapping):
        report.add(None, "invalid_record", f"not a run: {type(r).__name__}")
        return None
    rid = r.get("id")
    start = parse_time(r.get("start_time"))
    if not rid or start is None:
        report.add(rid, "invalid_record", "a run needs an id and a start_time")
        return None
    trace = str(r.get("trace_id") or rid)
    if ctx.one_per_trace and r.get("parent_run_id") and trace in ctx.root_traces:
        report.add(rid, "non_root_in_trace", f"child of trace {trace}, whose root run is mapped")
        return None
    error = _run_error(r)
    outputs = r.get("outputs")
    if error is None and (outputs is None or outputs == {}):
        report.add(rid, "missing_outputs", f"status={r.get('status')!r}, end_time={r.get('end_time')!r}")
        return None
    shape = detect_shape(r)
    if shape is None:
        report.add(rid, "unknown_shape", "no inputs and no outputs")
        return None
    user_text = _input_text(r, shape, ctx.input_keys)
    bot_text = _output_text(r, shape, ctx.output_keys) if outputs else None
    if user_text is None or (bot_text is None and error is None):
        ins = sorted((r.get("inputs") or {}).keys()) if isinstance(r.get("inputs"), Mapping) else type(r.get("inputs")).__name__
        outs = sorted(outputs.keys()) if isinstance(outputs, Mapping) else type(outputs).__name__
        missing = "user text" if user_text is None else "bot text"
        report.add(rid, "unknown_shape", f"{shape}: no {missing} found (input keys {ins}, output keys {outs})")
        return None
    if error is not None:
        report.add(rid, "error", error[:200])
    meta = _metadata(r)
    conv = first_value(*(meta.get(k) for k in ctx.conversation_keys), r.get("thread_id"))
    if conv is None:
        conv = trace
        report.add(rid, "no_conversation_id", f"no metadata {'/'.join(ctx.conversation_keys)}: trace id used")
    end = parse_time(r.get("end_time"))
    if end is None or end < start:
        report.add(rid, "missing_end_time", f"end_time={r.get('end_time')!r}: no latency (an unfinished run)")
        return None
    model = _model_of(r, meta) or ctx.child_models.get(trace)
    pt, ct, cost, cost_source = _tokens_and_cost(r, model, ctx.prices, report)
    report.shapes[shape] = report.shapes.get(shape, 0) + 1
    return turn_record(
        conversation_id=conv, start=start, end=end, user=user_text, bot=bot_text, error=error, model=model,
        prompt_tokens=pt, completion_tokens=ct, cost=cost, cost_source=cost_source, record_id=str(rid),
        user_id=first_value(meta.get("user_id"), meta.get("user")), bot_id=first_value(meta.get("bot_id"), ctx.bot_id),
        variant=_variant_of(r, meta),
        ids={"run_id": str(rid), "trace_id": trace,
             "project_id": None if r.get("session_id") is None else str(r.get("session_id")),
             "run_name": r.get("name"), "shape": shape},
    )


def _tokens_and_cost(r: Mapping, model: str | None, prices: Any, report: MappingReport):
    """Prompt and completion tokens, cost and its source (``server``, ``price_table`` or None)."""
    pt, ct = to_int(r.get("prompt_tokens")), to_int(r.get("completion_tokens"))
    if not pt and not ct:
        up, uc = _usage_of(r)
        if up is not None or uc is not None:
            pt, ct = up, uc
    server = to_float(r.get("total_cost"))
    if server is None and (r.get("prompt_cost") is not None or r.get("completion_cost") is not None):
        server = (to_float(r.get("prompt_cost")) or 0.0) + (to_float(r.get("completion_cost")) or 0.0)
    # a server cost of 0 is replaced by the price table's estimate when there is one
    cost, cost_source = cost_or_estimate(server or None, model, pt, ct, prices, "server")
    if cost is None and server is not None:
        cost, cost_source = server, "server"
    if cost is None:
        report.add(r.get("id"), "no_cost", f"no cost from the server and no price for model {model!r}")
    return pt, ct, cost, cost_source
