"""Choosing the number of clusters: eigengap (default), stability, silhouette."""

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
        ``"eigengap"``, ``"stability"`` or ``"silhouette"``.
    scores : DataFrame
        One row per candidate k with the criterion (``eigenvalue`` and ``gap`` = next
        eigenvalue minus this one, for eigengap; ``stability`` = mean ARI between resampled
        runs and its standard deviation; ``silhouette``).
    rule : str
        The rule that picked ``k`` from ``scores``, in words.
    """

    k: int
    method: str
    scores: pd.DataFrame
    rule: str


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


def choose_k(
    X: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    k_min: int = 2,
    k_max: int | None = None,
    method: str = "eigengap",
    seed: int = 0,
    sample_size: int = 10000,
    n_micro: int | None = None,
    n_neighbors: int = 10,
    n_pairs: int = 3,
    tolerance: float = 0.02,
    n_threads: int | None = None,
) -> KSelection:
    """Choose the number of clusters for vectors ``X`` (rows weighted by ``weights``).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Normalised vectors, e.g. ``vectorize(...).X``.
    weights : array, optional
        Rows each vector stands for (duplicates).
    k_min, k_max : int
        Candidate range; ``k_max`` defaults to ``min(40, distinct vectors - 1)``.
    method : {"eigengap", "stability", "silhouette"}
        ``"eigengap"`` (default), a two-stage over-cluster-then-merge: KMeans first cuts the
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
    sample_size : int
        Rows drawn (with their duplicates in proportion) to choose k on; at most 3,000 for
        stability and silhouette, which refit KMeans for every k.
    n_micro, n_neighbors
        Eigengap settings.
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
        try:
            from sklearn.exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", category=ConvergenceWarning)
        except ImportError:  # pragma: no cover
            pass
        if method == "eigengap":
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
                f"unknown k-selection method {method!r}: choose 'eigengap', 'stability' or 'silhouette'"
            )
    return KSelection(k=k, method=method, scores=scores, rule=rule)
