"""Clustering a conversation log: the units to cluster, the run, the result (:func:`cluster_log`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from toolkit.clustering._base import _TEXT_ALIASES, TEXT_FIELDS, ClusteringInputError
from toolkit.clustering.hierarchy import TopicHierarchy
from toolkit.clustering.k_choice import KSelection
from toolkit.clustering.plots import plot_cluster_map
from toolkit.clustering.profile import cluster_profile, profile_from_sums, profile_sums
from toolkit.clustering.texts import TextClusters, cluster_texts

__all__ = ["ClusterResult", "clustering_units", "cluster_log"]


def _resolve_text(text: str) -> str:
    t = _TEXT_ALIASES.get(str(text), str(text))
    if t not in TEXT_FIELDS:
        raise ClusteringInputError(
            f"unknown text field {text!r}: choose one of {sorted(TEXT_FIELDS)}"
        )
    return t


def _as_log(log: Any):
    from toolkit.log import ConversationLog, validate

    if isinstance(log, ConversationLog):
        return log
    if isinstance(log, pd.DataFrame):
        return validate(log)
    if hasattr(log, "turns") and hasattr(log, "conversations"):
        return validate(log.turns, log.conversations)
    if hasattr(log, "log"):  # a Sample
        return _as_log(log.log)
    raise ClusteringInputError(
        f"expected a ConversationLog or a turns DataFrame, got {type(log).__name__}"
    )


def clustering_units(log: Any, text: str = "first_user") -> pd.DataFrame:
    """The rows to cluster and their outcomes, from a conversation log.

    Parameters
    ----------
    log : ConversationLog or turns DataFrame
    text : {"first_user", "user_input", "bot_response"}
        ``"first_user"``: one row per conversation, its first user message (lowest turn).
        ``"user_input"`` / ``"bot_response"``: one row per turn.

    Returns
    -------
    DataFrame
        ``conversation_id`` (and ``turn`` for per-turn text), ``text``, ``variant``,
        ``resolved``, ``satisfaction``, ``response_time_s`` (the conversation's mean for
        ``first_user``), and ``quality`` when the turns have a ``quality`` column (the
        conversation's mean quality for ``first_user``).

    Examples
    --------
    >>> from toolkit.log import validate
    >>> turns = pd.DataFrame({"conversation_id": ["a", "a", "b"], "turn": [0, 1, 0],
    ...     "timestamp": pd.to_datetime(["2026-01-01 10:00"] * 3, utc=True),
    ...     "user_input": ["refund please", "thanks", "where is my order"],
    ...     "bot_response": ["ok", "bye", "checking"], "response_time_s": [1.0, 2.0, 3.0]})
    >>> clustering_units(validate(turns))[["conversation_id", "text", "response_time_s"]]
      conversation_id               text  response_time_s
    0               a      refund please              1.5
    1               b  where is my order              3.0
    """
    from toolkit.log import conversation_metrics

    log = _as_log(log)
    text = _resolve_text(text)
    conv = log.conversations
    if text == "first_user":
        m = conversation_metrics(log)
        out = pd.DataFrame(
            {
                "conversation_id": m["conversation_id"],
                "text": m["first_user_input"],
                "variant": m["variant"] if "variant" in m else pd.NA,
                "resolved": m["resolved"] if "resolved" in m else pd.NA,
                "satisfaction": m["satisfaction"] if "satisfaction" in m else np.nan,
                "response_time_s": m["mean_response_time_s"],
            }
        )
        if "mean_quality" in m:
            out["quality"] = m["mean_quality"].to_numpy()
        return out.reset_index(drop=True)
    t = log.turns
    cols = ["conversation_id", "turn", text, "response_time_s"]
    if "variant" in t:
        cols.append("variant")
    if "quality" in t:
        cols.append("quality")
    out = t[cols].rename(columns={text: "text"}).reset_index(drop=True)
    if "variant" not in out:
        out["variant"] = pd.NA
    keep = [c for c in ("conversation_id", "resolved", "satisfaction") if c in conv]
    out = out.merge(conv[keep], on="conversation_id", how="left")
    for c, fill in (("resolved", pd.NA), ("satisfaction", np.nan)):
        if c not in out:
            out[c] = fill
    order = ["conversation_id", "turn", "text", "variant", "resolved", "satisfaction", "response_time_s"]
    if "quality" in out:
        order.append("quality")
    return out[order]


@dataclass
class ClusterResult:
    """Clusters of a conversation log (the output of :func:`cluster_log`).

    Attributes
    ----------
    assignments : DataFrame
        One row per clustered unit (:func:`clustering_units` columns) plus ``cluster``,
        ``cluster_label``, ``x``, ``y`` (map coordinates).
    profile : DataFrame
        :func:`cluster_profile` of the assignments, worst-served large clusters first.
    clusters : DataFrame
        ``cluster, label, size, top_terms, examples`` (by cluster id = by size).
    k : int
    k_selection : KSelection or None
    noise_share : float
        Share of units HDBSCAN left as noise (0 for KMeans).
    n_empty : int
    text, backend, algorithm : str
    seed : int
    vector_info : dict
    n_units : int or None
        Units of the whole log when the clusters were fitted on a sample of it (the Dask engine:
        ``assignments`` then holds the sample, ``profile`` and ``clusters`` count every unit);
        ``None`` when ``assignments`` is every unit.
    out : str or None
        Where the Dask engine wrote every unit's assignment (partitioned Parquet).
    hierarchy : TopicHierarchy or None
        Merge tree over the fitted topics; :meth:`at_level` reads the result at fewer topics.
    """

    assignments: pd.DataFrame
    profile: pd.DataFrame
    clusters: pd.DataFrame
    k: int
    k_selection: KSelection | None
    noise_share: float
    n_empty: int
    text: str
    backend: str
    algorithm: str
    seed: int
    vector_info: dict = field(default_factory=dict)
    n_units: int | None = None
    out: str | None = None
    hierarchy: TopicHierarchy | None = None

    def at_level(self, n: int, *, n_terms: int = 8, n_examples: int = 3) -> "ClusterResult":
        """The same clustering read at ``n`` topics: the fitted topics merged along
        :attr:`hierarchy` (nothing is re-embedded or refitted).

        Assignments get the parent ``cluster`` (the fitted one stays in ``fine_cluster``), the
        profile is recomputed from the assignments, and each parent is labelled with the
        c-TF-IDF words of its messages and the representative messages of its largest fitted
        topics. ``n`` at or above the fitted k gives the fitted topics back.

        Examples
        --------
        >>> import toolkit
        >>> res = cluster_log(toolkit.load_sample(), backend="tfidf", n_threads=1)  # doctest: +SKIP
        >>> res.at_level(5).k                                                        # doctest: +SKIP
        5
        """
        from toolkit.clustering.labels import _label_from_terms, cluster_terms

        if self.hierarchy is None:
            raise ClusteringInputError("this result has no topic hierarchy (a single topic)")
        a = self.assignments.copy()
        fine = (a["fine_cluster"] if "fine_cluster" in a else a["cluster"]).to_numpy(dtype=np.int64)
        parent = self.hierarchy.cut(n)
        new = np.where(fine >= 0, parent[np.maximum(fine, 0)], fine)
        k = int(parent.max()) + 1
        pairs = pd.DataFrame({"t": a["text"].fillna("").astype(str).to_numpy(), "c": new})
        pairs = pairs[pairs["c"] >= 0].value_counts().reset_index()
        terms = cluster_terms(pairs["t"].tolist(), pairs["c"].to_numpy(), weights=pairs["count"].to_numpy(),
                              n_terms=n_terms)
        base = self.clusters.set_index("cluster")
        fine_sizes = pd.Series(fine[fine >= 0]).value_counts()
        rows, names = [], {}
        for c in range(k):
            kids = sorted(np.flatnonzero(parent == c), key=lambda f: (-int(fine_sizes.get(f, 0)), f))
            ex: list[str] = []
            for depth in range(n_examples):
                for f in kids:
                    e = base.loc[f, "examples"] if f in base.index else []
                    if depth < len(e) and e[depth] not in ex and len(ex) < n_examples:
                        ex.append(e[depth])
            names[c] = _label_from_terms(terms.get(c, []), ex[0] if ex else str(c))
            rows.append({"cluster": c, "label": names[c], "size": int((new == c).sum()),
                         "top_terms": [t for t, _ in terms.get(c, [])], "examples": ex,
                         "children": [int(f) for f in kids]})
        old_names = dict(zip(a["cluster"], a["cluster_label"]))
        a["fine_cluster"] = fine
        a["cluster"] = new
        a["cluster_label"] = [names[c] if c >= 0 else old_names.get(c, str(c)) for c in new]
        profile = cluster_profile(a, outcome=self.profile.attrs.get("outcome") or "auto")
        return replace(self, assignments=a, profile=profile, clusters=pd.DataFrame(rows), k=k)

    def messages(self, cluster: int, n: int | None = 20) -> pd.DataFrame:
        """The units of one cluster (most frequent messages first), for drill-down.

        Examples
        --------
        >>> import toolkit  # doctest: +SKIP
        >>> cluster_log(toolkit.load_sample(), k=5).messages(0, n=3)  # doctest: +SKIP
        """
        a = self.assignments
        if cluster not in set(a["cluster"].unique()):
            raise ClusteringInputError(f"no cluster {cluster!r}: clusters are {sorted(a['cluster'].unique())}")
        sel = a[a["cluster"] == cluster]
        freq = sel["text"].map(sel["text"].value_counts())
        sel = sel.assign(_f=freq).sort_values(["_f", "text"], ascending=[False, True], kind="stable").drop(columns="_f")
        return sel.head(n) if n else sel

    def top_messages(self, cluster: int, n: int | None = 10) -> pd.DataFrame:
        """The most frequent distinct messages of one cluster with their outcomes.

        Returns
        -------
        DataFrame
            ``text, count`` and, when the units have them, ``resolution_rate``,
            ``satisfaction`` and ``mean_quality`` over the units that sent that message; most
            frequent first.

        Examples
        --------
        >>> res = cluster_log(toolkit.load_sample(), k=18)          # doctest: +SKIP
        >>> res.top_messages(0, n=3).columns.tolist()[:2]          # doctest: +SKIP
        ['text', 'count']
        """
        sel = self.messages(cluster, n=None)
        key = sel["text"].fillna("").astype(str)
        g = sel.groupby(key, sort=False)
        out = pd.DataFrame({"count": g.size()})
        if "resolved" in sel:
            out["resolution_rate"] = sel["resolved"].astype("Float64").astype("float64").groupby(key, sort=False).mean()
        if "satisfaction" in sel:
            out["satisfaction"] = pd.to_numeric(sel["satisfaction"], errors="coerce").astype("float64").groupby(key, sort=False).mean()
        if "quality" in sel:
            out["mean_quality"] = pd.to_numeric(sel["quality"], errors="coerce").astype("float64").groupby(key, sort=False).mean()
        out.index.name = "text"
        out = out.reset_index().sort_values(["count", "text"], ascending=[False, True], kind="stable")
        out = out.reset_index(drop=True)
        return out.head(n) if n else out

    def summary(self) -> dict[str, Any]:
        """Headline numbers for a sidecar or ``--json`` output."""
        return {
            "text": self.text,
            "backend": self.backend,
            "algorithm": self.algorithm,
            "k": self.k,
            "k_method": self.k_selection.method if self.k_selection else None,
            "k_rule": self.k_selection.rule if self.k_selection else None,
            "n_units": int(len(self.assignments)) if self.n_units is None else int(self.n_units),
            "fitted_on": int(len(self.assignments)),
            "n_empty": self.n_empty,
            "noise_share": self.noise_share,
            "outcome": self.profile.attrs.get("outcome"),
            "worst_cluster": self.profile.iloc[0]["label"] if len(self.profile) else None,
            "seed": self.seed,
        }

    def summary_table(self) -> pd.DataFrame:
        """:meth:`summary` as a one-column ``value`` table."""
        return pd.Series(self.summary(), name="value").to_frame()

    def to_dict(self, n_worst: int = 3) -> dict[str, Any]:
        """:meth:`summary` with ``n_clusters``, the ``n_worst`` worst-served clusters and the profile."""
        p = self.profile
        cols = ["cluster", "label", "size", "share"] + [c for c in ("resolution_rate", "excess_failures") if c in p]
        return {**self.summary(), "n_clusters": self.k, "worst_clusters": p.head(n_worst)[cols], "profile": p}

    def describe(self) -> str:
        """What was clustered and how, in a few lines.

        Examples
        --------
        >>> import toolkit
        >>> print(cluster_log(toolkit.load_sample(), k=5, backend="tfidf", seed=0).describe())  # doctest: +ELLIPSIS
        5 clusters of ... messages (first_user, tfidf, kmeans)
        """
        lines = [f"{self.k} clusters of {len(self.assignments):,} messages ({self.text}, {self.backend}, {self.algorithm})"]
        if self.k_selection is not None:
            lines.append(f"k chosen by: {self.k_selection.rule}")
        if self.algorithm == "hdbscan":
            lines.append(f"noise: {self.noise_share:.1%} of the messages belong to no dense pocket")
        if self.n_empty:
            lines.append(f"{self.n_empty:,} messages without words (empty, digits or stop words only) form cluster -1")
        return "\n".join(lines)

    def plot_map(self, *, max_points: int = 20000, ax=None, annotate: bool = True):
        """2-D map of the clusters; see :func:`plot_cluster_map`."""
        return plot_cluster_map(self, max_points=max_points, ax=ax, annotate=annotate)


def cluster_log(
    log: Any,
    text: str = "first_user",
    k: int | str = "auto",
    *,
    backend: str = "auto",
    algorithm: str = "kmeans",
    outcome: str = "auto",
    seed: int = 0,
    engine: str = "pandas",
    sample_size: int | None = None,
    out: Any = None,
    **options: Any,
) -> ClusterResult:
    """Cluster a conversation log's messages into labelled topics and profile them.

    Parameters
    ----------
    log : ConversationLog or turns DataFrame
        With ``engine="dask"``: a :class:`toolkit.dask_engine.DaskLog` or a folder/glob of Parquet.
    text : {"first_user", "user_input", "bot_response"}
        What to cluster (see :func:`clustering_units`).
    k : int or "auto"
    backend : {"auto", "embeddings", "tfidf"}
        See :func:`vectorize`; ``"auto"`` uses sentence embeddings in the default install.
    algorithm : {"kmeans", "hdbscan"}
    outcome : str
        Passed to :func:`cluster_profile`.
    seed : int
    engine : {"pandas", "dask"}
        ``"dask"`` (KMeans only) fits the clusters on a seeded sample of ``sample_size`` units
        and assigns every unit on the Dask workers, where the profile is summed
        (:mod:`toolkit.dask_engine.topics`); ``assignments`` then holds the sample and ``out``
        receives every unit's cluster.
    sample_size : int, optional
        Units to fit on. Pandas engine: default all (give a number to fit on a sample and
        assign the rest, as the Dask engine does); Dask: default 200,000.
    out : path, optional
        Dask engine: folder for every unit's assignment (partitioned Parquet).
    **options
        Passed to :func:`cluster_texts` (``k_method``, ``k_max``, ``min_cluster_size``,
        ``n_threads``, ``backend_options``, ...).

    Returns
    -------
    ClusterResult

    Examples
    --------
    >>> import toolkit
    >>> res = cluster_log(toolkit.load_sample(), k=8, seed=0)   # doctest: +SKIP
    >>> res.profile.columns[:4].tolist()                          # doctest: +SKIP
    ['cluster', 'label', 'size', 'share']
    """
    from toolkit.dask_engine.client import check_engine

    fit = functools.partial(cluster_texts, k=k, backend=backend, algorithm=algorithm, seed=seed, **options)
    text = _resolve_text(text)
    if check_engine(engine) == "dask":
        return _cluster_dask(log, text, fit, outcome, seed, sample_size, out)
    if out is not None:
        raise ClusteringInputError("out= is for engine='dask'; write res.assignments yourself")
    # (the Dask engine checks its own sample size: toolkit.dask_engine.topics)
    if sample_size is not None and (isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer))
                                    or sample_size < 2):
        raise ClusteringInputError(f"sample_size= must be a whole number of units >= 2 (or None: all), "
                                   f"got {sample_size!r}")
    units = clustering_units(log, text)
    n_units = None
    if sample_size is not None and sample_size < len(units):
        from toolkit.dask_engine.topics import sample_units

        everything, units = units, sample_units(units, sample_size, seed)
        n_units = len(everything)
    tc = fit(units["text"])
    a = _with_clusters(units, tc)
    if n_units is None:
        profile = cluster_profile(a, outcome=outcome)
    else:
        if tc.model is None:
            raise ClusteringInputError("sample_size= needs KMeans with a backend that places new messages")
        lab = tc.model.assign(everything["text"])
        full = everything.assign(cluster=lab, cluster_label=tc.model.label_of(lab))
        profile = cluster_profile(full, outcome=outcome)
    return _result(a, profile, tc, text, seed, n_units)


def _with_clusters(units: pd.DataFrame, tc: TextClusters) -> pd.DataFrame:
    a = units.copy()
    a["cluster"] = tc.labels
    a["cluster_label"] = [tc.cluster_labels.get(int(c), str(c)) for c in tc.labels]
    a["x"] = tc.coords[:, 0]
    a["y"] = tc.coords[:, 1]
    return a


def _result(a: pd.DataFrame, profile: pd.DataFrame, tc: TextClusters, text: str, seed: int,
            n_units: int | None, out: str | None = None) -> ClusterResult:
    sizes = profile.set_index("cluster")["size"]
    clusters = pd.DataFrame(
        [
            {
                "cluster": c,
                "label": tc.cluster_labels[c],
                "size": int(sizes.get(c, 0)),
                "top_terms": [t for t, _ in tc.terms.get(c, [])],
                "examples": tc.examples.get(c, []),
            }
            for c in range(tc.k)
        ]
    )
    shared = ("k", "k_selection", "noise_share", "n_empty", "backend", "algorithm", "vector_info", "hierarchy")
    return ClusterResult(assignments=a, profile=profile, clusters=clusters, text=text, seed=seed,
                         n_units=n_units, out=out, **{f: getattr(tc, f) for f in shared})


def _cluster_dask(log: Any, text: str, fit, outcome: str, seed: int, sample_size: int | None, out: Any) -> ClusterResult:
    """``cluster_log(engine="dask")``: see :mod:`toolkit.dask_engine.topics`."""
    from toolkit.dask_engine.topics import DEFAULT_SAMPLE_SIZE, cluster_dask

    if fit.keywords.get("algorithm", "kmeans") != "kmeans":
        raise ClusteringInputError("engine='dask' clusters with KMeans only (HDBSCAN cannot place messages "
                                   "outside its sample); use algorithm='kmeans' or the pandas engine")
    res = cluster_dask(log, units=functools.partial(clustering_units, text=text), fit=fit, sums=profile_sums,
                       sample_size=DEFAULT_SAMPLE_SIZE if sample_size is None else sample_size, seed=seed,
                       out=out)
    tc = res.fit
    profile = profile_from_sums(res.sums, tc.model.cluster_labels, outcome=outcome)
    return _result(_with_clusters(res.sample, tc), profile, tc, text, seed, res.n_units, res.out)
