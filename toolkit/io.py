"""Read and write conversation logs: CSV, JSON Lines, Parquet, and the reference SQLite database.

:func:`load` dispatches on what it is given; each source is a small adapter that produces the two
tables, which then go through :func:`toolkit.log.validate`. A file that is not what its extension
says, or text that is not UTF-8, gets a clear error naming the file and what was found.

Layouts
-------
- a single file of turns: ``turns.csv``, ``log.jsonl``, ``x.parquet`` (with an optional sibling
  ``<stem>.conversations.<ext>`` holding the conversations table);
- a folder holding ``turns.<ext>`` and optionally ``conversations.<ext>`` (any of the three
  formats);
- a LangSmith runs file saved by ``toolkit langsmith pull``, an OpenTelemetry OTLP/JSON
  export of GenAI spans (``.jsonl``), a Langfuse export (JSON, JSONL or UI CSV) or an Arize
  Phoenix spans export (Parquet or JSONL), mapped by :mod:`toolkit.sources`;
- a SQLite file (``.db``, ``.sqlite``, ``.sqlite3``) with the reference monitoring schema:
  ``conversations(id, bot_id, user_id, start_time, end_time, message_count,
  average_response_time, user_satisfaction_score, successful_resolution, total_cost)`` and
  ``responses(id, conversation_id, timestamp, user_input, bot_response, response_time,
  quality_score, sentiment_score, relevance_score, api_cost)``.

Examples
--------
>>> import tempfile, toolkit
>>> log = toolkit.load_sample()
>>> folder = save(log, tempfile.mkdtemp() + "/copy", format="csv")
>>> load(folder).summary() == log.summary()
True
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.log import ConversationLog, validate
from toolkit.validation import LogValidationError, Problem

__all__ = ["load", "save", "read_table", "load_sqlite", "check_input_path", "FORMATS"]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
SQLITE_SUFFIXES = {".db", ".sqlite", ".sqlite3"}
_PARQUET_MAGIC = b"PAR1"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _error(path: Path, rule: str) -> LogValidationError:
    return LogValidationError([Problem("file", None, rule)], source=str(path))


def check_input_path(path: str | os.PathLike, *, folder_ok: bool = True) -> Path:
    """``path`` when it is a readable regular file (or folder); one clear error otherwise.

    A symbolic-link loop, a FIFO, a device or a socket is refused (reading a FIFO would block
    forever), a missing path raises FileNotFoundError naming it.

    Examples
    --------
    >>> check_input_path("/dev/null")
    Traceback (most recent call last):
    ...
    toolkit.validation.LogValidationError: invalid conversation log (/dev/null): file is not a regular file (a character device); give a file or a folder
    """
    import errno
    import stat

    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _error(path, "is a loop of symbolic links (too many levels of symbolic links)") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if os.path.islink(path):
                raise FileNotFoundError(f"no such file: {path} is a symbolic link to a missing target") from None
            raise FileNotFoundError(f"no such file or folder: {path}") from None
        raise _error(path, f"cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        if not folder_ok:
            raise _error(path, "is a folder; give a file")
        return path
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                else "a character device" if stat.S_ISCHR(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode)
                else "a special file")
        raise _error(path, f"is not a regular file ({kind}); give a file or a folder")
    if not os.access(path, os.R_OK):
        raise _error(path, "cannot be read: permission denied")
    return path


def _sniff(path: Path) -> str:
    """Describe what a file's first bytes look like (for error messages)."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(_PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(_SQLITE_MAGIC):
        return "a SQLite database"
    if head[:2] in (b"PK",):
        return "a ZIP archive (an Excel workbook?)"
    if head[:2] == b"\x1f\x8b":
        return "a gzip-compressed file"
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return "JSON text"
    if not head:
        return "an empty file"
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary data"


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(
            path,
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}) "
            "cannot be decoded; re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        ) from None


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read one table (CSV, JSON Lines or Parquet) as strings/numbers, checking the format.

    Parameters
    ----------
    path : path
        ``.csv``, ``.jsonl`` (also ``.ndjson``, ``.json`` with one object per line) or
        ``.parquet``.

    Returns
    -------
    DataFrame
        Raw columns; dtypes are settled by :func:`toolkit.log.validate`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b\\n1,x\\n")
    >>> read_table(p).shape
    (1, 2)
    """
    path = check_input_path(path, folder_ok=False)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _error(path, f"has an unknown extension {path.suffix!r}; use one of {sorted(set(FORMATS))}")
    kind = _sniff(path)
    if fmt == "parquet":
        if kind != "a Parquet file":
            raise _error(path, f"has the extension {path.suffix} but is {kind}, not Parquet")
        return _read_parquet(path)
    if kind in ("a Parquet file", "a SQLite database", "a ZIP archive (an Excel workbook?)", "a gzip-compressed file"):
        raise _error(path, f"has the extension {path.suffix} but is {kind}")
    text = _read_text(path)
    if fmt == "csv":
        import io

        if not text.strip():
            raise _error(path, "is empty")
        sep = _csv_separator(text)
        _check_csv_header(path, text, sep)
        try:
            return pd.read_csv(io.StringIO(text), sep=sep, dtype={"conversation_id": "string", "user_id": "string", "bot_id": "string"}, keep_default_na=True)
        except (pd.errors.ParserError, ValueError, OverflowError) as exc:
            raise _error(path, f"is not valid CSV: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    # JSON Lines: one object per line; blank lines are allowed
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except RecursionError:
            raise _error(path, f"line {lineno} is nested too deeply (more than about 1,000 levels of JSON arrays/objects)") from None
        except ValueError as exc:  # a number of more than 4,300 digits
            if not isinstance(exc, json.JSONDecodeError):
                raise _error(path, f"line {lineno} holds a number too long to read ({str(exc).splitlines()[0][:120]})") from None
            hint = " (is this a JSON array? write one object per line)" if lineno == 1 and line.lstrip().startswith("[") else ""
            raise _error(path, f"line {lineno} is not valid JSON: {exc.msg}{hint}") from None
        if not isinstance(obj, dict):
            kind = "JSON array" if isinstance(obj, list) else f"JSON {type(obj).__name__}"
            raise _error(path, f"line {lineno} is a {kind}, expected one JSON object per line (JSON Lines)")
        records.append(obj)
    if not records:
        raise _error(path, "is empty")
    df = pd.DataFrame.from_records(records)
    for col in ("conversation_id", "user_id", "bot_id"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: v if v is None or isinstance(v, str) or (isinstance(v, float) and v != v) else str(v))
    return df


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a frame; a corrupt or truncated file or a duplicated column is one error."""
    try:
        import pyarrow.parquet as pq

        names = list(pq.read_schema(path).names)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise _error(path, f"is not a readable Parquet file (truncated or corrupt?): {str(exc).splitlines()[0][:200]}") from None
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise _error(path, f"has duplicated column(s) {dup}; each column name must appear once")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001
        raise _error(path, f"is not a readable Parquet file (truncated or corrupt?): {str(exc).splitlines()[0][:200]}") from None


