"""Test sets for prompt experiments: one row per example (``example_id``, ``input``, ``reference``).

:func:`read_test_set` takes a DataFrame, a CSV / JSON Lines file of examples, a LangSmith dataset
export (its examples as a JSON array or JSON Lines: ``id``, ``inputs``, ``outputs``,
``metadata``; or the chat fine-tuning JSON Lines with ``messages``), or a conversation log
(any file or folder :func:`toolkit.io.load` reads, or a
:class:`~toolkit.log.ConversationLog`), from which distinct user messages are drawn.

Examples
--------
>>> import pandas as pd
>>> read_test_set(pd.DataFrame({"input": ["Where is my order?", "Reset my password"]}))
  example_id               input
0          0  Where is my order?
1          1   Reset my password
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.experiments.spec import LIMITS, ExperimentSpecError

__all__ = ["TestSetError", "read_test_set", "normalise_test_set"]


class TestSetError(ExperimentSpecError):
    """A test set that cannot be used: the message names the file, the column and the rows."""

    __test__ = False  # not a pytest test class


# text keys of LangSmith example inputs/outputs, in order of preference
_INPUT_KEYS = ("input", "question", "query", "prompt", "text", "message", "user_input", "content")
_OUTPUT_KEYS = ("output", "answer", "reference", "expected", "response", "text", "content", "result")


def _rows(mask: np.ndarray, df: pd.DataFrame, limit: int = 5) -> str:
    idx = list(np.flatnonzero(mask)[:limit])
    ids = df["example_id"].iloc[idx].tolist() if "example_id" in df else []
    shown = ", ".join(f"row {i}" + (f" (example_id={e!r})" if ids else "")
                      for i, e in zip(idx, ids or [None] * len(idx)))
    more = int(mask.sum()) - len(idx)
    return shown + (f" and {more} more" if more > 0 else "")


def normalise_test_set(df: pd.DataFrame, *, source: str = "test set") -> pd.DataFrame:
    """Check a frame of examples and return a copy with string ``example_id`` and ``input``.

    ``example_id`` is the row number when absent; it must be unique. ``input`` must be non-empty
    text within the length limit. ``reference`` and any other columns are kept.

    Examples
    --------
    >>> normalise_test_set(pd.DataFrame({"example_id": [1, 1], "input": ["a", "b"]}))
    Traceback (most recent call last):
    ...
    toolkit.experiments.testset.TestSetError: test set: example_id must be unique: row 0 (example_id='1'), row 1 (example_id='1')
    """
    if not isinstance(df, pd.DataFrame):
        raise TestSetError(f"{source}: expected a DataFrame, got {type(df).__name__}")
    if "input" not in df.columns:
        raise TestSetError(f"{source}: the column 'input' is missing (it has {', '.join(map(str, df.columns[:20]))})")
    if len(df) == 0:
        raise TestSetError(f"{source}: has no examples")
    if len(df) > LIMITS["examples"]:
        raise TestSetError(f"{source}: has {len(df):,} examples; the limit is {LIMITS['examples']:,} (draw fewer with n=)")
    out = df.copy().reset_index(drop=True)
    if "example_id" not in out.columns:
        out.insert(0, "example_id", [str(i) for i in range(len(out))])
    ids = out["example_id"]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise TestSetError(f"{source}: example_id is missing in {_rows(missing, out)}")
    out["example_id"] = ids.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).astype(object)
    too_long_id = out["example_id"].str.len().to_numpy() > 200
    if too_long_id.any():
        raise TestSetError(f"{source}: example_id must be at most 200 characters: {_rows(too_long_id, out)}")
    dup = out["example_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise TestSetError(f"{source}: example_id must be unique: {_rows(dup, out)}")
    text = out["input"]
    bad = (text.isna() | ~text.map(lambda v: isinstance(v, str))).to_numpy()
    if bad.any():
        raise TestSetError(f"{source}: input must be text: {_rows(bad, out)}")
    empty = (text.str.strip().str.len() == 0).to_numpy()
    if empty.any():
        raise TestSetError(f"{source}: input is empty in {_rows(empty, out)}")
    long = (text.str.len() > LIMITS["input_chars"]).to_numpy()
    if long.any():
        raise TestSetError(f"{source}: input is longer than {LIMITS['input_chars']:,} characters in {_rows(long, out)}")
    cols = ["example_id", "input"] + [c for c in out.columns if c not in ("example_id", "input")]
    return out[cols]


def read_test_set(path_or_log: Any, n: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Read a test set: examples with ``example_id``, ``input`` (and ``reference`` when known).

    Parameters
    ----------
    path_or_log : path, DataFrame or ConversationLog
        A DataFrame or a CSV / JSON Lines file with an ``input`` column; a LangSmith dataset
        export (``.json`` array or ``.jsonl`` of examples with ``inputs``/``outputs``, or chat
        fine-tuning JSON Lines with ``messages``: the last user message is the input, the final
        assistant message the reference); or a
        conversation log (a ``ConversationLog`` or anything :func:`toolkit.io.load` reads, e.g.
        ``data/sample``): its distinct user messages become the examples (``example_id`` is
        ``conversation_id:turn`` of the first occurrence, the logged answer is kept as
        ``logged_response``, not as a reference).
    n : int, optional
        Draw this many examples at random (without replacement, seeded); all when None.
    seed : int
        Seed of that draw.

    Returns
    -------
    DataFrame
        ``example_id`` (str), ``input`` (str), then ``reference`` and the other columns.

    Raises
    ------
    TestSetError
        Naming the file, the column and a few rows (missing ``input``, duplicate ids, ...).

    Examples
    --------
    >>> import toolkit
    >>> ts = read_test_set(toolkit.load_sample(), n=5, seed=1)
    >>> len(ts), list(ts.columns[:2])
    (5, ['example_id', 'input'])
    """
    from toolkit.log import ConversationLog

    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= LIMITS["examples"]):
        raise TestSetError(f"n must be an integer in [1, {LIMITS['examples']:,}], got {n!r}")
    if isinstance(path_or_log, ConversationLog):
        df, source = _from_log_frame(path_or_log.turns), "conversation log"
    elif isinstance(path_or_log, pd.DataFrame):
        source = "test set"
        df = _from_log_frame(path_or_log) if ("input" not in path_or_log.columns
                                              and "user_input" in path_or_log.columns) else path_or_log
    elif isinstance(path_or_log, (str, os.PathLike)):
        df, source = _from_path(Path(path_or_log).expanduser())
    else:
        raise TestSetError(f"read_test_set takes a path, a DataFrame or a ConversationLog, not "
                           f"{type(path_or_log).__name__}")
    out = normalise_test_set(df, source=source)
    if n is not None and n < len(out):
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(out), size=n, replace=False))
        out = out.iloc[keep].reset_index(drop=True)
    return out


