"""Texts -> L2-normalised vectors with a backend chosen by name (:func:`vectorize`)."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from toolkit.clustering._base import ClusteringInputError, Vectors, _as_text_list
from toolkit.clustering.embeddings import _embeddings_backend
from toolkit.clustering.tfidf import _no_space_share, _tfidf_backend

__all__ = ["BACKENDS", "register_backend", "resolve_backend", "vectorize"]


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


def resolve_backend(backend: str, texts: Sequence[str] = ()) -> str:
    """The backend ``"auto"`` stands for: ``"embeddings"`` when its packages are installed (the
    default install has them) and the texts are not mostly in scripts written without spaces
    (Chinese, Japanese, Thai, ...: the English MiniLM model does not read them, TF-IDF's character
    n-grams do), else ``"tfidf"``. Any other name is returned as it is.

    Examples
    --------
    >>> resolve_backend("tfidf"), resolve_backend("auto", ["我的订单在哪里"])
    ('tfidf', 'tfidf')
    """
    if backend != "auto":
        return backend
    from toolkit.embeddings import available

    if available() and _no_space_share(texts) < 0.3:
        return "embeddings"
    return "tfidf"


def _check_options(func: Callable[..., Vectors], backend: str, asked: str, options: dict) -> None:
    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(options) - set(params) - {"seed"})
    if unknown:
        via = f" (chosen by backend={asked!r}; pass backend='tfidf' for TF-IDF options)" if asked != backend else ""
        raise ClusteringInputError(
            f"backend {backend!r}{via} takes no option {', '.join(map(repr, unknown))}: "
            f"it takes {sorted(set(params) - {'texts', 'weights', 'seed'}) or 'none'}"
        )


def vectorize(
    texts: Iterable[str],
    backend: str = "auto",
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
    backend : {"auto", "embeddings", "tfidf"} or a name added with :func:`register_backend`
        ``"auto"`` (default): see :func:`resolve_backend` (embeddings in the default install).
        ``"tfidf"``: TF-IDF on word unigrams (sublinear tf, English stop words removed, digits
        dropped) reduced with TruncatedSVD to ``n_components`` (default 100) and re-normalised
        (LSA). ``"embeddings"``: all-MiniLM-L6-v2 sentence embeddings on onnxruntime
        (:mod:`toolkit.embeddings`).
    weights : array, optional
        How many rows each text stands for (document frequencies and the SVD fit count them).
    seed : int
        Seed for the randomized SVD.
    **options
        Passed to the backend (``n_components``, ``stop_words``, ``analyzer`` for tfidf; none
        for embeddings); an option the backend does not take is an error.

    Returns
    -------
    Vectors

    Examples
    --------
    >>> v = vectorize(["reset my password", "password reset", "track my order"])
    >>> v.X.shape[0], round(float(v.X[0] @ v.X[1]), 2) > round(float(v.X[0] @ v.X[2]), 2)
    (3, True)
    """
    texts = _as_text_list(texts)
    asked = backend
    backend = resolve_backend(backend, texts)
    if backend not in BACKENDS:
        raise ClusteringInputError(
            f"unknown backend {backend!r}: choose 'auto' or one of {sorted(BACKENDS)}"
        )
    _check_options(BACKENDS[backend], backend, asked, options)
    w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(w) != len(texts):
        raise ClusteringInputError(f"weights has {len(w)} values for {len(texts)} texts")
    if not texts:
        raise ClusteringInputError("no texts to vectorise")
    return BACKENDS[backend](texts, w, seed=seed, **options)
