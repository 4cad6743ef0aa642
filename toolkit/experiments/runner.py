"""Run a prompt experiment: test set x variants x repetitions, against an endpoint or a Python bot.

:func:`run_experiment` sends every (variant, example, repetition) call once, ``concurrency`` at
a time, to an OpenAI-compatible chat endpoint or to a Python callable
``target(example, variant)`` (:mod:`toolkit.experiments.targets`: timeouts, retries, key
redaction, prices). ``example`` is the test-set row as a dict plus
``repetition`` (0-based) and ``seed`` (a per-call seed derived from the run's seed, the variant,
the example and the repetition), so a seeded bot can answer differently per repetition.

Every finished call is stored in the disk cache (:mod:`toolkit.experiments.cache`) the moment it
finishes, so a rerun sends nothing and a killed run, started again, sends only what is missing.
On an interrupt (Ctrl-C) no new call starts; the calls in flight finish (each bounded by its
timeout and retries) and are stored too.
Errors are recorded per call (``error`` column) and never stop the run; only a configuration
error of the endpoint (a 401/403/404, a missing key) stops sending, and the calls not sent are
recorded as such.

The result is an :class:`ExperimentRun` whose ``log`` is an ordinary conversation log (one
conversation of one turn per call, ``conversation_id`` = ``variant/example_id/r<repetition>``,
extra columns ``example_id``, ``repetition``, ``reference``, ``attempts``, ``cached``), so
scoring, judges, clustering and the notebooks read it unchanged.

Examples
--------
>>> import pandas as pd
>>> tests = pd.DataFrame({"example_id": ["q1", "q2"], "input": ["Where is my order?", "Hi"]})
>>> def bot(example, variant):
...     return f"[{variant.name}] you asked: {example['input']}"
>>> run = run_experiment(tests, [Variant("a"), Variant("b")], repetitions=2, target=bot, progress=False)
>>> run.calls.total, run.calls.ok, run.calls.failed
(8, 8, 0)
>>> run.log.turns["conversation_id"].tolist()[:3]
['a/q1/r0', 'a/q1/r1', 'a/q2/r0']
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.experiments.cache import CallCache
from toolkit.experiments.calls import _Call, _plan, _prepare
from toolkit.experiments.spec import LIMITS, Endpoint, Variant
from toolkit.experiments.targets import EndpointTarget, Outcome

__all__ = ["CallStats", "ExperimentRun", "run_experiment"]

#: log columns an extra test-set column must not overwrite (it is kept as ``example_<name>``)
_LOG_COLUMNS = ("conversation_id", "turn", "timestamp", "user_id", "bot_id", "variant", "model",
                "user_input", "bot_response", "response_time_s", "prompt_tokens", "completion_tokens",
                "cost_usd", "error", "example_id", "repetition", "attempts", "cached")


@dataclass
class CallStats:
    """Where every call of a run went: ``total == cached + ok + failed + skipped``.

    ``cached``: answered from the disk cache (nothing sent); ``ok`` / ``failed``: calls made in
    this run that got an answer / ended in an error (after retries; a call refused before
    sending, e.g. a prompt over the size limit, is failed with 0 attempts); ``skipped``: not sent
    because a configuration error (bad key, unknown model) stopped the run; ``attempts``:
    requests made (``sent`` calls plus ``retried`` retries); ``cost_usd``, tokens: of this run's
    requests (NaN cost when a model has no known price).
    """

    total: int = 0
    cached: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    sent: int = 0
    retried: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["cost_usd"] = None if math.isnan(self.cost_usd) else round(self.cost_usd, 8)
        return d

    def summary_table(self) -> pd.DataFrame:
        """One row with the counts."""
        return pd.DataFrame([self.to_dict()])

    def check(self) -> None:
        """Raise AssertionError when a call is unaccounted for (used by the runner and tests)."""
        assert self.total == self.cached + self.ok + self.failed + self.skipped, self
        assert self.attempts == self.sent + self.retried, self


@dataclass
class ExperimentRun:
    """The result of :func:`run_experiment`.

    Attributes
    ----------
    log : ConversationLog
        One turn per call (see the module docstring for its columns).
    calls : CallStats
        How every call was served.
    variants : tuple of Variant
    test_set : DataFrame
    repetitions : int
    settings : dict
        Target or endpoint (without the key), concurrency, timeout, retries, seed, cache folder.
    """

    log: Any
    calls: CallStats
    variants: tuple
    test_set: pd.DataFrame
    repetitions: int
    settings: dict = field(default_factory=dict)

    def summary_table(self) -> pd.DataFrame:
        """Per variant: calls, errors, error rate, latency (mean, median, p95), tokens, cost, cached."""
        t = self.log.turns
        g = t.groupby("variant", sort=False, observed=True)
        rt = t["response_time_s"].where(t["error"].isna())
        out = pd.DataFrame({
            "calls": g.size(),
            "errors": g["error"].apply(lambda s: int(s.notna().sum())),
            "cached": g["cached"].sum().astype(int),
            "mean_response_time_s": rt.groupby(t["variant"], sort=False).mean(),
            "median_response_time_s": rt.groupby(t["variant"], sort=False).median(),
            "p95_response_time_s": rt.groupby(t["variant"], sort=False).quantile(0.95),
            "prompt_tokens": g["prompt_tokens"].sum(min_count=1).astype("Int64"),
            "completion_tokens": g["completion_tokens"].sum(min_count=1).astype("Int64"),
            "cost_usd": g["cost_usd"].sum(min_count=1),
        })
        out.insert(2, "error_rate", out["errors"] / out["calls"])
        order = [v.name for v in self.variants]
        out = out.reindex([v for v in order if v in out.index])
        out.index.name = "variant"
        return out.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """Plain values: settings, variants, counts and the per-variant summary (never the key)."""
        from toolkit._files import to_jsonable

        return to_jsonable({"settings": self.settings, "repetitions": self.repetitions,
                            "n_examples": int(len(self.test_set)),
                            "variants": [v.to_dict() for v in self.variants],
                            "calls": self.calls.to_dict(),
                            "summary": self.summary_table().to_dict(orient="records")})

    def write(self, path: str | os.PathLike, *, format: str | None = None) -> Path:
        """Write the log (:func:`toolkit.io.save`: a ``.parquet``/``.csv``/``.jsonl`` file, or a
        folder) and ``<stem>.experiment.json`` (or ``experiment.json`` in the folder) with
        :meth:`to_dict`; every file is written atomically. Returns the log's path.
        """
        import json

        from toolkit._files import atomic_write_text
        from toolkit.io import FORMATS, save

        from toolkit._files import check_output_file

        path = Path(path).expanduser()
        if path.suffix and not path.is_dir():
            check_output_file(path, suffixes=(".parquet", ".csv", ".jsonl"), option="path")
        out = save(self.log, path, format=format)
        is_file = path.suffix.lower() in FORMATS and not path.is_dir()
        meta = path.with_name(f"{path.stem}.experiment.json") if is_file else path / "experiment.json"
        atomic_write_text(meta, json.dumps(self.to_dict(), indent=2, ensure_ascii=False))
        return out


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------


def run_experiment(test_set: Any, variants: Sequence[Variant], *, repetitions: int = 3,
                   target: Callable[[dict, Variant], Any] | None = None,
                   endpoint: Endpoint | Mapping[str, Any] | None = None, cache_dir: str | os.PathLike | None = None,
                   concurrency: int = 4, timeout_s: float = 30.0, retries: int = 3, progress: bool = True,
                   seed: int = 0, max_calls: int = 20_000, backoff_s: float = 0.5, max_backoff_s: float = 20.0,
                   name: str = "experiment", prices: Mapping[str, tuple[float, float]] | None = None,
                   stop_after_failures: int | None = 50) -> ExperimentRun:
    """Send every example to every variant ``repetitions`` times and collect a conversation log.

    Parameters
    ----------
    test_set : DataFrame or path
        Examples with ``example_id`` and ``input`` (``reference`` and other columns kept), or
        anything :func:`read_test_set` reads.
    variants : list of Variant
        The arms (names unique). Mappings with the same fields are accepted.
    repetitions : int
        Calls per (variant, example), 1-100 (default 3).
    target : callable, optional
        ``target(example, variant)`` returning the answer text (or a dict with ``text`` and
        optionally ``prompt_tokens``, ``completion_tokens``, ``cost_usd``); it may raise (the
        error is recorded; ``TimeoutError``, ``ConnectionError`` and exceptions carrying a 429 or
        5xx ``status_code`` are retried). ``example`` holds the row plus ``repetition`` and
        ``seed``. It is called from ``concurrency`` worker threads at once (pass
        ``concurrency=1`` for a bot that is not thread-safe). Exactly one of ``target`` and
        ``endpoint``. The cache knows a callable by its module, name and a hash of its own code
        and of the immutable plain values (text, numbers, tuples) its ``functools.partial``
        arguments or closure hold (editing either re-sends its calls), plus its ``cache_id``
        attribute when it has one: give a configurable bot (a callable object, or one whose
        behaviour lives in other functions or data) a ``cache_id`` that changes with its
        configuration.
    endpoint : Endpoint or mapping, optional
        An OpenAI-compatible chat endpoint: ``base_url``, ``model``, ``api_key_env`` (the NAME of
        the environment variable with the key), ``prices``.
    cache_dir : path, optional
        Disk cache of finished calls (a rerun sends nothing, a killed run resumes). None: no cache.
    concurrency : int
        Calls in flight at once, 1-64.
    timeout_s : float
        Seconds per call attempt (a callable that takes longer is abandoned; an endpoint gets
        this as connect/read timeout and ``2 * timeout_s`` for the whole reply).
    retries : int
        Retries after a 429, a 5xx, a timeout or a dropped connection (0-10), waiting
        ``backoff_s * 2**k`` with jitter (or the server's ``Retry-After``), at most ``max_backoff_s``.
    progress : bool
        Show a progress bar.
    seed : int
        Part of every call's cache key and of the per-call ``seed`` a callable receives: another
        seed draws fresh repetitions.
    max_calls : int
        Refuse a run with more calls than this (default 20,000; at most 200,000).
    name : str
        The log's ``bot_id``.
    prices : mapping, optional
        ``{model: (input, output)}`` USD per million tokens for a callable's token counts.
    stop_after_failures : int or None
        Stop sending after this many calls in a row failed (after their retries), e.g. a server
        that is down (default 50; None: never); the calls not sent are recorded as such. A
        configuration error (401/403/404) stops at once.

    Returns
    -------
    ExperimentRun

    Raises
    ------
    ExperimentSpecError
        A bad argument, named (both or neither of target/endpoint, too many calls, a template
        field the test set lacks, no key for a remote endpoint, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> def flaky(example, variant):
    ...     if example["example_id"] == "2":
    ...         raise ValueError("bot crashed")
    ...     return {"text": "ok", "prompt_tokens": 10, "completion_tokens": 2}
    >>> run = run_experiment(pd.DataFrame({"input": ["a", "b", "c"]}), [Variant("v")],
    ...                      repetitions=1, target=flaky, progress=False)
    >>> run.calls.ok, run.calls.failed, run.log.turns["error"].dropna().tolist()
    (2, 1, ['ValueError: bot crashed'])
    """
    from toolkit._secrets import redacting

    a = _prepare(test_set, variants, repetitions=repetitions, target=target, endpoint=endpoint,
                 concurrency=concurrency, timeout_s=timeout_s, retries=retries, seed=seed, max_calls=max_calls,
                 backoff_s=backoff_s, max_backoff_s=max_backoff_s, prices=prices,
                 stop_after_failures=stop_after_failures)
    tests, variants, caller, endpoint = a["tests"], a["variants"], a["caller"], a["endpoint"]
    repetitions, concurrency, seed = a["repetitions"], a["concurrency"], a["seed"]
    timeout_s, retries, key, stop_after_failures = a["timeout_s"], a["retries"], a["key"], a["stop_after_failures"]
    cache = CallCache(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.remove_stale_temps()  # of writers killed in a write (their calls are sent again)
    settings = {"name": name, "target": ({"kind": "endpoint", **endpoint.to_dict()} if endpoint is not None
                                         else {"kind": "callable", "name": caller.name}),
                "repetitions": repetitions, "concurrency": concurrency, "timeout_s": timeout_s,
                "retries": retries, "seed": seed, "cache_dir": None if cache is None else str(cache.folder)}
    with redacting(key):
        try:
            records, stats = _run_calls(tests, variants, repetitions, caller, cache, concurrency=concurrency,
                                        seed=seed, progress=progress, name=name,
                                        stop_after_failures=stop_after_failures)
        finally:
            if isinstance(caller, EndpointTarget):
                caller.close()
    log = _to_log(records, tests)
    return ExperimentRun(log=log, calls=stats, variants=variants, test_set=tests, repetitions=repetitions,
                         settings=settings)


def _run_calls(tests, variants, repetitions, caller, cache, *, concurrency, seed, progress, name,
               stop_after_failures=None):
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from toolkit._progress import progress_bar

    calls = _plan(tests, variants, repetitions, caller, seed)
    stats = CallStats(total=len(calls))
    records: list[dict | None] = [None] * len(calls)
    todo = []
    for c in calls:
        hit = cache.get(c.key) if cache is not None else None
        if hit is not None:
            records[c.index] = _record(c, hit, cached=True, name=name)
            stats.cached += 1
        else:
            todo.append(c)
    stop = threading.Event()
    stop_reason: list[str] = []
    streak = [0]  # consecutive failed calls
    lock = threading.Lock()

    def work(c: _Call) -> dict:
        if stop.is_set():
            return {"skipped": True}
        prompt_chars = sum(len(m["content"]) for m in c.messages)
        if prompt_chars > LIMITS["prompt_chars"]:
            out = Outcome(None, error=f"the prompt has {prompt_chars:,} characters; the limit is "
                                       f"{LIMITS['prompt_chars']:,} (not sent)")
        else:
            out = caller.call(c.example, c.variant, c.messages)
        with lock:
            streak[0] = streak[0] + 1 if out.error is not None else 0
            why = None
            if out.config_error:
                why = f"a configuration error ({out.error or 'unknown'})"
            elif stop_after_failures is not None and streak[0] >= stop_after_failures:
                why = f"{streak[0]} calls in a row failed (the last: {out.error})"
            if why is not None and not stop_reason:
                stop_reason.append(why)
        if why is not None:
            stop.set()
        rec = {"bot_response": out.text, "response_time_s": max(0.0, float(out.latency)),
               "prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
               "cost_usd": None if math.isnan(out.cost_usd) else out.cost_usd,
               "model": caller.model_of(c.variant), "error": out.error, "attempts": out.attempts,
               "timestamp": pd.Timestamp.now(tz="UTC").isoformat()}
        if cache is not None and out.error is None:
            cache.put(c.key, rec)  # durable before it counts as done
        return rec

    cost_known = True
    with progress_bar(total=len(calls), initial=stats.cached, desc=f"{name}: calls", unit="call",
                      disable=not progress) as bar:
        if todo:
            pool = ThreadPoolExecutor(max_workers=min(concurrency, len(todo)), thread_name_prefix="experiment")
            pending = {}
            it = iter(todo)
            try:
                for c in it:  # keep at most 2 x concurrency calls queued
                    pending[pool.submit(work, c)] = c
                    if len(pending) >= 2 * concurrency:
                        break
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        c = pending.pop(fut)
                        rec = fut.result()
                        if rec.get("skipped"):
                            stats.skipped += 1
                            records[c.index] = _record(c, {"bot_response": None, "response_time_s": 0.0,
                                                           "model": caller.model_of(c.variant), "attempts": 0,
                                                           "error": f"not sent: the run stopped after {stop_reason[0]}",
                                                           "timestamp": pd.Timestamp.now(tz="UTC").isoformat()},
                                                       cached=False, name=name)
                        else:
                            records[c.index] = _record(c, rec, cached=False, name=name)
                            n_att = int(rec["attempts"])
                            if n_att:
                                stats.sent += 1
                                stats.attempts += n_att
                                stats.retried += n_att - 1
                            if rec["error"] is None:
                                stats.ok += 1
                            else:
                                stats.failed += 1
                            stats.prompt_tokens += int(rec["prompt_tokens"] or 0)
                            stats.completion_tokens += int(rec["completion_tokens"] or 0)
                            if rec["cost_usd"] is None:
                                if rec["error"] is None:  # an answer without a known price
                                    cost_known = False
                            else:
                                stats.cost_usd += float(rec["cost_usd"])
                        bar.update(1)
                        nxt = next(it, None)
                        if nxt is not None:
                            pending[pool.submit(work, nxt)] = nxt
            except BaseException:
                # an interrupt: start nothing new, let the calls in flight finish (each is bounded
                # by its timeout and retries) so that everything answered is in the cache
                stop.set()
                for fut in pending:
                    fut.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    if not cost_known:
        stats.cost_usd = float("nan")
    stats.check()
    return records, stats


def _record(c: _Call, rec: Mapping[str, Any], *, cached: bool, name: str) -> dict[str, Any]:
    eid = c.example["example_id"]
    return {
        "conversation_id": f"{c.variant.name}/{eid}/r{c.repetition}",
        "turn": 0,
        "timestamp": rec.get("timestamp"),
        "user_id": eid,
        "bot_id": name,
        "variant": c.variant.name,
        "model": rec.get("model"),
        "user_input": c.example["input"],
        "bot_response": rec.get("bot_response"),
        "response_time_s": rec.get("response_time_s", 0.0),
        "prompt_tokens": rec.get("prompt_tokens"),
        "completion_tokens": rec.get("completion_tokens"),
        "cost_usd": rec.get("cost_usd"),
        "error": rec.get("error"),
        "example_id": eid,
        "repetition": c.repetition,
        "attempts": 0 if cached else int(rec.get("attempts") or 0),
        "cached": cached,
    }


def _to_log(records: list[dict], tests: pd.DataFrame):
    from toolkit.log import validate

    turns = pd.DataFrame.from_records(records)
    turns["prompt_tokens"] = pd.array(turns["prompt_tokens"].tolist(), dtype="Int64")
    turns["completion_tokens"] = pd.array(turns["completion_tokens"].tolist(), dtype="Int64")
    turns["cost_usd"] = pd.to_numeric(turns["cost_usd"], errors="coerce").astype(float)
    turns["repetition"] = turns["repetition"].astype("int64")
    turns["attempts"] = turns["attempts"].astype("int64")
    turns["cached"] = turns["cached"].astype(bool)
    extra = tests.drop(columns=["input"])
    taken = set(extra.columns) | set(_LOG_COLUMNS)
    renames = {}
    for c in extra.columns:
        if c in _LOG_COLUMNS and c != "example_id":  # a test-set column named like a log column
            new = f"example_{c}"
            while new in taken:
                new = f"example_{new}"
            taken.add(new)
            renames[c] = new
    extra = extra.rename(columns=renames)
    turns = turns.merge(extra, on="example_id", how="left", validate="many_to_one")
    return validate(turns, source="experiment")
