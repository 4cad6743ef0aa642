"""A conversation log as lazy Dask frames, read from partitioned Parquet.

:func:`read_log` takes a folder or a glob of Parquet files and returns a :class:`DaskLog`: nothing
is read until something is computed. Accepted layouts:

- a folder with ``turns/`` and optionally ``conversations/`` sub-folders of Parquet files, at any
  depth, hive partitions included (``turns/date=2026-09-01/part-0.parquet``);
- a folder of Parquet files of turns (again at any depth), or a single Parquet file;
- a glob of turns files (``logs/2026-09-*/*.parquet``).

Hive keys that name a log column missing from the file (``bot_id=b1/``) become that column;
other keys (``date=2026-09-01``, derived from the timestamps) are not added.

**Validation.** Each file is read and checked on a worker with the rules of
:func:`toolkit.log.validate` -- the same error text, with the file as its source and the rows
numbered within that file. Every file must carry the same extra columns as the first one.

**Whole conversations.** Every partition must hold whole conversations (relevance needs a
conversation's earlier turns). Two layouts, chosen by a check (``shuffle=None``):

- **files** -- each conversation's turns are in one file (``toolkit sample --partitioned`` and
  logs partitioned by the date a conversation *started* are like this), and the conversations
  files, if any, pair one to one with the turns files by their path under ``turns/`` and
  ``conversations/``. Then partitions are the files: no shuffle. The check reads only the
  ``conversation_id`` column of every turns file (on the workers) and looks for a 64-bit id hash
  in two files; a hash collision can only send a log down the shuffle path, never the other way.
  A worker's memory is then bounded by the largest file.
- **shuffled** -- files cut by the time of each turn split the conversations that run past
  midnight. The turns (and conversations) are **shuffled on ``conversation_id``** into
  ``npartitions`` hash partitions: afterwards every partition holds whole conversations, and
  partition ``i`` of the turns and of the conversations hold the same conversations.

Either way each partition is then validated again as a complete little log (duplicate turns
across files, orphans, conversations without turns, the conversations table derived from the
turns with a groupby when it is absent) and handed to the analyses as a
:class:`~toolkit.log.ConversationLog` (:meth:`DaskLog.map_logs`), so per-partition work runs the
pandas code unchanged. :attr:`DaskLog.layout` says which layout was taken.

Examples
--------
>>> import os, tempfile, toolkit
>>> from toolkit.dask_engine.read import read_log
>>> folder = tempfile.mkdtemp()
>>> log = toolkit.load_sample().select(end="2026-09-03")
>>> for day, part in log.turns.groupby(log.turns["timestamp"].dt.date):
...     os.makedirs(f"{folder}/turns/date={day}")
...     part.to_parquet(f"{folder}/turns/date={day}/part-0.parquet")
>>> dlog = read_log(folder)                  # lazy: each file is validated when it is read
>>> dlog.files_count, dlog.layout            # no conversation here runs past midnight: no shuffle
(2, 'files')
>>> read_log(folder, shuffle=True).layout
'shuffled'
>>> import dask
>>> with dask.config.set(scheduler="sync"):
...     back = dlog.compute()                # whole conversations, as the pandas engine has them
>>> back.turns.equals(log.turns)
True
"""

from __future__ import annotations

import glob as _glob
import operator
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from toolkit.log import (
    CONVERSATION_COLUMNS,
    TURN_COLUMNS,
    ConversationLog,
    LogValidationError,
    Problem,
    validate,
)

__all__ = ["DaskLog", "read_log", "find_parquet", "sample_dask_log", "ROWS_PER_PARTITION"]

#: default rows of turns per partition after the shuffle (the memory a worker needs scales with it)
ROWS_PER_PARTITION = 100_000
_SUFFIXES = (".parquet", ".pq")


def _error(source: Any, rule: str) -> LogValidationError:
    return LogValidationError([Problem("file", None, rule)], source=str(source))


def _parquet_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES
                  and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts))


