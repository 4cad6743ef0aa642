"""Sentence embeddings (all-MiniLM-L6-v2, int8 ONNX) against TF-IDF: encode rate and clustering
quality against known intents.

Rows:

* encode rate of :class:`toolkit.embeddings.SentenceEncoder` (fresh encoder, no cache) on
  distinct first user messages of the sample, with 1 and 2 onnxruntime threads;
* the rate of a new encoder whose texts are already in its on-disk cache (SQLite in a temporary
  folder), against the 1-thread model rate;
* for each data set and backend: NMI, ARI and accuracy (clusters matched one-to-one to intents,
  Hungarian) of KMeans at the true number of intents, and the k that ``k="auto"`` (eigengap)
  picks with its NMI. Data sets: the bundled sample (first user messages, 18 planted intents;
  ``--quick``: a generated 3,000-conversation sample) and ``tests/fixtures/messy_intents.csv``
  (hand-written paraphrased, misspelled customer messages over 23 intents).

* relevance separation (quality scoring, ``relevance_backend`` "tfidf" vs "embeddings"): the
  AUC of relevance for good against bad answers, and the mean gap. On the messy fixture each
  message is scored with its intent's answer (``tests/fixtures/messy_intents_answers.csv``) and
  with another intent's answer; on the bundled sample's first 800 conversations, the planted
  ``good`` answers against the ``off_topic`` and ``generic`` ones.

``python benchmarks/run.py embeddings``
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path

from common import median_time

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "messy_intents.csv"
ANSWERS = FIXTURE.with_name("messy_intents_answers.csv")


def _accuracy(truth, labels) -> float:
    import pandas as pd
    from scipy.optimize import linear_sum_assignment

    ct = pd.crosstab(pd.Series(truth, name="t"), pd.Series(labels, name="c")).to_numpy()
    r, c = linear_sum_assignment(-ct)
    return float(ct[r, c].sum() / ct.sum())


def _datasets(quick: bool):
    import numpy as np
    import pandas as pd

    from toolkit.log import conversation_metrics
    from toolkit.sample import generate_sample, load_sample, load_sample_truth

    if quick:
        s = generate_sample(seed=1, conversations=3000)
        log, truth = s.log, s.truth
        name = "generated sample (3,000 conversations)"
    else:
        log, truth = load_sample(), load_sample_truth()
        name = "bundled sample"
    m = conversation_metrics(log)
    texts = m["first_user_input"].fillna("").tolist()
    intents = np.array([truth["conversations"][c]["intent"] for c in m["conversation_id"]])
    messy = pd.read_csv(FIXTURE)
    return [(name, texts, intents), ("messy fixture", messy["text"].tolist(), messy["intent"].to_numpy())]


def _relevance_sets(quick: bool):
    """(name, turns, good mask, bad mask) for the relevance separation rows."""
    import numpy as np
    import pandas as pd

    from toolkit.sample import load_sample, load_sample_truth

    messy = pd.read_csv(FIXTURE)
    answers = pd.read_csv(ANSWERS).set_index("intent")["answer"]
    rng = np.random.default_rng(0)
    intents = answers.index.to_numpy()
    other = [rng.choice(intents[intents != i]) for i in messy["intent"]]
    n = len(messy)
    turns = pd.DataFrame({
        "conversation_id": [f"m{i}" for i in range(2 * n)], "turn": 0,
        "user_input": list(messy["text"]) * 2,
        "bot_response": list(answers[messy["intent"]]) + list(answers[other]),
    })
    good = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    out = [("messy fixture, own vs other intent's answer", turns, good, ~good)]
    log, truth = load_sample(), load_sample_truth()
    keep = sorted(truth["conversations"])[: 300 if quick else 800]
    t = log.turns[log.turns["conversation_id"].isin(keep)].sort_values(["conversation_id", "turn"])
    kinds = np.array([truth["conversations"][c]["answer_kinds"][int(k)]
                      for c, k in zip(t["conversation_id"], t.groupby("conversation_id").cumcount())])
    t = t.reset_index(drop=True)
    for bad in ("off_topic", "generic"):
        out.append((f"sample, good vs {bad} answers", t, kinds == "good", kinds == bad))
    return out


def _relevance_rows(quick: bool) -> list[dict]:
    from sklearn.metrics import roc_auc_score

    from toolkit.quality import QualityConfig, score_turns

    rows = []
    for name, turns, good, bad in _relevance_sets(quick):
        got = {}
        for backend in ("tfidf", "embeddings"):
            rel = score_turns(turns, QualityConfig(relevance_backend=backend))["relevance"].to_numpy()
            sel = good | bad
            got[backend] = (roc_auc_score(good[sel], rel[sel]), rel[good].mean() - rel[bad].mean())
        for backend, (auc, gap) in got.items():
            rows.append({"metric": f"relevance AUC, {name}, {backend}", "value": auc, "unit": "",
                         "baseline": got["tfidf"][0], "ratio": auc / got["tfidf"][0],
                         "note": f"mean relevance good - bad {gap:+.3f}; {int(good.sum())} good, {int(bad.sum())} bad"})
    return rows


def run(quick: bool = False) -> list[dict]:
    from sklearn.metrics import adjusted_rand_score as ari
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from toolkit.clustering import cluster_texts
    from toolkit.embeddings import SentenceEncoder

    data = _datasets(quick)
    rows = []
    sample_texts = sorted(set(data[0][1]) - {""})[: 300 if quick else 1000]
    rates = {}
    for threads in (1, 2):
        enc = SentenceEncoder(n_threads=threads)
        t = median_time(lambda: enc._run(sample_texts), repeats=1 if quick else 3, warmup=0)
        rates[threads] = len(sample_texts) / t
    with tempfile.TemporaryDirectory() as folder:  # the on-disk cache: a new encoder reads it
        SentenceEncoder(n_threads=1, cache_dir=folder).encode(sample_texts)
        t = median_time(lambda: SentenceEncoder(n_threads=1, cache_dir=folder).encode(sample_texts),
                        repeats=1 if quick else 3, warmup=0)
        cached_rate = len(sample_texts) / t
    for threads in (1, 2):
        rows.append({"metric": f"encode rate, {threads} thread(s)", "value": rates[threads], "unit": "texts/s",
                     "baseline": rates[1], "ratio": rates[threads] / rates[1],
                     "note": f"{len(sample_texts)} distinct sample messages, int8 all-MiniLM-L6-v2 on onnxruntime"})
    rows.append({"metric": "encode rate, new encoder, vectors in the disk cache", "value": cached_rate,
                 "unit": "texts/s", "baseline": rates[1], "ratio": cached_rate / rates[1],
                 "note": "SQLite read of the same texts, encoder start-up included"})
    for name, texts, truth in data:
        k_true = len(set(truth.tolist()))
        scores = {}
        for backend in ("tfidf", "embeddings"):
            at_k = cluster_texts(texts, k_true, seed=0, backend=backend, n_threads=1)
            auto = cluster_texts(texts, "auto", seed=0, backend=backend, n_threads=1)
            scores[backend] = s = {
                "nmi": nmi(truth, at_k.labels), "ari": ari(truth, at_k.labels),
                "acc": _accuracy(truth, at_k.labels), "k_auto": auto.k, "nmi_auto": nmi(truth, auto.labels),
            }
        for backend, s in scores.items():
            base = scores["tfidf"]
            rows.append({"metric": f"{name}: NMI at true k={k_true}, {backend}", "value": s["nmi"], "unit": "",
                         "baseline": base["nmi"], "ratio": s["nmi"] / base["nmi"],
                         "note": f"ARI {s['ari']:.3f}, accuracy {s['acc']:.3f}; {len(texts):,} messages"})
            rows.append({"metric": f"{name}: k auto, {backend}", "value": float(s["k_auto"]), "unit": "clusters",
                         "baseline": float(k_true), "ratio": s["k_auto"] / k_true,
                         "note": f"true {k_true} (error {(s['k_auto'] - k_true) / k_true:+.0%}); NMI at auto k {s['nmi_auto']:.3f}"})
    return rows + _relevance_rows(quick)


if __name__ == "__main__":  # pragma: no cover
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
