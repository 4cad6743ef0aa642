"""The one redaction point for secrets (API keys): text, log records, warnings and exceptions.

A library we call (the langsmith client, requests, urllib3, httpx) may put a request header such
as ``x-api-key`` into a warning, a log record or an exception message, e.g. when a server echoes
the headers in a 401 reply. Inside :func:`redacting` every log record created, every warning
shown and every exception leaving the block passes through :func:`redact`, which replaces the
registered secrets (and their masked forms ``lsv2_*****42``) and the values of key-like headers
with ``***``.

Examples
--------
>>> with redacting("sk-very-secret-123"):
...     redact("auth failed: {'x-api-key': 'sk-very-secret-123'}")
"auth failed: {'x-api-key': '***'}"
>>> redact("Authorization: Bearer abc.def")
'Authorization: Bearer ***'
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import warnings
from typing import Any, Iterator

__all__ = ["redact", "redacting", "add_secret"]

_LOCK = threading.RLock()
_SECRETS: set[str] = set()
_DEPTH = 0
_SAVED: dict[str, Any] = {}

# values of headers/fields that carry credentials, in dict reprs, JSON and HTTP header text
_HEADER_RE = re.compile(
    r"""(?ix)
    (["']?(?:x-api-key|api[-_]?key|authorization|proxy-authorization|x-auth-token|cookie|set-cookie)["']?
     \s*[:=]\s*)
    (?:(["'])(?:bearer\s+|basic\s+)?(?P<q>.*?)\2 | (?:bearer\s+|basic\s+)?(?P<u>[^\s,;'"}\]]+))
    """
)


# bearer tokens anywhere, OpenAI-style ``sk-...`` keys, and passwords in URLs (scheme://user:pw@host)
_BEARER_RE = re.compile(r"(?i)\b(bearer\s+)(?!\*\*\*)[^\s'\"]+")
_SK_RE = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
_USERINFO_RE = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/\s@]+@")


def add_secret(value: str | None) -> None:
    """Register ``value`` (e.g. an API key) so that :func:`redact` replaces it everywhere.

    Examples
    --------
    >>> add_secret("tok-000111222")
    >>> redact("sent tok-000111222")
    'sent ***'
    """
    if value and len(value.strip()) >= 4:
        with _LOCK:
            _SECRETS.add(value.strip())


def _masked_forms(key: str) -> list[str]:
    forms = [key]
    if len(key) > 7:
        forms.append(key[:5] + "*" * (len(key) - 7) + key[-2:])
    return forms


def redact(text: Any) -> str:
    """``text`` as a string with registered secrets and credential header values replaced by ``***``.

    Examples
    --------
    >>> redact('{"x-api-key": "abc123456"} and api_key=zzz999')
    '{"x-api-key": "***"} and api_key=***'
    >>> redact("http://user:pw@host/v1 with sk-abcdefgh1234")
    'http://***@host/v1 with ***'
    """
    out = str(text)
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for key in secrets:
        for form in _masked_forms(key):
            out = out.replace(form, "***")

    def _sub(m: re.Match) -> str:
        prefix = m.group(1)
        if m.group("q") is not None:
            quote = m.group(2)
            inner = m.group(0)[len(prefix) + 1 : -1]
            scheme = re.match(r"(?i)(bearer\s+|basic\s+)?", inner).group(0)
            return f"{prefix}{quote}{scheme}***{quote}"
        whole = m.group(0)[len(prefix):]
        scheme = re.match(r"(?i)(bearer\s+|basic\s+)?", whole).group(0)
        return f"{prefix}{scheme}***"

    out = _HEADER_RE.sub(_sub, out)
    out = _BEARER_RE.sub(r"\1***", out)
    out = _SK_RE.sub("***", out)
    return _USERINFO_RE.sub(r"\1***@", out)


def _redact_arg(arg: Any) -> Any:
    if isinstance(arg, (int, float, type(None))):
        return arg
    text = str(arg)
    clean = redact(text)
    return arg if clean == text else clean


def _redact_exception(exc: BaseException, seen: set[int] | None = None) -> None:
    """Redact the args of ``exc`` and of its cause/context chain in place."""
    seen = seen if seen is not None else set()
    if exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    try:
        exc.args = tuple(_redact_arg(a) for a in exc.args)
    except Exception:  # noqa: BLE001 - some exception types refuse new args
        pass
    for attr in ("msg", "message", "detail", "text"):
        val = getattr(exc, attr, None)
        if isinstance(val, str):
            with contextlib.suppress(Exception):
                setattr(exc, attr, redact(val))
    _redact_exception(exc.__cause__, seen)
    _redact_exception(exc.__context__, seen)


def _install() -> None:
    old_factory = logging.getLogRecordFactory()
    old_showwarning = warnings.showwarning

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = old_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: keep its raw text
            message = str(record.msg)
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = redact(text), None
        return record

    def showwarning(message, category, filename, lineno, file=None, line=None):
        old_showwarning(redact(message), category, filename, lineno, file, line)

    _SAVED.update(factory=old_factory, showwarning=old_showwarning)
    logging.setLogRecordFactory(factory)
    warnings.showwarning = showwarning


def _uninstall() -> None:
    logging.setLogRecordFactory(_SAVED.pop("factory"))
    warnings.showwarning = _SAVED.pop("showwarning")


@contextlib.contextmanager
def redacting(*secrets: str | None) -> Iterator[None]:
    """Within the block, every log record, shown warning and escaping exception is redacted.

    Parameters
    ----------
    *secrets : str
        Values to hide (e.g. the API key); ``None`` is ignored. They stay registered afterwards.

    Examples
    --------
    >>> try:
    ...     with redacting("key-4242-abcd"):
    ...         raise RuntimeError("401 for key-4242-abcd")
    ... except RuntimeError as exc:
    ...     print(exc)
    401 for ***
    """
    global _DEPTH
    for s in secrets:
        add_secret(s)
    with _LOCK:
        if _DEPTH == 0:
            _install()
        _DEPTH += 1
    try:
        yield
    except BaseException as exc:
        _redact_exception(exc)
        raise
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                _uninstall()