def find_parquet(source: str | os.PathLike) -> tuple[Path, list[Path], list[Path]]:
    """Resolve ``source`` to (root, turns files, conversations files).

    Examples
    --------
    >>> find_parquet("/no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file or folder: /no/such/folder
    """
    text = os.fspath(source)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in _glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise FileNotFoundError(f"no files match {text}")
        root = Path(text.split("*")[0].split("?")[0].split("[")[0])
        root = root if root.is_dir() else root.parent
        return root, files, []
    path = Path(text).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_file():
        if path.suffix.lower() not in _SUFFIXES:
            raise _error(path, f"is not a Parquet file (extension {path.suffix!r}); the Dask engine "
                               "reads Parquet: convert it with toolkit.save(toolkit.load(path), 'out/')")
        return path.parent, [path], []
    if (path / "turns").is_dir():
        turns = _parquet_under(path / "turns")
        convs = _parquet_under(path / "conversations") if (path / "conversations").is_dir() else []
        root = path / "turns"
    else:
        turns = [p for p in _parquet_under(path) if p.stem != "conversations"]
        convs = [p for p in _parquet_under(path) if p.stem == "conversations"]
        root = path
    if not turns:
        have = ", ".join(sorted(p.name for p in path.iterdir())[:10]) or "nothing"
        raise _error(path, f"holds no Parquet files of turns (looked for turns/**/*.parquet and "
                           f"**/*.parquet); it holds {have}")
    return root, turns, convs


def _hive(path: Path, root: Path) -> dict[str, str]:
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        parts = path.parts[:-1]
    return dict(p.split("=", 1) for p in parts if "=" in p)


def _with_hive(df: pd.DataFrame, hive: dict[str, str], known: dict[str, str]) -> pd.DataFrame:
    add = {k: v for k, v in hive.items() if k in known and k not in df.columns}
    return df.assign(**add) if add else df


def _same_columns(table: str, path: str, got: pd.DataFrame, meta: pd.DataFrame | None) -> pd.DataFrame:
    """Hold a partition to the first partition's columns and dtypes, or say how it differs."""
    if meta is None:
        return got
    extra = [c for c in got.columns if c not in meta.columns]
    lacking = [c for c in meta.columns if c not in got.columns]
    if extra or lacking:
        what = "; ".join(x for x in (f"has columns {extra} that the first partition does not have" if extra else "",
                                    f"lacks the columns {lacking} of the first partition" if lacking else "") if x)
        raise LogValidationError([Problem(table, None, f"{what} (every partition needs the same columns)")],
                                 source=path)
    got = got[list(meta.columns)]
    bad = [c for c in meta.columns if got[c].dtype != meta[c].dtype]
    if bad:
        try:
            got = got.astype({c: meta[c].dtype for c in bad})
        except (TypeError, ValueError) as exc:
            shown = ", ".join(f"{c}: {got[c].dtype} (first partition: {meta[c].dtype})" for c in bad)
            raise LogValidationError([Problem(table, None, f"has column types that differ from the first "
                                                           f"partition's and do not convert: {shown} ({exc})")],
                                     source=path) from None
    return got


