"""The ``"tfidf"`` backend: sublinear TF-IDF on word unigrams (or character n-grams), then LSA."""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from toolkit.clustering._base import _TOKEN_PATTERN, ClusteringInputError, Vectors, _l2_rows

__all__: list[str] = []

_EXACT_SVD_MAX_FEATURES = 4000


def _weighted_tfidf(C, w: np.ndarray):
    """Sublinear TF-IDF with document frequencies counted over all rows (duplicates weighted)."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    C = sp.csr_matrix(C, dtype=np.float64)
    B = C.copy()
    B.data[:] = 1.0
    df = np.asarray(B.T @ w).ravel()
    n = float(w.sum())
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    T = C.copy()
    T.data = 1.0 + np.log(T.data)
    T = T @ sp.diags(idf)
    return normalize(T, norm="l2", copy=False)


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
        cv = CountVectorizer(token_pattern=_TOKEN_PATTERN, stop_words=stop_words, lowercase=True)
    elif analyzer in ("char", "char_wb"):
        cv = CountVectorizer(analyzer=analyzer, ngram_range=(1, 2), lowercase=True,
                             preprocessor=lambda t: re.sub(r"[\W\d_]+", " ", t.lower()))
    else:
        raise ClusteringInputError(f"unknown analyzer {analyzer!r}: choose 'auto', 'word', 'char' or 'char_wb'")
    try:
        C = cv.fit_transform(texts)
    except ValueError:  # empty vocabulary: nothing but digits, punctuation and stop words
        return Vectors(np.zeros((len(texts), 1)), "tfidf", {"analyzer": analyzer, "n_features": 0})
    T = _weighted_tfidf(C, weights)
    n_feat = T.shape[1]
    has = np.asarray(T.getnnz(axis=1)) > 0
    n_rows = int(has.sum())
    info: dict[str, Any] = {"analyzer": analyzer, "n_features": int(n_feat)}
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
        Z = np.asarray(T @ comps.T)
        # share of the rows' squared norm the components keep (rows have unit norm)
        info.update(n_components=int(n_components), kept_norm=kept / float(weights[has].sum()))
        Z, ok = _l2_rows(Z)
        # a text whose terms all fall outside the components keeps a tiny direction anyway
        lost = has & ~ok
        if lost.any():
            Z[lost] = 1.0 / np.sqrt(Z.shape[1])
    else:
        Z = T.toarray()
        info.update(n_components=int(n_feat), kept_norm=1.0, svd="none (exact TF-IDF)")
    Z[~has] = 0.0
    return Vectors(Z, "tfidf", info)