def _csv_separator(text: str) -> str:
    r"""``,`` unless the header holds no comma and is cut by ``;`` or a tab (what a spreadsheet
    set to a decimal comma exports): then that character.

    Examples
    --------
    >>> _csv_separator("conversation_id;turn;timestamp\nc1;0;2026-01-01T00:00:00Z"), _csv_separator("a,b;c")
    (';', ',')
    """
    header = text[: 1 << 16].split("\n", 1)[0]
    if "," in header:
        return ","
    counts = {sep: header.count(sep) for sep in (";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _check_csv_header(path: Path, text: str, sep: str = ",") -> None:
    """Refuse a CSV whose header repeats a column (pandas would rename the copy ``x.1``)."""
    import csv
    import io

    try:
        header = next(csv.reader(io.StringIO(text[: 1 << 20]), delimiter=sep), [])
    except csv.Error as exc:
        raise _error(path, f"is not valid CSV: {exc}") from None
    names = [h.strip() for h in header]
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        raise _error(path, f"has duplicated column(s) {dup} in its header; each column name must appear once")


def _find(folder: Path, stem: str) -> Path | None:
    hits = [folder / f"{stem}{suffix}" for suffix in FORMATS if (folder / f"{stem}{suffix}").exists()]
    if len(hits) > 1:
        names = ", ".join(p.name for p in hits)
        raise _error(folder, f"holds more than one {stem} table ({names}); keep one")
    return hits[0] if hits else None


def load(
    source: Any,
    *,
    tz: str | None = None,
    conversations: pd.DataFrame | None = None,
    satisfaction_scale: float | None = None,
    engine: str = "pandas",
) -> ConversationLog:
    """Load a conversation log from a file, a folder, a SQLite database or DataFrames.

    Parameters
    ----------
    source : path, DataFrame, (DataFrame, DataFrame) or ConversationLog
        A file of turns (``.csv``, ``.jsonl``, ``.parquet``), a folder with ``turns.*`` and
        optionally ``conversations.*``, a SQLite database with the reference schema, a turns
        DataFrame, a ``(turns, conversations)`` pair, or an existing log (validated again).
    tz : str, optional
        Time zone of naive timestamps (they are rejected without it, never guessed).
    conversations : DataFrame, optional
        The conversations table, when ``source`` is a turns DataFrame.
    satisfaction_scale : float, optional
        SQLite only: divide ``user_satisfaction_score`` by this (e.g. 5 for a 1-5 scale).
    engine : {"pandas", "dask"}
        ``"dask"``: ``source`` is a folder or glob of Parquet files (hive partitions too), read
        lazily as a :class:`toolkit.dask_engine.read.DaskLog` (see :func:`toolkit.dask_engine.read.read_log`).

    Returns
    -------
    ConversationLog

    Raises
    ------
    LogValidationError
        The input breaks a rule of the log, or a file is not what its extension says.
    FileNotFoundError
        The path does not exist.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a"], "turn": [0],
    ...                   "timestamp": ["2026-03-01T09:00:00Z"], "user_input": ["hi"],
    ...                   "bot_response": ["hello"], "response_time_s": [1.0]})
    >>> load(t).summary()["turns"]
    1
    """
    from toolkit.dask_engine.client import check_engine

    if check_engine(engine) == "dask":
        from toolkit.dask_engine.read import read_log

        return read_log(source, tz=tz)
    if isinstance(source, ConversationLog):
        return validate(source.turns, source.conversations, tz=tz)
    if isinstance(source, pd.DataFrame):
        return validate(source, conversations, tz=tz)
    if isinstance(source, tuple) and len(source) == 2:
        return validate(source[0], source[1], tz=tz)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load() takes a path, a DataFrame or a ConversationLog, not {type(source).__name__}")
    path = check_input_path(Path(source).expanduser())
    if path.is_dir():
        turns_path = _find(path, "turns")
        if turns_path is None:
            have = ", ".join(sorted(p.name for p in path.iterdir())[:10]) or "nothing"
            raise _error(path, f"is a folder without a turns table (turns.parquet, turns.csv or turns.jsonl); it holds {have}")
        conv_path = _find(path, "conversations")
    elif path.suffix.lower() in SQLITE_SUFFIXES or _sniff(path) == "a SQLite database":
        return load_sqlite(path, tz=tz, satisfaction_scale=satisfaction_scale)
    elif FORMATS.get(path.suffix.lower()) and (mapped := _load_trace_export(path)) is not None:
        return mapped
    else:
        turns_path = path
        sibling = [path.with_name(f"{path.stem}.conversations{s}") for s in FORMATS]
        conv_path = next((p for p in sibling if p.exists()), None)
    turns = read_table(turns_path)
    conv = read_table(conv_path) if conv_path is not None else None
    # both files named when there are two: a problem may be in either (its rule says which table)
    where = str(turns_path) if conv_path is None else f"{turns_path} and {conv_path}"
    return validate(turns, conv, tz=tz, source=where)


def _load_trace_export(path: Path) -> ConversationLog | None:
    """A saved LangSmith runs file, an OTLP/JSON GenAI span export, a Langfuse export (JSON, JSONL
    or CSV) or a Phoenix spans export (Parquet or JSONL), mapped to a log; else None."""
    kind = FORMATS.get(path.suffix.lower())
    if kind == "parquet" or kind == "csv":
        if kind == "parquet":
            from toolkit.sources.phoenix import is_phoenix_file, to_log

            return to_log(path).log if is_phoenix_file(path) else None
        with open(path, "rb") as fh:
            header = fh.readline(8192)
        if b"traceId" in header and b"startTime" in header:
            from toolkit.sources.langfuse import to_log

            return to_log(path).log
        return None
    with open(path, "rb") as fh:
        first = b""
        for line in fh:
            if line.strip():
                first = line
                break
    if b'"resourceSpans"' in first or b'"resource_spans"' in first:
        from toolkit.sources.otel import spans_to_log

        return spans_to_log(path).log
    from toolkit.sources.langsmith import is_runs_file

    if is_runs_file(path):
        from toolkit.sources.langsmith import runs_to_log

        return runs_to_log(path).log
    from toolkit.sources import langfuse, phoenix

    if phoenix.is_phoenix_file(path):
        return phoenix.to_log(path).log
    if langfuse.is_langfuse_file(path):
        return langfuse.to_log(path).log
    return None


def load_sqlite(path: str | os.PathLike, *, tz: str | None = None, satisfaction_scale: float | None = None) -> ConversationLog:
    """Load the reference design's SQLite monitoring database into a conversation log.

    Mapping: ``responses`` rows become turns (``turn`` numbered by timestamp then id within each
    conversation; ``response_time`` -> ``response_time_s``; ``api_cost`` -> ``cost_usd``; the
    stored ``quality_score``, ``sentiment_score`` and ``relevance_score`` are kept as
    ``db_quality_score``, ... so they do not collide with the toolkit's own scores; ``id`` is
    kept as ``response_id``). ``conversations`` rows give ``user_id``, ``bot_id``,
    ``satisfaction`` (``user_satisfaction_score``) and ``resolved``
    (``successful_resolution``). The reference code stores naive local timestamps: pass ``tz``.

    Parameters
    ----------
    path : path
    tz : str, optional
        Time zone of the stored timestamps.
    satisfaction_scale : float, optional
        Divide satisfaction by this (e.g. 5 when the scores are 1-5).

    Returns
    -------
    ConversationLog

    Examples
    --------
    >>> import sqlite3, tempfile
    >>> db = tempfile.mkdtemp() + "/m.db"
    >>> con = sqlite3.connect(db)
    >>> _ = con.executescript('''
    ... CREATE TABLE conversations (id TEXT PRIMARY KEY, bot_id TEXT, user_id TEXT,
    ...   start_time TIMESTAMP, end_time TIMESTAMP, message_count INTEGER,
    ...   average_response_time REAL, user_satisfaction_score REAL,
    ...   successful_resolution BOOLEAN, total_cost REAL);
    ... CREATE TABLE responses (id TEXT PRIMARY KEY, conversation_id TEXT, timestamp TIMESTAMP,
    ...   user_input TEXT, bot_response TEXT, response_time REAL, quality_score REAL,
    ...   sentiment_score REAL, relevance_score REAL, api_cost REAL);
    ... INSERT INTO conversations VALUES ('c1','bot','u1','2026-01-01 10:00:00',
    ...   '2026-01-01 10:01:00',1,1.2,0.8,1,0.01);
    ... INSERT INTO responses VALUES ('r1','c1','2026-01-01 10:00:05','hi','hello',1.2,
    ...   0.9,0.5,0.7,0.01);''')
    >>> con.close()
    >>> load_sqlite(db, tz="UTC").conversations["resolved"].tolist()
    [True]
    """
    path = Path(path)
    responses, convs = _read_reference_tables(path)
    turns = _sqlite_turns(responses, convs)
    conversations = _sqlite_conversations(convs, satisfaction_scale)
    try:
        return validate(turns, conversations, tz=tz, source=str(path))
    except LogValidationError as exc:
        if any(p.column == "satisfaction" for p in exc.problems) and not satisfaction_scale:
            exc.problems.append(
                Problem("conversations", "satisfaction", "hint: if the scores are on a 1-5 scale, pass satisfaction_scale=5")
            )
            raise LogValidationError(exc.problems, source=str(path)) from None
        raise


def _read_reference_tables(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``responses`` and ``conversations`` tables of a reference-schema database, checked.

    Raises :class:`LogValidationError` when the file is not SQLite, a table or a needed column is
    missing, or there are no responses.
    """
    if _sniff(path) != "a SQLite database":
        raise _error(path, f"has a SQLite extension but is {_sniff(path)}")
    from urllib.parse import quote

    con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = {"conversations", "responses"} - tables
        if missing:
            raise _error(path, f"lacks the table(s) {sorted(missing)} of the reference schema (has {sorted(tables)})")
        responses = pd.read_sql_query("SELECT * FROM responses", con)
        convs = pd.read_sql_query("SELECT * FROM conversations", con)
    except (sqlite3.DatabaseError, OverflowError) as exc:
        raise _error(path, f"is a damaged SQLite database (truncated or corrupt?): {exc}") from None
    finally:
        con.close()
    need_r = ["id", "conversation_id", "timestamp", "user_input", "bot_response", "response_time"]
    need_c = ["id"]
    for table, df, need in (("responses", responses, need_r), ("conversations", convs, need_c)):
        lacking = [c for c in need if c not in df.columns]
        if lacking:
            raise _error(path, f"table {table} lacks column(s) {lacking}")
    if responses.empty:
        raise LogValidationError([Problem("turns", None, "is empty: table responses has no rows")], source=str(path))
    return responses, convs


def _sqlite_turns(responses: pd.DataFrame, convs: pd.DataFrame) -> pd.DataFrame:
    """``responses`` rows as turns, numbered by timestamp then id within each conversation."""
    responses = responses.copy()
    responses["conversation_id"] = responses["conversation_id"].astype("string")
    order = responses.assign(_ts=responses["timestamp"].astype("string")).sort_values(["conversation_id", "_ts", "id"], kind="stable")
    turn = order.groupby("conversation_id").cumcount()
    responses["turn"] = turn.reindex(responses.index)
    c = convs.set_index(convs["id"].astype("string"))
    turns = pd.DataFrame(
        {
            "conversation_id": responses["conversation_id"],
            "turn": responses["turn"],
            "timestamp": responses["timestamp"],
            "user_id": responses["conversation_id"].map(c["user_id"]) if "user_id" in c else pd.NA,
            "bot_id": responses["conversation_id"].map(c["bot_id"]) if "bot_id" in c else pd.NA,
            "user_input": responses["user_input"],
            "bot_response": responses["bot_response"],
            "response_time_s": responses["response_time"],
            "cost_usd": responses["api_cost"] if "api_cost" in responses else float("nan"),
            "response_id": responses["id"].astype("string"),
        }
    )
    for col in ("quality_score", "sentiment_score", "relevance_score"):
        if col in responses:
            turns[f"db_{col}"] = pd.to_numeric(responses[col], errors="coerce")
    return turns


def _sqlite_conversations(convs: pd.DataFrame, satisfaction_scale: float | None) -> pd.DataFrame:
    """``conversations`` rows in the log's columns; satisfaction divided by ``satisfaction_scale``."""
    conversations = pd.DataFrame({"conversation_id": convs["id"].astype("string")})
    for src, dst in (("user_id", "user_id"), ("bot_id", "bot_id"), ("start_time", "start_time"), ("end_time", "end_time")):
        if src in convs:
            conversations[dst] = convs[src].to_numpy()
    if "user_satisfaction_score" in convs:
        sat = pd.to_numeric(convs["user_satisfaction_score"], errors="coerce")
        conversations["satisfaction"] = (sat / satisfaction_scale if satisfaction_scale else sat).to_numpy()
    if "successful_resolution" in convs:
        conversations["resolved"] = convs["successful_resolution"].to_numpy()
    return conversations


def save(log: ConversationLog, path: str | os.PathLike, *, format: str | None = None) -> Path:
    """Write a log: to a folder (``turns.<ext>`` + ``conversations.<ext>``) or to a file.

    Parameters
    ----------
    log : ConversationLog
    path : path
        A folder (created if needed), or a file ending in ``.csv``, ``.jsonl`` or ``.parquet``;
        a file gets its conversations table beside it as ``<stem>.conversations.<ext>``, which
        :func:`load` picks up again.
    format : {"parquet", "csv", "jsonl"}, optional
        For a folder; default ``"parquet"``.

    Returns
    -------
    Path
        The folder, or the turns file.

    Examples
    --------
    >>> import tempfile, toolkit
    >>> p = save(toolkit.load_sample(), tempfile.mkdtemp() + "/log.jsonl")
    >>> p.name, p.with_name("log.conversations.jsonl").exists()
    ('log.jsonl', True)
    """
    from toolkit._files import atomic_write_bytes

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in FORMATS and not path.is_dir():
        fmt = FORMATS[suffix]
        targets = {"turns": path, "conversations": path.with_name(f"{path.stem}.conversations{path.suffix}")}
        result = path
    else:
        fmt = format or "parquet"
        if fmt not in ("parquet", "csv", "jsonl"):
            raise ValueError(f"format must be 'parquet', 'csv' or 'jsonl', not {fmt!r}")
        targets = {name: path / f"{name}.{fmt}" for name in ("turns", "conversations")}
        result = path
        # another format's table left beside ours would make the folder unreadable by load()
        others = [path / f"{name}{s}" for name in targets for s in FORMATS
                  if s != f".{fmt}" and (path / f"{name}{s}").exists()]
        if others:
            from toolkit.errors import OutputError

            raise OutputError(f"{path} already holds {', '.join(p.name for p in others)}; writing "
                              f"{', '.join(t.name for t in targets.values())} beside it would leave two "
                              f"tables of each kind: write to another folder (or format={FORMATS[others[0].suffix]!r})")
    for name, target in targets.items():
        frame = getattr(log, name)
        atomic_write_bytes(target, _serialise(frame, fmt))
    return result


def _serialise(frame: pd.DataFrame, fmt: str) -> bytes:
    import io

    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].map(lambda t: t.isoformat() if pd.notna(t) else None).astype("string")
    if fmt == "csv":
        from toolkit._files import escape_formulas

        return escape_formulas(out).to_csv(index=False).encode("utf-8")
    return out.to_json(orient="records", lines=True, force_ascii=False).encode("utf-8")
