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
    :func:`runs_to_log` maps a LangChain chat-model run, an OpenAI-wrapper run or a
    ``@traceable`` chain to one turn each (:mod:`toolkit.sources.langsmith_map`: conversation id,
    variant, latency, tokens, cost, model, error); runs that cannot be mapped are counted in a
    :class:`~toolkit.sources._mapping.MappingReport`, never dropped silently and never fatal.
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

The mapping lives in :mod:`toolkit.sources.langsmith_map` and the runs files in
:mod:`toolkit.sources.langsmith_runs`; every name is importable from here.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.sources._common import parse_time, time_ago
# the mapping and the runs files, re-exported: every name stays importable from here
from toolkit.sources.langsmith_map import (  # noqa: F401
    CONVERSATION_KEYS,
    INPUT_KEYS,
    OUTPUT_KEYS,
    MappedRuns,
    detect_shape,
    runs_to_log,
)
from toolkit.sources.langsmith_runs import is_runs_file, normalise_run, read_runs, save_runs  # noqa: F401
from toolkit.errors import ToolkitError

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


#: fields requested from the v2 query (omitting ``selects`` returns only ids)
V2_SELECTS = [
    "ID", "NAME", "RUN_TYPE", "STATUS", "START_TIME", "END_TIME", "INPUTS", "OUTPUTS", "ERROR",
    "EXTRA", "METADATA", "TAGS", "PARENT_RUN_IDS", "PROJECT_ID", "TRACE_ID", "THREAD_ID",
    "DOTTED_ORDER", "PROMPT_TOKENS", "COMPLETION_TOKENS", "TOTAL_TOKENS", "PROMPT_COST",
    "COMPLETION_COST", "TOTAL_COST", "FIRST_TOKEN_TIME", "FEEDBACK_STATS", "REFERENCE_EXAMPLE_ID",
]  # fmt: skip

_FEEDBACK_NAMESPACE = uuid.UUID("6f0d3c1e-9b57-5d1a-8a43-2f1c7e6b9a10")


class LangSmithNotConfigured(ToolkitError, RuntimeError):
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
    from toolkit._secrets import add_secret, redact as _redact

    add_secret(_api_key())
    return _redact(text)


DEFAULT_TIMEOUT_MS = (5_000, 30_000)


def make_client(endpoint: str | None = None, *, timeout_ms: int | tuple[int, int] | None = None, **kwargs: Any):
    """A ``langsmith.Client`` for ``endpoint`` with the key from ``LANGSMITH_API_KEY``.

    Background batching is off (``auto_batch_tracing=False``): the toolkit only reads runs and
    writes feedback, synchronously, so nothing is left in a queue at exit.

    Parameters
    ----------
    endpoint : str, optional
        API URL (``https://api.smith.langchain.com``, or a self-hosted ``https://host/api/v1``).
        Defaults to ``LANGSMITH_ENDPOINT``, then the client's default.
    timeout_ms : int or (int, int), optional
        Connect and read timeouts in milliseconds (default ``DEFAULT_TIMEOUT_MS``: 5 s to connect,
        30 s per read), with at most one retry: a server that accepts and never answers fails
        within about twice the read timeout.
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
    opts["timeout_ms"] = tuple(timeout_ms) if isinstance(timeout_ms, (tuple, list)) else (
        (int(timeout_ms), int(timeout_ms)) if timeout_ms is not None else DEFAULT_TIMEOUT_MS)
    if "retry_config" not in opts:
        from urllib3.util.retry import Retry

        opts["retry_config"] = Retry(total=1, status_forcelist=[429, 502, 503, 504], backoff_factor=0.5,
                                     raise_on_redirect=False, raise_on_status=False)
    from toolkit._secrets import redacting

    with redacting(key):
        return Client(**opts)


# --------------------------------------------------------------------------------------------
# pull
# --------------------------------------------------------------------------------------------


def _as_datetime(value: Any, name: str) -> _dt.datetime | None:
    if value is None:
        return None
    d = time_ago(value) or parse_time(value)
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


def _with_redaction(fn: Callable) -> Callable:
    """Run ``fn`` inside :func:`toolkit._secrets.redacting` with the API key registered."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from toolkit._secrets import redacting

        with redacting(_api_key()):
            return fn(*args, **kwargs)

    return wrapper


