"""Clustering a list of texts into labelled topics (:func:`cluster_texts`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable

import numpy as np
import pandas as pd

from toolkit.clustering._base import (
    _MINIBATCH_THRESHOLD,
    ClusteringInputError,
    Vectors,
    _as_text_list,
    _Dedup,
    _dedup,
    _kmeans,
    _l2_rows,
    _threads,
)
from toolkit.clustering.k_choice import KSelection, choose_k
from toolkit.clustering.labels import _label_from_terms, cluster_terms
from toolkit.clustering.hierarchy import TopicHierarchy
from toolkit.clustering.model import ClusterModel
from toolkit.clustering.vectors import vectorize

__all__ = ["ClusterOptions", "TextClusters", "cluster_texts"]


@dataclass
class TextClusters:
    """Clusters of a list of texts (the output of :func:`cluster_texts`).

    Attributes
    ----------
    labels : ndarray of int
        Cluster of each input text: ``0 .. k-1`` by decreasing size, ``-1`` for HDBSCAN noise and
        for empty messages (no text features).
    k : int
        Number of clusters (noise excluded).
    cluster_labels : dict
        cluster -> readable label (top c-TF-IDF terms); ``-1`` -> ``"(noise)"`` / ``"(empty)"``.
    terms : dict
        cluster -> list of ``(term, c-TF-IDF weight)``.
    examples : dict
        cluster -> representative messages (closest to the centroid, distinct).
    coords : ndarray, shape (n, 2)
        2-D map coordinates of each text (first two principal components of its vector).
    k_selection : KSelection or None
        Set when k was chosen automatically.
    noise_share : float
        Share of non-empty texts HDBSCAN left as noise (0 for KMeans).
    n_empty : int
        Texts without any features (empty, whitespace, digits or stop words only).
    backend, algorithm : str
    vector_info : dict
    model : ClusterModel or None
        Places new messages in these clusters (KMeans with a backend that can vectorise new
        texts; ``None`` for HDBSCAN).
    hierarchy : TopicHierarchy or None
        Ward merge tree over the cluster centroids (``None`` with a single cluster).
    """

    labels: np.ndarray
    k: int
    cluster_labels: dict[int, str]
    terms: dict[int, list[tuple[str, float]]]
    examples: dict[int, list[str]]
    coords: np.ndarray
    k_selection: KSelection | None
    noise_share: float
    n_empty: int
    backend: str
    algorithm: str
    vector_info: dict = field(default_factory=dict)
    model: ClusterModel | None = None
    hierarchy: TopicHierarchy | None = None

    def summary_table(self) -> pd.DataFrame:
        """One row per cluster: its label, size and top terms."""
        ids, sizes = np.unique(self.labels, return_counts=True)
        return pd.DataFrame({"cluster": ids, "label": [self.cluster_labels.get(int(c), "") for c in ids], "size": sizes,
                             "top_terms": [", ".join(t for t, _ in self.terms.get(int(c), [])[:5]) for c in ids]})

    def to_dict(self) -> dict:
        """k, how it was found, noise and empty texts, and the cluster labels."""
        return {"k": self.k, "backend": self.backend, "algorithm": self.algorithm, "noise_share": self.noise_share,
                "n_empty": self.n_empty, "k_rule": self.k_selection.rule if self.k_selection else None,
                "cluster_labels": {int(c): v for c, v in self.cluster_labels.items()}}


def _hierarchy(pp: "_Points", plab: np.ndarray, k: int) -> TopicHierarchy | None:
    """Ward tree over the weighted centroids of the ``k`` clusters (centred space for
    embeddings, as KMeans saw it)."""
    if k < 2:
        return None
    X = _centred(pp.Xp, pp.wp) if pp.vec.backend == "embeddings" else pp.Xp
    ok = plab >= 0
    sizes = np.bincount(plab[ok], weights=pp.wp[ok], minlength=k)
    C = np.zeros((k, X.shape[1]))
    np.add.at(C, plab[ok], pp.wp[ok, None] * X[ok])
    return TopicHierarchy.from_centroids(C / np.maximum(sizes, 1e-12)[:, None], sizes)


def _weighted_pcs(X: np.ndarray, w: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the rows and the top ``dim`` principal axes (columns; exact: the
    eigenvectors of the weighted covariance, d x d with d <= a few hundred), each axis's
    largest entry made positive (determinism)."""
    mu = (w[:, None] * X).sum(axis=0) / w.sum()
    Xc = X - mu
    cov = (Xc * w[:, None]).T @ Xc / w.sum()
    V = np.linalg.eigh(cov)[1][:, ::-1][:, :dim]
    return mu, V * np.sign(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])])