def _read_parquet(path: str) -> pd.DataFrame:
    """One Parquet file, or a clear error naming it when it is something else."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PAR1":
        raise _error(path, f"has a Parquet extension but does not start like a Parquet file ({head!r})")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - a truncated or corrupt file, named with pyarrow's reason
        raise _error(path, f"cannot be read as Parquet: {exc}") from None


def _turns_file(path: str, hive: dict[str, str], tz: str | None, meta: pd.DataFrame | None) -> pd.DataFrame:
    """Read and validate one turns file (the rules and text of :func:`toolkit.log.validate`)."""
    raw = _with_hive(_read_parquet(path), hive, TURN_COLUMNS)
    turns = validate(raw, tz=tz, source=path).turns
    return _same_columns("turns", path, turns, meta)


def _conversations_file(path: str, hive: dict[str, str], tz: str | None, meta: pd.DataFrame | None) -> pd.DataFrame:
    """Read and check one conversations file with the conversation rules of validate."""
    from toolkit.log import _Checker, _check_frame, _coerce, _missing_columns

    raw = _check_frame(_with_hive(_read_parquet(path), hive, CONVERSATION_COLUMNS), "conversations")
    chk = _Checker("conversations", raw, ("conversation_id",))
    if _missing_columns(chk, raw, ("conversation_id",)):
        raise LogValidationError(chk.problems, source=path)
    c = _coerce(chk, raw, CONVERSATION_COLUMNS, ("conversation_id",), tz)
    if not chk.problems:
        chk.flag("conversation_id", "must be unique", c["conversation_id"].duplicated(keep=False).to_numpy())
    if chk.problems:
        raise LogValidationError(chk.problems, source=path)
    cols = [k for k in CONVERSATION_COLUMNS if k in c.columns] + [k for k in c.columns if k not in CONVERSATION_COLUMNS]
    return _same_columns("conversations", path, c[cols].reset_index(drop=True), meta)


def _partition_log(turns: pd.DataFrame, conversations: pd.DataFrame | None, tz: str | None) -> ConversationLog:
    """One shuffled partition (whole conversations) validated as a complete log."""
    try:
        return validate(turns, conversations, tz=tz, source="a Dask partition of whole conversations")
    except LogValidationError as exc:
        raise LogValidationError(exc.problems, source="a Dask partition of whole conversations "
                                 "(rules across files: each file alone was valid)") from None


def _apply(turns: pd.DataFrame, conversations: pd.DataFrame | None, fn: Callable, tz: str | None,
           *args) -> pd.DataFrame:
    return fn(_partition_log(turns, conversations, tz), *args)


@dataclass(frozen=True)
class DaskLog:
    """A lazy conversation log on Dask: validated, shuffled so conversations stay whole.

    Attributes
    ----------
    source : str
        What was read.
    raw_turns, raw_conversations : dask DataFrame
        The files as read and validated one by one, hash-partitioned on ``conversation_id``
        (``raw_conversations`` is ``None`` when there is no conversations table).
    tz : str or None
        Time zone of naive timestamps.
    files_count : int
        Turns files read.
    example : ConversationLog
        The first conversation of the first file, validated: what a partition looks like (its
        empty results describe the outputs of :meth:`map_logs`).
    file_turns : dask DataFrame
        The turns file by file, validated, before the shuffle: for work that needs no whole
        conversations (term counts), one pass cheaper.
    layout : {"files", "shuffled"}
        ``"files"``: each file held whole conversations, partitions are the files;
        ``"shuffled"``: turns were shuffled on ``conversation_id`` (see the module docstring).
    """

    source: str
    raw_turns: Any
    raw_conversations: Any
    tz: str | None
    files_count: int
    example: ConversationLog
    file_turns: Any = None
    layout: str = "shuffled"

    @property
    def npartitions(self) -> int:
        """Partitions (each holds whole conversations)."""
        return self.raw_turns.npartitions

    def map_logs(self, fn: Callable[..., pd.DataFrame], *args: Any, meta: Any = None) -> Any:
        """``fn(log, *args)`` on every partition as a validated :class:`ConversationLog`; lazy.

        ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one) and
        return a DataFrame; ``args`` may hold ``dask.delayed`` objects (e.g. a fitted model sent
        to the workers once). ``meta`` describes the result (default: ``fn`` run on
        :attr:`example`).
        """
        kw = {"meta": fn(self.example, *args).iloc[:0] if meta is None else meta}
        if self.raw_conversations is None:
            return self.raw_turns.map_partitions(_apply, None, fn, self.tz, *args, **kw)
        import dask.dataframe as dd

        return dd.map_partitions(_apply, self.raw_turns, self.raw_conversations,
                                 fn, self.tz, *args, align_dataframes=False, **kw)

    @property
    def turns(self) -> Any:
        """Validated turns, whole conversations per partition, sorted by conversation and turn."""
        return self.map_logs(operator.attrgetter("turns"))

    @property
    def conversations(self) -> Any:
        """The conversations table of each partition (derived from the turns when absent)."""
        return self.map_logs(operator.attrgetter("conversations"))

    def compute(self) -> ConversationLog:
        """The whole log in memory, validated (for small logs and tests)."""
        import dask

        t, c = dask.compute(self.turns, self.conversations)
        return validate(t, c, tz=self.tz, source=self.source)

    def __repr__(self) -> str:
        return (f"DaskLog({self.source!r}, {self.files_count} turns files, {self.npartitions} partitions"
                f" ({self.layout}){', with conversations' if self.raw_conversations is not None else ''})")


def _rows(files: list[Path]) -> int:
    import pyarrow.parquet as pq

    total = 0
    for f in files:
        try:
            total += pq.ParquetFile(f).metadata.num_rows
        except Exception:  # noqa: BLE001 - a broken file is reported when it is read
            total += 1
    return total


def read_log(
    source: str | os.PathLike,
    *,
    tz: str | None = None,
    npartitions: int | None = None,
    rows_per_partition: int = ROWS_PER_PARTITION,
    shuffle: bool | None = None,
) -> DaskLog:
    """Read a folder or glob of Parquet files as a lazy, validated :class:`DaskLog`.

    Parameters
    ----------
    source : path or glob
        See the module docstring for the layouts.
    tz : str, optional
        Time zone of naive timestamps (rejected without it, as in :func:`toolkit.log.validate`).
    npartitions : int, optional
        Partitions after the shuffle on ``conversation_id``; default: total rows of turns (from the
        Parquet footers) / ``rows_per_partition``, and at least two per worker of the current
        Dask client (at most one per file).
    rows_per_partition : int
        Target rows per partition when ``npartitions`` is not given (shuffled layout).
    shuffle : bool, optional
        ``None`` (default): shuffle only when a conversation straddles files or the conversations
        files do not pair with the turns files (checked, see the module docstring); ``True``:
        always shuffle; ``False``: trust that every file holds whole conversations (a straddling
        conversation then shows up as broken turn numbering or a repeated conversation).

    Returns
    -------
    DaskLog

    Raises
    ------
    FileNotFoundError
        Nothing at ``source``.
    LogValidationError
        A file that is not Parquet or breaks a rule of the log: the error names the file (the first
        file is checked at once, the others when they are read).

    Examples
    --------
    >>> read_log("/no/such/log")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file or folder: /no/such/log

    A whole run is in the module's example.
    """
    from toolkit.dask_engine.client import require_dask

    require_dask()
    import dask.dataframe as dd

    root, turn_files, conv_files = find_parquet(source)
    conv_root = root.parent / "conversations" if root.name == "turns" else root
    first = _turns_file(str(turn_files[0]), _hive(turn_files[0], root), tz, None)
    meta_t = first.iloc[:0]
    paths = [str(p) for p in turn_files]
    per_file = dd.from_map(_turns_file, paths, [_hive(p, root) for p in turn_files],
                           args=(tz, meta_t), meta=meta_t, label="read-validate-turns", enforce_metadata=False)
    meta_c = None
    if conv_files:
        meta_c = _conversations_file(str(conv_files[0]), _hive(conv_files[0], conv_root), tz, None).iloc[:0]
    paired = _paired(turn_files, root, conv_files, conv_root)
    whole = (not shuffle) and paired is not None and (shuffle is False or _files_hold_whole_conversations(paths))
    files = paired if whole else conv_files
    convs = dd.from_map(_conversations_file, [str(p) for p in files], [_hive(p, conv_root) for p in files],
                        args=(tz, meta_c), meta=meta_c, label="read-validate-conversations",
                        enforce_metadata=False) if conv_files else None
    if whole:
        turns = per_file
    else:
        n = npartitions or _default_partitions(_rows(turn_files), rows_per_partition, len(turn_files))
        turns = per_file.shuffle(on="conversation_id", npartitions=n)
        if convs is not None:
            convs = convs.shuffle(on="conversation_id", npartitions=n)
    return DaskLog(source=os.fspath(source), raw_turns=turns, raw_conversations=convs, tz=tz,
                   files_count=len(turn_files), example=_example(first, meta_c, tz),
                   file_turns=per_file, layout="files" if whole else "shuffled")


def _paired(turn_files: list[Path], root: Path, conv_files: list[Path], conv_root: Path) -> list[Path] | None:
    """The conversations file of each turns file (same path under its table's folder); ``[]``
    without conversations files; ``None`` when they do not pair one to one."""
    if not conv_files:
        return []

    def rel(p: Path, base: Path):
        try:
            return p.relative_to(base)
        except ValueError:
            return None

    by_rel = {rel(p, conv_root): p for p in conv_files}
    want = [rel(p, root) for p in turn_files]
    if None in by_rel or None in want or len(by_rel) != len(want) or set(want) != set(by_rel):
        return None
    return [by_rel[r] for r in want]


def _file_id_hashes(path: str) -> Any:
    """uint64 hashes of the distinct conversation ids of one turns file (``None`` if unreadable:
    the file's own read then says what is wrong)."""
    import numpy as np
    import pyarrow.parquet as pq

    try:
        ids = pq.read_table(path, columns=["conversation_id"]).column(0).to_pandas()
    except Exception:  # noqa: BLE001 - reported by the validating read
        return None
    return np.unique(pd.util.hash_array(ids.astype("string").dropna().unique().to_numpy(dtype=object)))


def _files_hold_whole_conversations(paths: list[str]) -> bool:
    """Whether no conversation id appears in two of the files (one column read per file)."""
    import dask
    import numpy as np

    if len(paths) == 1:
        return True
    from toolkit.dask_engine.client import compute

    hashes = compute(*[dask.delayed(_file_id_hashes)(p) for p in paths], label="reading: conversation ids per file")
    if any(h is None for h in hashes):
        return False
    every = np.concatenate(hashes)
    return len(np.unique(every)) == len(every)


def _default_partitions(rows: int, rows_per_partition: int, n_files: int) -> int:
    """Enough partitions for ``rows_per_partition`` each, and two per worker of the current client."""
    by_size = -(-rows // max(1, int(rows_per_partition)))
    try:
        from distributed import default_client

        workers = len(default_client().scheduler_info().get("workers", {}))
    except (ImportError, ValueError):
        workers = 1
    return max(1, by_size, min(n_files, 2 * workers))


def _example(first_turns: pd.DataFrame, meta_c: pd.DataFrame | None, tz: str | None) -> ConversationLog:
    """A one-conversation log shaped like every partition (dtypes included)."""
    cid = first_turns["conversation_id"].iloc[0]
    turns = first_turns[first_turns["conversation_id"] == cid].reset_index(drop=True)
    conv = None
    if meta_c is not None:
        conv = meta_c.reindex([0])
        conv["conversation_id"] = pd.array([cid], dtype=meta_c["conversation_id"].dtype)
    return validate(turns, conv, tz=tz)


def sample_dask_log(end: str = "2026-09-02") -> tuple[ConversationLog, DaskLog]:
    """The bundled sample up to ``end`` as a log and as a :class:`DaskLog` (one Parquet file, a
    temporary folder): small data for examples and quick checks.

    Examples
    --------
    >>> log, dlog = sample_dask_log()
    >>> dlog.files_count, len(log.turns) > 100
    (1, True)
    """
    import tempfile

    from toolkit.sample import load_sample

    log = load_sample().select(end=end)
    folder = tempfile.mkdtemp(prefix="toolkit_dask_")
    log.turns.to_parquet(f"{folder}/day-1.parquet", index=False)
    return log, read_log(folder)
