"""LangSmith runs as plain dicts: one shape whichever API they came from, saved as JSON Lines.

Examples
--------
>>> normalise_run({"id": "r1", "run_type": "CHAIN", "status": "SUCCESS"})["run_type"]
'chain'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from toolkit.sources._common import jsonable
from toolkit.errors import InputFileError

__all__ = ["normalise_run", "save_runs", "read_runs", "is_runs_file"]


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
    from toolkit._files import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for run in runs:
                fh.write(json.dumps(jsonable(run), ensure_ascii=False, sort_keys=True))
                fh.write("\n")
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
        try:
            return [dict(r) for r in json.loads(text)]
        except (ValueError, TypeError, RecursionError):
            raise InputFileError(f"{path}: is not a JSON array of run objects") from None
    from toolkit.sources._common import json_lines

    return json_lines(path, text)


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
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return False
