"""Choosing the number of clusters: modularity (default), eigengap, stability, silhouette."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.clustering._base import ClusteringInputError, _kmeans, _l2_rows, _threads

__all__ = ["KSelection", "choose_k"]


@dataclass(frozen=True)
class KSelection:
    """How k was chosen.

    Attributes
    ----------
    k : int
        The chosen number of clusters.
    method : str
        ``"modularity"``, ``"eigengap"``, ``"stability"`` or ``"silhouette"``.
    scores : DataFrame
        One row per candidate k with the criterion (``modularity`` of that cut of the merge
        tree, for modularity; ``eigenvalue`` and ``gap`` = next
        eigenvalue minus this one, for eigengap; ``stability`` = mean ARI between resampled
        runs and its standard deviation; ``silhouette``).
    rule : str
        The rule that picked ``k`` from ``scores``, in words.
    """

    k: int
    method: str
    scores: pd.DataFrame
    rule: str

    def summary_table(self) -> pd.DataFrame:
        """The criterion for every candidate k."""
        return self.scores

    def to_dict(self) -> dict:
        """The chosen k, the method, the rule and the scores."""
        return {"k": self.k, "method": self.method, "rule": self.rule, "scores": self.scores.to_dict(orient="records")}


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def _eigengap_spectrum(C: np.ndarray, mass: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Smallest eigenvalues of the normalised Laplacian of the message graph, via its micro-clusters.

    Nodes are micro-cluster centroids ``C`` carrying ``mass`` messages each. Edge weights are the
    (non-negative) cosine similarities, kept for each node's ``n_neighbors`` most similar nodes
    (symmetrised); messages inside one micro-cluster are joined with weight 1. For that graph on
    the messages themselves, ``L = I - D^-1/2 W D^-1/2`` has, below 1, exactly the eigenvalues of
    ``I - M`` with ``M_ij = sqrt(m_i m_j) S_ij / sqrt(d_i d_j)`` and ``d = S m``.
    """
    cos = np.clip(C @ C.T, 0.0, 1.0)
    S = cos.copy()
    np.fill_diagonal(S, 0.0)
    m = int(min(n_neighbors, len(C) - 1))
    if m >= 1:
        thr = np.sort(S, axis=1)[:, -m][:, None]
        keep = (S >= thr) & (S > 0)
        S = np.where(keep | keep.T, S, 0.0)
    np.fill_diagonal(S, 1.0)
    d = S @ mass
    M = np.sqrt(np.outer(mass, mass)) * S / np.sqrt(np.outer(d, d))
    return np.sort(1.0 - np.linalg.eigvalsh((M + M.T) / 2.0))


def _knn_micro_graph(S: np.ndarray, sw: np.ndarray, lab0: np.ndarray, K0: int, m: int) -> np.ndarray:
    """Edges of the message nearest-neighbour graph summed between micro-clusters.

    Each distinct point (standing for ``sw`` messages) links to its ``m`` most similar other
    points; a message repeated ``w`` times sends ``w`` such edges, and the graph is symmetrised.
    Returns the ``K0 x K0`` matrix of edge weights between (and, on the diagonal, inside)
    micro-clusters.
    """
    n = len(S)
    m = int(min(m, n - 1))
    A = np.zeros((K0, K0))
    if m < 1:
        return A
    for start in range(0, n, 2048):  # blocks keep the similarity matrix small
        sim = S[start:start + 2048] @ S.T
        rows = np.arange(len(sim))
        sim[rows, start + rows] = -np.inf
        nb = np.argpartition(-sim, m - 1, axis=1)[:, :m]
        src = np.repeat(lab0[start:start + len(sim)], m)
        wt = np.repeat(sw[start:start + len(sim)], m)
        np.add.at(A, (src, lab0[nb.ravel()]), wt)
    return A + A.T