def _pca2(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted 2-D principal-component coordinates."""
    if len(X) == 0:
        return np.zeros((0, 2))
    if len(X) < 3 or X.shape[1] < 2:
        out = np.zeros((len(X), 2))
        out[:, : min(2, X.shape[1])] = (X - (w[:, None] * X).sum(axis=0) / w.sum())[:, :2]
        return out
    mu, V = _weighted_pcs(X, w, 2)
    return (X - mu) @ V


def _map2(Xp: np.ndarray, wp: np.ndarray, plab: np.ndarray) -> np.ndarray:
    """2-D map coordinates: the principal plane of the cluster centroids (size-weighted).

    A plain PCA of short-text vectors piles most topics onto the origin (each topic has its own
    direction, and two components cannot span 18 of them); the plane that best separates the
    centroids spreads the topics out, and every message is projected onto it. Falls back to the
    messages' own principal plane with fewer than three clusters.
    """
    ids = np.unique(plab[plab >= 0])
    if len(ids) < 3:
        return _pca2(Xp, wp)
    C = np.vstack([(wp[plab == c, None] * Xp[plab == c]).sum(axis=0) / wp[plab == c].sum() for c in ids])
    cw = np.array([wp[plab == c].sum() for c in ids])
    mu, V = _weighted_pcs(C, cw, 2)
    return (Xp - mu) @ V


def _relabel_by_size(lab: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by decreasing total weight (ties: old id); negatives kept."""
    pos = lab >= 0
    if not pos.any():
        return lab.copy()
    ids = np.unique(lab[pos])
    tot = np.array([w[lab == c].sum() for c in ids])
    order = ids[np.lexsort((ids, -tot))]
    mapping = {int(c): i for i, c in enumerate(order)}
    out = lab.copy()
    out[pos] = [mapping[int(c)] for c in lab[pos]]
    return out


@dataclass(frozen=True)
class _Points:
    dd: _Dedup
    vec: Vectors
    X: np.ndarray  # vectors of the distinct texts
    has: np.ndarray  # distinct texts with features
    txt: np.ndarray  # indices of those texts
    pinv: np.ndarray  # text (among txt) -> point
    Xp: np.ndarray  # point vectors
    wp: np.ndarray  # rows per point


def _points(texts: list[str], backend: str, *, seed: int, backend_options: dict | None) -> _Points:
    """Distinct texts -> vectors -> distinct vectors (points) with their row weights."""
    n_rows = len(texts)
    dd = _dedup(texts)
    if not dd.texts:
        raise ClusteringInputError(
            f"all {n_rows} messages are empty (no text after trimming whitespace): nothing to cluster"
        )
    vec = vectorize(dd.texts, backend, weights=dd.weights, seed=seed, **(backend_options or {}))
    X = vec.X
    has = np.einsum("ij,ij->i", X, X) > 0.25
    if not has.any():
        raise ClusteringInputError(
            f"none of the {n_rows} messages has any text features (only digits, punctuation or "
            f"stop words, e.g. {dd.originals[0]!r}): nothing to cluster"
        )
    # distinct texts that carry features; texts with identical vectors (same words, other order
    # or case) are one point: the points we cluster, weighted by their rows.
    # Rows are hashed to 64 bits (a collision between two of n rows: about n**2 / 2**65).
    txt = np.flatnonzero(has)
    keys = pd.util.hash_pandas_object(pd.DataFrame(np.round(X[txt], 9) + 0.0), index=False).to_numpy()
    pinv, uniq = pd.factorize(keys, sort=False)
    pinv = np.asarray(pinv, dtype=np.int64)
    first = np.full(len(uniq), len(pinv), dtype=np.int64)
    np.minimum.at(first, pinv, np.arange(len(pinv)))
    wp = np.bincount(pinv, weights=dd.weights[txt], minlength=len(first))
    return _Points(dd=dd, vec=vec, X=X, has=has, txt=txt, pinv=pinv, Xp=X[txt[first]], wp=wp)


@dataclass(frozen=True)
class ClusterOptions:
    """The settings of :func:`cluster_texts` as one value (each field as documented there).

    Pass it as ``cluster_texts(texts, k, options=...)`` (or ``cluster_log(log, options=...)``)
    to reuse one configuration; keywords given beside it that differ from their defaults
    override its fields.

    Examples
    --------
    >>> opts = ClusterOptions(n_terms=2, seed=1)
    >>> cluster_texts(["card declined", "card rejected", "store hours", "store open"], k=2,
    ...               options=opts).cluster_labels[0].count("·")
    1
    """

    backend: str = "auto"
    algorithm: str = "kmeans"
    k_method: str = "modularity"
    k_min: int = 2
    k_max: int | None = None
    min_cluster_size: int | None = None
    n_examples: int = 3
    n_terms: int = 8
    seed: int = 0
    minibatch_threshold: int = _MINIBATCH_THRESHOLD
    hdbscan_max_rows: int = 5000
    n_threads: int | None = None
    backend_options: dict | None = None
    k_neighbors: int | None = None


_DEFAULTS = ClusterOptions()


def _merge_options(options: ClusterOptions | None, keywords: dict) -> ClusterOptions:
    """``options`` (or the defaults) with the keywords that differ from their defaults applied."""
    if options is None:
        return ClusterOptions(**keywords)
    if not isinstance(options, ClusterOptions):
        raise ClusteringInputError(f"options must be a ClusterOptions, got {type(options).__name__}")
    changed = {name: v for name, v in keywords.items() if v != getattr(_DEFAULTS, name)}
    return replace(options, **changed)


def _check_k(k: int | str) -> tuple[int | None, bool]:
    """``k`` as an int (``None`` for ``"auto"``) and whether it is automatic."""
    if isinstance(k, str):
        if k != "auto":
            raise ClusteringInputError(f"k must be a positive integer or 'auto', got {k!r}")
        return None, True
    if isinstance(k, bool) or int(k) != k or int(k) < 1:
        raise ClusteringInputError(f"k must be a positive integer or 'auto', got {k!r}")
    return int(k), False


#: eigengap neighbours per backend (choose_k's ``n_neighbors``), checked against the truth of the
#: bundled sample (both backends: 18 of 18 intents) and of tests/fixtures/messy_intents.csv with
#: embeddings: 3 neighbours put k within 30 % in 17 of 24 runs (8 intent subsets of 8-23 intents,
#: 3 seeds each), 4 neighbours in 11; 10 neighbours (TF-IDF's) on 3 of 10 subsets (k far too low)
_K_NEIGHBORS = {"embeddings": 3}


def _centred(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rows minus their weighted mean, re-normalised: sentence embeddings share a common
    direction that carries no topic; without it KMeans separates intents better (messy fixture,
    true k: NMI 0.775 -> 0.794 with seed 0, and +0.02 on average over 10 intent subsets)."""
    mu = (w[:, None] * X).sum(axis=0) / w.sum()
    return _l2_rows(X - mu)[0]


def _model(pp: _Points, old: np.ndarray, new: np.ndarray, centers: np.ndarray, mean, labels: dict) -> ClusterModel | None:
    """The :class:`ClusterModel` of a KMeans fit, its centres renumbered like the clusters
    (``old`` -> ``new`` point labels); ``None`` when the backend cannot place new texts."""
    if pp.vec.transform is None:
        return None
    order = np.zeros(len(centers), dtype=np.int64)
    order[new] = old
    model = ClusterModel(pp.vec.backend, pp.vec.transform, np.asarray(centers, dtype=np.float64)[order],
                         None if mean is None else np.asarray(mean, dtype=np.float64),
                         {**labels, -1: labels.get(-1, "(empty)")})
    # the fit's own within-cluster distances set "far from every known topic"
    d = model.distances(pp.Xp)
    ok = np.isfinite(d)
    if ok.any():
        o = np.argsort(d[ok])
        cw = np.cumsum(pp.wp[ok][o])
        q = float(d[ok][o][min(int(np.searchsorted(cw, 0.99 * cw[-1])), len(o) - 1)])
        model = replace(model, threshold=q)
    return model


def _kmeans_point_labels(
    pp: _Points, k: int | None, opts: ClusterOptions, n_rows: int
) -> tuple[np.ndarray, KSelection | None, np.ndarray, np.ndarray | None]:
    """KMeans labels of the points, with k given or chosen by :func:`choose_k`; also the
    centres and the mean subtracted before KMeans (embeddings), for :class:`ClusterModel`."""
    Xp, wp = pp.Xp, pp.wp
    n_pts = len(Xp)
    selection = None
    if k is None:
        if n_pts == 1:
            k = 1
            selection = KSelection(1, opts.k_method, pd.DataFrame(), "only one distinct message")
        else:
            if opts.k_method == "modularity":
                nn = opts.k_neighbors
                Xk = _centred(Xp, wp) if pp.vec.backend == "embeddings" else Xp
            else:
                nn = opts.k_neighbors or _K_NEIGHBORS.get(pp.vec.backend, 10)
                Xk = Xp
            selection = choose_k(Xk, wp, k_min=opts.k_min, k_max=opts.k_max, method=opts.k_method,
                                 seed=opts.seed, n_neighbors=nn)
            k = selection.k
    elif k > n_pts:
        n_valid_rows = int(round(wp.sum()))
        raise ClusteringInputError(
            f"k={k} but there are only {n_pts} distinct non-empty messages "
            f"({n_rows} rows, {n_rows - n_valid_rows} empty; messages with the same "
            f"words count once): use k <= {n_pts} or k='auto'"
        )
    mean = None
    if pp.vec.backend == "embeddings":
        mean = (wp[:, None] * Xp).sum(axis=0) / wp.sum()
        Xp = _centred(Xp, wp)
    if k == 1:
        return np.zeros(n_pts, dtype=np.int64), selection, (wp[:, None] * Xp).sum(axis=0)[None] / wp.sum(), mean
    km = _kmeans(Xp, wp, k, opts.seed, minibatch_threshold=opts.minibatch_threshold)
    return np.asarray(km.predict(Xp), dtype=np.int64), selection, km.cluster_centers_, mean


def _row_labels(pp: _Points, plab: np.ndarray) -> np.ndarray:
    """Point labels -> labels per distinct text (-1 featureless) -> per row (-1 empty)."""
    dlab = np.full(len(pp.dd.texts), -1, dtype=np.int64)
    dlab[pp.txt] = plab[pp.pinv]
    return np.where(pp.dd.inverse >= 0, dlab[np.maximum(pp.dd.inverse, 0)], -1)


def _point_texts(pp: _Points) -> list[str]:
    """Each point's text: its most frequent spelling (texts of one point have the same words)."""
    order = np.lexsort((-pp.dd.weights[pp.txt], pp.pinv))
    starts = np.r_[0, np.flatnonzero(np.diff(pp.pinv[order])) + 1]
    return [pp.dd.originals[i] for i in pp.txt[order[starts]]]


def _representatives(Xp: np.ndarray, wp: np.ndarray, members: np.ndarray, n: int) -> list[int]:
    """Points closest to the weighted centroid (ties: most frequent), skipping near-copies
    (cosine >= 0.9) of a point already chosen while others remain."""
    cen = (wp[members, None] * Xp[members]).sum(axis=0)
    sim = Xp[members] @ cen / max(np.linalg.norm(cen), 1e-12)
    ranked = members[np.lexsort((members, -wp[members], -np.round(sim, 9)))]
    chosen: list[int] = []
    for i in ranked[: 50 * n]:
        if len(chosen) == n:
            break
        if all(float(Xp[i] @ Xp[j]) < 0.9 for j in chosen):
            chosen.append(int(i))
    for i in ranked:
        if len(chosen) >= n:
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    return chosen


def _describe(pp: _Points, plab: np.ndarray, k: int, opts: ClusterOptions):
    """Terms, representative messages and a readable label for each cluster."""
    rep_text = _point_texts(pp)
    terms = cluster_terms(rep_text, plab, weights=pp.wp, n_terms=opts.n_terms)
    examples: dict[int, list[str]] = {}
    cluster_labels: dict[int, str] = {}
    for c in range(k):
        chosen = _representatives(pp.Xp, pp.wp, np.flatnonzero(plab == c), opts.n_examples)
        examples[c] = [rep_text[i] for i in chosen]
        cluster_labels[c] = _label_from_terms(terms.get(c, []), examples[c][0] if examples[c] else "")
    return terms, examples, cluster_labels


def _row_coords(pp: _Points, plab: np.ndarray, n_rows: int) -> np.ndarray:
    """2-D map coordinates per row (NaN for empty rows)."""
    dcoords = np.full((len(pp.dd.texts), 2), np.nan)
    dcoords[pp.txt] = _map2(pp.Xp, pp.wp, plab)[pp.pinv]
    coords = np.full((n_rows, 2), np.nan)
    ok = pp.dd.inverse >= 0
    coords[ok] = dcoords[pp.dd.inverse[ok]]
    return coords


def cluster_texts(
    texts: Iterable[str],
    k: int | str = "auto",
    *,
    backend: str = "auto",
    algorithm: str = "kmeans",
    k_method: str = "modularity",
    k_min: int = 2,
    k_max: int | None = None,
    min_cluster_size: int | None = None,
    n_examples: int = 3,
    n_terms: int = 8,
    seed: int = 0,
    minibatch_threshold: int = _MINIBATCH_THRESHOLD,
    hdbscan_max_rows: int = 5000,
    n_threads: int | None = None,
    backend_options: dict | None = None,
    k_neighbors: int | None = None,
    options: ClusterOptions | None = None,
) -> TextClusters:
    """Cluster short texts into labelled topics.

    Parameters
    ----------
    texts : sequence of str
        Messages; ``None``/NaN count as empty.
    k : int or "auto"
        Number of clusters for KMeans; ``"auto"`` chooses it with :func:`choose_k`. Ignored by
        HDBSCAN, which finds its own number.
    backend : str
        Vectoriser name (see :func:`vectorize`): ``"auto"`` (default) is all-MiniLM-L6-v2
        sentence embeddings when installed (the default install), else ``"tfidf"``.
    algorithm : {"kmeans", "hdbscan"}
        KMeans (MiniBatchKMeans above ``minibatch_threshold`` distinct texts), or HDBSCAN
        (``sklearn.cluster.HDBSCAN``) for dense pockets, with the rest reported as noise
        (``noise_share``); it runs on the first 20 principal components of the vectors
        (re-normalised), where density means something. HDBSCAN is fitted on at most ``hdbscan_max_rows`` sampled rows; other rows take the label of
        their nearest fitted row.
    k_method, k_min, k_max
        How ``"auto"`` chooses k (see :func:`choose_k`).
    k_neighbors : int, optional
        Eigengap's ``n_neighbors`` (default: 3 for embeddings, 10 otherwise). With embeddings,
        KMeans runs on the vectors minus their mean (re-normalised).
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (default: 1 % of the fitted rows, at least 5).
    n_examples, n_terms : int
        Representative messages and label terms kept per cluster.
    seed : int
        Seeds every random step; the same input and seed give the same output.
    n_threads : int, optional
        Limit BLAS/OpenMP threads while clustering.
    backend_options : dict, optional
        Passed to the backend (e.g. ``{"n_components": 50}``).
    options : ClusterOptions, optional
        All of the above as one value; keywords that differ from their defaults override it.

    Returns
    -------
    TextClusters

    Raises
    ------
    ClusteringInputError
        No texts; every text empty; k larger than the number of distinct non-empty messages;
        unknown backend or algorithm.

    Examples
    --------
    >>> res = cluster_texts(["card declined", "payment declined", "my card was declined",
    ...                      "opening hours?", "when are you open", "hours on sunday"], k=2)
    >>> sorted(res.cluster_labels.values())
    ['declined · card · payment', 'hours · open · opening']
    """
    texts = _as_text_list(texts)
    opts = _merge_options(options, dict(
        backend=backend, algorithm=algorithm, k_method=k_method, k_min=k_min, k_max=k_max,
        min_cluster_size=min_cluster_size, n_examples=n_examples, n_terms=n_terms, seed=seed,
        minibatch_threshold=minibatch_threshold, hdbscan_max_rows=hdbscan_max_rows,
        n_threads=n_threads, backend_options=backend_options, k_neighbors=k_neighbors,
    ))
    n_rows = len(texts)
    if n_rows == 0:
        raise ClusteringInputError("no messages to cluster (0 rows)")
    if opts.algorithm not in ("kmeans", "hdbscan"):
        raise ClusteringInputError(f"unknown algorithm {opts.algorithm!r}: choose 'kmeans' or 'hdbscan'")
    k_given, _ = _check_k(k)

    pp = _points(texts, opts.backend, seed=opts.seed, backend_options=opts.backend_options)
    selection: KSelection | None = None
    noise_share = 0.0
    fitted = None
    with _threads(opts.n_threads):
        if opts.algorithm == "kmeans":
            plab, selection, *fitted = _kmeans_point_labels(pp, k_given, opts, n_rows)
        else:
            plab, noise_share = _hdbscan_points(
                _reduce(pp.Xp, pp.wp, _HDBSCAN_DIM), pp.wp, min_cluster_size=opts.min_cluster_size, max_rows=opts.hdbscan_max_rows,
                seed=opts.seed,
            )
    old = plab
    plab = _relabel_by_size(plab, pp.wp)
    k_final = int(len(np.unique(plab[plab >= 0])))
    row_lab = _row_labels(pp, plab)
    terms, examples, cluster_labels = _describe(pp, plab, k_final, opts)
    n_empty = int((pp.dd.inverse < 0).sum() + pp.dd.weights[~pp.has].sum())
    if (row_lab < 0).any():
        if opts.algorithm == "hdbscan":
            cluster_labels[-1] = "(noise or empty)" if n_empty else "(noise)"
        else:
            cluster_labels[-1] = "(empty)"
    model = _model(pp, old, plab, *fitted, cluster_labels) if fitted else None
    return TextClusters(
        labels=row_lab,
        k=k_final,
        cluster_labels=cluster_labels,
        terms=terms,
        examples=examples,
        coords=_row_coords(pp, plab, n_rows),
        k_selection=selection,
        noise_share=noise_share,
        n_empty=n_empty,
        backend=pp.vec.backend,
        algorithm=opts.algorithm,
        vector_info=dict(pp.vec.info, n_distinct=len(pp.dd.texts), n_points=len(pp.Xp)),
        model=model,
        hierarchy=_hierarchy(pp, plab, k_final),
    )


#: HDBSCAN runs on this many principal components (density is meaningless in 384 dimensions;
#: BERTopic reduces with UMAP for the same reason, PCA needs no extra package)
_HDBSCAN_DIM = 20


def _reduce(X: np.ndarray, w: np.ndarray, dim: int) -> np.ndarray:
    """Weighted principal components of ``X`` (at most ``dim``), re-normalised to unit rows."""
    if X.shape[1] <= dim or len(X) < 3:
        return X
    mu, V = _weighted_pcs(X, w, dim)
    return _l2_rows((X - mu) @ V)[0]


def _hdbscan_points(
    Xp: np.ndarray, wp: np.ndarray, *, min_cluster_size: int | None, max_rows: int, seed: int
) -> tuple[np.ndarray, float]:
    """HDBSCAN on the rows behind weighted points (sampled above ``max_rows``).

    Each point takes the label most of its fitted copies got; points not in the sample take the
    label of their nearest sampled point. Returns point labels (-1 = noise) and the noise share
    of the rows.
    """
    from sklearn.cluster import HDBSCAN

    rng = np.random.default_rng(seed)
    n_pts = len(Xp)
    n_rows = float(wp.sum())
    if n_rows <= max_rows and np.allclose(wp, np.round(wp)):
        fit_idx = np.repeat(np.arange(n_pts), np.round(wp).astype(np.int64))
    else:
        fit_idx = np.sort(rng.choice(n_pts, size=int(max_rows), replace=True, p=wp / wp.sum()))
    mcs = int(min_cluster_size or max(5, int(round(0.01 * len(fit_idx)))))
    if mcs < 2:
        raise ClusteringInputError(f"min_cluster_size must be >= 2, got {mcs}")
    if mcs > len(fit_idx):
        raise ClusteringInputError(
            f"HDBSCAN needs at least min_cluster_size={mcs} messages, got {len(fit_idx)}"
        )
    flab = HDBSCAN(min_cluster_size=mcs, copy=True).fit_predict(Xp[fit_idx])
    plab = np.full(n_pts, -1, dtype=np.int64)
    seen = np.unique(fit_idx)
    votes = pd.DataFrame({"p": fit_idx, "l": flab}).value_counts().reset_index()
    votes = votes.sort_values(["p", "count", "l"], ascending=[True, False, False], kind="stable")
    top = votes.drop_duplicates("p")
    plab[top["p"].to_numpy()] = top["l"].to_numpy()
    unseen = np.setdiff1d(np.arange(n_pts), seen)
    if len(unseen):
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=1).fit(Xp[seen])
        _, j = nn.kneighbors(Xp[unseen])
        plab[unseen] = plab[seen][j[:, 0]]
    return plab, float(wp[plab < 0].sum() / wp.sum())
