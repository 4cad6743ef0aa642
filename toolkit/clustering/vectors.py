"""Texts -> L2-normalised vectors with a backend chosen by name (:func:`vectorize`)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from toolkit.clustering._base import ClusteringInputError, Vectors, _as_text_list
from toolkit.clustering.embeddings import _embeddings_backend
from toolkit.clustering.tfidf import _tfidf_backend

__all__ = ["BACKENDS", "register_backend", "vectorize"]


#: backend name -> callable ``(distinct_texts, weights, *, seed, **options) -> Vectors``
BACKENDS: dict[str, Callable[..., Vectors]] = {
    "tfidf": _tfidf_backend,
    "embeddings": _embeddings_backend,
}


def register_backend(name: str, func: Callable[..., Vectors]) -> None:
    """Add a vectoriser under ``name``: ``func(texts, weights, *, seed, **options) -> Vectors``.

    Examples
    --------
    >>> import numpy as np
    >>> def lengths(texts, weights, *, seed=0):
    ...     return Vectors(np.array([[len(t), 1.0] for t in texts]), "lengths")
    >>> register_backend("lengths", lengths)
    >>> "lengths" in BACKENDS
    True
    >>> del BACKENDS["lengths"]
    """
    BACKENDS[str(name)] = func


def vectorize(
    texts: Iterable[str],
    backend: str = "tfidf",
    *,
    weights: np.ndarray | None = None,
    seed: int = 0,
    **options: Any,
) -> Vectors:
    """Turn texts into L2-normalised vectors with the backend named ``backend``.

    Parameters
    ----------
    texts : sequence of str
        The texts (distinct ones are best; see ``weights``).
    backend : {"tfidf", "embeddings"} or a name added with :func:`register_backend`
        ``"tfidf"``: TF-IDF on word unigrams (sublinear tf, English stop words removed, digits
        dropped) reduced with TruncatedSVD to ``n_components`` (default 100) and re-normalised
        (LSA). ``"embeddings"``: all-MiniLM-L6-v2 (needs the ``embeddings`` extra).
    weights : array, optional
        How many rows each text stands for (document frequencies and the SVD fit count them).
    seed : int
        Seed for the randomized SVD.
    **options
        Passed to the backend (``n_components``, ``stop_words``, ``analyzer`` for tfidf;
        ``batch_size`` for embeddings).

    Returns
    -------
    Vectors

    Examples
    --------
    >>> v = vectorize(["reset my password", "password reset", "track my order"])
    >>> v.X.shape[0], round(float(v.X[0] @ v.X[1]), 2) > round(float(v.X[0] @ v.X[2]), 2)
    (3, True)
    """
    if backend not in BACKENDS:
        raise ClusteringInputError(
            f"unknown backend {backend!r}: choose one of {sorted(BACKENDS)}"
        )
    texts = _as_text_list(texts)
    w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(w) != len(texts):
        raise ClusteringInputError(f"weights has {len(w)} values for {len(texts)} texts")
    if not texts:
        raise ClusteringInputError("no texts to vectorise")
    return BACKENDS[backend](texts, w, seed=seed, **options)
