"""Sentence-pooled text vectors: the fitted quality model's cheap way to use a sentence encoder.

A chat log repeats itself: the same greeting, the same holding answer, the same canned paragraph
with a different order number. :func:`pooled_vectors` therefore does not run the sentence model
on every distinct message but on every distinct *sentence* of the log, after two normalisations
that do not change what a message is about: white space collapsed and lower case (the encoder,
all-MiniLM-L6-v2, is uncased, so this one is exact), and every run of digits replaced by ``0``
(an order number or a date says nothing about the topic). A message's vector is the mean of its
sentences' unit vectors weighted by their word counts (close to the model's own mean pooling over
tokens, which the sentences' vectors approximate), scaled to unit length.

Measured on the bundled sample (37,472 turns): 21,736 distinct messages but 5,659 distinct
normalised sentences, which the encoder embeds in about 35 CPU-seconds instead of about 217
(``README``, quality section). The fitted model was fitted with these vectors (training and
scoring use the same function), so the approximation is part of the model, not an error of it.

Examples
--------
>>> split_sentences("Hi there!  Order #123 is late. Why?")
['hi there!', 'order #0 is late.', 'why?']
>>> def enc(texts):   # a stand-in encoder: one axis per distinct sentence
...     import numpy as np
...     return np.eye(4)[[["a.", "b.", "c.", "d."].index(t) for t in texts]]
>>> v = pooled_vectors(["a.", "a. b.", "A.  B."], enc)
>>> v.dtype, v.astype(float).round(3).tolist()[1:]
(dtype('float32'), [[0.707, 0.707, 0.0, 0.0], [0.707, 0.707, 0.0, 0.0]])
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

__all__ = ["split_sentences", "pooled_vectors", "MAX_SENTENCES"]

_SPLIT = re.compile(r"(?<=[.!?;])\s+")
_DIGITS = re.compile(r"\d+")
#: sentences kept per message (the rest is ignored: a wall of text is about its start)
MAX_SENTENCES = 20
#: characters kept per sentence (the encoder truncates at 256 tokens anyway)
_MAX_CHARS = 1000


def split_sentences(text: str) -> list[str]:
    """The normalised sentences of ``text`` (lower case, digits as ``0``, single spaces).

    Examples
    --------
    >>> split_sentences("  ")
    []
    """
    t = _DIGITS.sub("0", " ".join(str(text).lower().split()))
    if not t:
        return []
    return [s[:_MAX_CHARS] for s in _SPLIT.split(t) if s][:MAX_SENTENCES]


def pooled_vectors(texts: Sequence[str], encoder: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Unit vectors of ``texts`` from their sentences' vectors (each distinct sentence encoded once).

    Parameters
    ----------
    texts : sequence of str
    encoder : callable
        List of texts -> array of vectors, one row per text (e.g.
        ``toolkit.embeddings.get_encoder().encode``).

    Returns
    -------
    numpy.ndarray
        One float32 row per text (unit length); an empty text gets a zero row.

    Examples
    --------
    >>> pooled_vectors([], lambda t: np.zeros((len(t), 3))).shape
    (0, 0)
    """
    split = [split_sentences(t) for t in texts]
    distinct = sorted({s for ss in split for s in ss})
    if not distinct:
        return np.zeros((len(texts), 0 if not texts else 1), dtype=np.float32)
    # float32 throughout (the encoder's own precision): a million texts are 1.5 GB, not 3 GB
    E = np.array(encoder(distinct), dtype=np.float32)
    if E.ndim != 2 or E.shape[0] != len(distinct):
        raise ValueError(f"sentence encoder returned shape {E.shape} for {len(distinct)} sentences; "
                         "expected one row per sentence")
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    np.divide(E, norms, out=E, where=norms > 0)  # a zero row stays zero
    index = {s: i for i, s in enumerate(distinct)}
    counts = np.fromiter((len(ss) for ss in split), dtype=np.int64, count=len(split))
    cols = np.fromiter((index[s] for ss in split for s in ss), dtype=np.int64, count=int(counts.sum()))
    w = np.fromiter((len(s.split()) for ss in split for s in ss), dtype=np.float32, count=cols.size)
    out = np.zeros((len(split), E.shape[1]), dtype=np.float32)
    # the weighted sum of each text's sentence vectors, a block of sentences at a time
    rows = np.repeat(np.arange(len(split)), counts)
    for lo in range(0, cols.size, 200_000):
        hi = lo + 200_000
        np.add.at(out, rows[lo:hi], E[cols[lo:hi]] * w[lo:hi, None])
    n = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, n, out=out, where=n > 0)
    return out
