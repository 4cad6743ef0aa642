"""Calling one target: a Python callable or an OpenAI-compatible endpoint, with timeouts and retries.

The runner (:mod:`toolkit.experiments.runner`) sends every call through one of two callers, both
with ``identity(variant)`` (what the call's cache key knows of the target), ``model_of(variant)``
and ``call(example, variant, messages) -> Outcome``:

:class:`CallableTarget`
    ``fn(example, variant)`` in a daemon thread with a timeout; ``TimeoutError``,
    ``ConnectionError`` and exceptions carrying a 429 or 5xx status are retried with backoff
    and jitter (honouring ``Retry-After`` within the cap); any other exception is the call's
    error. The answer is text, or a dict with ``text``, ``prompt_tokens``,
    ``completion_tokens``, ``cost_usd``.
:class:`EndpointTarget`
    One :class:`toolkit.llm.LLMClient` per variant, sending exactly the variant's parameters;
    the client's timeouts, retries, response-size cap, key redaction and price table apply. A
    401/403/404 or a missing key is a configuration error (``Outcome.config_error``).

Examples
--------
>>> from toolkit.experiments.spec import Variant
>>> target = CallableTarget(lambda ex, v: {"text": ex["input"].upper(), "prompt_tokens": 3},
...                         timeout=5, retries=0, backoff=0, max_backoff=0, prices=None)
>>> out = target.call({"input": "hi"}, Variant("a"), [])
>>> out.text, out.prompt_tokens, out.error, out.attempts
('HI', 3, None, 1)
"""

from __future__ import annotations

import functools
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from toolkit.experiments.cache import _code_fingerprint
from toolkit.experiments.spec import LIMITS, Endpoint, ExperimentSpecError, Variant
from toolkit.llm import _backoff, _Retryable, _short

__all__ = ["CallableTarget", "EndpointTarget", "Outcome"]


@dataclass
class Outcome:
    """One call's answer or error: text, tokens, cost, attempts, latency (seconds).

    ``config_error``: the endpoint refused the configuration (401/403/404, no key); the run stops.
    """

    text: str | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float = float("nan")
    error: str | None = None
    attempts: int = 0
    latency: float = 0.0
    config_error: bool = False


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


class CallableTarget:
    """Calls ``fn(example, variant)`` in a daemon thread with a timeout, retrying what is transient."""

    def __init__(self, fn: Callable, *, timeout: float, retries: int, backoff: float, max_backoff: float,
                 prices: Mapping | None):
        self.fn, self.timeout, self.retries = fn, timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.prices = prices
        self._rng = random.Random()
        self.name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
        self.code = _code_fingerprint(fn)

    def model_of(self, variant: Variant) -> str | None:
        return variant.model

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
            raise _Retryable(f"TimeoutError: no answer within {self.timeout:g} s")
        if "exc" in box:
            exc = box["exc"]
            if not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit: stop the run
            status = _status_of(exc)
            reason = f"{type(exc).__name__}: {_short(exc)}"
            if isinstance(exc, (TimeoutError, ConnectionError)) or (status is not None and (status == 429 or status >= 500)):
                raise _Retryable(reason, _retry_after_of(exc))
            return exc, latency
        return box.get("value"), latency

    def call(self, example: dict, variant: Variant, messages) -> Outcome:
        from toolkit._secrets import redact

        attempt = 0
        while True:
            attempt += 1
            t0 = time.perf_counter()
            try:
                value, latency = self._once(example, variant)
            except _Retryable as exc:
                latency = time.perf_counter() - t0
                if attempt > self.retries:
                    return Outcome(None, error=redact(f"{exc.reason} (after {attempt} attempts)"),
                                   attempts=attempt, latency=latency)
                time.sleep(_backoff(attempt, exc.retry_after, self.backoff, self.max_backoff, self._rng))
                continue
            if isinstance(value, Exception):
                return Outcome(None, error=redact(f"{type(value).__name__}: {_short(value)}"), attempts=attempt,
                               latency=latency)
            return self._outcome(value, variant, attempt, latency)

    def _outcome(self, value: Any, variant: Variant, attempt: int, latency: float) -> Outcome:
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
            return Outcome(None, error=f"TypeError: the target returned {type(text).__name__}, not text",
                           attempts=attempt, latency=latency)
        if len(text) > LIMITS["response_chars"]:
            return Outcome(None, error=f"the answer has {len(text):,} characters; the limit is "
                                       f"{LIMITS['response_chars']:,}", attempts=attempt, latency=latency)
        if math.isnan(cost) and variant.model and ptok is not None and ctok is not None:
            price = price_for(variant.model, self.prices)
            if price is not None:
                cost = (ptok * price[0] + ctok * price[1]) / 1e6
        return Outcome(text, ptok, ctok, cost, attempts=attempt, latency=latency)


def _count(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        n = int(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return n if n >= 0 else None


class EndpointTarget:
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
                c = _variant_client_class()(variant, self.model_of(variant), self.endpoint, timeout=self.timeout,
                                            retries=self.retries, backoff=self.backoff, max_backoff=self.max_backoff)
                self._clients[variant.name] = c
            return c

    def close(self) -> None:
        for c in self._clients.values():
            c.close()

    def call(self, example: dict, variant: Variant, messages) -> Outcome:
        from toolkit.llm import LLMError

        client = self.client(variant)
        t0 = time.perf_counter()
        try:
            comp = client.complete(messages)
        except LLMError as exc:  # a configuration error: 401/403/404, no key, no openai package
            return Outcome(None, error=client.redact(str(exc)), attempts=1,
                           latency=time.perf_counter() - t0, config_error=True)
        latency = client.last_latency() if comp.attempts else time.perf_counter() - t0
        if not comp.ok:
            return Outcome(None, error=comp.error, attempts=comp.attempts, latency=latency)
        return Outcome(comp.text, comp.prompt_tokens, comp.completion_tokens, comp.cost_usd,
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
