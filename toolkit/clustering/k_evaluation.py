"""k-selection methods and clusterings scored against known labels (:func:`compare_k_methods`,
:func:`truth_check`)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from toolkit.clustering._base import ClusteringInputError, _as_text_list, _kmeans, _threads
from toolkit.clustering.k_choice import choose_k
from toolkit.clustering.texts import _K_NEIGHBORS, _centred, _points

__all__ = ["compare_k_methods", "truth_check"]


def compare_k_methods(
    texts: Iterable[str],
    truth: Sequence[Any] | None = None,
    *,
    methods: Sequence[str] = ("modularity", "eigengap", "stability", "silhouette"),
    backend: str = "auto",
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
            if method == "modularity":
                Xc = _centred(pp.Xp, pp.wp) if pp.vec.backend == "embeddings" else pp.Xp
                sel = choose_k(Xc, pp.wp, k_min=k_min, k_max=k_max, method=method, seed=seed)
            else:
                sel = choose_k(pp.Xp, pp.wp, k_min=k_min, k_max=k_max, method=method, seed=seed,
                               n_neighbors=_K_NEIGHBORS.get(pp.vec.backend, 10))
            row: dict[str, Any] = {"method": method, "k": sel.k, "seconds": time.perf_counter() - t0}
            if truth is not None:
                keep = row_point >= 0
                k_true = int(len(set(truth[keep].tolist())))
                if sel.k > 1:
                    Xk = _centred(pp.Xp, pp.wp) if pp.vec.backend == "embeddings" else pp.Xp
                    km = _kmeans(Xk, pp.wp, sel.k, seed)
                    lab = np.asarray(km.predict(Xk))[row_point[keep]]
                else:
                    lab = np.zeros(int(keep.sum()), dtype=np.int64)
                row.update(k_true=k_true, k_error=(sel.k - k_true) / k_true,
                           nmi=float(normalized_mutual_info_score(truth[keep], lab)))
            rows.append(row)
    return pd.DataFrame(rows)


def truth_check(res, truth: dict, *, compare: bool = True, backend: str = "auto", k_max: int | None = None,
                seed: int = 0) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """A clustering of the bundled sample's first user messages against its planted intents.

    Parameters
    ----------
    res : ClusterResult
        From :func:`toolkit.clustering.cluster_log` with ``text="first_user"``.
    truth : dict
        The sample's truth (:func:`toolkit.sample.load_sample_truth`).
    compare : bool
        Also run :func:`compare_k_methods` on the same messages.
    backend, k_max, seed
        For the comparison, as in :func:`compare_k_methods`.

    Returns
    -------
    (dict, DataFrame or None)
        ``k_true``, ``k_error`` (relative), ``nmi`` (clustered messages, noise aside), and with
        ``compare`` also ``methods`` (the comparison table, returned again as the second item).

    Examples
    --------
    >>> import toolkit
    >>> from toolkit.clustering import cluster_log
    >>> from toolkit.sample import load_sample_truth
    >>> res = cluster_log(toolkit.load_sample(), k=18, backend="tfidf", seed=0)
    >>> check, _ = truth_check(res, load_sample_truth(), compare=False)
    >>> check["k_true"], check["nmi"] > 0.5
    (18, True)
    """
    from sklearn.metrics import normalized_mutual_info_score

    intents = res.assignments["conversation_id"].map(lambda c: truth["conversations"][c]["intent"])
    keep = res.assignments["cluster"] >= 0
    k_true = len(truth["intents"])
    check: dict[str, Any] = {"k_true": k_true, "k_error": (res.k - k_true) / k_true,
                             "nmi": float(normalized_mutual_info_score(intents[keep], res.assignments["cluster"][keep]))}
    comparison = None
    if compare:
        comparison = compare_k_methods(res.assignments["text"], intents, backend=backend, k_max=k_max, seed=seed)
        check["methods"] = comparison
    return check, comparison
