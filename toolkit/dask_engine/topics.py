"""Clustering on Dask: fit on a seeded sample, assign every message on the workers.

A log too big for one machine is clustered in three passes over its partitions (each holds whole
conversations, see :mod:`toolkit.dask_engine.read`):

1. **sample**: every unit (a conversation's first message, or a turn) gets a 64-bit hash of its
   id keyed by the seed; the ``sample_size`` smallest hashes are the sample. The choice depends
   only on the ids and the seed -- not on files, partitions or workers -- so the pandas path
   (:func:`sample_units`) picks the very same units;
2. **fit** on the client: the sample is clustered in memory as by the pandas engine (KMeans; k
   given or chosen automatically), giving a :class:`toolkit.clustering.ClusterModel`;
3. **assign and profile** on the workers: the model goes to every worker once; each partition's
   messages get their nearest centre and the partition is reduced to the additive statistics of
   the cluster profile (rows, outcome sums and counts, variant counts per cluster), which the
   client adds up. The assignments can be written as partitioned Parquet in the same pass.

Only the sample and one small table per cluster reach the client. With a sample at least as
large as the log, the clusters and the profile equal the pandas engine's.

This module knows nothing of :mod:`toolkit.clustering`: the unit extraction, the fit and the
profile sums come in as arguments.

Examples
--------
>>> import pandas as pd
>>> units = pd.DataFrame({"conversation_id": ["a", "b", "c", "d"], "text": ["x"] * 4})
>>> picked = sample_units(units, 2, seed=0)
>>> len(picked), picked.equals(sample_units(units.iloc[::-1], 2, seed=0))
(2, True)
"""

from __future__ import annotations

import contextlib

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

__all__ = ["cluster_dask", "sample_units", "unit_hashes", "DaskClusters", "DEFAULT_SAMPLE_SIZE"]

#: units the Dask engine fits the clusters on (the issue's "say 200k messages")
DEFAULT_SAMPLE_SIZE = 200_000


def _keys(units: pd.DataFrame) -> list[str]:
    return ["conversation_id", "turn"] if "turn" in units.columns else ["conversation_id"]


def unit_hashes(units: pd.DataFrame, seed: int) -> np.ndarray:
    """A uint64 per unit: its id (conversation, and turn for per-turn units) hashed with the seed.

    Examples
    --------
    >>> u = pd.DataFrame({"conversation_id": ["a", "b"]})
    >>> bool((unit_hashes(u, 0) == unit_hashes(u, 0)).all()), bool((unit_hashes(u, 0) != unit_hashes(u, 1)).all())
    (True, True)
    """
    key = f"{int(seed) % 10**16:016d}"  # hash_pandas_object takes a 16-character key
    ids = units[_keys(units)].astype({"conversation_id": "string"})
    return pd.util.hash_pandas_object(ids, index=False, hash_key=key).to_numpy(dtype=np.uint64)


def _threshold(hashes: np.ndarray, size: int) -> int:
    """The largest hash kept when the ``size`` smallest are taken (all when there are fewer)."""
    if len(hashes) <= size:
        return int(hashes.max()) if len(hashes) else 0
    return int(np.partition(hashes, size - 1)[size - 1])


def _below(units: pd.DataFrame, seed: int, threshold: int) -> pd.DataFrame:
    return units[unit_hashes(units, seed) <= np.uint64(threshold)]


def _sorted(units: pd.DataFrame) -> pd.DataFrame:
    return units.sort_values(_keys(units), kind="stable").reset_index(drop=True)


def sample_units(units: pd.DataFrame, size: int, seed: int = 0) -> pd.DataFrame:
    """The ``size`` units with the smallest seeded id hashes, sorted by id: the sample the Dask
    engine fits on, for a frame in memory.

    Examples
    --------
    See the module docstring.
    """
    return _sorted(_below(units, seed, _threshold(unit_hashes(units, seed), int(size))))


def _hash_frame(units: pd.DataFrame, seed: int) -> pd.DataFrame:
    return pd.DataFrame({"h": unit_hashes(units, seed)})


def _assign(units: pd.DataFrame, model: Any) -> pd.DataFrame:
    lab = model.assign(units["text"])
    return units.assign(cluster=lab, cluster_label=pd.array(model.label_of(lab), dtype="string"))


@dataclass(frozen=True)
class DaskClusters:
    """What :func:`cluster_dask` returns: the fitted sample and the whole log's cluster table.

    Attributes
    ----------
    sample : DataFrame
        The sampled units, sorted by id (the rows the clusters were fitted on).
    fit : object
        What ``fit(sample["text"])`` returned (a ``TextClusters`` with a ``model``).
    sums : DataFrame
        ``cluster, stat, value``: the profile statistics of every unit of the log, summed.
    n_units : int
        Units in the whole log.
    out : str or None
        Folder of the written assignments (``conversation_id`` [``turn``], ``cluster``,
        ``cluster_label``), one Parquet file per partition.
    """

    sample: pd.DataFrame
    fit: Any
    sums: pd.DataFrame
    n_units: int
    out: str | None = None

    def summary_table(self) -> pd.DataFrame:
        """The summed profile statistics (``cluster, stat, value``)."""
        return self.sums

    def to_dict(self) -> dict:
        """Units in the log and in the sample, and where the assignments were written."""
        return {"n_units": int(self.n_units), "n_sample": int(len(self.sample)), "out": self.out}