def _modularity_path(A: np.ndarray, Z: np.ndarray, resolution: float) -> np.ndarray:
    """Modularity ``Q(k)`` of every cut of the merge tree ``Z`` over the micro-clusters.

    ``Q = sum_c [e_cc / 2E - resolution * (d_c / 2E)^2]`` (Newman-Girvan with a resolution;
    Reichardt & Bornholdt 2006), updated merge by merge: ``out[k]`` is Q with ``k`` clusters.
    """
    K0 = len(A)
    M = A.copy()
    d = A.sum(axis=1)
    two_e = float(d.sum())
    out = np.full(K0 + 1, -np.inf)
    if two_e <= 0:
        return out
    q = float(np.trace(M)) / two_e - resolution * float((d**2).sum()) / two_e**2
    out[K0] = q
    slot = np.arange(2 * K0 - 1)
    for i, (a, b) in enumerate(Z[:, :2].astype(np.int64)):
        sa, sb = slot[a], slot[b]
        q += 2.0 * M[sa, sb] / two_e - 2.0 * resolution * d[sa] * d[sb] / two_e**2
        M[sa, :] += M[sb, :]
        M[:, sa] += M[:, sb]
        M[sb, :] = 0.0
        M[:, sb] = 0.0
        d[sa] += d[sb]
        d[sb] = 0.0
        slot[K0 + i] = sa
        out[K0 - i - 1] = q
    return out