def _file_problem(path: Path, exc: Exception) -> TestSetError:
    """A file-level error of the log readers, said about a test set."""
    problems = getattr(exc, "problems", None)
    rule = "; ".join(p.rule for p in problems) if problems else str(exc)
    return TestSetError(f"test set {path}: {rule}")


def _from_path(path: Path) -> tuple[pd.DataFrame, str]:
    from toolkit.io import FORMATS, SQLITE_SUFFIXES, check_input_path, load
    from toolkit.log import LogValidationError

    try:
        path = check_input_path(path)
    except LogValidationError as exc:
        raise _file_problem(path, exc) from None
    source = str(path)
    kind = FORMATS.get(path.suffix.lower())
    if path.is_dir() or kind == "parquet" or path.suffix.lower() in SQLITE_SUFFIXES:
        return _from_log_frame(load(path).turns), source
    if kind is None:
        raise TestSetError(f"test set {path}: unknown extension {path.suffix!r}; give a .csv or .jsonl of "
                           "examples, a LangSmith dataset export (.json/.jsonl), or a conversation log "
                           "(.parquet, a folder, a SQLite database)")
    if path.stat().st_size > 500_000_000:
        raise TestSetError(f"{path}: larger than 500 MB; draw a smaller test set first")
    if kind == "csv":
        from toolkit.io import read_table

        try:
            df = read_table(path)
        except LogValidationError as exc:
            raise _file_problem(path, exc) from None
        if "input" not in df.columns and {"conversation_id", "user_input"} <= set(df.columns):
            return _from_log_frame(load(path).turns), source
        return _csv_strings(df), source
    records = _json_records(path)
    if records and all(isinstance(r, dict) for r in records):
        if any("inputs" in r for r in records):
            return _from_langsmith(records, source), source
        if all("messages" in r and "input" not in r for r in records):  # chat fine-tuning JSONL
            return _from_langsmith([{"id": r.get("id", i), "inputs": {"messages": _before_answer(r["messages"])},
                                     "outputs": {"messages": r["messages"]}, "metadata": r.get("metadata")}
                                    for i, r in enumerate(records)], source), source
        keys = set().union(*(r.keys() for r in records[:100]))
        if "input" not in keys and {"conversation_id", "user_input"} <= keys:
            return _from_log_frame(load(path).turns), source
        return pd.DataFrame.from_records(records), source
    raise TestSetError(f"{path}: expected JSON objects (one per line, or an array of them) with an 'input' "
                       "field, or a LangSmith dataset export with 'inputs'")


