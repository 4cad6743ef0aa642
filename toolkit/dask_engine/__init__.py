"""The toolkit's analyses at scale, on Dask: partitioned Parquet in, a cluster doing the work.

``engine="dask"`` on the entry points (:func:`toolkit.io.load`, :func:`toolkit.quality.score_turns`,
:func:`toolkit.ab.analyze`, :func:`toolkit.series.metric_series`, ``toolkit cluster``,
``toolkit batch --executor dask``) routes the heavy part through the modules here; the statistics
run on small aggregates as before. Nothing here is imported by ``import toolkit``: Dask loads only
when a Dask engine is asked for (install the extra ``chatbot-toolkit[dask]``).

Modules
-------
:mod:`toolkit.dask_engine.client`
    The engine switch and the client: a ``LocalCluster`` started (and closed) for a run, or a
    running scheduler (``--scheduler tcp://host:8786``), or a ``distributed.Client`` you have.
:mod:`toolkit.dask_engine.read`
    A lazy log (:class:`DaskLog`) from a folder or glob of Parquet files (hive partitions such as
    ``date=2026-09-01/`` too), validated per partition with :func:`toolkit.log.validate`'s rules,
    and rearranged so that every conversation lives in one partition.
:mod:`toolkit.dask_engine.score`
    The relevance TF-IDF fitted once from per-file document frequencies, partitions scored.
:mod:`toolkit.dask_engine.ab`, :mod:`toolkit.dask_engine.series`
    Per-arm sufficient statistics of the unit table; per-bucket partial sums of a series.
:mod:`toolkit.dask_engine.benchmark`
    Both engines on the same log, each in a fresh process: time, peak memory, equal scores.

The analyses hand their pandas functions down to the engine modules (client, read, score, ab,
series never import an analysis), so every partition runs the same code as the pandas engine;
only ``benchmark``, which runs both engines, calls the analyses itself.
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

_LAZY = {
    "ENGINES": "toolkit.dask_engine.client",
    "EngineError": "toolkit.dask_engine.client",
    "check_engine": "toolkit.dask_engine.client",
    "dask_client": "toolkit.dask_engine.client",
    "DaskLog": "toolkit.dask_engine.read",
    "read_log": "toolkit.dask_engine.read",
    "sample_dask_log": "toolkit.dask_engine.read",
    "compare_engines": "toolkit.dask_engine.benchmark",
    "same_scores": "toolkit.dask_engine.benchmark",
    "write_sample": "toolkit.dask_engine.benchmark",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
