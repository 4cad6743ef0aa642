"""A fitted clustering that places new messages: :class:`ClusterModel`.

:func:`~toolkit.clustering.cluster_texts` (KMeans) returns one as ``TextClusters.model``: the
backend's fitted vectoriser (``Vectors.transform``), the KMeans centres in the space KMeans ran
in (embeddings minus their mean, re-normalised; TF-IDF as it is) and the cluster labels.
:meth:`ClusterModel.assign` gives each message its nearest centre, which is KMeans' own
``predict``: on the texts it was fitted on it returns the fit's labels. This is how the Dask
engine clusters a log too big for one machine: fit on a seeded sample, assign every message on
the workers (:mod:`toolkit.scale.topics`). The model pickles (the embeddings encoder is loaded
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
    """

    backend: str
    transform: Any
    centers: np.ndarray
    mean: np.ndarray | None = None
    cluster_labels: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        """Number of clusters."""
        return int(len(self.centers))

    def assign_vectors(self, X: np.ndarray) -> np.ndarray:
        """Cluster of each vector (``-1`` for a featureless one)."""
        X = np.asarray(X, dtype=np.float64)
        has = np.einsum("ij,ij->i", X, X) > _FEATURELESS
        out = np.full(len(X), -1, dtype=np.int64)
        if not has.any():
            return out
        Z = X[has]
        if self.mean is not None:
            Z = _l2_rows(Z - self.mean)[0]
        # argmin |z - c|^2 = argmin (|c|^2 - 2 z.c), as KMeans.predict
        d = (self.centers**2).sum(axis=1)[None, :] - 2.0 * (Z @ self.centers.T)
        out[has] = np.argmin(d, axis=1)
        return out

    def assign(self, texts: Iterable[Any]) -> np.ndarray:
        """Cluster of each message (``-1`` for an empty or featureless one).

        Messages are normalised and de-duplicated as in the fit, so each distinct message is
        vectorised once.

        Examples
        --------
        See the module docstring.
        """
        texts = _as_text_list(texts)
        dd = _dedup(texts)
        if not dd.texts:
            return np.full(len(texts), -1, dtype=np.int64)
        dlab = self.assign_vectors(self.transform(dd.texts))
        return np.where(dd.inverse >= 0, dlab[np.maximum(dd.inverse, 0)], -1)

    def label_of(self, clusters: np.ndarray) -> list[str]:
        """Readable label of each cluster id."""
        return [self.cluster_labels.get(int(c), str(c)) for c in clusters]