@_with_redaction
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
    timeout: float | None = None,
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
    timeout : float, optional
        Connect and read timeout in seconds for a client made here (default 5 s / 30 s).

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
    client = client or make_client(endpoint, timeout_ms=None if timeout is None else int(timeout * 1000))
    which = _choose_backend(client, backend)
    try:
        project_obj = client.read_project(project_name=project)
        query = _query_v2 if which == "v2" else _list_runs_v1
        out = query(client, project_obj, start=start, end=end, is_root=is_root, run_type=rtype,
                    filter=filter, limit=limit, page_size=page_size)
    except LangSmithNotConfigured:
        raise
    except Exception as exc:  # the client's messages may carry a masked key: redact
        raise RuntimeError(f"LangSmith pull of project {project!r} failed: {redact(exc)}") from None
    logger.info("pulled %d runs of project %r (%s query)", len(out), project, which)
    return out


def _take(runs: Iterable, limit: int | None) -> list[dict]:
    """The runs as :func:`normalise_run` dicts, at most ``limit`` of them."""
    out: list[dict] = []
    for run in runs:
        out.append(normalise_run(run))
        if limit is not None and len(out) >= limit:
            break
    return out


def _query_v2(client, project_obj, *, start, end, is_root, run_type, filter, limit, page_size) -> list[dict]:
    """The runs from the v2 query (``POST /api/v2/runs/query``, cursor ``next_cursor``)."""
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
    if run_type:
        kwargs["run_type"] = run_type.upper()
    if filter:
        kwargs["filter"] = filter
    return _take(client._get_langsmith_api_sync().runs.query_v2(**kwargs), limit)


def _list_runs_v1(client, project_obj, *, start, end, is_root, run_type, filter, limit, page_size) -> list[dict]:
    """The runs from ``Client.list_runs`` (``POST /runs/query``, cursor ``cursors.next``)."""
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
            run_type=run_type,
            start_time=start,
            filter=combined,
            limit=limit,
        )
        return _take(it, limit)

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

    def summary_table(self):
        """Turns per action (``create``, ``update``, ``unchanged``, skips, ``failed``)."""
        import pandas as pd

        return pd.DataFrame(sorted(self.counts.items()), columns=["action", "turns"])

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


@_with_redaction
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
    timeout: float | None = None,
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
    scores = _scores(turns, column)
    plan = _plan(turns, key, scores, comment_column)

    checked = True
    if client is None:
        if dry_run and _api_key() is None:
            checked = False
        else:
            client = make_client(endpoint, timeout_ms=None if timeout is None else int(timeout * 1000))

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
            _mark_existing(plan, batch, _existing_feedback(client, list(plan.loc[batch, "run_id"]), key), update)
            if not dry_run:
                _write_batch(client, plan, batch, key)
            done += len(batch)
            if progress is not None:
                progress(done, len(todo))
        if not dry_run and getattr(client, "tracing_queue", None) is not None:
            client.flush()  # a caller's batching client queues feedback that carries a trace id
    counts = plan["action"].value_counts().to_dict()
    return PushReport(key=key, dry_run=dry_run, counts={str(k): int(v) for k, v in counts.items()}, plan=plan.reset_index(drop=True), checked_existing=checked)


def _scores(turns, column: str):
    """The score column as float64 (booleans as 0/1); text that is not a number is an error."""
    import pandas as pd

    if column not in turns.columns:
        raise ValueError(f"turns.{column} is missing: the score to push (columns: {', '.join(map(str, turns.columns[:30]))})")
    raw = turns[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("Float64").astype("float64")
    scores = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = scores.isna() & raw.notna()
    if bad.any():
        rows = ", ".join(f"row {i} ({raw[i]!r})" for i in list(raw.index[bad])[:5])
        raise ValueError(f"turns.{column} must be numeric to push as a feedback score: {rows}")
    return scores


def _plan(turns, key: str, scores, comment_column: str | None):
    """One row per turn: its run, feedback id, score and comment, and the action (create or a skip)."""
    import pandas as pd

    if comment_column and comment_column not in turns.columns:
        raise ToolkitError(f"turns.{comment_column} (comment column) is missing")
    comments = turns[comment_column].astype("string") if comment_column else None

    def missing():
        return pd.array([pd.NA] * len(turns), dtype="string")

    plan = pd.DataFrame(
        {
            "run_id": turns["run_id"].astype("string").str.strip().str.lower(),
            "trace_id": turns["trace_id"].astype("string") if "trace_id" in turns.columns else missing(),
            "session_id": turns["project_id"].astype("string") if "project_id" in turns.columns else missing(),
            "key": key,
            "score": scores.round(4).to_numpy(),
            "comment": comments.to_numpy() if comments is not None else missing(),
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
    return plan


def _mark_existing(plan, batch, existing: dict, update: bool) -> None:
    """Rows of ``batch`` whose feedback exists: ``unchanged``, or ``update`` when the score changed."""
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


def _write_batch(client: Any, plan, batch, key: str) -> None:
    """Create or update the feedback of ``batch``'s rows; a failure is recorded in the plan."""
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
