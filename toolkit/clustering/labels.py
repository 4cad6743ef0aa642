"""Cluster labels: class-based TF-IDF terms (:func:`cluster_terms`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from toolkit.clustering._base import _as_text_list
from toolkit.text import WORD_PATTERN

__all__ = ["cluster_terms"]


def cluster_terms(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    weights: Sequence[float] | None = None,
    n_terms: int = 8,
    stop_words: str | list[str] | None = "english",
) -> dict[int, list[tuple[str, float]]]:
    """The most distinctive terms of each cluster by class-based TF-IDF (c-TF-IDF).

    All texts of a cluster form one document; a term's weight is its frequency in that document
    (normalised by the document's length) times ``log(1 + A / f_t)``, where ``A`` is the average
    number of words per cluster and ``f_t`` the term's frequency over all clusters (Grootendorst,
    BERTopic). Negative labels (noise, empty) are skipped.

    Parameters
    ----------
    texts : sequence of str
    labels : sequence of int
        Cluster of each text.
    weights : sequence of float, optional
        Rows each text stands for.
    n_terms : int
        Terms kept per cluster.
    stop_words : "english", list or None

    Returns
    -------
    dict
        cluster -> list of ``(term, weight)``, best first (empty when a cluster has no words).

    Examples
    --------
    >>> t = cluster_terms(["reset password", "password help", "order late", "order missing"],
    ...                   [0, 0, 1, 1], n_terms=1)
    >>> t[0][0][0], t[1][0][0]
    ('password', 'order')
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import CountVectorizer

    texts = _as_text_list(texts)
    labels = np.asarray(labels)
    w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
    clusters = sorted(int(c) for c in np.unique(labels) if c >= 0)
    out: dict[int, list[tuple[str, float]]] = {c: [] for c in clusters}
    keep = labels >= 0
    if not keep.any():
        return out
    cv = CountVectorizer(token_pattern=WORD_PATTERN, stop_words=stop_words, lowercase=True)
    try:
        C = cv.fit_transform([t for t, k in zip(texts, keep) if k])
    except ValueError:
        return out
    lab = labels[keep]
    pos = {c: i for i, c in enumerate(clusters)}
    G = sp.csr_matrix(
        (w[keep], ([pos[int(c)] for c in lab], np.arange(len(lab)))), shape=(len(clusters), len(lab))
    )
    tf = np.asarray((G @ C).todense(), dtype=np.float64)  # clusters x terms
    size = tf.sum(axis=1, keepdims=True)
    A = float(size.mean())
    f = tf.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ctfidf = np.where(size > 0, tf / size, 0.0) * np.log1p(A / np.where(f > 0, f, 1.0))
    vocab = cv.get_feature_names_out()
    for c, i in pos.items():
        row = ctfidf[i]
        order = np.lexsort((vocab, -row))[:n_terms]
        out[c] = [(str(vocab[j]), float(row[j])) for j in order if row[j] > 0]
    return out


def _label_from_terms(terms: list[tuple[str, float]], fallback: str, n: int = 3) -> str:
    if terms:
        return " · ".join(t for t, _ in terms[:n])
    fb = " ".join(str(fallback).split())
    return (fb[:37] + "...") if len(fb) > 40 else (fb or "(no words)")
