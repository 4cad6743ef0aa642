"""Cluster conversations into labelled topics and profile where the bot fails.

The pipeline, each step a plain function:

1. :func:`clustering_units` picks the text to cluster from a conversation log: the first user
   message of each conversation (default), every user turn, or every bot response, together with
   the outcome columns used later (variant, resolved, satisfaction, response time, ``quality``
   when the log carries it).
2. :func:`vectorize` turns texts into L2-normalised vectors with a backend chosen by name:
   ``"tfidf"`` (default: TF-IDF on word unigrams, then LSA with TruncatedSVD) or
   ``"embeddings"`` (all-MiniLM-L6-v2 sentence embeddings from the optional ``embeddings``
   extra). Exact duplicates are vectorised once and carried as weights, which is both exact for
   KMeans and what makes 100,000 templated messages cheap.
3. :func:`choose_k` picks the number of clusters when it is not given (see below), and
   :func:`cluster_texts` clusters with KMeans (MiniBatchKMeans for large inputs) or HDBSCAN.
4. Each cluster gets a label from class-based TF-IDF (:func:`cluster_terms`) and representative
   messages (closest to its centroid); :func:`cluster_profile` ties clusters to outcomes and
   sorts the worst-served large clusters first; :meth:`ClusterResult.plot_map` draws a 2-D map.

:func:`cluster_log` runs it all and returns a :class:`ClusterResult`.

Modules
-------
``_base`` (errors, clean-up, de-duplication, :class:`Vectors`, KMeans), ``tfidf`` and
``embeddings`` (the backends), ``vectors`` (:func:`vectorize`, :data:`BACKENDS`), ``k_choice``
(:func:`choose_k`), ``labels`` (:func:`cluster_terms`), ``texts`` (:func:`cluster_texts`,
:class:`ClusterOptions`), ``profile`` (:func:`cluster_profile`), ``from_log``
(:func:`clustering_units`, :func:`cluster_log`), ``model`` (:class:`ClusterModel`: a fit that
places new messages), ``plots``, ``browser``, ``k_evaluation``
(:func:`compare_k_methods`: k-selection methods scored against known labels), ``hierarchy`` (:class:`TopicHierarchy`, read with
``ClusterResult.at_level``), ``over_time`` (:func:`topics_over_time`). This package exports every public name.

Choosing k
----------
The default, ``method="modularity"``, scores the cuts of a merge tree over KMeans
micro-clusters by the modularity of the messages' nearest-neighbour graph (resolution 3, which
errs towards more topics: on public intent sets merging two intents costs far more NMI than
splitting one); when a coarser graph keeps nearly one k over resolutions 1-3 (a clear topic
structure, as in templated data) that k is taken. See :func:`choose_k` and
``benchmarks/bench_topics.py``. ``"eigengap"``, ``"stability"`` and ``"silhouette"`` stay
available: :func:`choose_k` documents the four methods (and why silhouette and stability drift
to large k on intent data); the notebook compares them with the truth of the sample data.

Examples
--------
>>> texts = ["reset my password", "forgot password reset", "password reset link",
...          "where is my order", "order not arrived", "track my order",
...          "refund please", "i want a refund", "refund my money"]
>>> res = cluster_texts(texts, k=3, seed=0)
>>> len(set(res.labels))
3
>>> bool(res.labels[0] == res.labels[1] == res.labels[2])
True
"""


from __future__ import annotations

from toolkit.clustering._base import TEXT_FIELDS, ClusteringInputError, Vectors
from toolkit.clustering.browser import cluster_browser, topic_level_slider
from toolkit.clustering.from_log import ClusterResult, cluster_log, clustering_units
from toolkit.clustering.hierarchy import TopicHierarchy
from toolkit.clustering.k_choice import KSelection, choose_k
from toolkit.clustering.k_evaluation import compare_k_methods
from toolkit.clustering.labels import cluster_terms
from toolkit.clustering.model import ClusterModel
from toolkit.clustering.over_time import TopicsOverTime, topics_over_time
from toolkit.clustering.plots import plot_cluster_map, plot_k_selection
from toolkit.clustering.profile import cluster_profile, profile_from_sums, profile_sums
from toolkit.clustering.texts import ClusterOptions, TextClusters, cluster_texts
from toolkit.clustering.vectors import BACKENDS, register_backend, resolve_backend, vectorize

__all__ = [
    "ClusteringInputError",
    "Vectors",
    "KSelection",
    "TextClusters",
    "ClusterOptions",
    "ClusterResult",
    "ClusterModel",
    "BACKENDS",
    "TEXT_FIELDS",
    "register_backend",
    "resolve_backend",
    "clustering_units",
    "vectorize",
    "choose_k",
    "cluster_texts",
    "cluster_terms",
    "cluster_profile",
    "profile_sums",
    "profile_from_sums",
    "cluster_log",
    "plot_cluster_map",
    "plot_k_selection",
    "cluster_browser",
    "topic_level_slider",
    "TopicHierarchy",
    "TopicsOverTime",
    "topics_over_time",
    "compare_k_methods",
]
