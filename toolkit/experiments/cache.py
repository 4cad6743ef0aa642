"""The disk cache of an experiment's finished calls: one small JSON file per call, written atomically.

A call is keyed by a SHA-256 of what decides its answer: the target (the endpoint URL and model,
or the Python function's name, a hash of its code and its ``cache_id``), the variant's whole definition (its name too, so the two arms of an
A/A test stay independent draws), the example (every column), the repetition index and the
run's seed. Never the API key.

Each finished call is written the moment it finishes, to a temporary file that is fsync'ed and
renamed (:func:`toolkit._files.atomic_write_text`), so a run that is killed keeps every call it
finished and a rerun sends only what is missing. Only successful calls are stored: a failed call
is sent again on the next run. A damaged entry counts as a miss. A writer killed in the middle of
a write (SIGKILL, power loss) leaves its temporary file behind; the temporary files carry the
writer's host and process id, and :meth:`CallCache.remove_stale_temps` (called when a run opens
the cache) removes those of writers that are gone, never one a live writer is still using.

Examples
--------
>>> import tempfile
>>> cache = CallCache(tempfile.mkdtemp())
>>> key = call_key({"kind": "callable", "name": "m.f"}, {"name": "a"}, {"example_id": "1", "input": "hi"}, 0, 0)
>>> cache.get(key) is None
True
>>> cache.put(key, {"bot_response": "hello", "response_time_s": 0.1})
>>> cache.get(key)["bot_response"], len(cache)
('hello', 1)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["CACHE_VERSION", "CallCache", "call_key"]

#: bumped when the meaning of a cached entry changes (old entries then stop matching)
CACHE_VERSION = 1

#: a temporary file of an entry being written: ``.<key>.json.w<pid>-<host hash>.<random>.tmp``
#: (``toolkit._files.atomic_path`` with a tag), or untagged ``.<key>.json.<random>.tmp``
_TEMP = re.compile(r"^\.[0-9a-f]{64}\.json\.(?:w(?P<pid>\d{1,10})-(?P<host>[0-9a-f]{8})\.)?[^.]+\.tmp$")
#: seconds after which a temporary file no live writer of this host owns is stale (one entry is a
#: small JSON written in milliseconds; a minute leaves a wide margin for a slow disk)
STALE_AFTER_S = 60.0
#: seconds after which even a temporary file whose writer's pid is alive is stale (the pid was reused)
ABANDONED_AFTER_S = 3600.0


def call_key(target: Mapping[str, Any], variant: Mapping[str, Any], example: Mapping[str, Any],
             repetition: int, seed: int) -> str:
    """SHA-256 (hex) of target + variant definition + example + repetition + seed.

    Examples
    --------
    >>> k1 = call_key({"kind": "callable", "name": "m.f"}, {"name": "a"}, {"input": "x"}, 0, 0)
    >>> k2 = call_key({"kind": "callable", "name": "m.f"}, {"name": "a"}, {"input": "x"}, 1, 0)
    >>> len(k1), k1 != k2
    (64, True)
    """
    from toolkit._files import to_jsonable

    blob = json.dumps({"v": CACHE_VERSION, "target": to_jsonable(dict(target)), "variant": to_jsonable(dict(variant)),
                       "example": to_jsonable(dict(example)), "repetition": int(repetition), "seed": int(seed)},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _code_fingerprint(fn: Any) -> str | None:
    """A short hash of the target's own code (bytecode, constants, names) and of the immutable plain
    values (text, numbers, tuples) bound to it by ``functools.partial`` or a closure: editing the function or its configuration
    changes it, so its cached answers are not reused. None when there is no Python code to read."""
    import functools
    import types

    bound: list[Any] = []  # the configuration bound to the code: partial arguments, closure values
    for _ in range(3):  # functools.partial -> its function; a bound method -> its function
        if isinstance(fn, functools.partial):
            bound.append((fn.args, tuple(sorted(fn.keywords.items()))))
        fn = getattr(fn, "func", None) or getattr(fn, "__func__", None) or fn
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            bound.append(cell.cell_contents)
        except ValueError:  # an empty cell
            bound.append(None)
    code = getattr(fn, "__code__", None)
    if code is None:
        call = getattr(type(fn), "__call__", None)
        code = getattr(call, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None

    def const(c: Any) -> str:
        if isinstance(c, types.CodeType):
            return "code:" + digest(c)
        if isinstance(c, (tuple, list)):
            return "(" + ",".join(const(x) for x in c) + ")"
        if isinstance(c, (frozenset, set)):
            return "{" + ",".join(sorted(const(x) for x in c)) + "}"
        return f"{type(c).__name__}:{c!r}"

    def digest(co: types.CodeType) -> str:
        h = hashlib.sha256(co.co_code)
        h.update("\x00".join(co.co_names).encode())
        h.update(const(co.co_consts).encode())
        return h.hexdigest()[:16]

    def value(v: Any, depth: int = 0) -> str:
        """Immutable plain values by their repr (tuples and frozensets by their items), functions
        by their code; other objects by their type only: no memory address, and a mutable one (a
        call counter, a client's own cache) may change while the bot runs (give a bot configured
        by such objects a ``cache_id``)."""
        if depth > 20:
            return "..."
        if v is None or isinstance(v, (bool, int, float, complex, str, bytes)):
            return f"{type(v).__name__}:{v!r}"
        if isinstance(v, tuple):
            return "(" + ",".join(value(x, depth + 1) for x in v) + ")"
        if isinstance(v, frozenset):
            return "{" + ",".join(sorted(value(x, depth + 1) for x in v)) + "}"
        inner = getattr(getattr(v, "__func__", v), "__code__", None)
        if isinstance(inner, types.CodeType):  # its code only: a closure may hold itself
            return "fn:" + digest(inner)
        return f"{type(v).__module__}.{type(v).__qualname__}"

    if not bound:
        return digest(code)
    return hashlib.sha256((digest(code) + value(tuple(bound))).encode()).hexdigest()[:16]


def _host_hash() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _writer_tag() -> str:
    """``w<pid>-<host hash>``: who writes a temporary file (see :meth:`CallCache.remove_stale_temps`)."""
    return f"w{os.getpid()}-{_host_hash()}"


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (True when it cannot be told)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # it exists (another user's), or the pid is not one we can ask about
    return True


class CallCache:
    """Finished calls on disk under ``folder/<2 hex>/<key>.json``.

    Parameters
    ----------
    folder : path
        Created when the first entry is written.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).expanduser()
        if self.folder.exists() and not self.folder.is_dir():
            from toolkit.errors import OutputError

            raise OutputError(f"cache_dir {self.folder} is a file, not a folder")

    def __repr__(self) -> str:
        return f"CallCache({str(self.folder)!r})"

    def _file(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a cache key: {key[:80]!r}")
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record of a finished call, or None (missing or damaged)."""
        path = self._file(key)
        try:
            if path.stat().st_size > 50_000_000:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("record"), dict):
            return None
        return data["record"]

    def put(self, key: str, record: Mapping[str, Any]) -> None:
        """Store ``record`` for ``key`` durably (fsync'ed temporary file renamed into place)."""
        from toolkit._files import atomic_write_text, to_jsonable

        atomic_write_text(self._file(key), json.dumps({"key": key, "record": to_jsonable(dict(record))},
                                                      ensure_ascii=False), tag=_writer_tag())

    def remove_stale_temps(self) -> int:
        """Remove the temporary files that killed writers left behind; returns how many.

        A temporary file is stale when its writer (the host and process id in its name) is a
        process of this host that no longer exists, when it is older than ``STALE_AFTER_S``
        (60 s) and not tagged by a process of this host (an untagged or another host's file), or
        when it is older than ``ABANDONED_AFTER_S`` (an hour: its pid was reused). A file of a
        live writer, in this or another process, is never removed while it can be in use.

        Examples
        --------
        >>> import subprocess, sys, tempfile
        >>> cache = CallCache(tempfile.mkdtemp())
        >>> cache.put("ab" * 32, {"bot_response": "hi"})
        >>> gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
        ...                       capture_output=True, text=True).stdout.strip()
        >>> left = cache.folder / "ab" / f".{'ab' * 32}.json.w{gone}-{_host_hash()}.x1y2z3.tmp"
        >>> _ = left.write_text('{"key": "ab')  # a write cut short by SIGKILL
        >>> live = cache.folder / "ab" / f".{'ab' * 32}.json.{_writer_tag()}.q7r8s9.tmp"
        >>> _ = live.write_text("{")  # this process writing
        >>> cache.remove_stale_temps(), left.exists(), live.exists(), len(cache)
        (1, False, True, 1)
        """
        if not self.folder.is_dir():
            return 0
        host, now, removed = _host_hash(), time.time(), 0
        for path in self.folder.glob("??/.*.tmp"):
            m = _TEMP.match(path.name)
            if m is None:
                continue  # not one of ours
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue  # renamed into place or removed meanwhile
            ours = m["pid"] is not None and m["host"] == host
            if ours:
                stale = age > ABANDONED_AFTER_S or not _pid_alive(int(m["pid"]))
            else:
                stale = age > STALE_AFTER_S
            if stale:
                try:
                    path.unlink()
                    removed += 1
                except OSError:
                    pass  # gone meanwhile, or not ours to remove: a reader ignores it anyway
        return removed

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        if not self.folder.is_dir():
            return 0
        return sum(1 for _ in self.folder.glob("??/*.json"))