def _micro_tree(S, sw, K0, seed):
    """KMeans micro-clusters (labels, unit centroids, masses) and their average-linkage tree."""
    from scipy.cluster.hierarchy import linkage

    km = _kmeans(S, sw, K0, seed, n_init=1)
    lab0 = np.asarray(km.labels_, dtype=np.int64)
    used = np.unique(lab0)
    remap = np.full(K0, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    lab0, K0 = remap[lab0], len(used)
    C, _ = _l2_rows(km.cluster_centers_[used])
    mass = np.bincount(lab0, weights=sw, minlength=K0)
    Z = linkage(C, "average", metric="cosine") if K0 > 1 else np.zeros((0, 4))
    return lab0, C, mass, Z


def _centroid_graph(C: np.ndarray, mass: np.ndarray, m: int) -> np.ndarray:
    """The coarse graph: every message of a micro-cluster links to the ``m`` micro-clusters
    nearest to its own (centroid cosine) and, ``m`` times, to its own micro-cluster."""
    K0 = len(C)
    m = int(min(m, K0 - 1))
    A = np.zeros((K0, K0))
    if m >= 1:
        sim = C @ C.T
        np.fill_diagonal(sim, -np.inf)
        nb = np.argpartition(-sim, m - 1, axis=1)[:, :m]
        np.add.at(A, (np.repeat(np.arange(K0), m), nb.ravel()), np.repeat(mass, m))
    A = A + A.T
    A[np.diag_indices(K0)] += 2.0 * m * mass
    return A


#: resolutions over which the coarse graph must keep (nearly) one k to count as a clear topic
#: structure: the largest best k at most _PLATEAU_RATIO times the smallest
_PLATEAU = (1.0, 1.5, 2.0, 3.0)
_PLATEAU_RATIO = 1.25


def _modularity_k(S, sw, k_min, k_max, *, seed, n_neighbors, resolution, micro_size):
    """The ``"modularity"`` choice; returns ``(k, scores, rule)``."""
    n_rows = float(sw.sum())
    lo = max(1, int(k_min))
    hi_cap = int(k_max) if k_max is not None else None

    def best(qs, K0):
        hi = int(min(K0, hi_cap if hi_cap is not None else K0))
        ks = np.arange(min(lo, hi), hi + 1)
        return ks, int(ks[int(np.argmax(qs[ks]))])

    # 1. the coarse graph (micro-clusters of ~5 x micro_size messages): a k that stays the best
    #    cut from resolution 1 to 3 is a clear topic structure (templated or well-separated
    #    topics, whose phrasings the fine graph would split)
    K1 = int(min(len(S), max(2 * lo + 2, round(n_rows / (5 * micro_size)))))
    lab1, C1, mass1, Z1 = _micro_tree(S, sw, K1, seed)
    A1 = _centroid_graph(C1, mass1, n_neighbors)
    coarse = [best(_modularity_path(A1, Z1, g), len(C1))[1] for g in _PLATEAU]
    if min(coarse) > 1 and max(coarse) <= _PLATEAU_RATIO * min(coarse):
        k = max(coarse)
        ks, _ = best(_modularity_path(A1, Z1, 1.0), len(C1))
        scores = pd.DataFrame({"k": ks, "modularity": _modularity_path(A1, Z1, 1.0)[ks]})
        rule = (f"the best cut (highest modularity) of an average-linkage tree over {len(C1)} KMeans "
                f"micro-clusters of {int(round(n_rows))} messages stays within {_PLATEAU_RATIO:g}x at "
                f"resolutions {list(_PLATEAU)} (k = {coarse}; graph: each micro-cluster to its "
                f"{n_neighbors} nearest): a clear topic structure; k = the largest, {k}")
        return k, scores, rule
    # 2. otherwise the fine graph: every message to its n_neighbors nearest messages
    K0 = int(min(len(S), max(2 * lo + 2, round(n_rows / micro_size))))
    lab0, C, mass, Z = _micro_tree(S, sw, K0, seed)
    A = _knn_micro_graph(S, sw, lab0, len(C), n_neighbors)
    qs = _modularity_path(A, Z, resolution)
    ks, k = best(qs, len(C))
    scores = pd.DataFrame({"k": ks, "modularity": qs[ks]})
    rule = (f"the coarse graph's best cut moved more than {_PLATEAU_RATIO:g}x over resolutions "
            f"{list(_PLATEAU)} (k = {coarse}); so k in [{ks[0]}, {ks[-1]}] with the highest modularity (resolution "
            f"{resolution:g}) of a {n_neighbors}-nearest-neighbour graph of {int(round(n_rows))} messages, "
            f"over the cuts of an average-linkage merge tree of {len(C)} KMeans micro-clusters")
    return k, scores, rule


def choose_k(
    X: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    k_min: int = 2,
    k_max: int | None = None,
    method: str = "modularity",
    seed: int = 0,
    sample_size: int | None = None,
    n_micro: int | None = None,
    n_neighbors: int | None = None,
    n_pairs: int = 3,
    tolerance: float = 0.02,
    n_threads: int | None = None,
    resolution: float = 3.0,
    micro_size: float = 5.0,
) -> KSelection:
    """Choose the number of clusters for vectors ``X`` (rows weighted by ``weights``).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Normalised vectors, e.g. ``vectorize(...).X``.
    weights : array, optional
        Rows each vector stands for (duplicates).
    k_min, k_max : int
        Candidate range. ``"modularity"``: ``k_max`` defaults to the number of micro-clusters
        (the sampled messages / ``micro_size``), so the search grows with the data; the other
        methods default to ``min(40, distinct vectors - 1)``.
    method : {"modularity", "eigengap", "stability", "silhouette"}
        ``"modularity"`` (default): a community criterion on the messages' nearest-neighbour
        graph. KMeans cuts the sampled messages into micro-clusters of about ``micro_size``
        messages; average linkage (cosine) merges their centroids into a tree; each cut of the
        tree (k = 1 .. micro-clusters) is scored by the modularity, at ``resolution``, of the
        graph joining every message to its ``n_neighbors`` (default 5 here) most similar
        messages, and the best cut gives k. Modularity rewards clusters whose messages are each
        other's neighbours more than chance; a resolution above 1 favours finer clusters,
        because on intent data merging two intents costs far more than splitting one
        (resolution 3 and 5 neighbours were set on two development sets, BANKING77 and HWU64,
        and checked on two held-out sets; see ``benchmarks/bench_topics.py``).
        ``"eigengap"``, a two-stage over-cluster-then-merge: KMeans first cuts the
        messages into ``n_micro`` micro-clusters (default ``3 * k_max``), far more than there
        are topics, so each holds one phrasing or a few close ones. The micro-clusters become
        the nodes of a similarity graph (cosine of centroids, each node joined to its
        ``n_neighbors`` most similar nodes, nodes weighted by their number of messages), and k
        is where the spectrum of the graph's normalised Laplacian has its largest gap among
        its ``k_max + 1`` smallest eigenvalues: with k well-separated groups the first k
        eigenvalues are small and the (k+1)-th jumps (the eigengap heuristic; von Luxburg,
        "A tutorial on spectral clustering", 2007). Weighting nodes by their messages makes
        this the spectrum of the graph on the messages themselves, so tiny outlying
        micro-clusters cannot fake a gap.
        ``"stability"``: for each k, ``n_pairs`` pairs of KMeans runs on independent 80 %
        subsamples label a sample of rows and are compared by adjusted Rand index; the largest
        k whose mean ARI is within ``tolerance`` of the best wins. On templated intent data it
        keeps rising past the true k (phrasings are stable sub-groups too), so it is offered
        for comparison. ``"silhouette"``: the k with the best cosine silhouette; it is nearly
        flat and drifts to large k on intent data.
    seed : int
        Seed for sampling and KMeans.
    sample_size : int, optional
        Rows drawn (with their duplicates in proportion) to choose k on; default 4,000 for
        modularity, 10,000 for eigengap, at most 3,000 for stability and silhouette, which
        refit KMeans for every k.
    n_micro, n_neighbors
        Eigengap settings (``n_neighbors`` also the modularity graph's, default 5 there).
    resolution, micro_size
        Modularity settings.
    n_pairs, tolerance
        Stability settings.
    n_threads : int, optional
        Limit BLAS/OpenMP threads (e.g. 1 on a shared machine).

    Returns
    -------
    KSelection

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> centers = np.eye(5)
    >>> X = np.vstack([c + 0.05 * rng.standard_normal((40, 5)) for c in centers])
    >>> choose_k(X, k_max=10, seed=0).k
    5
    """
    import warnings

    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n < 2:
        raise ClusteringInputError(f"choose_k needs at least 2 distinct vectors, got {n}")
    k_min = max(1, int(k_min))
    if n_neighbors is None:
        n_neighbors = 5 if method == "modularity" else 10
    if sample_size is None:
        sample_size = 4000 if method == "modularity" else 10000
    k_hi = min(40, n - 1) if k_max is None else min(int(k_max), n)
    k_hi = max(k_hi, k_min)
    ks = list(range(k_min, k_hi + 1))
    rng = np.random.default_rng(seed)
    if method in ("stability", "silhouette"):
        # these refit KMeans for every k (and silhouette is quadratic): a smaller sample
        sample_size = min(sample_size, 3000)
    if w.sum() <= sample_size:
        uidx, sw = np.arange(n), w.copy()
        m = int(round(w.sum()))
    else:
        # a weighted sample of rows: a phrasing said 500 times counts 500 times
        idx = rng.choice(n, size=int(sample_size), replace=True, p=w / w.sum())
        uidx, inv, cnt = np.unique(idx, return_inverse=True, return_counts=True)
        sw, m = cnt.astype(np.float64), int(sample_size)
    S = X[uidx]
    rows: list[dict[str, Any]] = []
    method = str(method)
    with _threads(n_threads), warnings.catch_warnings():
        # KMeans warns when duplicated points leave fewer distinct clusters than asked
        warnings.simplefilter("ignore", category=UserWarning)
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", category=ConvergenceWarning)
        if method == "modularity":
            if len(uidx) <= max(k_min, 1):
                k = int(len(uidx))
                return KSelection(k, method, pd.DataFrame({"k": [k]}), f"only {k} distinct vectors: k = {k}")
            k, scores, rule = _modularity_k(S, sw, k_min, k_max, seed=seed, n_neighbors=n_neighbors,
                                            resolution=float(resolution), micro_size=float(micro_size))
        elif method == "eigengap":
            k0 = int(min(len(uidx), n_micro or max(3 * k_hi, k_hi + 2)))
            if k0 <= k_min:
                k = int(min(k_hi, k0))
                return KSelection(k, method, pd.DataFrame({"k": [k]}),
                                  f"only {k0} distinct vectors: k = {k}")
            km = _kmeans(S, sw, k0, seed, n_init=2)
            C, _ = _l2_rows(km.cluster_centers_)
            mass = np.bincount(km.labels_, weights=sw, minlength=k0)
            live = mass > 0
            C, mass = C[live], mass[live]
            ev = _eigengap_spectrum(C, mass, n_neighbors)
            top = min(k_hi, len(ev) - 1)
            for k in ks:
                if k > top:
                    break
                rows.append({"k": k, "eigenvalue": float(ev[k - 1]), "gap": float(ev[k] - ev[k - 1])})
            scores = pd.DataFrame(rows)
            k = int(scores.loc[scores["gap"].idxmax(), "k"]) if len(scores) else int(top)
            rule = (
                f"largest eigengap of the normalised Laplacian of a {n_neighbors}-nearest-"
                f"neighbour cosine graph over {len(C)} KMeans micro-clusters of {m} rows, "
                f"for k in [{ks[0]}, {int(scores['k'].max()) if len(scores) else top}]"
            )
        elif method == "stability":
            inv_all = np.repeat(np.arange(len(uidx)), sw.astype(np.int64))
            m_s = len(inv_all)
            sub_n = max(2, int(round(0.8 * m_s)))
            for k in ks:
                if k > len(uidx):
                    break
                aris = []
                for b in range(n_pairs):
                    labs = []
                    for r in range(2):
                        sub = rng.choice(m_s, size=sub_n, replace=False)
                        su, sc = np.unique(inv_all[sub], return_counts=True)
                        if len(su) < k:
                            su, sc = np.arange(len(uidx)), sw
                        km = _kmeans(S[su], sc.astype(np.float64), k, seed + 1000 * b + r, n_init=1)
                        labs.append(km.predict(S)[inv_all])
                    aris.append(_ari(labs[0], labs[1]) if k > 1 else 1.0)
                rows.append({"k": k, "stability": float(np.mean(aris)), "stability_sd": float(np.std(aris))})
            scores = pd.DataFrame(rows)
            best = scores["stability"].max()
            ok = scores[scores["stability"] >= best - tolerance]
            k = int(ok["k"].max())
            rule = (
                f"largest k in [{ks[0]}, {int(scores['k'].max())}] whose stability (mean ARI of "
                f"{n_pairs} pairs of KMeans runs on 80 % subsamples of {m_s} rows) is within "
                f"{tolerance} of the best ({best:.3f})"
            )
        elif method == "silhouette":
            from sklearn.metrics import silhouette_score

            inv_all = np.repeat(np.arange(len(uidx)), sw.astype(np.int64))
            Xs = S[inv_all]
            D = np.clip(1.0 - Xs @ Xs.T, 0.0, 2.0)  # cosine distances, computed once
            np.fill_diagonal(D, 0.0)
            for k in ks:
                if k < 2 or k > len(uidx) - 1:
                    continue
                km = _kmeans(S, sw, k, seed, n_init=2)
                lab = km.labels_[inv_all]
                if len(np.unique(lab)) < 2:
                    continue
                rows.append({"k": k, "silhouette": float(silhouette_score(D, lab, metric="precomputed"))})
            scores = pd.DataFrame(rows)
            k = int(scores.loc[scores["silhouette"].idxmax(), "k"]) if len(scores) else 1
            rule = f"k with the highest cosine silhouette on a sample of {len(inv_all)} rows"
        else:
            raise ClusteringInputError(
                f"unknown k-selection method {method!r}: choose 'modularity', 'eigengap', 'stability' "
                f"or 'silhouette'"
            )
    return KSelection(k=k, method=method, scores=scores, rule=rule)
