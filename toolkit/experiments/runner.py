"""Run a prompt experiment: test set x variants x repetitions, against an endpoint or a Python bot.

:func:`run_experiment` sends every (variant, example, repetition) call once, ``concurrency`` at
a time, to an OpenAI-compatible chat endpoint (through :class:`toolkit.llm.LLMClient`: its
timeouts, retries with backoff and jitter on 429/5xx/timeouts honouring ``Retry-After`` within a
cap, response-size cap, key redaction and price table) or to a Python callable
``target(example, variant) -> str`` (or a dict with ``text``, ``prompt_tokens``,
``completion_tokens``, ``cost_usd``). ``example`` is the test-set row as a dict plus
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
import functools
import hashlib
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.experiments.cache import CallCache, _code_fingerprint, call_key
from toolkit.experiments.spec import LIMITS, Endpoint, ExperimentSpecError, Variant
from toolkit.experiments.testset import TestSetError, normalise_test_set, read_test_set

__all__ = ["CallStats", "ExperimentPreview", "ExperimentRun", "preview_experiment", "run_experiment",
           "RESERVED_COLUMNS"]

#: test-set columns the runner sets itself (a test set with one of them is refused)
RESERVED_COLUMNS = ("repetition", "seed")
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
# calling the target
# --------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    text: str | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float = float("nan")
    error: str | None = None
    attempts: int = 0
    latency: float = 0.0
    config_error: bool = False


class _RetryableError(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def _backoff(attempt: int, retry_after: float | None, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): ``Retry-After`` capped, else exponential with jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return min(base * 2 ** (attempt - 1) * (0.5 + 0.5 * rng.random()), cap)


def _status_of(exc: BaseException) -> int | None:
    for obj in (exc, getattr(exc, "response", None)):
        for attr in ("status_code", "status"):
            v = getattr(obj, attr, None)
            if isinstance(v, int) and 100 <= v <= 599:
                return v
    return None


def _retry_after_of(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    try:
        value = headers.get("retry-after") if headers is not None else None
        return None if value is None else float(value)
    except (TypeError, ValueError, AttributeError):
        return None


def _short(text: Any, n: int = 300) -> str:
    try:
        text = str(text)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails
        text = f"<{type(text).__name__} without a readable message>"
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "..."


class _CallableTarget:
    """Calls ``fn(example, variant)`` in a daemon thread with a timeout, retrying what is transient."""

    def __init__(self, fn: Callable, *, timeout: float, retries: int, backoff: float, max_backoff: float,
                 prices: Mapping | None):
        self.fn, self.timeout, self.retries = fn, timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.prices = prices
        self._rng = random.Random()
        self.name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
        self.code = _code_fingerprint(fn)

    def identity(self, variant: Variant) -> dict[str, Any]:
        cache_id = getattr(self.fn, "cache_id", None)
        return {"kind": "callable", "name": self.name, "code": self.code,
                "cache_id": None if cache_id is None else str(cache_id)}

    def _once(self, example: dict, variant: Variant) -> tuple[Any, float]:
        box: dict[str, Any] = {}

        def work():
            try:
                box["value"] = self.fn(dict(example), variant)  # a copy: the target may change it
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                box["exc"] = exc

        th = threading.Thread(target=work, daemon=True, name="experiment-target")
        t0 = time.perf_counter()
        th.start()
        th.join(self.timeout)
        latency = time.perf_counter() - t0
        if th.is_alive():  # the thread is left to finish on its own; its answer is dropped
            raise _RetryableError(f"TimeoutError: no answer within {self.timeout:g} s")
        if "exc" in box:
            exc = box["exc"]
            if not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit: stop the run
            status = _status_of(exc)
            reason = f"{type(exc).__name__}: {_short(exc)}"
            if isinstance(exc, (TimeoutError, ConnectionError)) or (status is not None and (status == 429 or status >= 500)):
                raise _RetryableError(reason, _retry_after_of(exc))
            return exc, latency
        return box.get("value"), latency

    def call(self, example: dict, variant: Variant, messages) -> _Outcome:
        from toolkit._secrets import redact

        attempt = 0
        while True:
            attempt += 1
            t0 = time.perf_counter()
            try:
                value, latency = self._once(example, variant)
            except _RetryableError as exc:
                latency = time.perf_counter() - t0
                if attempt > self.retries:
                    return _Outcome(None, error=redact(f"{exc.reason} (after {attempt} attempts)"),
                                    attempts=attempt, latency=latency)
                time.sleep(_backoff(attempt, exc.retry_after, self.backoff, self.max_backoff, self._rng))
                continue
            if isinstance(value, Exception):
                return _Outcome(None, error=redact(f"{type(value).__name__}: {_short(value)}"), attempts=attempt,
                                latency=latency)
            return self._outcome(value, variant, attempt, latency)

    def _outcome(self, value: Any, variant: Variant, attempt: int, latency: float) -> _Outcome:
        from toolkit.llm import price_for

        ptok = ctok = None
        cost = float("nan")
        if isinstance(value, Mapping):
            text = value.get("text")
            ptok, ctok = _count(value.get("prompt_tokens")), _count(value.get("completion_tokens"))
            c = value.get("cost_usd")
            if isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) and c >= 0:
                cost = float(c)
        else:
            text = value
        if not isinstance(text, str):
            return _Outcome(None, error=f"TypeError: the target returned {type(text).__name__}, not text",
                            attempts=attempt, latency=latency)
        if len(text) > LIMITS["response_chars"]:
            return _Outcome(None, error=f"the answer has {len(text):,} characters; the limit is "
                                        f"{LIMITS['response_chars']:,}", attempts=attempt, latency=latency)
        if math.isnan(cost) and variant.model and ptok is not None and ctok is not None:
            price = price_for(variant.model, self.prices)
            if price is not None:
                cost = (ptok * price[0] + ctok * price[1]) / 1e6
        return _Outcome(text, ptok, ctok, cost, attempts=attempt, latency=latency)


def _count(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        n = int(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return n if n >= 0 else None


class _EndpointTarget:
    """One :class:`toolkit.llm.LLMClient` per variant (model, temperature, max tokens, params)."""

    def __init__(self, endpoint: Endpoint, *, timeout: float, retries: int, backoff: float, max_backoff: float):
        self.endpoint = endpoint
        self.timeout, self.retries, self.backoff, self.max_backoff = timeout, retries, backoff, max_backoff
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def model_of(self, variant: Variant) -> str:
        model = variant.model or self.endpoint.model or os.environ.get("OPENAI_MODEL")
        if not model:
            raise ExperimentSpecError(f"variant {variant.name!r} has no model: set variant.model or endpoint.model "
                                      "(or OPENAI_MODEL)")
        return model

    def identity(self, variant: Variant) -> dict[str, Any]:
        from toolkit._secrets import redact

        return {"kind": "endpoint", "base_url": redact(self.endpoint.url), "model": self.model_of(variant)}

    def client(self, variant: Variant):
        with self._lock:
            c = self._clients.get(variant.name)
            if c is None:
                c = _VariantClient(variant, self.model_of(variant), self.endpoint, timeout=self.timeout,
                                   retries=self.retries, backoff=self.backoff, max_backoff=self.max_backoff)
                self._clients[variant.name] = c
            return c

    def close(self) -> None:
        for c in self._clients.values():
            c.close()

    def call(self, example: dict, variant: Variant, messages) -> _Outcome:
        from toolkit.llm import LLMError

        client = self.client(variant)
        t0 = time.perf_counter()
        try:
            comp = client.complete(messages)
        except LLMError as exc:  # a configuration error: 401/403/404, no key, no openai package
            return _Outcome(None, error=client.redact(str(exc)), attempts=1,
                            latency=time.perf_counter() - t0, config_error=True)
        latency = client.last_latency() if comp.attempts else time.perf_counter() - t0
        if not comp.ok:
            return _Outcome(None, error=comp.error, attempts=comp.attempts, latency=latency)
        return _Outcome(comp.text, comp.prompt_tokens, comp.completion_tokens, comp.cost_usd,
                        attempts=comp.attempts, latency=latency)


@functools.lru_cache(maxsize=1)
def _variant_client_class():
    from toolkit.llm import LLMClient

    class VariantClient(LLMClient):
        """An LLMClient sending exactly the variant's parameters (None: not sent), no disk cache of its own."""

        def __init__(self, variant: Variant, model: str, endpoint: Endpoint, *, timeout: float, retries: int,
                     backoff: float, max_backoff: float):
            super().__init__(model, base_url=endpoint.url, api_key=endpoint.api_key(), timeout=timeout,
                             max_retries=retries, backoff=backoff, max_backoff=max_backoff, concurrency=1,
                             cache=False, seed=None, prices=endpoint.prices,
                             max_tokens=variant.max_tokens or 300,
                             temperature=0.0 if variant.temperature is None else variant.temperature)
            self._variant = variant
            self._local = threading.local()

        def _params(self) -> dict[str, Any]:
            p: dict[str, Any] = {}
            if self._variant.temperature is not None:
                p["temperature"] = self._variant.temperature
            if self._variant.max_tokens is not None:
                p["max_tokens"] = self._variant.max_tokens
            p.update(self._variant.params)
            return p

        def _send(self, client, messages):
            t0 = time.perf_counter()
            try:
                return super()._send(client, messages)
            finally:
                self._local.latency = time.perf_counter() - t0

        def last_latency(self) -> float:
            """Seconds the last request of this thread took (the successful or final attempt)."""
            return float(getattr(self._local, "latency", 0.0))

    return VariantClient


