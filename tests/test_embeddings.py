"""Sentence embeddings on onnxruntime (all-MiniLM-L6-v2, int8): the encoder, its reference, and
clustering the messy hand-written customer messages of tests/fixtures/messy_intents.csv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score

from toolkit import embeddings as emb
from toolkit.clustering import cluster_texts

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def messy():
    return pd.read_csv(FIXTURES / "messy_intents.csv")


def test_import_toolkit_does_not_load_onnxruntime():
    code = ("import sys, toolkit, toolkit.clustering, toolkit.embeddings; "
            "toolkit.cluster_log; "
            "bad = [m for m in ('onnxruntime', 'tokenizers', 'sklearn', 'torch') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": root})
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_default_install_has_the_encoder():
    # the packages are default dependencies: CI runs every test below, none is skipped
    assert emb.available()


def test_vectors_match_the_fp32_reference():
    """int8 ONNX vs the model's fp32 weights run by transformers/torch (fixture made once)."""
    ref = json.loads((FIXTURES / "minilm_fp32_reference.json").read_text())
    E = emb.encode(ref["texts"])
    R = np.asarray(ref["vectors"])
    assert E.shape == R.shape == (len(ref["texts"]), 384) and E.dtype == np.float32
    assert np.allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    cos = (E * R).sum(axis=1)
    assert cos.min() > 0.995, cos
    # the geometry between texts is kept too
    assert np.abs(E @ E.T - R @ R.T).max() < 0.02


def test_batching_padding_and_cache_do_not_change_vectors(monkeypatch):
    enc = emb.SentenceEncoder(batch_size=2)
    texts = ["hi", "my card got declined at the shop even though i have money on it", "refund?"]
    alone = np.vstack([enc._run([t]) for t in texts])
    together = enc._run(texts)
    assert np.array_equal(alone, together)
    calls = []
    real = enc._run
    monkeypatch.setattr(enc, "_run", lambda ts: calls.append(list(ts)) or real(ts))
    first = enc.encode(texts + texts[:1])
    again = enc.encode(list(reversed(texts)))
    assert calls == [texts]  # each distinct text through the model once
    assert np.array_equal(first[0], first[3]) and np.array_equal(again[::-1], first[:3])
    assert enc.encode([]).shape == (0, 384)


def test_similar_requests_are_closer_than_different_ones():
    E = emb.encode(["i forgot my pasword", "how do i reset my password", "where is my parcel",
                    "my package hasnt arrived"])
    S = E @ E.T
    assert S[0, 1] > S[0, 2] + 0.1 and S[2, 3] > S[1, 3] + 0.2  # (a misspelling costs similarity)


def test_messy_fixture_is_hard_for_tfidf_and_embeddings_separate_it(messy):
    """>= 20 intents of paraphrased, misspelled messages: the default backend (embeddings) at the
    true k and with k chosen automatically, against TF-IDF."""
    assert messy["intent"].nunique() >= 20 and len(messy) >= 250
    k_true = messy["intent"].nunique()
    emb_k = cluster_texts(messy["text"], k=k_true, seed=0)
    assert emb_k.backend == "embeddings"
    nmi = normalized_mutual_info_score(messy["intent"], emb_k.labels)
    tfidf = cluster_texts(messy["text"], k=k_true, seed=0, backend="tfidf")
    nmi_tfidf = normalized_mutual_info_score(messy["intent"], tfidf.labels)
    assert nmi >= 0.78 and nmi_tfidf < 0.6 and nmi > nmi_tfidf + 0.2, (nmi, nmi_tfidf)
    auto = cluster_texts(messy["text"], k="auto", seed=0)
    assert abs(auto.k - k_true) <= 0.3 * k_true, auto.k_selection.scores
    assert normalized_mutual_info_score(messy["intent"], auto.labels) >= 0.7
    # labels stay readable: c-TF-IDF words of the cluster's messages, and real examples
    for c in range(auto.k):
        assert auto.cluster_labels[c] and len(auto.examples[c]) == 3
        assert all(e in set(messy["text"]) for e in auto.examples[c])
