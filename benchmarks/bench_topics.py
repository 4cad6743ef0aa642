"""Topics on public intent sets: KMeans at the true k against ``k="auto"`` (issue 27).

For each set of :mod:`intent_data` (BANKING77, HWU64: development; CLINC150, StackOverflow:
held out, split before any result was seen) the first rows give NMI and ARI against the true
intents with the true number of intents given, then with ``k="auto"`` (the default
modularity choice) and the k it chose, with the time of each run (all-MiniLM-L6-v2 vectors are
read from the embeddings cache after the first run, so the times are the clustering's). Also
HDBSCAN on a 20-dimensional PCA of the centred vectors, with its noise share. A set whose data
is not on the machine is skipped with the reason (set ``TOOLKIT_INTENT_DATA``; see
intent_data.py).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def run(quick: bool = False) -> list[dict]:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score as ari
    from sklearn.metrics import normalized_mutual_info_score as nmi
    from threadpoolctl import threadpool_limits

    from intent_data import DEVELOPMENT, HELD_OUT, SETS, MissingData, load_set
    from toolkit.clustering import cluster_texts

    names = list(DEVELOPMENT + HELD_OUT)
    if quick:
        names = names[:1]
    rows = []
    for name in names:
        try:
            texts, intents = load_set(name)
        except MissingData as exc:
            rows.append({"metric": f"{name}: skipped", "value": None, "unit": "", "note": str(exc)})
            continue
        y = np.asarray(intents)
        k_true = len(set(intents))
        role = "development" if name in DEVELOPMENT else "held-out"
        with threadpool_limits(1):
            t0 = time.perf_counter()
            given = cluster_texts(texts, k_true, backend="embeddings", seed=0)
            t_given = time.perf_counter() - t0
            t0 = time.perf_counter()
            auto = cluster_texts(texts, "auto", backend="embeddings", seed=0)
            t_auto = time.perf_counter() - t0
        n_g, n_a = nmi(y, given.labels), nmi(y, auto.labels)
        a_g, a_a = ari(y, given.labels), ari(y, auto.labels)
        head = f"{name} ({role}, n={len(texts):,}, {k_true} intents, {SETS[name]['licence']})"
        rows.append({"metric": f"{head}: NMI at the true k", "value": n_g, "unit": "",
                     "note": f"ARI {a_g:.3f}; {t_given:.1f} s"})
        rows.append({"metric": f"{head}: NMI with k=auto", "value": n_a, "unit": "", "baseline": n_g,
                     "ratio": n_a / n_g,
                     "note": f"chose k={auto.k} (true {k_true}); NMI {n_a - n_g:+.3f} vs true k; "
                             f"ARI {a_a:.3f}; {t_auto:.1f} s"})
        if not quick:
            t0 = time.perf_counter()
            hd = cluster_texts(texts, backend="embeddings", algorithm="hdbscan", seed=0)
            t_h = time.perf_counter() - t0
            keep = hd.labels >= 0
            rows.append({"metric": f"{head}: NMI with HDBSCAN (PCA 20)", "value": nmi(y, hd.labels), "unit": "",
                         "note": f"{hd.k} clusters, noise {hd.noise_share:.0%} (counted as one cluster); "
                                 f"NMI on the clustered rows {nmi(y[keep], hd.labels[keep]):.3f}; {t_h:.1f} s"})
    return rows
