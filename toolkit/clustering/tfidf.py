"""The ``"tfidf"`` backend: sublinear TF-IDF on word unigrams (or character n-grams), then LSA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from toolkit.clustering._base import ClusteringInputError, Vectors, _l2_rows
from toolkit.text import WORD_PATTERN, smooth_idf, tf_weights

__all__: list[str] = []

_EXACT_SVD_MAX_FEATURES = 4000


def _idf(C, w: np.ndarray) -> np.ndarray:
    """Smoothed idf with document frequencies counted over all rows (duplicates weighted)."""
    import scipy.sparse as sp

    B = sp.csr_matrix(C, dtype=np.float64, copy=True)
    B.data[:] = 1.0
    return smooth_idf(np.asarray(B.T @ w).ravel(), float(w.sum()))


def _sublinear(C, idf: np.ndarray):
    """Rows of counts -> sublinear TF-IDF (1 + log tf) x idf, L2-normalised."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    T = sp.csr_matrix(C, dtype=np.float64, copy=True)
    T.data = tf_weights(T.data, sublinear=True)
    T = T @ sp.diags(idf)
    return normalize(T, norm="l2", copy=False)


def _letters_only(text: str) -> str:
    """The character analyzers' preprocessor: lower case, runs of non-letters -> one space."""
    return re.sub(r"[\W\d_]+", " ", text.lower())


@dataclass(frozen=True)
class _TfidfTransform:
    """The fitted TF-IDF + LSA map (vocabulary, idf, components): texts -> unit vectors.

    The fit's own vectors are this map applied to the fitted texts, so new texts land in exactly
    the same space (what assigning them to fitted clusters needs). Pickles (Dask workers).
    """

    vectorizer: Any
    idf: np.ndarray
    components: np.ndarray | None  # None: exact TF-IDF geometry, no SVD

    def tfidf(self, texts: Sequence[str]):
        return _sublinear(self.vectorizer.transform(list(texts)), self.idf)

    def project(self, T) -> np.ndarray:
        has = np.asarray(T.getnnz(axis=1)) > 0
        if self.components is None:
            return T.toarray()
        Z, ok = _l2_rows(np.asarray(T @ self.components.T))
        # a text whose terms all fall outside the components keeps a tiny direction anyway
        lost = has & ~ok
        if lost.any():
            Z[lost] = 1.0 / np.sqrt(Z.shape[1])
        Z[~has] = 0.0
        return Z

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.project(self.tfidf(texts))


def _no_vocabulary(texts: Sequence[str]) -> np.ndarray:
    """The transform of a fit whose texts had no terms at all: every text is featureless."""
    return np.zeros((len(texts), 1))


#: scripts written without spaces between words (CJK, kana, Thai, Lao, Myanmar, Khmer)
_NO_SPACE_SCRIPTS = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]"
)
_LETTER = re.compile(r"[^\W\d_]")


def _no_space_share(texts: Sequence[str]) -> float:
    """Share of letters in ``texts`` that belong to scripts written without spaces."""
    joined = "\n".join(texts)
    letters = len(_LETTER.findall(joined))
    return len(_NO_SPACE_SCRIPTS.findall(joined)) / letters if letters else 0.0


def _tfidf_backend(
    texts: Sequence[str],
    weights: np.ndarray,
    *,
    seed: int = 0,
    n_components: int = 100,
    stop_words: str | list[str] | None = "english",
    analyzer: str = "auto",
) -> Vectors:
    """TF-IDF on word unigrams (letters only, English stop words removed) + LSA.

    ``analyzer="auto"`` uses words unless most letters belong to scripts written without spaces
    (Chinese, Japanese, Thai, ...), where it uses character 1-2-grams within each run of text.
    The SVD is skipped (exact TF-IDF geometry) when there are no more distinct texts or terms
    than ``n_components``.
    """
    import scipy.sparse as sp
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import CountVectorizer

    if analyzer == "auto":
        analyzer = "char_wb" if _no_space_share(texts) >= 0.3 else "word"
    if analyzer == "word":
        cv = CountVectorizer(token_pattern=WORD_PATTERN, stop_words=stop_words, lowercase=True)
    elif analyzer in ("char", "char_wb"):
        cv = CountVectorizer(analyzer=analyzer, ngram_range=(1, 2), lowercase=True,
                             preprocessor=_letters_only)
    else:
        raise ClusteringInputError(f"unknown analyzer {analyzer!r}: choose 'auto', 'word', 'char' or 'char_wb'")
    try:
        C = cv.fit_transform(texts)
    except ValueError:  # empty vocabulary: nothing but digits, punctuation and stop words
        return Vectors(np.zeros((len(texts), 1)), "tfidf", {"analyzer": analyzer, "n_features": 0},
                       transform=_no_vocabulary)
    idf = _idf(C, weights)
    T = _sublinear(C, idf)
    n_feat = T.shape[1]
    has = np.asarray(T.getnnz(axis=1)) > 0
    n_rows = int(has.sum())
    info: dict[str, Any] = {"analyzer": analyzer, "n_features": int(n_feat)}
    comps = None
    if min(n_feat, n_rows) > n_components:
        # weighting rows by their duplicates makes the fit equal to one on every row
        if n_feat <= _EXACT_SVD_MAX_FEATURES:
            # exact truncated SVD from the (weighted) term Gram matrix: fast for small vocabularies
            G = np.asarray((T.T @ sp.diags(weights) @ T).todense())
            vals, vecs = np.linalg.eigh((G + G.T) / 2.0)
            V = vecs[:, ::-1][:, : int(n_components)]
            V = V * np.sign(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])])
            comps = V.T
            kept = float(np.clip(vals[::-1][: int(n_components)], 0, None).sum())
            info.update(svd="exact (Gram eigendecomposition)")
        else:
            svd = TruncatedSVD(n_components=int(n_components), algorithm="randomized", n_iter=5, random_state=seed)
            svd.fit(sp.diags(np.sqrt(weights)) @ T)
            comps = svd.components_
            kept = float((svd.singular_values_**2).sum())
            info.update(svd="randomized")
        # share of the rows' squared norm the components keep (rows have unit norm)
        info.update(n_components=int(n_components), kept_norm=kept / float(weights[has].sum()))
    else:
        info.update(n_components=int(n_feat), kept_norm=1.0, svd="none (exact TF-IDF)")
    transform = _TfidfTransform(cv, idf, comps)
    return Vectors(transform.project(T), "tfidf", info, transform=transform)
