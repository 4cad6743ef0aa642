"""Large samples written as hive-partitioned Parquet, generated block by block in bounded memory.

:func:`write_partitioned` is for logs too big for one pandas frame (``toolkit sample --out big
--conversations 1000000 --partitioned``: ~3M turns in about a minute); the layout is described in
its docstring. The data equal ``generate_sample(..., blockwise=True)`` for the same arguments.

Examples
--------
>>> import tempfile, pandas as pd
>>> out = write_partitioned(tempfile.mkdtemp(), 300, seed=1, days=3)
>>> sorted(p.name for p in out.iterdir())
['conversation_truth', 'conversations', 'truth.json', 'turns']
>>> len(pd.read_parquet(out / "conversations"))
300
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from toolkit._files import atomic_write_bytes, atomic_write_text
from toolkit.sample.generator import BLOCK_CONVERSATIONS, _BlockPlan
from toolkit.sample.params import (
    DAY_NS,
    DEFAULT_CONVERSATIONS_PER_DAY,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_START,
    _Params,
)

__all__ = ["write_partitioned", "TABLES"]

#: the folders of a partitioned sample, each ``<table>/date=YYYY-MM-DD/part-NNNNN.parquet``
TABLES = ("turns", "conversations", "conversation_truth")
DEFAULT_CHUNK_CONVERSATIONS = 100_000


def write_partitioned(
    path: str | os.PathLike,
    n_conversations: int | None = None,
    seed: int = DEFAULT_SEED,
    *,
    days: int = DEFAULT_DAYS,
    start: str = DEFAULT_START,
    chunk_conversations: int = DEFAULT_CHUNK_CONVERSATIONS,
    conversations_per_day: float = DEFAULT_CONVERSATIONS_PER_DAY,
    **planted: Any,
) -> Path:
    """Generate a sample in chunks and write it as hive-partitioned Parquet.

    Layout of ``path`` (a dataset ``pandas.read_parquet``, ``pyarrow.dataset`` and
    ``dask.dataframe.read_parquet`` read directly)::

        turns/date=YYYY-MM-DD/part-NNNNN.parquet          one row per turn
        conversations/date=YYYY-MM-DD/part-NNNNN.parquet  one row per conversation
        conversation_truth/date=YYYY-MM-DD/part-NNNNN.parquet
                         conversation_id, intent, answer_kinds (list of strings, one per turn)
        truth.json       the planted truth (as from generate_sample) without the per-conversation
                         map, which is conversation_truth/; plus "layout"

    * ``date`` is the UTC date of the conversation's first turn (its turn-0 ``timestamp``). All
      turns of a conversation, its conversations row and its truth row are in that one date
      partition, in files with the same name (``part-NNNNN`` = the chunk): a conversation never
      straddles partitions or files, even when it runs past midnight.
    * The files hold exactly the columns of :attr:`ConversationLog.turns` and
      ``.conversations`` with their dtypes (timestamps ``timestamp[ns, tz=UTC]``, strings,
      nullable ``Int64`` tokens, nullable boolean ``resolved``); the ``date`` column exists only
      in the folder names (readers add it as a partition column; drop it for
      :func:`toolkit.log.validate`). Within a file, rows are sorted by ``conversation_id`` and
      ``turn``; every chunk is validated before it is written.
    * Conversation ids (``c0000001`` ...) follow start time across the whole dataset.

    The data equal ``generate_sample(seed, days, n_conversations, start, blockwise=True)``
    (blocks of 10,000 conversations, each from its own random stream), whatever
    ``chunk_conversations`` is: it only sets how many conversations are held in memory and
    written per file.

    Parameters
    ----------
    path : str or path
        Output folder. Created if missing; the tables and ``truth.json`` of an earlier run there
        are replaced once the new ones are complete (written beside it, then swapped in).
    n_conversations : int, optional
        Exact number of conversations; by default drawn from the traffic model over ``days``.
    seed : int
        Random seed.
    days, start, conversations_per_day
        As for :func:`~toolkit.sample.generate_sample`.
    chunk_conversations : int
        Conversations generated, validated and written at a time (rounded up to whole blocks of
        10,000): bounds memory (about 0.2 GB per 100,000 conversations, measured).
    **planted
        ``resolution``, ``good_rate``, ``growth_per_day``, ``latency_factor``,
        ``good_rate_drop`` (see :func:`~toolkit.sample.generate_sample`).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> out = write_partitioned(tempfile.mkdtemp(), 500, seed=2, days=2)
    >>> turns = pd.read_parquet(out / "turns")
    >>> sorted(turns["date"].astype(str).unique())
    ['2026-09-01', '2026-09-02']
    >>> json.loads((out / "truth.json").read_text())["n_conversations"]
    500
    """
    if n_conversations is not None and int(n_conversations) < 1:
        raise ValueError(f"n_conversations must be >= 1 (or None), got {n_conversations}")
    if int(chunk_conversations) < 1:
        raise ValueError(f"chunk_conversations must be >= 1, got {chunk_conversations}")
    defaults = {"resolution": (0.60, 0.66), "good_rate": (0.68, 0.73), "growth_per_day": 0.005,
                "latency_factor": 3.5, "good_rate_drop": 0.30, "user_resolution_sd": 0.15}
    unknown = set(planted) - set(defaults)
    if unknown:
        raise TypeError(f"write_partitioned() got unexpected keyword arguments {sorted(unknown)}")
    p = _Params.check(seed, days, n_conversations, start, conversations_per_day=conversations_per_day,
                      **{**defaults, **planted})
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partitioned.", dir=out))
    try:
        truth = _write_chunks(p, n_conversations, int(chunk_conversations), tmp)
        atomic_write_text(tmp / "truth.json", json.dumps(truth, indent=2, ensure_ascii=False) + "\n")
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _write_chunks(p: _Params, n_conversations: int | None, chunk_conversations: int, folder: Path) -> dict:
    """Generate block by block, validate and write each chunk; return the truth (no per-conversation map)."""
    import pandas as pd

    from toolkit.log import validate
    from toolkit.sample.truth import TruthBuilder

    plan = _BlockPlan(p, n_conversations)
    builder = TruthBuilder(p, plan.pool.n_users, keep_conversations=False)
    per_chunk = -(-chunk_conversations // BLOCK_CONVERSATIONS)
    n_chunks = -(-plan.n_blocks // per_chunk)
    for chunk in range(n_chunks):
        turns, convs, truth_rows = [], [], []
        for i in range(chunk * per_chunk, min(plan.n_blocks, (chunk + 1) * per_chunk)):
            blk = plan.block(i)
            ids = blk.conversations["conversation_id"]
            intents, kinds = builder.add(blk.sim, blk.out, ids.tolist())
            truth_rows.append(pd.DataFrame({"conversation_id": ids, "intent": pd.array(intents, dtype="string"),
                                            "answer_kinds": kinds}))
            turns.append(blk.turns)
            convs.append(blk.conversations)
            del blk
        log = validate(pd.concat(turns, ignore_index=True), pd.concat(convs, ignore_index=True),
                       source=f"write_partitioned chunk {chunk}")
        del turns, convs
        tables = {"turns": log.turns, "conversations": log.conversations,
                  "conversation_truth": pd.concat(truth_rows, ignore_index=True)}
        _write_partitions(tables, _first_turn_dates(log.turns), folder, f"part-{chunk:05d}.parquet")
        del log, tables
    truth = builder.truth()
    truth["layout"] = {
        "format": "hive-partitioned parquet",
        "tables": {t: f"{t}/date=YYYY-MM-DD/part-NNNNN.parquet" for t in TABLES},
        "partition": "date = UTC date of the conversation's first turn; a conversation's rows are "
                     "all in that partition, in files of the same name",
        "blockwise": {"block_conversations": BLOCK_CONVERSATIONS, "chunk_conversations": chunk_conversations,
                      "equals": "generate_sample(..., blockwise=True)"},
        "n_chunks": n_chunks,
    }
    return truth


def _first_turn_dates(turns) -> dict[str, np.ndarray]:
    """Per conversation id: the UTC date (days since the epoch) of its turn-0 timestamp."""
    ts = turns["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    cid = turns["conversation_id"].to_numpy()
    first = np.flatnonzero(np.r_[True, cid[1:] != cid[:-1]])  # turns are sorted by id, turn
    return {"ids": cid[first], "day": ts[first] // DAY_NS}


def _write_partitions(tables: dict, dates: dict, folder: Path, name: str) -> None:
    """Each table split by the first-turn date of its conversations, one file per date."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    day_of = pd.Series(dates["day"], index=dates["ids"])
    for table, frame in tables.items():
        day = day_of.reindex(frame["conversation_id"].to_numpy()).to_numpy()
        arrow = pa.Table.from_pandas(frame, preserve_index=False)  # keeps the pandas dtypes in the schema
        for d in np.unique(day):
            label = (np.datetime64(0, "D") + np.timedelta64(int(d), "D")).astype(str)
            buf = io.BytesIO()
            pq.write_table(arrow.filter(pa.array(day == d)), buf, compression="zstd")
            atomic_write_bytes(folder / table / f"date={label}" / name, buf.getvalue())


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out``'s tables and truth.json by the complete new ones in ``tmp``."""
    for entry in (*TABLES, "truth.json"):
        old = out / entry
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        os.replace(tmp / entry, old)
