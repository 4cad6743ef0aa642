"""A small client for any OpenAI-compatible chat endpoint: settings, retries, cache, costs.

Used by the LLM judges (:mod:`toolkit.judges`) and meant for anything else that sends prompts
(prompt experiments). It wraps the official ``openai`` package (the optional extra
``pip install chatbot-toolkit[judge]``), imported only when a request is really sent, so
``import toolkit`` and a dry run never need it.

What it does for every request:

* endpoint, model and key from arguments or ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (a local
  vLLM, llama.cpp or Ollama server works the same; a loopback endpoint needs no key);
* a timeout per request (connect and read) and an overall deadline while the body arrives;
* retries with exponential backoff and jitter on 429 and 5xx (honouring ``Retry-After``, capped)
  and on timeouts and dropped connections; other errors are not retried;
* a cap on the response size (bytes), so a huge or endless reply cannot exhaust memory;
* a concurrency limit (threads) and a progress bar for many requests;
* a disk cache keyed by model + messages + sampling parameters: a rerun sends nothing;
* token and cost accounting (a price table per model in USD per million tokens, overridable);
* the key is never printed, logged, cached or written, and is removed from every error text.

Examples
--------
>>> client = LLMClient("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", cache=False)
>>> est = client.estimate([[{"role": "user", "content": "x" * 400}]], completion_tokens=50)
>>> est.n_requests, est.prompt_tokens, round(est.cost_usd, 8)
(1, 104, 4.56e-05)
>>> "api_key" in repr(client)
False
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import json
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from toolkit.errors import ToolkitError

__all__ = [
    "DEFAULT_PRICES",
    "Completion",
    "CostEstimate",
    "LLMClient",
    "LLMError",
    "Usage",
    "estimate_tokens",
    "price_for",
    "redact",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: USD per million tokens (input, output): the toolkit's one price table
#: (:data:`toolkit.sources.prices.PRICES`, public list prices, per 1k there). Override with
#: ``LLMClient(prices={...})``; a model is matched by its name, else its longest prefix
#: (``gpt-4o-mini-2024-07-18`` -> ``gpt-4o-mini``). A model not found has no cost (NaN).
def _default_prices() -> dict[str, tuple[float, float]]:
    from toolkit.sources.prices import PRICES

    return {m: (round(e["price_prompt_per_1k"] * 1000, 6), round(e["price_completion_per_1k"] * 1000, 6))
            for m, e in PRICES.items()}


DEFAULT_PRICES: dict[str, tuple[float, float]] = _default_prices()

_MAX_MESSAGES_CHARS = 200_000  # one request's prompt; a bigger one is refused before sending
class LLMError(ToolkitError):
    """A request that failed for good (after retries) or a client that is not configured.

    The message never contains the API key.
    """


def redact(text: str, secrets: Sequence[str | None] = ()) -> str:
    """``text`` with each secret, bearer tokens, ``sk-...`` keys and URL passwords replaced by ``***``.

    The secrets are registered with the toolkit's one redaction point (:mod:`toolkit._secrets`),
    which does the work, so that log records and warnings are cleaned of them too.

    Examples
    --------
    >>> redact("401: bad key abc123secret for Bearer abc123secret", ["abc123secret"])
    '401: bad key *** for Bearer ***'
    >>> redact("http://user:pw@host/v1")
    'http://***@host/v1'
    """
    from toolkit import _secrets

    for s in secrets:
        _secrets.add_secret(s)
    return _secrets.redact(text)


def _safe_url(url: str) -> str:
    """The URL without user info (for messages and reprs)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token for English) for dry runs.

    Examples
    --------
    >>> estimate_tokens("hello world, how are you?")
    7
    """
    return max(1, math.ceil(len(text) / 4))


def price_for(model: str, prices: Mapping[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for ``model``: exact name, else the longest prefix.

    Examples
    --------
    >>> price_for("gpt-4o-mini-2024-07-18")
    (0.15, 0.6)
    >>> price_for("llama3") is None
    True
    """
    table = DEFAULT_PRICES if prices is None else {**DEFAULT_PRICES, **prices}
    if model in table:
        return tuple(table[model])
    best = max((k for k in table if model.startswith(k)), key=len, default=None)
    return tuple(table[best]) if best else None


