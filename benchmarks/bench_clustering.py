"""Clustering 100,000 first user messages: time (k given, k auto) with NMI against the truth.

The messages are the first user message of 100,000 generated conversations (18 planted
intents). Rows: TF-IDF/LSA + KMeans with k = 18 (the embedding backend: bench_embeddings.py), the same with k chosen automatically
(eigengap), and, as the baseline run in the same process, scikit-learn's plain
``TfidfVectorizer -> TruncatedSVD -> Normalizer -> KMeans`` pipeline on every row (no
deduplication), with its own NMI. Timings are medians of repeats with one BLAS/OpenMP thread.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from common import median_time


def _baseline(texts, k, seed=0):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    lsa = make_pipeline(
        TfidfVectorizer(stop_words="english", sublinear_tf=True),
        TruncatedSVD(100, random_state=seed),
        Normalizer(copy=False),
    )
    X = lsa.fit_transform(texts)
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(X)


def run(quick: bool = False) -> list[dict]:
    import numpy as np
    from sklearn.metrics import normalized_mutual_info_score as nmi
    from threadpoolctl import threadpool_limits

    from toolkit.clustering import cluster_texts
    from toolkit.log import conversation_metrics
    from toolkit.sample import generate_sample

    n = 20_000 if quick else 100_000
    repeats = 1 if quick else 3
    sample = generate_sample(seed=1, conversations=n)
    m = conversation_metrics(sample.log)
    texts = m["first_user_input"].fillna("").tolist()
    truth = np.array([sample.truth["conversations"][c]["intent"] for c in m["conversation_id"]])
    k_true = len(sample.truth["intents"])
    rows = []
    with threadpool_limits(1):
        out = {}

        def given():
            out["given"] = cluster_texts(texts, k_true, seed=0, backend="tfidf")

        def auto():
            out["auto"] = cluster_texts(texts, "auto", seed=0, backend="tfidf")

        def base():
            out["base"] = _baseline(texts, k_true)

        t_given = median_time(given, repeats=repeats)
        t_auto = median_time(auto, repeats=repeats)
        t_base = median_time(base, repeats=1, warmup=0)
    nmi_given = nmi(truth, out["given"].labels)
    nmi_auto = nmi(truth, out["auto"].labels)
    nmi_base = nmi(truth, out["base"])
    info = out["given"].vector_info
    rows.append({
        "metric": f"cluster {n:,} messages, tfidf, k={k_true}",
        "value": t_given, "unit": "s", "baseline": t_base, "ratio": t_base / t_given,
        "note": f"NMI {nmi_given:.3f} (baseline sklearn pipeline NMI {nmi_base:.3f}); "
                f"{info['n_distinct']:,} distinct texts, {info['n_points']:,} distinct vectors; target <= 30 s",
    })
    rows.append({
        "metric": f"cluster {n:,} messages, tfidf, k=auto",
        "value": t_auto, "unit": "s", "baseline": t_base, "ratio": t_base / t_auto,
        "note": f"chose k={out['auto'].k} (true {k_true}); NMI {nmi_auto:.3f}; target <= 30 s",
    })
    rows.append({"metric": "NMI vs planted intents, k given", "value": nmi_given, "unit": "",
                 "baseline": nmi_base, "ratio": nmi_given / nmi_base, "note": "target >= 0.8"})
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
