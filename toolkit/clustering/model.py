"""A fitted clustering that places new messages: :class:`ClusterModel`.

:func:`~toolkit.clustering.cluster_texts` (KMeans) returns one as ``TextClusters.model``: the
backend's fitted vectoriser (``Vectors.transform``), the KMeans centres in the space KMeans ran
in (embeddings minus their mean, re-normalised; TF-IDF as it is) and the cluster labels.
:meth:`ClusterModel.assign` gives each message its nearest centre, which is KMeans' own
``predict``: on the texts it was fitted on it returns the fit's labels. This is how the Dask
engine clusters a log too big for one machine: fit on a seeded sample, assign every message on
the workers (:mod:`toolkit.dask_engine.topics`). The model pickles (the embeddings encoder is loaded
by each process that assigns).

Examples
--------
>>> from toolkit.clustering import cluster_texts
>>> res = cluster_texts(["reset my password", "forgot password reset", "password reset link",
...                      "where is my order", "order not arrived", "track my order"],
...                     k=2, backend="tfidf", seed=0)
>>> model = res.model
>>> model.assign(["I need a password reset", "my order has not arrived", "", "42"]).tolist() == [
...     res.labels[0], res.labels[3], -1, -1]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from toolkit.clustering._base import _as_text_list, _dedup, _l2_rows

__all__ = ["ClusterModel"]

#: a vector with squared norm at most this has no features (the pipeline's "empty" rule)
_FEATURELESS = 0.25


@dataclass(frozen=True)
class ClusterModel:
    """Nearest-centre assignment of new messages to fitted clusters.

    Attributes
    ----------
    backend : str
        The vectoriser the clusters were fitted with.
    transform : callable
        ``transform(normalised texts) -> unit vectors`` (the backend's fitted map).
    centers : ndarray, shape (k, d)
        KMeans centres, row ``c`` for cluster ``c`` (clusters numbered by decreasing size).
    mean : ndarray or None
        Subtracted from the vectors (then re-normalised) before the distance: the embeddings
        backend clusters centred vectors.
    cluster_labels : dict
        cluster -> readable label, ``-1`` -> ``"(empty)"``.
    threshold : float or None
        Distance to the nearest centre beyond which a message is "far from every known topic"
        (:meth:`assign` with ``propose_new=True``): the 99th percentile of the fitted messages'
        distances to their own centre.
    """

    backend: str
    transform: Any
    centers: np.ndarray
    mean: np.ndarray | None = None
    cluster_labels: dict = field(default_factory=dict)
    threshold: float | None = None

    def _space(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float64)
        has = np.einsum("ij,ij->i", X, X) > _FEATURELESS
        Z = X[has]
        if self.mean is not None:
            Z = _l2_rows(Z - self.mean)[0]
        return Z, has

    def distances(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distance of each vector to its nearest centre (NaN when featureless)."""
        Z, has = self._space(X)
        out = np.full(len(has), np.nan)
        d = (self.centers**2).sum(axis=1)[None, :] - 2.0 * (Z @ self.centers.T) + (Z**2).sum(axis=1)[:, None]
        out[has] = np.sqrt(np.maximum(d.min(axis=1), 0.0)) if len(Z) else []
        return out

    @property
    def k(self) -> int:
        """Number of clusters."""
        return int(len(self.centers))

    def assign_vectors(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each vector (``-1`` for a featureless one)."""
        Z, has = self._space(X)
        out = np.full(len(has), -1, dtype=np.int64)
        if len(Z):
            # argmin |z - c|^2 = argmin (|c|^2 - 2 z.c), as KMeans.predict
            out[has] = np.argmin((self.centers**2).sum(axis=1)[None, :] - 2.0 * (Z @ self.centers.T), axis=1)
        return out

    def assign(self, texts: Iterable[Any], *, propose_new: bool = False, min_new: int = 5,
               seed: int = 0) -> np.ndarray:
        """Cluster of each message (``-1`` for an empty or featureless one).

        Messages are normalised and de-duplicated as in the fit, so each distinct message is
        vectorised once. Known topics keep their ids across runs (a new week's log assigned
        to last week's model).

        With ``propose_new=True``, messages farther than :attr:`threshold` from every known
        centre are not forced into a known topic: when there are at least ``min_new`` of them
        they are clustered among themselves (k chosen by :func:`choose_k`) into new topics
        numbered ``k, k+1, ...``; fewer are marked ``-2`` (far from every topic), as are
        non-empty messages without any fitted feature (TF-IDF: no known word).

        Examples
        --------
        See the module docstring.
        """
        texts = _as_text_list(texts)
        dd = _dedup(texts)
        if not dd.texts:
            return np.full(len(texts), -1, dtype=np.int64)
        X = self.transform(dd.texts)
        dlab = self.assign_vectors(X)
        if propose_new and self.threshold is not None:
            dist = self.distances(X)
            far = np.flatnonzero(np.nan_to_num(dist, nan=-1.0) > self.threshold)
            w = np.bincount(dd.inverse[dd.inverse >= 0], minlength=len(dd.texts)).astype(np.float64)
            if w[far].sum() >= max(1, int(min_new)) and len(far) >= 2:
                from toolkit.clustering._base import _kmeans
                from toolkit.clustering.k_choice import choose_k

                Z, _ = self._space(X[far])
                k_new = choose_k(Z, w[far], seed=seed).k if len(far) > 2 else 1
                lab = _kmeans(Z, w[far], k_new, seed).labels_ if k_new > 1 else np.zeros(len(far), int)
                dlab[far] = self.k + np.asarray(lab, dtype=np.int64)
            elif len(far):
                dlab[far] = -2
            # non-empty messages without a single known feature (e.g. TF-IDF: no word of the
            # fitted vocabulary) are far from every topic too
            dlab[np.isnan(dist)] = -2
        return np.where(dd.inverse >= 0, dlab[np.maximum(dd.inverse, 0)], -1)

    def label_of(self, clusters: np.ndarray) -> list[str]:
        """Readable label of each cluster id."""
        return [self.cluster_labels.get(int(c), str(c)) for c in clusters]