def _VariantClient(*args, **kwargs):
    return _variant_client_class()(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------


def _call_seed(seed: int, variant: str, example_id: str, repetition: int) -> int:
    blob = f"{seed}\x00{variant}\x00{example_id}\x00{repetition}".encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big")


def _check_variants(variants: Any) -> tuple[Variant, ...]:
    if isinstance(variants, (Variant, Mapping, str)):
        variants = [variants]
    try:
        vs = list(variants)
    except TypeError:
        raise ExperimentSpecError(f"variants must be a list of Variant, got {type(variants).__name__}") from None
    if not vs:
        raise ExperimentSpecError("variants: give at least one variant")
    if len(vs) > LIMITS["variants"]:
        raise ExperimentSpecError(f"variants: {len(vs)} given; the limit is {LIMITS['variants']}")
    out = []
    for i, v in enumerate(vs):
        if isinstance(v, Mapping):
            v = Variant.from_dict(v, where=f"variants[{i}]")
        elif isinstance(v, str):
            v = Variant(v)
        elif not isinstance(v, Variant):
            raise ExperimentSpecError(f"variants[{i}] must be a Variant, got {type(v).__name__}")
        out.append(v)
    names = [v.name for v in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ExperimentSpecError(f"variants: the name {dup[0]!r} is used twice (names must be unique)")
    return tuple(out)


def _int_in(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (hasattr(value, "__index__")):
        raise ExperimentSpecError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise ExperimentSpecError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return v


def _float_in(value: Any, name: str, lo: float, hi: float) -> float:
    try:
        v = float(value)
        ok = not isinstance(value, bool) and lo <= v <= hi
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ExperimentSpecError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    return v


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
        (editing the function re-sends its calls), plus its ``cache_id`` attribute when it has
        one: give a configurable bot (a callable object, or one whose behaviour lives in other
        functions or data) a ``cache_id`` that changes with its configuration.
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
                 backoff_s=backoff_s, max_backoff_s=max_backoff_s, prices=prices)
    tests, variants, caller, endpoint = a["tests"], a["variants"], a["caller"], a["endpoint"]
    repetitions, concurrency, seed = a["repetitions"], a["concurrency"], a["seed"]
    timeout_s, retries, key = a["timeout_s"], a["retries"], a["key"]
    if stop_after_failures is not None:
        stop_after_failures = _int_in(stop_after_failures, "stop_after_failures", 1, LIMITS["calls"])
    cache = CallCache(cache_dir) if cache_dir is not None else None
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
            if isinstance(caller, _EndpointTarget):
                caller.close()
    log = _to_log(records, tests)
    return ExperimentRun(log=log, calls=stats, variants=variants, test_set=tests, repetitions=repetitions,
                         settings=settings)


@dataclass(frozen=True)
class ExperimentPreview:
    """What a run would do (nothing sent): calls, cache hits, calls to send, estimated tokens and cost.

    Token counts are estimates (about four characters a token, ``completion_tokens`` per answer);
    ``cost_usd`` is NaN when a model has no known price (or for a Python target without a model).
    """

    calls: int
    cached: int
    to_send: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    first_prompt: str

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["cost_usd"] = None if math.isnan(self.cost_usd) else round(self.cost_usd, 6)
        return d

    def summary_table(self) -> pd.DataFrame:
        d = self.to_dict()
        d.pop("first_prompt")
        return pd.DataFrame([d])

    def message(self) -> str:
        cost = "unknown (no price for the model)" if math.isnan(self.cost_usd) else f"about ${self.cost_usd:.4f}"
        return (f"{self.calls:,} calls, {self.cached:,} already cached, {self.to_send:,} to send: about "
                f"{self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens; cost {cost}")


def preview_experiment(test_set: Any, variants: Sequence[Variant], *, repetitions: int = 3,
                       target: Callable | None = None, endpoint: Endpoint | Mapping[str, Any] | None = None,
                       cache_dir: str | os.PathLike | None = None, seed: int = 0, max_calls: int = 20_000,
                       completion_tokens: int = 60, prices: Mapping[str, tuple[float, float]] | None = None
                       ) -> ExperimentPreview:
    """What :func:`run_experiment` with these arguments would send and cost; nothing is sent.

    The arguments are checked exactly as by :func:`run_experiment` (no API key is needed).

    Examples
    --------
    >>> import pandas as pd
    >>> p = preview_experiment(pd.DataFrame({"input": ["x" * 400]}), [Variant("a", model="gpt-4o-mini")],
    ...                        repetitions=2, endpoint={"base_url": "http://127.0.0.1:9/v1"})
    >>> p.calls, p.to_send, p.prompt_tokens, round(p.cost_usd, 7)
    (2, 2, 208, 0.0001032)
    """
    from toolkit.llm import estimate_tokens, price_for

    a = _prepare(test_set, variants, repetitions=repetitions, target=target, endpoint=endpoint, concurrency=1,
                 timeout_s=30.0, retries=0, seed=seed, max_calls=max_calls, backoff_s=0.0, max_backoff_s=0.0,
                 prices=prices, sending=False)
    caller = a["caller"]
    cache = CallCache(cache_dir) if cache_dir is not None else None
    calls = _plan(a["tests"], a["variants"], a["repetitions"], caller, a["seed"])
    table = dict(prices or {})
    if a["endpoint"] is not None:
        table.update(a["endpoint"].prices)
    cached = ptok = ctok = 0
    cost = 0.0
    for c in calls:
        if cache is not None and cache.get(c.key) is not None:
            cached += 1
            continue
        p = sum(estimate_tokens(m["content"]) + 4 for m in c.messages)
        ptok += p
        ctok += completion_tokens
        model = _model_of(caller, c.variant)
        price = price_for(model, table) if model else None
        cost = float("nan") if price is None else cost + (p * price[0] + completion_tokens * price[1]) / 1e6
    first = "\n".join(f"[{m['role']}]\n{m['content']}" for m in calls[0].messages) if calls else ""
    return ExperimentPreview(len(calls), cached, len(calls) - cached, ptok, ctok, cost, first)



def _prepare(test_set, variants, *, repetitions, target, endpoint, concurrency, timeout_s, retries, seed,
             max_calls, backoff_s, max_backoff_s, prices, sending: bool = True) -> dict[str, Any]:
    """Check every argument (one error naming the first bad one) and build the caller."""
    variants = _check_variants(variants)
    repetitions = _int_in(repetitions, "repetitions", 1, LIMITS["repetitions"])
    concurrency = _int_in(concurrency, "concurrency", 1, 64)
    retries = _int_in(retries, "retries", 0, 10)
    seed = _int_in(seed, "seed", 0, 2**32 - 1)
    max_calls = _int_in(max_calls, "max_calls", 1, LIMITS["calls"])
    timeout_s = _float_in(timeout_s, "timeout_s", 0.01, 3600)
    backoff_s = _float_in(backoff_s, "backoff_s", 0, 600)
    max_backoff_s = _float_in(max_backoff_s, "max_backoff_s", 0, 3600)
    if (target is None) == (endpoint is None):
        raise ExperimentSpecError("give exactly one of target= (a Python callable) and endpoint= (an "
                                  "OpenAI-compatible server)")
    if target is not None and not callable(target):
        raise ExperimentSpecError(f"target must be callable, got {type(target).__name__}")

    tests = read_test_set(test_set) if not isinstance(test_set, pd.DataFrame) else normalise_test_set(test_set)
    clash = [c for c in RESERVED_COLUMNS if c in tests.columns]
    if clash:
        raise TestSetError(f"test set: the column {clash[0]!r} is set by the runner; rename it")
    for v in variants:
        v.check_fields(tests.columns)
    total = len(variants) * len(tests) * repetitions
    if total > max_calls:
        raise ExperimentSpecError(f"{len(variants)} variants x {len(tests):,} examples x {repetitions} repetitions = "
                                  f"{total:,} calls, more than max_calls={max_calls:,} (raise max_calls, at most "
                                  f"{LIMITS['calls']:,}, or draw fewer examples)")

    key = None
    if endpoint is not None:
        endpoint = Endpoint.from_dict(endpoint)
        key = endpoint.api_key()
        if key is None and not endpoint.is_local and sending:
            raise ExperimentSpecError(f"no API key for {Endpoint.to_dict(endpoint)['base_url']}: set the environment "
                                      f"variable {endpoint.api_key_env} (named in endpoint.api_key_env)")
        try:
            if sending:
                import openai  # noqa: F401
        except ImportError:
            raise ExperimentSpecError("an endpoint needs the openai package: pip install "
                                      "'chatbot-toolkit[judge]' (or pip install openai)") from None
        caller: Any = _EndpointTarget(endpoint, timeout=timeout_s, retries=retries, backoff=backoff_s,
                                      max_backoff=max_backoff_s)
        for v in variants:
            caller.model_of(v)  # every variant has a model before anything is sent
    else:
        caller = _CallableTarget(target, timeout=timeout_s, retries=retries, backoff=backoff_s,
                                 max_backoff=max_backoff_s, prices=prices)
    return {"tests": tests, "variants": variants, "caller": caller, "endpoint": endpoint, "key": key,
            "repetitions": repetitions, "concurrency": concurrency, "seed": seed, "timeout_s": timeout_s,
            "retries": retries}


@dataclass
class _Call:
    index: int
    variant: Variant
    example: dict
    repetition: int
    key: str
    messages: list


def _plan(tests: pd.DataFrame, variants, repetitions: int, caller, seed: int) -> list[_Call]:
    from toolkit._files import to_jsonable

    rows = [to_jsonable(r) for r in tests.to_dict(orient="records")]
    calls = []
    for v in variants:
        ident = caller.identity(v)
        vdef = v.to_dict()
        for row in rows:
            messages = v.messages(row)
            for r in range(repetitions):
                k = call_key(ident, vdef, row, r, seed)
                example = {**row, "repetition": r, "seed": _call_seed(seed, v.name, row["example_id"], r)}
                calls.append(_Call(len(calls), v, example, r, k, messages))
    return calls


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
            out = _Outcome(None, error=f"the prompt has {prompt_chars:,} characters; the limit is "
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
               "model": _model_of(caller, c.variant), "error": out.error, "attempts": out.attempts,
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
                                                           "model": _model_of(caller, c.variant), "attempts": 0,
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


def _model_of(caller, variant: Variant) -> str | None:
    return caller.model_of(variant) if isinstance(caller, _EndpointTarget) else variant.model


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
