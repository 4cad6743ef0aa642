"""The toolkit's analyses at scale, on Dask: partitioned Parquet in, a cluster doing the work.

``engine="dask"`` on the entry points (:func:`toolkit.io.load`, :func:`toolkit.quality.score_turns`,
:func:`toolkit.ab.analyze`, :func:`toolkit.series.metric_series`, ``toolkit cluster``,
``toolkit batch --executor dask``) routes the heavy part through the modules here; the statistics
run on small aggregates as before. Nothing here is imported by ``import toolkit``: Dask loads only
when a Dask engine is asked for (install the extra ``chatbot-toolkit[dask]``).

Modules
-------
:mod:`toolkit.scale.cluster`
    The engine switch and the client: a ``LocalCluster`` started (and closed) for a run, or a
    running scheduler (``--scheduler tcp://host:8786``), or a ``distributed.Client`` you have.
:mod:`toolkit.scale.read`
    A lazy log (:class:`DaskLog`) from a folder or glob of Parquet files (hive partitions such as
    ``date=2026-09-01/`` too), validated per partition with :func:`toolkit.log.validate`'s rules,
    and rearranged so that every conversation lives in one partition.
:mod:`toolkit.scale.score`
    The relevance TF-IDF fitted once from per-file document frequencies, partitions scored.
:mod:`toolkit.scale.ab`, :mod:`toolkit.scale.series`
    Per-arm sufficient statistics of the unit table; per-bucket partial sums of a series.
:mod:`toolkit.scale.compare`
    Both engines on the same log, each in a fresh process: time, peak memory, equal scores.

The analyses hand their pandas functions down to the engine modules (cluster, read, score, ab,
series never import an analysis), so every partition runs the same code as the pandas engine;
only ``compare``, which runs both engines, calls the analyses itself.
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

_LAZY = {
    "ENGINES": "toolkit.scale.cluster",
    "EngineError": "toolkit.scale.cluster",
    "check_engine": "toolkit.scale.cluster",
    "dask_client": "toolkit.scale.cluster",
    "DaskLog": "toolkit.scale.read",
    "read_log": "toolkit.scale.read",
    "sample_dask_log": "toolkit.scale.read",
    "compare_engines": "toolkit.scale.compare",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