@dataclass(frozen=True)
class Completion:
    """One answer (or the reason there is none): text, tokens, cost, whether it came from the cache."""

    text: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = float("nan")
    cached: bool = False
    error: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


@dataclass
class Usage:
    """Running totals over a client's lifetime (thread-safe updates)."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    not_sent: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}
        if not self.cost_known:
            d["cost_usd"] = None
        return d

    def summary_table(self):
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True)
class CostEstimate:
    """What a run would send: requests, approximate tokens and cost, cache hits, sample prompts."""

    model: str
    n_requests: int
    n_cached: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    price_per_million: tuple[float, float] | None
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["cost_usd"] = None if math.isnan(self.cost_usd) else self.cost_usd
        return d

    def summary_table(self):
        import pandas as pd

        d = self.to_dict()
        d.pop("examples")
        return pd.DataFrame([d])

    def message(self) -> str:
        price = ("no price known for this model (pass prices=)" if self.price_per_million is None
                 else f"${self.cost_usd:.4f} at ${self.price_per_million[0]}/${self.price_per_million[1]} "
                      "per million input/output tokens")
        return (f"{self.n_requests} requests to {self.model} ({self.n_cached} already cached), about "
                f"{self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens "
                f"(~4 characters a token): {price}")


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in {"localhost", "127.0.0.1", "::1"} or host.startswith("127.")


class LLMClient:
    """A cached, rate-limit-aware client for an OpenAI-compatible ``/chat/completions`` endpoint.

    Parameters
    ----------
    model : str, optional
        Model name; ``OPENAI_MODEL`` when not given.
    base_url, api_key : str, optional
        Endpoint and key; ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` when not given (default
        endpoint ``https://api.openai.com/v1``). A loopback endpoint works without a key.
    timeout : float
        Seconds to connect and between bytes of the reply; the whole reply must also arrive in
        ``2 * timeout`` seconds.
    max_retries : int
        Retries after a 429, a 5xx, a timeout or a dropped connection (0-10).
    backoff, max_backoff : float
        First backoff in seconds (doubled each retry, with jitter) and the cap, which also caps
        a server's ``Retry-After``.
    concurrency : int
        Requests in flight at once in :meth:`complete_many` (1-64).
    cache : bool or path
        ``True`` (default): the per-user cache folder ``<toolkit cache>/llm``; a path: that folder;
        ``False``: no cache.
    max_response_bytes : int
        Larger replies are cut off and recorded as failed (default 1 MB).
    temperature, max_tokens, seed
        Sampling parameters sent with every request (and part of the cache key).
    prices : mapping, optional
        ``{model: (input, output)}`` USD per million tokens, added to :data:`DEFAULT_PRICES`.
    json_mode : bool
        Send ``response_format={"type": "json_object"}`` (many local servers ignore or reject it;
        default False, the prompt asks for JSON).

    Examples
    --------
    >>> c = LLMClient("m", base_url="http://localhost:8000/v1", cache=False, timeout=5)
    >>> c.settings()["base_url"], c.settings()["timeout"]
    ('http://localhost:8000/v1', 5.0)
    """

    def __init__(self, model: str | None = None, *, base_url: str | None = None,
                 api_key: str | None = None, timeout: float = 60.0, max_retries: int = 4,
                 backoff: float = 1.0, max_backoff: float = 30.0, concurrency: int = 4,
                 cache: bool | str | os.PathLike = True, max_response_bytes: int = 1_000_000,
                 temperature: float = 0.0, max_tokens: int = 300, seed: int | None = 0,
                 prices: Mapping[str, tuple[float, float]] | None = None, json_mode: bool = False):
        model = model or os.environ.get("OPENAI_MODEL")
        if not model:
            raise LLMError("no model: pass model= (--model) or set OPENAI_MODEL")
        self.model = str(model)
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.__key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        _check_range("timeout", timeout, 0.01, 3600)
        _check_range("max_retries", max_retries, 0, 10)
        _check_range("backoff", backoff, 0, 600)
        _check_range("max_backoff", max_backoff, 0, 3600)
        _check_range("concurrency", concurrency, 1, 64)
        _check_range("max_response_bytes", max_response_bytes, 1_000, 100_000_000)
        _check_range("max_tokens", max_tokens, 1, 100_000)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.concurrency = int(concurrency)
        self.max_response_bytes = int(max_response_bytes)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.seed = seed
        self.json_mode = bool(json_mode)
        self.prices = dict(prices or {})
        if cache is True:
            from toolkit._files import cache_dir

            self.cache_path: Path | None = cache_dir("llm")
        elif cache is False or cache is None:
            self.cache_path = None
        else:
            self.cache_path = Path(cache)
        self.usage = Usage()
        self._client = None
        self._client_lock = threading.Lock()
        self._rng = random.Random()

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP connections (the client can still be used: it reconnects)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- description ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"LLMClient(model={self.model!r}, base_url={_safe_url(self.base_url)!r})"

    def settings(self) -> dict[str, Any]:
        """The client's settings without the key (for reports and sidecars)."""
        return {"model": self.model, "base_url": _safe_url(self.base_url), "timeout": self.timeout,
                "max_retries": self.max_retries, "concurrency": self.concurrency,
                "temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed,
                "cache": None if self.cache_path is None else str(self.cache_path),
                "key_set": bool(self.__key)}

    @property
    def is_local(self) -> bool:
        """Whether the endpoint is on this machine (loopback): no key needed, usually no cost."""
        return _is_local(self.base_url)

    def redact(self, text: str) -> str:
        """``text`` without this client's key (see :func:`redact`)."""
        return redact(text, [self.__key])

    # -- cache ---------------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        p: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            p["seed"] = int(self.seed)
        if self.json_mode:
            p["response_format"] = {"type": "json_object"}
        return p

    def cache_key(self, messages: Sequence[Mapping[str, str]]) -> str:
        """SHA-256 of model + messages + sampling parameters (not the endpoint, never the key)."""
        blob = json.dumps({"model": self.model, "messages": [dict(m) for m in messages],
                           "params": self._params()}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _cache_file(self, key: str) -> Path | None:
        return None if self.cache_path is None else self.cache_path / key[:2] / f"{key}.json"

    def cached(self, messages: Sequence[Mapping[str, str]]) -> Completion | None:
        """The cached completion for ``messages``, or None."""
        path = self._cache_file(self.cache_key(messages))
        if path is None or not path.is_file():
            return None
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            return Completion(text=str(d["text"]), prompt_tokens=int(d.get("prompt_tokens", 0)),
                              completion_tokens=int(d.get("completion_tokens", 0)),
                              cost_usd=self._cost(int(d.get("prompt_tokens", 0)), int(d.get("completion_tokens", 0))),
                              cached=True)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is a miss

    def _store(self, messages, comp: Completion) -> None:
        path = self._cache_file(self.cache_key(messages))
        if path is None or not comp.ok:
            return
        from toolkit._files import atomic_write_text

        atomic_write_text(path, json.dumps({"model": self.model, "text": comp.text,
                                            "prompt_tokens": comp.prompt_tokens,
                                            "completion_tokens": comp.completion_tokens}))

    # -- costs ---------------------------------------------------------------------------------
    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        price = price_for(self.model, self.prices)
        if price is None:
            return float("nan")
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6

    def estimate(self, batch: Sequence[Sequence[Mapping[str, str]]], *, completion_tokens: int = 60,
                 examples: int = 1) -> CostEstimate:
        """What sending ``batch`` would cost (nothing is sent); cached prompts cost nothing.

        ``completion_tokens`` is the expected length of one answer.
        """
        n_cached = ptok = ctok = 0
        for messages in batch:
            if self.cached(messages) is not None:
                n_cached += 1
                continue
            ptok += sum(estimate_tokens(m["content"]) + 4 for m in messages)
            ctok += completion_tokens
        price = price_for(self.model, self.prices)
        cost = float("nan") if price is None else (ptok * price[0] + ctok * price[1]) / 1e6
        shown = tuple("\n".join(f"[{m['role']}]\n{m['content']}" for m in msgs) for msgs in list(batch)[:examples])
        return CostEstimate(self.model, len(batch), n_cached, ptok, ctok, cost, price, shown)

    # -- sending -------------------------------------------------------------------------------
    def _openai(self):
        with self._client_lock:
            if self._client is None:
                try:
                    import openai
                except ImportError:
                    raise LLMError("LLM judges need the openai package: pip install "
                                   "'chatbot-toolkit[judge]' (or pip install openai)") from None
                key = self.__key
                if not key:
                    if not _is_local(self.base_url):
                        raise LLMError(f"no API key for {_safe_url(self.base_url)}: set OPENAI_API_KEY "
                                       "or pass api_key= (a local server on 127.0.0.1 needs none)")
                    key = "not-needed"
                self._client = openai.OpenAI(api_key=key, base_url=self.base_url, max_retries=0,
                                             timeout=self.timeout)
            return self._client

    def complete(self, messages: Sequence[Mapping[str, str]]) -> Completion:
        """One chat completion for ``messages`` (from the cache when there); never raises for a
        failed request (the reason is in ``Completion.error``), only for a missing configuration.
        """
        total = sum(len(str(m.get("content", ""))) for m in messages)
        if total > _MAX_MESSAGES_CHARS:
            return Completion(None, error=f"prompt of {total:,} characters exceeds the limit of "
                                          f"{_MAX_MESSAGES_CHARS:,}")
        hit = self.cached(messages)
        if hit is not None:
            with self.usage._lock:
                self.usage.cache_hits += 1
            return hit
        client = self._openai()
        attempt = 0
        while True:
            attempt += 1
            with self.usage._lock:
                self.usage.requests += 1
            try:
                comp = self._send(client, messages)
            except _Retryable as exc:
                if attempt > self.max_retries:
                    return self._failed(f"{exc.reason} (after {attempt} attempts)", attempt)
                wait = self._wait(attempt, exc.retry_after)
                log.info("retrying in %.2fs: %s", wait, exc.reason)
                with self.usage._lock:
                    self.usage.retries += 1
                time.sleep(wait)
                continue
            except _Fatal as exc:
                if exc.config:
                    raise LLMError(exc.reason) from None
                return self._failed(exc.reason, attempt)
            comp = dataclasses.replace(comp, attempts=attempt)
            with self.usage._lock:
                self.usage.prompt_tokens += comp.prompt_tokens
                self.usage.completion_tokens += comp.completion_tokens
                if math.isnan(comp.cost_usd):
                    self.usage.cost_known = False
                else:
                    self.usage.cost_usd += comp.cost_usd
            self._store(messages, comp)
            return comp

    def _failed(self, reason: str, attempts: int) -> Completion:
        reason = self.redact(reason)
        log.warning("request failed: %s", reason)
        with self.usage._lock:
            self.usage.failures += 1
        return Completion(None, error=reason, attempts=attempts)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        return _backoff(attempt, retry_after, self.backoff, self.max_backoff, self._rng)

    def _send(self, client, messages) -> Completion:
        import openai

        kwargs = {"model": self.model, "messages": [dict(m) for m in messages], **self._params()}
        deadline = time.monotonic() + 2 * self.timeout
        try:
            with client.chat.completions.with_streaming_response.create(**kwargs) as resp:
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise _Fatal(f"response larger than {self.max_response_bytes:,} bytes (cut off)")
                    if time.monotonic() > deadline:
                        raise _Retryable(f"response took longer than {2 * self.timeout:g} s")
                    chunks.append(chunk)
                body = b"".join(chunks)
        except openai.APIStatusError as exc:
            status = exc.status_code
            detail = _short(self.redact(getattr(exc, "message", "") or ""))
            if status == 429 or status >= 500:
                raise _Retryable(f"HTTP {status}: {detail}", _retry_after(exc.response)) from None
            raise _Fatal(f"HTTP {status} from {_safe_url(self.base_url)}: {detail}",
                         config=status in (401, 403, 404)) from None
        except openai.APITimeoutError:
            raise _Retryable(f"timed out after {self.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise _Retryable(f"connection failed: {_short(self.redact(str(exc)))}") from None
        except openai.OpenAIError as exc:  # anything else the client raises: reported, redacted
            raise _Fatal(f"{type(exc).__name__}: {_short(self.redact(str(exc)))}") from None
        try:
            data = json.loads(body)
            choice = data["choices"][0]
            text = choice["message"]["content"]
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _Fatal(f"the endpoint's reply is not a chat completion ({type(exc).__name__}: "
                         f"{_short(self.redact(str(exc)))})") from None
        usage = data.get("usage") or {}
        ptok = _int(usage.get("prompt_tokens"))
        ctok = _int(usage.get("completion_tokens"))
        # the answer is the server's data: one that echoes the request's key (a debugging proxy, a
        # misconfigured server) must not carry it into a log, a cache or a judge's rationale
        return Completion(self.redact(text), ptok, ctok, self._cost(ptok, ctok))

    def complete_many(self, batch: Sequence[Sequence[Mapping[str, str]]], *, progress: bool = True,
                      desc: str = "LLM requests",
                      then: Callable[[int, Completion], Completion] | None = None,
                      stop_after_failures: int = 20) -> list[Completion]:
        """Completions for every message list in ``batch`` (same order), ``concurrency`` at a time.

        ``then(i, completion)`` runs in the worker right after each answer (a judge uses it to
        retry malformed output) and its return value is kept. After ``stop_after_failures``
        requests in a row failed (retries spent: a wrong ``base_url``, a server that is down;
        0: never stop) the rest are not sent: each is a failed completion saying so, counted in
        ``usage.not_sent``.
        """
        from toolkit._progress import progress_bar

        _check_range("stop_after_failures", stop_after_failures, 0, 10**9)
        out: list[Completion | None] = [None] * len(batch)
        state = {"in_row": 0, "stopped": None}
        lock = threading.Lock()

        def work(i: int) -> Completion:
            with lock:
                stopped = state["stopped"]
            if stopped is not None:
                with self.usage._lock:
                    self.usage.not_sent += 1
                comp = Completion(None, error=stopped, attempts=0)
            else:
                comp = self.complete(batch[i])
                with lock:
                    if comp.ok:
                        state["in_row"] = 0
                    elif comp.attempts:  # a request that was sent and failed
                        state["in_row"] += 1
                        if stop_after_failures and state["in_row"] >= stop_after_failures and state["stopped"] is None:
                            state["stopped"] = (f"not sent: the {state['in_row']} requests before it failed "
                                                f"in a row (last: {comp.error})")
                            log.warning("%d requests in a row failed; not sending the rest", state["in_row"])
            return then(i, comp) if then is not None else comp

        with progress_bar(total=len(batch), desc=desc, disable=not progress or len(batch) < 2) as bar:
            if self.concurrency == 1 or len(batch) < 2:
                for i in range(len(batch)):
                    out[i] = work(i)
                    bar.update(1)
            else:
                from concurrent.futures import as_completed

                with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                    futures = {pool.submit(work, i): i for i in range(len(batch))}
                    try:
                        for fut in as_completed(futures):
                            out[futures[fut]] = fut.result()
                            bar.update(1)
                    except BaseException:
                        # a configuration error (401, 404, no key) or an interrupt: send no more
                        for fut in futures:
                            fut.cancel()
                        raise
        return out  # type: ignore[return-value]


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class _Fatal(Exception):
    def __init__(self, reason: str, config: bool = False):
        super().__init__(reason)
        self.reason, self.config = reason, config


def _retry_after(response) -> float | None:
    value = None if response is None else response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _backoff(attempt: int, retry_after: float | None, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): ``Retry-After`` capped, else exponential with jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return min(base * 2 ** (attempt - 1) * (0.5 + 0.5 * rng.random()), cap)


def _short(text: Any, n: int = 300) -> str:
    try:
        text = str(text)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails
        text = f"<{type(text).__name__} without a readable message>"
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "..."


def _int(v) -> int:
    try:
        return max(0, int(v))
    except (TypeError, ValueError):
        return 0


def _check_range(name: str, value, lo, hi) -> None:
    try:
        ok = lo <= float(value) <= hi
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise LLMError(f"{name}={value!r} is outside [{lo}, {hi}]")