def _csv_strings(df: pd.DataFrame) -> pd.DataFrame:
    """CSV cells of ``input``/``reference`` as text (a number typed into a CSV stays a question)."""
    out = df.copy()
    for col in ("input", "reference"):
        if col in out.columns:
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str) or v != v else str(v))
    return out


def _json_records(path: Path) -> list:
    from toolkit.sources._common import json_lines

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TestSetError(f"{path}: not UTF-8 text") from None
    head = text.lstrip()[:1]
    if head == "[" or (head == "{" and path.suffix.lower() == ".json"):
        try:
            data = json.loads(text)  # text starting with "[" is an array when it parses
        except json.JSONDecodeError as exc:
            if head == "[":
                raise TestSetError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
            data = None  # JSON Lines in a .json file
        except RecursionError:
            raise TestSetError(f"{path}: nested too deeply") from None
        if isinstance(data, list):
            return data
        if isinstance(data, dict):
            for key in ("examples", "data", "items"):
                if isinstance(data.get(key), list):
                    return data[key]
            return [data]
    return json_lines(path, text)


def _before_answer(messages: Any) -> Any:
    """A chat's messages without its final assistant answer (the reference), for its input."""
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict) \
            and messages[-1].get("role") == "assistant":
        return messages[:-1]
    return messages


def _text_of(value: Any, keys: tuple[str, ...], role: str) -> str | None:
    """The text of a LangSmith inputs/outputs mapping: a preferred key, chat messages, or the only text."""
    from toolkit.sources._common import content_text, last_text

    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for k in keys:
            v = value.get(k)
            if isinstance(v, str):
                return v
            if isinstance(v, dict):
                t = content_text(v.get("content")) if "content" in v else None
                if t:
                    return t
        for k in ("messages", "chat_history", "output", "generations"):
            if isinstance(value.get(k), list):
                t = last_text(value[k], role)
                if t:
                    return t
        texts = [v for v in value.values() if isinstance(v, str)]
        if len(texts) == 1:
            return texts[0]
        return None
    if isinstance(value, list):
        return last_text(value, role)
    return None


def _from_langsmith(records: list[dict], source: str) -> pd.DataFrame:
    rows, bad = [], []
    for i, r in enumerate(records):
        text = _text_of(r.get("inputs"), _INPUT_KEYS, "user")
        if not text:
            bad.append(i)
            continue
        row = {"example_id": str(r.get("id") or r.get("example_id") or i), "input": text}
        ref = _text_of(r.get("outputs"), _OUTPUT_KEYS, "assistant")
        if ref is not None:
            row["reference"] = ref
        meta = r.get("metadata")
        if isinstance(meta, dict):
            for k, v in meta.items():
                if isinstance(v, (str, int, float, bool)) and k not in ("example_id", "input", "reference"):
                    row[f"metadata_{k}"] = v
        if r.get("split") is not None:
            row["split"] = str(r["split"]) if not isinstance(r["split"], list) else ",".join(map(str, r["split"]))
        rows.append(row)
    if bad:
        shown = ", ".join(f"record {i} (id={records[i].get('id')!r})" for i in bad[:5])
        raise TestSetError(f"{source}: LangSmith examples without a text input (inputs needs one of "
                           f"{', '.join(_INPUT_KEYS)}, chat messages, or a single text field): {shown}"
                           + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""))
    return pd.DataFrame(rows)


def _from_log_frame(turns: pd.DataFrame) -> pd.DataFrame:
    """Distinct non-empty user messages of a turns table, first occurrence (by time) kept."""
    t = turns
    if "timestamp" in t.columns:
        t = t.sort_values(["timestamp", "conversation_id", "turn"], kind="stable")
    text = t["user_input"].astype("string")
    keep = text.notna() & (text.str.strip().str.len() > 0)
    t = t[keep.to_numpy()]
    t = t.assign(_key=t["user_input"].astype(str).str.strip()).drop_duplicates("_key")
    if len(t) == 0:
        raise TestSetError("conversation log: has no user messages to draw examples from")
    out = pd.DataFrame({
        "example_id": (t["conversation_id"].astype(str) + ":" + t["turn"].astype(str)).to_numpy(),
        "input": t["user_input"].astype(str).to_numpy(),
        "source_conversation_id": t["conversation_id"].astype(str).to_numpy(),
    })
    if "bot_response" in t.columns:
        out["logged_response"] = t["bot_response"].astype(object).to_numpy()
    return out
