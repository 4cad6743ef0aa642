"""LangSmith: pull runs into the conversation log, save them, push scores back as feedback.

Offline unless configured: a client is made only from an endpoint (``endpoint=`` or
``LANGSMITH_ENDPOINT``, else the client's default) and the ``LANGSMITH_API_KEY`` environment
variable. The key is read from the environment only and is never printed, logged or written:
messages from the client are passed through :func:`redact` before they are shown.

Pull
    :func:`pull_runs` lists a project's runs with the installed client's pagination: the v2
    query (``POST /api/v2/runs/query``, cursor ``next_cursor``) where the client and the server
    offer it, otherwise ``Client.list_runs`` (``POST /runs/query``, cursor ``cursors.next``;
    deprecated in the newest clients but still served). :func:`save_runs` writes them as JSON
    Lines, :func:`read_runs` reads them back, so an analysis re-runs without the server.
Map
    :func:`runs_to_log` maps runs of three shapes to turns: a LangChain chat-model run
    (``inputs.messages`` serialised messages, ``outputs.generations``), an OpenAI-wrapper run
    (``inputs.messages`` role/content dicts, ``outputs.choices``) and a ``@traceable`` chain
    (inputs and outputs keyed by argument names; the keys are configurable). Conversation id from
    ``metadata.thread_id`` / ``session_id`` / ``conversation_id``; variant from
    ``metadata.variant`` or a ``variant:NAME`` tag; latency, tokens, cost (from the server, else a
    local price table), model and error. Runs that cannot be mapped are counted in a
    :class:`~toolkit.sources._common.MappingReport`, never dropped silently and never fatal.
Push
    :func:`push_feedback` writes a numeric column of the turns (``quality`` by default) as
    feedback on the runs (``run_id`` column), batch by batch, idempotently: each feedback has a
    deterministic id (a UUID5 of run id and key) and existing feedback is read first, so a
    re-push creates nothing new (it updates scores that changed). ``dry_run=True`` writes
    nothing.

Examples
--------
>>> runs = [{"id": "00000000-0000-0000-0000-000000000001", "name": "answer", "run_type": "chain",
...          "start_time": "2026-01-05T10:00:00Z", "end_time": "2026-01-05T10:00:01.5Z",
...          "inputs": {"question": "Where is my order?"}, "outputs": {"output": "It ships today."},
...          "extra": {"metadata": {"thread_id": "t1", "variant": "B"}}}]
>>> mapped = runs_to_log(runs)
>>> t = mapped.log.turns
>>> t.loc[0, ["conversation_id", "variant", "user_input", "bot_response"]].tolist()
['t1', 'B', 'Where is my order?', 'It ships today.']
>>> float(t.loc[0, "response_time_s"])
1.5
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.sources._common import (
    MappingReport,
    flatten_messages,
    jsonable,
    last_text,
    message_role_text,
    parse_time,
    records_to_log,
)

__all__ = [
    "LangSmithNotConfigured",
    "MappedRuns",
    "PushReport",
    "CONVERSATION_KEYS",
    "INPUT_KEYS",
    "OUTPUT_KEYS",
    "make_client",
    "redact",
    "pull_runs",
    "pull",
    "save_runs",
    "read_runs",
    "is_runs_file",
    "normalise_run",
    "detect_shape",
    "runs_to_log",
    "feedback_id",
    "push_feedback",
]

logger = logging.getLogger(__name__)

API_KEY_ENV = "LANGSMITH_API_KEY"
ENDPOINT_ENV = "LANGSMITH_ENDPOINT"

#: metadata keys holding the conversation id, in order of preference (LangSmith threads use these)
CONVERSATION_KEYS = ("thread_id", "session_id", "conversation_id")
#: argument names tried, in order, for the user's text of a traceable chain
INPUT_KEYS = ("input", "question", "query", "user_input", "message", "text", "prompt", "messages")
#: output keys tried, in order, for the bot's text of a traceable chain
OUTPUT_KEYS = ("output", "answer", "response", "bot_response", "text", "result", "content", "generation", "messages")

#: fields requested from the v2 query (omitting ``selects`` returns only ids)
V2_SELECTS = [
    "ID", "NAME", "RUN_TYPE", "STATUS", "START_TIME", "END_TIME", "INPUTS", "OUTPUTS", "ERROR",
    "EXTRA", "METADATA", "TAGS", "PARENT_RUN_IDS", "PROJECT_ID", "TRACE_ID", "THREAD_ID",
    "DOTTED_ORDER", "PROMPT_TOKENS", "COMPLETION_TOKENS", "TOTAL_TOKENS", "PROMPT_COST",
    "COMPLETION_COST", "TOTAL_COST", "FIRST_TOKEN_TIME", "FEEDBACK_STATS", "REFERENCE_EXAMPLE_ID",
]  # fmt: skip

_FEEDBACK_NAMESPACE = uuid.UUID("6f0d3c1e-9b57-5d1a-8a43-2f1c7e6b9a10")


class LangSmithNotConfigured(RuntimeError):
    """No API key in the environment: LangSmith is not reached (the toolkit stays offline)."""


# --------------------------------------------------------------------------------------------
# client and key handling
# --------------------------------------------------------------------------------------------


def _api_key() -> str | None:
    key = os.environ.get(API_KEY_ENV)
    return key.strip() if key and key.strip() else None


def redact(text: Any) -> str:
    """``text`` with the API key (and the client's masked form of it) replaced by ``***``.

    Examples
    --------
    >>> import os; os.environ["LANGSMITH_API_KEY"] = "lsv2_secret_value_42"
    >>> redact("failed with key lsv2_secret_value_42 (lsv2_*************42)")
    'failed with key *** (***)'
    >>> del os.environ["LANGSMITH_API_KEY"]
    """
    out = str(text)
    key = _api_key()
    if key:
        out = out.replace(key, "***")
        if len(key) > 7:
            masked = key[:5] + "*" * (len(key) - 7) + key[-2:]
            out = out.replace(masked, "***")
    return out


def make_client(endpoint: str | None = None, *, timeout_ms: int | None = None, **kwargs: Any):
    """A ``langsmith.Client`` for ``endpoint`` with the key from ``LANGSMITH_API_KEY``.

    Background batching is off (``auto_batch_tracing=False``): the toolkit only reads runs and
    writes feedback, synchronously, so nothing is left in a queue at exit.

    Parameters
    ----------
    endpoint : str, optional
        API URL (``https://api.smith.langchain.com``, or a self-hosted ``https://host/api/v1``).
        Defaults to ``LANGSMITH_ENDPOINT``, then the client's default.
    timeout_ms : int, optional
        Request timeout.
    **kwargs
        Passed to ``langsmith.Client`` (never an ``api_key``: the key comes from the environment).

    Raises
    ------
    LangSmithNotConfigured
        When ``LANGSMITH_API_KEY`` is not set.

    Examples
    --------
    >>> import os; os.environ.pop("LANGSMITH_API_KEY", None)  # doctest: +ELLIPSIS
    ...
    >>> try:
    ...     make_client("http://127.0.0.1:9")
    ... except LangSmithNotConfigured as exc:
    ...     print(str(exc)[:30])
    LANGSMITH_API_KEY is not set: 
    """
    if "api_key" in kwargs:
        raise TypeError("make_client takes no api_key: set the LANGSMITH_API_KEY environment variable")
    key = _api_key()
    if key is None:
        raise LangSmithNotConfigured(
            f"{API_KEY_ENV} is not set: set it (and --endpoint or {ENDPOINT_ENV}) to reach LangSmith; "
            "saved runs (JSONL) can be analysed offline with read_runs()/runs_to_log()"
        )
    from langsmith import Client

    url = endpoint or os.environ.get(ENDPOINT_ENV) or None
    opts: dict[str, Any] = {"api_key": key, "auto_batch_tracing": False, **kwargs}
    if "tracing_sampling_rate" not in opts and _accepts(Client.__init__, "tracing_sampling_rate"):
        # a sampling rate from the environment (LANGSMITH_TRACING_SAMPLING_RATE) would silently
        # drop feedback on unsampled traces
        opts["tracing_sampling_rate"] = 1.0
    if url:
        opts["api_url"] = url
    if timeout_ms is not None:
        opts["timeout_ms"] = timeout_ms
    return Client(**opts)


# --------------------------------------------------------------------------------------------
# pull
# --------------------------------------------------------------------------------------------


def _as_datetime(value: Any, name: str) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        return _dt.datetime.now(_dt.timezone.utc) - value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
        if m:
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
            return _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(**{unit: float(m.group(1))})
    d = parse_time(value)
    if d is None:
        raise ValueError(f"{name} must be an ISO 8601 time, a datetime or a duration like '7d' or '12h'; got {value!r}")
    return d


def _choose_backend(client: Any, backend: str) -> str:
    """'v2' when the client has the v2 query and the server serves it, else 'v1' (list_runs)."""
    if backend not in ("auto", "v1", "v2"):
        raise ValueError(f"backend must be 'auto', 'v1' or 'v2', not {backend!r}")
    has_v2 = callable(getattr(client, "_get_langsmith_api_sync", None))
    if backend == "v2":
        if not has_v2:
            raise ValueError("the installed langsmith client has no v2 runs query; use backend='v1'")
        return "v2"
    if backend == "v1" or not has_v2:
        return "v1"
    info = client.info
    flags = getattr(info, "instance_flags", None) or {}
    ch = bool(flags.get("ch_query_enabled", True))
    sdb = bool(flags.get("sdb_query_enabled", False))
    # the same rule the client applies for its own reads: the v1 backend when it is the only one
    if ch and not sdb:
        return "v1"
    return "v2"


def pull_runs(
    project: str,
    *,
    client: Any = None,
    endpoint: str | None = None,
    since: Any = None,
    until: Any = None,
    runs: str = "root",
    run_type: str | None = None,
    filter: str | None = None,
    limit: int | None = None,
    backend: str = "auto",
    page_size: int = 100,
) -> list[dict]:
    """Fetch a project's runs from LangSmith as plain dicts (see :func:`normalise_run`).

    Parameters
    ----------
    project : str
        Project (tracing session) name.
    client : langsmith.Client, optional
        Defaults to :func:`make_client` (``endpoint`` and the ``LANGSMITH_API_KEY`` variable).
    endpoint : str, optional
        API URL when ``client`` is not given.
    since, until : datetime, ISO text or duration ("7d", "12h"), optional
        Time window on the runs' start time. ``until`` defaults to now.
    runs : {"root", "llm", "all"}
        Root runs (one per trace: the usual "one turn per request"), LLM runs, or all runs.
    run_type : str, optional
        Restrict to a run type (``"chain"``, ``"llm"``, ...); overrides ``runs="llm"``.
    filter : str, optional
        A LangSmith filter expression, e.g. ``'has(tags, "production")'``.
    limit : int, optional
        Stop after this many runs.
    backend : {"auto", "v1", "v2"}
        Which query API: ``auto`` follows the server's ``/info`` flags and the installed client.
    page_size : int
        Runs per page (v2 query).

    Returns
    -------
    list of dict
        JSON-safe runs, oldest first as the server returns them.

    Examples
    --------
    >>> runs = pull_runs("support-bot", since="7d")  # doctest: +SKIP
    """
    if runs not in ("root", "llm", "all"):
        raise ValueError(f"runs must be 'root', 'llm' or 'all', not {runs!r}")
    start = _as_datetime(since, "since")
    end = _as_datetime(until, "until")
    is_root = True if runs == "root" else None
    rtype = run_type or ("llm" if runs == "llm" else None)
    client = client or make_client(endpoint)
    which = _choose_backend(client, backend)
    out: list[dict] = []
    try:
        project_obj = client.read_project(project_name=project)
        if which == "v2":
            now = _dt.datetime.now(_dt.timezone.utc)
            kwargs: dict[str, Any] = {
                "project_ids": [str(project_obj.id)],
                # the v2 query defaults to the last day: bound the window to the project
                "min_start_time": start or project_obj.start_time,
                "max_start_time": end or now,
                "selects": V2_SELECTS,
                "page_size": int(page_size),
            }
            if is_root is not None:
                kwargs["is_root"] = is_root
            if rtype:
                kwargs["run_type"] = rtype.upper()
            if filter:
                kwargs["filter"] = filter
            pager = client._get_langsmith_api_sync().runs.query_v2(**kwargs)
            for run in pager:
                out.append(normalise_run(run))
                if limit is not None and len(out) >= limit:
                    break
        else:
            filters = [filter] if filter else []
            if end is not None:
                filters.append(f'lt(start_time, "{end.isoformat()}")')
            combined = filters[0] if len(filters) == 1 else (f"and({', '.join(filters)})" if filters else None)
            with warnings.catch_warnings():
                # list_runs is deprecated in favour of the v2 query but still served (v1 backend)
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.filterwarnings("ignore", message=".*list_runs.*")
                it = client.list_runs(
                    project_id=project_obj.id,
                    is_root=is_root,
                    run_type=rtype,
                    start_time=start,
                    filter=combined,
                    limit=limit,
                )
                for run in it:
                    out.append(normalise_run(run))
                    if limit is not None and len(out) >= limit:
                        break
    except LangSmithNotConfigured:
        raise
    except Exception as exc:  # the client's messages may carry a masked key: redact
        raise RuntimeError(f"LangSmith pull of project {project!r} failed: {redact(exc)}") from None
    logger.info("pulled %d runs of project %r (%s query)", len(out), project, which)
    return out


def normalise_run(run: Any) -> dict:
    """One run as a JSON-safe dict in the v1 shape, whichever API it came from.

    v2 fields are mapped: ``project_id`` -> ``session_id``, top-level ``metadata`` -> merged into
    ``extra.metadata``, ``parent_run_ids[-1]`` -> ``parent_run_id``, upper-case ``run_type`` and
    ``status`` lower-cased; ``thread_id`` is kept.

    Examples
    --------
    >>> normalise_run({"id": "r1", "run_type": "LLM", "status": "SUCCESS", "project_id": "p",
    ...                "metadata": {"thread_id": "t"}})["extra"]
    {'metadata': {'thread_id': 't'}}
    """
    if hasattr(run, "model_dump"):
        d = run.model_dump()
    elif isinstance(run, Mapping):
        d = dict(run)
    elif callable(getattr(run, "dict", None)):  # older clients: pydantic v1 models
        d = run.dict()
    else:
        raise TypeError(f"a run must be a dict or a langsmith Run, not {type(run).__name__}")
    d.pop("attachments", None)
    d.pop("child_runs", None)
    if d.get("run_type"):
        d["run_type"] = str(d["run_type"]).lower()
    if d.get("status"):
        d["status"] = str(d["status"]).lower()
    if not d.get("session_id") and d.get("project_id"):
        d["session_id"] = d["project_id"]
    d.pop("project_id", None)
    extra = dict(d.get("extra") or {})
    meta = {**(extra.get("metadata") or {}), **(d.pop("metadata", None) or {})}
    if meta:
        extra["metadata"] = meta
    d["extra"] = extra
    if not d.get("parent_run_id") and d.get("parent_run_ids"):
        d["parent_run_id"] = d["parent_run_ids"][-1]
    return {k: v for k, v in jsonable(d).items() if v is not None or k in ("outputs", "error", "end_time")}


def save_runs(runs: Iterable[Mapping], path: str | os.PathLike) -> Path:
    """Write runs as JSON Lines (one run per line), atomically.

    Examples
    --------
    >>> import tempfile
    >>> p = save_runs([{"id": "r1", "name": "x"}], tempfile.mkdtemp() + "/runs.jsonl")
    >>> read_runs(p)
    [{'id': 'r1', 'name': 'x'}]
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for run in runs:
            fh.write(json.dumps(jsonable(run), ensure_ascii=False, sort_keys=True))
            fh.write("\n")
    os.replace(tmp, path)
    return path


def read_runs(path: str | os.PathLike) -> list[dict]:
    """Read runs saved by :func:`save_runs` (or any JSONL of run dicts; a JSON list also works).

    Raises
    ------
    ValueError
        Naming the file and line of text that is not JSON.

    Examples
    --------
    >>> runs = read_runs("runs.jsonl")  # doctest: +SKIP
    >>> mapped = runs_to_log(runs)  # doctest: +SKIP
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        return [dict(r) for r in json.loads(text)]
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {i} is not JSON ({exc.msg}): {line[:80]!r}") from None
    return out


def is_runs_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a JSONL file of LangSmith runs (not a table of turns).

    Looks at the first non-empty line only: a JSON object with ``run_type`` and ``inputs`` and no
    ``conversation_id``.

    Examples
    --------
    >>> import tempfile
    >>> p = save_runs([{"id": "r1", "run_type": "llm", "inputs": {}}], tempfile.mkdtemp() + "/runs.jsonl")
    >>> is_runs_file(p)
    True
    """
    path = Path(path)
    if not path.is_file() or path.suffix.lower() not in (".jsonl", ".ndjson", ".json"):
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    first = json.loads(line)
                    return isinstance(first, dict) and "run_type" in first and "inputs" in first and "conversation_id" not in first
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return False


# --------------------------------------------------------------------------------------------
# mapping runs to turns
# --------------------------------------------------------------------------------------------


@dataclass
class MappedRuns:
    """The conversation log made from runs, with the report of what was kept and skipped."""

    log: Any
    report: MappingReport

    def __repr__(self) -> str:
        return f"MappedRuns({self.report})"


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
        gens = outputs["generations"]
        first = gens[0] if isinstance(gens, list) and gens else None
        if isinstance(first, list):
            first = first[0] if first else None
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


def _first(*values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    return None


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
    gen_msg = None
    gens = outputs.get("generations")
    if isinstance(gens, list) and gens:
        g = gens[0][0] if isinstance(gens[0], list) and gens[0] else gens[0]
        gen_msg = _dig(g, "message", "kwargs", "response_metadata", "model_name")
    model = _first(
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
    gens = outputs.get("generations")
    if isinstance(gens, list) and gens:
        g = gens[0][0] if isinstance(gens[0], list) and gens[0] else gens[0]
        candidates.append(_dig(g, "message", "kwargs", "usage_metadata"))
        candidates.append(_dig(g, "message", "kwargs", "response_metadata", "token_usage"))
    for u in candidates:
        if isinstance(u, Mapping):
            p = _first(u.get("input_tokens"), u.get("prompt_tokens"))
            c = _first(u.get("output_tokens"), u.get("completion_tokens"))
            if p is not None or c is not None:
                return _int(p), _int(c)
    return None, None


def _int(x: Any) -> int | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return int(v) if math.isfinite(v) and v >= 0 else None


def _float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _str_or_none(v: Any) -> str | None:
    return None if v is None else str(v)


def _variant_of(run: Mapping, meta: Mapping) -> str | None:
    if meta.get("variant") not in (None, ""):
        return str(meta["variant"])
    for tag in run.get("tags") or []:
        if isinstance(tag, str) and tag.lower().startswith("variant:"):
            value = tag.split(":", 1)[1].strip()
            if value:
                return value
    return None


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
    from toolkit.sources.prices import estimate_cost, load_prices

    if isinstance(runs, (str, os.PathLike)):
        runs = read_runs(runs)
    runs = [normalise_run(r) if isinstance(r, Mapping) or hasattr(r, "model_dump") or hasattr(r, "dict") else r for r in runs]
    table = load_prices(prices) if prices is not None else None
    in_keys = [input_key] if isinstance(input_key, str) else list(input_key or INPUT_KEYS)
    out_keys = [output_key] if isinstance(output_key, str) else list(output_key or OUTPUT_KEYS)
    report = MappingReport(n_records=len(runs))

    root_traces = set()
    child_models: dict[str, str] = {}  # trace -> model of its first LLM child run
    if one_per_trace:
        for r in runs:
            if isinstance(r, Mapping) and r.get("id") and not r.get("parent_run_id") and (r.get("trace_id") in (None, r.get("id"))):
                root_traces.add(str(r.get("trace_id") or r.get("id")))
            elif isinstance(r, Mapping) and r.get("parent_run_id") and (r.get("run_type") or "").lower() == "llm":
                m = _model_of(r, _metadata(r))
                if m is not None:
                    child_models.setdefault(str(r.get("trace_id")), m)

    records = []
    for r in runs:
        if not isinstance(r, Mapping):
            report.add(None, "invalid_record", f"not a run: {type(r).__name__}")
            continue
        rid = r.get("id")
        start = parse_time(r.get("start_time"))
        if not rid or start is None:
            report.add(rid, "invalid_record", "a run needs an id and a start_time")
            continue
        trace = str(r.get("trace_id") or rid)
        if one_per_trace and r.get("parent_run_id") and trace in root_traces:
            report.add(rid, "non_root_in_trace", f"child of trace {trace}, whose root run is mapped")
            continue
        error = _error_text(r.get("error"))
        if error is None and str(r.get("status") or "").lower() == "error":
            error = "error"
        outputs = r.get("outputs")
        if error is None and (outputs is None or outputs == {}):
            report.add(rid, "missing_outputs", f"status={r.get('status')!r}, end_time={r.get('end_time')!r}")
            continue
        shape = detect_shape(r)
        if shape is None:
            report.add(rid, "unknown_shape", "no inputs and no outputs")
            continue
        user_text = _input_text(r, shape, in_keys)
        bot_text = _output_text(r, shape, out_keys) if outputs else None
        if user_text is None or (bot_text is None and error is None):
            ins = sorted((r.get("inputs") or {}).keys()) if isinstance(r.get("inputs"), Mapping) else type(r.get("inputs")).__name__
            outs = sorted(outputs.keys()) if isinstance(outputs, Mapping) else type(outputs).__name__
            missing = "user text" if user_text is None else "bot text"
            report.add(rid, "unknown_shape", f"{shape}: no {missing} found (input keys {ins}, output keys {outs})")
            continue
        if error is not None:
            report.add(rid, "error", error[:200])
        meta = _metadata(r)
        conv = _first(*(meta.get(k) for k in conversation_keys), r.get("thread_id"))
        if conv is None:
            conv = trace
            report.add(rid, "no_conversation_id", f"no metadata {'/'.join(conversation_keys)}: trace id used")
        end = parse_time(r.get("end_time"))
        if end is None or end < start:
            report.add(rid, "missing_end_time", f"end_time={r.get('end_time')!r}: no latency (an unfinished run)")
            continue
        latency = (end - start).total_seconds()
        model = _model_of(r, meta) or child_models.get(trace)
        pt, ct = _int(r.get("prompt_tokens")), _int(r.get("completion_tokens"))
        if not pt and not ct:
            up, uc = _usage_of(r)
            if up is not None or uc is not None:
                pt, ct = up, uc
        cost = _float(r.get("total_cost"))
        if cost is None and (r.get("prompt_cost") is not None or r.get("completion_cost") is not None):
            cost = (_float(r.get("prompt_cost")) or 0.0) + (_float(r.get("completion_cost")) or 0.0)
        cost_source = "server" if cost is not None else None
        if (cost is None or cost == 0.0) and (pt or ct):
            est = estimate_cost(model, pt, ct, table)
            if not math.isnan(est):
                cost, cost_source = est, "price_table"
        if cost is None:
            report.add(rid, "no_cost", f"no cost from the server and no price for model {model!r}")
        report.shapes[shape] = report.shapes.get(shape, 0) + 1
        records.append(
            {
                "conversation_id": str(conv),
                "timestamp": end.isoformat(),
                "user_id": _str_or_none(_first(meta.get("user_id"), meta.get("user"))),
                "bot_id": _str_or_none(_first(meta.get("bot_id"), bot_id)),
                "variant": _variant_of(r, meta),
                "model": model,
                "user_input": user_text,
                "bot_response": bot_text,
                "response_time_s": latency,
                "prompt_tokens": pt,
                "completion_tokens": ct,
                "cost_usd": cost,
                "error": error,
                "run_id": str(rid),
                "trace_id": trace,
                "project_id": None if r.get("session_id") is None else str(r.get("session_id")),
                "run_name": r.get("name"),
                "shape": shape,
                "cost_source": cost_source,
                "start_time": start.isoformat(),
                "record_id": str(rid),
            }
        )
    log = records_to_log(records, report, source="langsmith runs")
    for name in ("project_id", "run_name", "shape", "cost_source", "run_id", "trace_id"):
        log.turns[name] = log.turns[name].astype("string")
    return MappedRuns(log=log, report=report)


def pull(
    project: str,
    *,
    out: str | os.PathLike | None = None,
    input_key: str | Sequence[str] | None = None,
    output_key: str | Sequence[str] | None = None,
    prices: Any = None,
    **kwargs: Any,
) -> MappedRuns:
    """Pull a project's runs, save them to ``out`` (JSONL) and map them to a log.

    ``kwargs`` go to :func:`pull_runs`. The log's ``bot_id`` defaults to the project name.

    Examples
    --------
    >>> mapped = pull("support-bot", since="7d", out="runs.jsonl")  # doctest: +SKIP
    >>> mapped.report.counts  # doctest: +SKIP
    """
    runs = pull_runs(project, **kwargs)
    if out is not None:
        save_runs(runs, out)
    return runs_to_log(runs, input_key=input_key, output_key=output_key, bot_id=project, prices=prices)


# --------------------------------------------------------------------------------------------
# push
# --------------------------------------------------------------------------------------------


def feedback_id(run_id: Any, key: str) -> str:
    """The deterministic feedback id of (run, key): pushing twice targets the same feedback.

    Examples
    --------
    >>> feedback_id("00000000-0000-0000-0000-000000000001", "quality") == feedback_id(
    ...     "00000000-0000-0000-0000-000000000001", "quality")
    True
    """
    return str(uuid.uuid5(_FEEDBACK_NAMESPACE, f"{str(run_id).lower()}|{key}"))


@dataclass
class PushReport:
    """What a push did (or, in a dry run, would do).

    Attributes
    ----------
    key : str
    dry_run : bool
    counts : dict
        Rows per action: ``create``, ``update`` (score changed), ``unchanged`` (already there
        with the same score), ``skip_missing_score``, ``skip_missing_run_id``,
        ``skip_duplicate_run`` and ``failed``.
    plan : DataFrame
        One row per turn: run_id, trace_id, session_id, feedback_id, key, score, comment,
        action, detail.
    checked_existing : bool
        Whether existing feedback was read from the server (False in an offline dry run).
    """

    key: str
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    plan: Any = None
    checked_existing: bool = True

    @property
    def n_failed(self) -> int:
        return self.counts.get("failed", 0)

    def to_dict(self) -> dict:
        return {"key": self.key, "dry_run": self.dry_run, "checked_existing": self.checked_existing, "counts": dict(sorted(self.counts.items()))}

    def __str__(self) -> str:
        verb = "would push" if self.dry_run else "pushed"
        return f"{verb} feedback {self.key!r}: " + ", ".join(f"{a}={n}" for a, n in sorted(self.counts.items()))


def _turns_of(data: Any):
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "turns"):
        return data.turns
    raise TypeError(f"push_feedback needs a ConversationLog or a turns DataFrame, not {type(data).__name__}")


def push_feedback(
    data: Any,
    key: str = "quality",
    *,
    column: str | None = None,
    comment_column: str | None = None,
    client: Any = None,
    endpoint: str | None = None,
    project: str | None = None,
    batch_size: int = 100,
    dry_run: bool = False,
    update: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> PushReport:
    """Write a per-turn score back to LangSmith as feedback on the runs the turns came from.

    Parameters
    ----------
    data : ConversationLog or DataFrame
        Turns with a ``run_id`` column (as made by :func:`runs_to_log`) and the score column.
        ``trace_id`` and ``project_id`` columns are used when present.
    key : str
        Feedback key (``"quality"``).
    column : str, optional
        Column holding the score; defaults to ``key``. Must be numeric (or boolean).
    comment_column : str, optional
        Column whose text becomes the feedback comment (e.g. ``"level"``).
    client, endpoint
        As in :func:`pull_runs`. In a dry run without ``LANGSMITH_API_KEY`` nothing is read
        from the server and every row is planned as ``create``.
    project : str, optional
        Project name, to find its id (the feedback's ``session_id``) when the turns have no
        ``project_id``.
    batch_size : int
        Runs per batch: one read of existing feedback per batch, then its writes.
    dry_run : bool
        Plan only: no feedback is created or updated.
    update : bool
        Update the score of feedback this toolkit created earlier when it changed (else leave it).
    progress : callable(done, total), optional
        Called after each batch.

    Returns
    -------
    PushReport

    Raises
    ------
    ValueError
        Naming the column when ``run_id`` or the score column is missing or not numeric.

    Examples
    --------
    >>> import pandas as pd
    >>> turns = pd.DataFrame({"run_id": ["00000000-0000-0000-0000-000000000001"], "quality": [0.8]})
    >>> import os; os.environ.pop("LANGSMITH_API_KEY", None)  # doctest: +ELLIPSIS
    ...
    >>> rep = push_feedback(turns, "quality", dry_run=True)
    >>> rep.counts, rep.checked_existing
    ({'create': 1}, False)
    """
    import pandas as pd

    if not isinstance(key, str) or not key.strip():
        raise ValueError("key must be a non-empty feedback key such as 'quality'")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    turns = _turns_of(data)
    column = column or key
    if "run_id" not in turns.columns:
        raise ValueError(
            "turns.run_id is required to push feedback (it says which run a score belongs to); "
            "logs made by toolkit.sources.langsmith.runs_to_log carry it"
        )
    if column not in turns.columns:
        raise ValueError(f"turns.{column} is missing: the score to push (columns: {', '.join(map(str, turns.columns[:30]))})")
    raw = turns[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        scores = raw.astype("Float64").astype("float64")
    else:
        scores = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = scores.isna() & raw.notna()
        if bad.any():
            rows = ", ".join(f"row {i} ({raw[i]!r})" for i in list(raw.index[bad])[:5])
            raise ValueError(f"turns.{column} must be numeric to push as a feedback score: {rows}")
    comments = turns[comment_column].astype("string") if comment_column else None
    if comment_column and comment_column not in turns.columns:
        raise ValueError(f"turns.{comment_column} (comment column) is missing")

    plan = pd.DataFrame(
        {
            "run_id": turns["run_id"].astype("string").str.strip().str.lower(),
            "trace_id": turns["trace_id"].astype("string") if "trace_id" in turns.columns else pd.array([pd.NA] * len(turns), dtype="string"),
            "session_id": turns["project_id"].astype("string") if "project_id" in turns.columns else pd.array([pd.NA] * len(turns), dtype="string"),
            "key": key,
            "score": scores.round(4).to_numpy(),
            "comment": comments.to_numpy() if comments is not None else pd.array([pd.NA] * len(turns), dtype="string"),
        },
        index=turns.index,
    )
    plan["feedback_id"] = [feedback_id(r, key) if isinstance(r, str) and r else None for r in plan["run_id"]]
    plan["action"] = "create"
    plan["detail"] = ""
    plan.loc[plan["run_id"].isna() | plan["run_id"].eq("").fillna(True), "action"] = "skip_missing_run_id"
    plan.loc[(plan["action"] == "create") & plan["score"].isna(), "action"] = "skip_missing_score"
    dup = plan["run_id"].duplicated(keep="first") & (plan["action"] == "create")
    plan.loc[dup, "action"] = "skip_duplicate_run"
    plan.loc[dup, "detail"] = "another turn with this run_id comes first"

    checked = True
    if client is None:
        if dry_run and _api_key() is None:
            checked = False
        else:
            client = make_client(endpoint)

    todo = plan.index[plan["action"] == "create"]
    if client is not None and len(todo):
        if plan.loc[todo, "session_id"].isna().any() and project:
            try:
                pid = str(client.read_project(project_name=project).id)
            except Exception as exc:
                raise RuntimeError(f"reading project {project!r} failed: {redact(exc)}") from None
            plan.loc[todo, "session_id"] = plan.loc[todo, "session_id"].fillna(pid)
        done = 0
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            existing = _existing_feedback(client, list(plan.loc[batch, "run_id"]), key)
            for i in batch:
                fid = plan.at[i, "feedback_id"]
                if fid in existing:
                    old = existing[fid]
                    if old is not None and round(float(old), 4) == float(plan.at[i, "score"]):
                        plan.at[i, "action"] = "unchanged"
                    elif update:
                        plan.at[i, "action"] = "update"
                        plan.at[i, "detail"] = f"score {old} -> {plan.at[i, 'score']}"
                    else:
                        plan.at[i, "action"] = "unchanged"
                        plan.at[i, "detail"] = f"exists with score {old}; update=False"
            if not dry_run:
                for i in batch:
                    action = plan.at[i, "action"]
                    if action not in ("create", "update"):
                        continue
                    try:
                        _write_feedback(client, plan.loc[i], action)
                    except Exception as exc:
                        plan.at[i, "action"] = "failed"
                        plan.at[i, "detail"] = redact(exc)[:300]
                        logger.warning("feedback %s on run %s failed: %s", key, plan.at[i, "run_id"], redact(exc)[:200])
            done += len(batch)
            if progress is not None:
                progress(done, len(todo))
        if not dry_run and getattr(client, "tracing_queue", None) is not None:
            client.flush()  # a caller's batching client queues feedback that carries a trace id
    counts = plan["action"].value_counts().to_dict()
    return PushReport(key=key, dry_run=dry_run, counts={str(k): int(v) for k, v in counts.items()}, plan=plan.reset_index(drop=True), checked_existing=checked)


def _existing_feedback(client: Any, run_ids: list[str], key: str) -> dict[str, float | None]:
    """{feedback_id: score} of the feedback with ``key`` already on these runs."""
    try:
        found = client.list_feedback(run_ids=run_ids, feedback_key=[key])
        return {str(fb.id): fb.score for fb in found}
    except Exception as exc:
        raise RuntimeError(f"reading existing feedback failed: {redact(exc)}") from None


def _accepts(fn: Callable, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _write_feedback(client: Any, row: Any, action: str) -> None:
    import pandas as pd

    from toolkit import __version__

    score = float(row["score"])
    comment = None if pd.isna(row["comment"]) else str(row["comment"])
    if action == "update":
        client.update_feedback(row["feedback_id"], score=score, comment=comment)
        return
    kwargs: dict[str, Any] = {
        "score": score,
        "comment": comment,
        "feedback_id": row["feedback_id"],
        "feedback_source_type": "model",
        "source_info": {"source": "chatbot-toolkit", "version": __version__},
    }
    if not pd.isna(row["session_id"]) and _accepts(client.create_feedback, "session_id"):
        kwargs["session_id"] = str(row["session_id"])  # clients before ~0.4 take no session_id
    if not pd.isna(row["trace_id"]):
        kwargs["trace_id"] = str(row["trace_id"])
    client.create_feedback(str(row["run_id"]), row["key"], **kwargs)
