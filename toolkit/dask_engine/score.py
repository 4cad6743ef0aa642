"""Quality scoring on Dask: the relevance TF-IDF fitted once over all partitions, then broadcast.

Relevance is the cosine between a response and its conversation's (decayed) earlier messages
under a TF-IDF fitted on the whole log. At scale that takes two passes:

1. **fit**: every file (read and validated, no shuffle needed) counts the document frequency of each hashed term
   (:func:`toolkit.text.document_frequencies`); the counts are summed per hash on the cluster and
   turned into one :class:`toolkit.text.HashedTfidf` -- exactly the model the pandas engine fits
   on the whole log, since document frequencies add up;
2. **score**: the model is shipped to the workers once (a single task every partition depends
   on) and each partition -- whole conversations, see :mod:`toolkit.dask_engine.read` -- is scored
   with the pandas code (``score_turns(partition, idf=model)``).

The scores do not depend on how rows are batched (sums over a document's terms run in hash
order), so the result equals the pandas engine's exactly.

This module knows nothing of :mod:`toolkit.quality`: the scoring function comes in as an argument
(``score=``), so the analyses can call down into the engine without an import cycle.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable

import pandas as pd

__all__ = ["fit_idf", "score_dask", "write_scored"]


def _partition_frequencies(t: pd.DataFrame, options: dict) -> pd.DataFrame:
    from toolkit.text import as_text_list, document_frequencies

    texts = as_text_list(t["user_input"], "turns.user_input") + as_text_list(t["bot_response"], "turns.bot_response")
    hashes, df = document_frequencies(texts, **options)
    docs = pd.Series(0, index=range(len(hashes)), dtype="int64")
    if len(docs):
        docs.iloc[0] = len(texts)
    return pd.DataFrame({"hash": hashes, "df": df.astype("int64"), "docs": docs.to_numpy()})


def fit_idf(dlog, options: dict):
    """Fit the relevance TF-IDF over every partition of ``dlog`` (one pass on the cluster).

    Parameters
    ----------
    dlog : DaskLog
    options : dict
        ``stop_words`` and ``stem`` of the tokeniser.

    Returns
    -------
    toolkit.text.HashedTfidf

    Examples
    --------
    >>> import dask
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> with dask.config.set(scheduler="sync"):
    ...     model = fit_idf(dlog, {"stop_words": None, "stem": False})
    >>> model.n_docs == 2 * len(log.turns)
    True
    """
    from toolkit.dask_engine.client import compute
    from toolkit.text import HashedTfidf

    # document frequencies need no whole conversations: counted file by file, before the shuffle
    meta = _partition_frequencies(dlog.example.turns, options).iloc[:0]
    freq = dlog.file_turns.map_partitions(_partition_frequencies, options, meta=meta)
    per_hash = freq.groupby("hash")["df"].sum()
    n_docs = freq["docs"].sum()
    per_hash, n_docs = compute(per_hash, n_docs, label="scoring: term counts")
    per_hash = per_hash.sort_index()
    return HashedTfidf.from_document_frequencies(per_hash.index.to_numpy(), per_hash.to_numpy(),
                                                 int(n_docs), **options)


def _score_partition(log, model, score: Callable, cfg: Any, chunk_size: int) -> pd.DataFrame:
    return score(log, cfg, n_jobs=1, chunk_size=chunk_size, idf=model)


def score_dask(data, cfg, *, score: Callable, idf_options: dict, idf=None, chunk_size: int = 2500):
    """Score a :class:`~toolkit.dask_engine.read.DaskLog` (or a path to one) partition by partition.

    Parameters
    ----------
    data : DaskLog or path
    cfg : QualityConfig
    score : callable
        The pandas scoring function, ``score(log, cfg, n_jobs=, chunk_size=, idf=)``.
    idf_options : dict
        Tokeniser settings of the TF-IDF (from the config).
    idf : HashedTfidf, optional
        A model fitted before (else fitted here over all partitions: one extra pass).
    chunk_size : int
        Rows per batch inside a partition.

    Returns
    -------
    dask DataFrame
        The scored turns (lazy), whole conversations per partition.

    Examples
    --------
    >>> import dask
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> from toolkit.quality import score_turns        # engine="dask" lands here
    >>> with dask.config.set(scheduler="sync"):
    ...     scored = score_turns(dlog, engine="dask").compute()
    >>> scored.sort_values(["conversation_id", "turn"])["quality"].tolist() == score_turns(log)["quality"].tolist()
    True
    """
    import dask

    from toolkit.dask_engine.client import EngineError
    from toolkit.dask_engine.read import DaskLog, read_log

    if getattr(cfg, "relevance_backend", "tfidf") != "tfidf":
        raise EngineError("engine='dask' scores relevance with the TF-IDF backend only "
                          f"(relevance_backend={cfg.relevance_backend!r}); use the pandas engine for embeddings")
    dlog = data if isinstance(data, DaskLog) else read_log(os.fspath(data))
    model = idf if idf is not None else fit_idf(dlog, idf_options)
    shared = dask.delayed(model, pure=True)  # one task: every partition reads the same model
    fn = functools.partial(_score_partition, score=score, cfg=cfg, chunk_size=chunk_size)
    meta = fn(dlog.example, model).iloc[:0]
    return dlog.map_logs(fn, shared, meta=meta)


def write_scored(dlog, scored, folder: str | os.PathLike) -> dict:
    """Write scored turns and the conversations as a log folder; return a summary (one pass).

    ``<folder>/turns/part.N.parquet`` and ``<folder>/conversations/part.N.parquet`` (one file per
    partition, whole conversations in each), readable again with :func:`toolkit.dask_engine.read.read_log`.
    The scores are computed once: the writes, the mean quality and the level counts are one graph.

    Examples
    --------
    >>> import dask
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> from toolkit.quality import score_turns
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with dask.config.set(scheduler="sync"):
    ...     summary = write_scored(dlog, score_turns(dlog, engine="dask"), folder + "/scored")
    >>> summary["scored_turns"] == len(log.turns), sorted(p.name for p in Path(folder, "scored").iterdir())
    (True, ['conversations', 'turns'])
    """
    from toolkit.dask_engine.client import EngineError, compute

    out = Path(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EngineError(f"--out {out} exists and is not an empty folder; the Dask engine writes a "
                          "folder of Parquet files (turns/, conversations/)")
    from toolkit._files import atomic_folder

    with atomic_folder(out) as tmp:  # the folder appears whole, or not at all
        writes = [scored.to_parquet(str(tmp / "turns"), write_index=False, compute=False),
                  dlog.conversations.to_parquet(str(tmp / "conversations"), write_index=False, compute=False)]
        _, _, n, mean_q, levels = compute(*writes, scored.shape[0], scored["quality"].mean(),
                                          scored["level"].value_counts(), label="scoring")
    order = [lv for lv in scored["level"].dtype.categories if lv in levels.index]
    return {"scored_turns": int(n), "out": str(out), "mean_quality": float(mean_q) if n else None,
            "levels": {str(k): int(levels[k]) for k in order}}