def cluster_dask(
    dlog: Any,
    *,
    units: Callable[[Any], pd.DataFrame],
    fit: Callable[[pd.Series], Any],
    sums: Callable[[pd.DataFrame], pd.DataFrame],
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    out: str | os.PathLike | None = None,
) -> DaskClusters:
    """Cluster a :class:`~toolkit.dask_engine.read.DaskLog`: fit on a seeded sample, assign on the workers.

    Parameters
    ----------
    dlog : DaskLog or path
    units : callable
        ``ConversationLog -> DataFrame`` of units with ``conversation_id`` (``turn``), ``text``
        and outcome columns (:func:`toolkit.clustering.clustering_units`).
    fit : callable
        ``texts -> result`` with a ``model`` attribute that has ``assign(texts)`` and
        ``label_of(clusters)`` (:func:`toolkit.clustering.cluster_texts`).
    sums : callable
        ``assignments -> cluster, stat, value`` frame (:func:`toolkit.clustering.profile_sums`).
    sample_size : int
        Units the clusters are fitted on (all of them when the log has fewer).
    seed : int
        Seeds the sample (and is the caller's to pass on to the fit).
    out : path, optional
        Empty or new folder for the assignments of every unit (partitioned Parquet).

    Returns
    -------
    DaskClusters

    Raises
    ------
    EngineError
        ``sample_size`` below 2, ``out`` not an empty folder, or a fit without a model that
        places new messages (HDBSCAN, or a custom backend without ``transform``).

    Examples
    --------
    >>> import dask, functools
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> from toolkit.clustering import clustering_units, cluster_texts, profile_sums
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> with dask.config.set(scheduler="sync"):
    ...     res = cluster_dask(dlog, units=clustering_units, sums=profile_sums, sample_size=100,
    ...                        fit=functools.partial(cluster_texts, k=5, backend="tfidf"))
    >>> len(res.sample), res.n_units == log.conversations.shape[0]
    (100, True)
    """
    import dask

    from toolkit.dask_engine.client import EngineError, compute
    from toolkit.dask_engine.read import DaskLog, read_log

    if int(sample_size) < 2:
        raise EngineError(f"sample_size must be >= 2, got {sample_size}")
    dest = None if out is None else Path(out)
    if dest is not None and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise EngineError(f"--out {dest} exists and is not an empty folder; the Dask engine writes the "
                          "assignments as a folder of Parquet files")
    dlog = dlog if isinstance(dlog, DaskLog) else read_log(os.fspath(dlog))
    meta_u = units(dlog.example).iloc[:0]
    all_units = dlog.map_logs(units, meta=meta_u)

    # 1. the sample: the smallest seeded hashes (only the hashes travel)
    hashes = all_units.map_partitions(_hash_frame, seed, meta=pd.DataFrame({"h": np.array([], np.uint64)}))
    small, n_units = compute(hashes["h"].nsmallest(int(sample_size)), hashes.shape[0], label="topics: sample ids")
    threshold = _threshold(small.to_numpy(dtype=np.uint64), int(sample_size))
    sample = _sorted(compute(all_units.map_partitions(_below, seed, threshold, meta=meta_u), label="topics: sample")[0])

    # 2. the fit, in memory
    fitted = fit(sample["text"])
    model = getattr(fitted, "model", None)
    if model is None:
        raise EngineError("clustering on the Dask engine needs KMeans with a backend that places new "
                          "messages (embeddings or tfidf); HDBSCAN and custom backends without a "
                          "transform cannot assign messages outside the sample: use the pandas engine")

    # 3. assign every unit on the workers; profile statistics summed there; assignments written
    shared = dask.delayed(model, pure=True)
    assigned = all_units.map_partitions(_assign, shared, meta=_assign(meta_u, model))
    parts = assigned.map_partitions(sums, meta=sums(_assign(meta_u, model)).iloc[:0])
    totals = parts.groupby(["cluster", "stat"])["value"].sum()
    work = [totals]
    with contextlib.ExitStack() as stack:
        if dest is not None:  # one graph: each partition is assigned once for both
            from toolkit._files import atomic_folder

            tmp = stack.enter_context(atomic_folder(dest))  # the folder appears whole, or not at all
            cols = _keys(meta_u) + ["cluster", "cluster_label"]
            work.append(assigned[cols].to_parquet(str(tmp), write_index=False, compute=False))
        got = compute(*work, label="topics: assign and profile")
    table = got[0].reset_index()
    return DaskClusters(sample=sample, fit=fitted, sums=table, n_units=int(n_units),
                        out=None if dest is None else str(dest))
