"""Shared pieces of the clustering package: errors, text clean-up, de-duplication, vectors, KMeans."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd
from toolkit.errors import ToolkitError
from toolkit.text import as_text_list

__all__ = ["ClusteringInputError", "TEXT_FIELDS", "Vectors"]


#: what to cluster -> description; ``first_user_input`` is accepted as an alias of ``first_user``
TEXT_FIELDS: dict[str, str] = {
    "first_user": "first user message of each conversation (one row per conversation)",
    "user_input": "every user message (one row per turn)",
    "bot_response": "every bot response (one row per turn)",
}
_TEXT_ALIASES = {"first_user_input": "first_user", "first": "first_user", "user": "user_input", "bot": "bot_response"}

_MINIBATCH_THRESHOLD = 20_000


class ClusteringInputError(ToolkitError):
    """Input that cannot be clustered as asked (too few messages for k, no text, bad option)."""


@contextlib.contextmanager
def _threads(n_threads: int | None):
    """Limit BLAS/OpenMP threads inside the block (``None`` leaves them as they are)."""
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_threads)):
        yield


def _fig_ax(ax, figsize: tuple[float, float]):
    """``ax`` and its figure, or a new ``Figure`` (no pyplot state) with one axes."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _as_text_list(texts: Iterable[Any]) -> list[str]:
    """:func:`toolkit.text.as_text_list` of the messages; a single string is an input error."""
    if isinstance(texts, str):
        raise ClusteringInputError("texts must be a sequence of messages, not a single string")
    if not isinstance(texts, (list, tuple, pd.Series, pd.Index, np.ndarray)):
        texts = list(texts)
    return as_text_list(texts, "texts")


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class _Dedup:
    """Distinct normalised non-empty texts, with weights and the map back to the rows."""

    texts: list[str]  # distinct normalised texts
    originals: list[str]  # first original spelling of each
    weights: np.ndarray  # rows per distinct text
    inverse: np.ndarray  # row -> distinct index, -1 for empty rows


def _dedup(texts: list[str]) -> _Dedup:
    norm = [_normalise(t) for t in texts]
    codes, uniques = pd.factorize(pd.Series(norm, dtype=object), sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    uniques = list(uniques)
    # first original spelling per distinct text
    first_pos = np.full(len(uniques), len(codes), dtype=np.int64)
    np.minimum.at(first_pos, codes, np.arange(len(codes)))
    keep = [i for i, u in enumerate(uniques) if u != ""]
    remap = np.full(len(uniques), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    inverse = remap[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    weights = np.bincount(inverse[inverse >= 0], minlength=len(keep)).astype(np.float64)
    return _Dedup(
        texts=[uniques[i] for i in keep],
        originals=[texts[int(first_pos[i])] for i in keep],
        weights=weights,
        inverse=inverse,
    )


def _l2_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    ok = norms > 1e-12
    out = np.zeros_like(X)
    out[ok] = X[ok] / norms[ok, None]
    return out, ok


# --------------------------------------------------------------------------------------------
# backends: texts -> vectors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vectors:
    """Vectors for distinct texts.

    Attributes
    ----------
    X : ndarray, shape (n, d)
        L2-normalised rows; an all-zero row marks a text without features (no word of two or
        more letters once stop words are removed), which the pipeline treats like an empty
        message.
    backend : str
        Name of the backend that made them.
    info : dict
        Backend details (analyzer, vocabulary size, SVD components and explained variance,
        model name).
    transform : callable, optional
        ``transform(texts) -> ndarray``: vectors of new (normalised) texts in the same space as
        ``X``, fitted pieces kept (vocabulary, idf, SVD components). It must pickle, so a fitted
        model can be sent to Dask workers. ``None`` for a backend that cannot place new texts:
        such clusters cannot assign messages they were not fitted on.
    """

    X: np.ndarray
    backend: str
    info: dict = field(default_factory=dict)
    transform: Any = None


def _kmeans(X, w, k: int, seed: int, *, n_init: int = 10, minibatch_threshold: int = _MINIBATCH_THRESHOLD):
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(X) > minibatch_threshold:
        model = MiniBatchKMeans(
            n_clusters=k, random_state=seed, n_init=3, batch_size=4096, max_iter=100, reassignment_ratio=0.01
        )
    else:
        model = KMeans(n_clusters=k, random_state=seed, n_init=n_init)
    model.fit(X, sample_weight=w)
    return model
