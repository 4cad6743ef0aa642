"""The calls of a run, before anything is sent: the arguments checked, the caller built, every call planned.

:func:`run_experiment <toolkit.experiments.runner.run_experiment>` and
:func:`preview_experiment` check their arguments the same way (one error naming the first bad
one), build the caller (:mod:`toolkit.experiments.targets`) and plan one call per (variant,
example, repetition), each with its cache key (:func:`toolkit.experiments.cache.call_key`), its
messages and a per-call ``seed`` derived from the run's seed. :func:`preview_experiment` stops
there: it says what a run would send and cost.

Examples
--------
>>> import pandas as pd
>>> from toolkit.experiments.spec import Variant
>>> p = preview_experiment(pd.DataFrame({"input": ["hi", "bye"]}), [Variant("a"), Variant("b")],
...                        repetitions=3, target=lambda ex, v: "ok")
>>> p.calls, p.cached, p.to_send
(12, 0, 12)
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from toolkit.experiments.cache import CallCache, call_key
from toolkit.experiments.spec import LIMITS, Endpoint, ExperimentSpecError, Variant, _number
from toolkit.experiments.targets import CallableTarget, EndpointTarget
from toolkit.experiments.testset import TestSetError, normalise_test_set, read_test_set

__all__ = ["ExperimentPreview", "RESERVED_COLUMNS", "preview_experiment"]

#: test-set columns the runner sets itself (a test set with one of them is refused)
RESERVED_COLUMNS = ("repetition", "seed")


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
        model = caller.model_of(c.variant)
        price = price_for(model, table) if model else None
        cost = float("nan") if price is None else cost + (p * price[0] + completion_tokens * price[1]) / 1e6
    first = "\n".join(f"[{m['role']}]\n{m['content']}" for m in calls[0].messages) if calls else ""
    return ExperimentPreview(len(calls), cached, len(calls) - cached, ptok, ctok, cost, first)


def _prepare(test_set, variants, *, repetitions, target, endpoint, concurrency, timeout_s, retries, seed,
             max_calls, backoff_s, max_backoff_s, prices, stop_after_failures=None,
             sending: bool = True) -> dict[str, Any]:
    """Check every argument (one error naming the first bad one) and build the caller."""
    variants = _check_variants(variants)
    repetitions = _number(repetitions, "repetitions", 1, LIMITS["repetitions"], integer=True)
    concurrency = _number(concurrency, "concurrency", 1, 64, integer=True)
    retries = _number(retries, "retries", 0, 10, integer=True)
    seed = _number(seed, "seed", 0, 2**32 - 1, integer=True)
    max_calls = _number(max_calls, "max_calls", 1, LIMITS["calls"], integer=True)
    timeout_s = _number(timeout_s, "timeout_s", 0.01, 3600)
    backoff_s = _number(backoff_s, "backoff_s", 0, 600)
    max_backoff_s = _number(max_backoff_s, "max_backoff_s", 0, 3600)
    if stop_after_failures is not None:
        stop_after_failures = _number(stop_after_failures, "stop_after_failures", 1, LIMITS["calls"], integer=True)
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
        caller: Any = EndpointTarget(endpoint, timeout=timeout_s, retries=retries, backoff=backoff_s,
                                      max_backoff=max_backoff_s)
        for v in variants:
            caller.model_of(v)  # every variant has a model before anything is sent
    else:
        caller = CallableTarget(target, timeout=timeout_s, retries=retries, backoff=backoff_s,
                                 max_backoff=max_backoff_s, prices=prices)
    return {"tests": tests, "variants": variants, "caller": caller, "endpoint": endpoint, "key": key,
            "repetitions": repetitions, "concurrency": concurrency, "seed": seed, "timeout_s": timeout_s,
            "retries": retries, "stop_after_failures": stop_after_failures}


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


