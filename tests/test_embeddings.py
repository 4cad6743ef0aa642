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
    enc = emb.SentenceEncoder(batch_size=2, disk_cache=False)  # the in-memory cache alone
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


# --- the on-disk cache shared by processes (each test has its own folder via TOOLKIT_CACHE_DIR) ---

TEXTS = ["my card was declined", "wher is my parcel", "reset password pls", "my card was declined"]


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TOOLKIT_EMBEDDINGS_CACHE", raising=False)
    return tmp_path


def _counting(enc, monkeypatch):
    calls = []
    real = enc._run
    monkeypatch.setattr(enc, "_run", lambda ts: calls.append(list(ts)) or real(ts))
    return calls


def test_a_new_encoder_reads_vectors_from_disk_without_the_model(cache_env, monkeypatch):
    first = emb.SentenceEncoder()
    assert first.cache_path == cache_env / "embeddings" / "vectors.sqlite3"
    computed = first.encode(TEXTS)
    assert first.cache_path.is_file()
    second = emb.SentenceEncoder()  # empty in-memory cache, same disk cache
    calls = _counting(second, monkeypatch)
    again = second.encode(TEXTS + ["a new text"])
    assert calls == [["a new text"]]  # only the unseen text goes through the model
    assert again.dtype == np.float32 and np.array_equal(again[:4], computed)  # bit-identical
    assert np.array_equal(again[4], first.encode(["a new text"])[0])
    # another max_length is another model: nothing is shared
    other = emb.SentenceEncoder(max_length=16)
    calls = _counting(other, monkeypatch)
    other.encode(TEXTS[:1])
    assert calls == [TEXTS[:1]]


def test_the_disk_cache_can_be_turned_off(cache_env, monkeypatch):
    emb.SentenceEncoder().encode(TEXTS)
    off = emb.SentenceEncoder(disk_cache=False)
    calls = _counting(off, monkeypatch)
    off.encode(TEXTS)
    assert calls == [TEXTS[:3]]
    monkeypatch.setenv("TOOLKIT_EMBEDDINGS_CACHE", "0")
    off_env = emb.SentenceEncoder(cache_dir=cache_env / "elsewhere")
    calls = _counting(off_env, monkeypatch)
    off_env.encode(TEXTS)
    assert calls == [TEXTS[:3]] and not (cache_env / "elsewhere").exists()


def test_a_corrupted_cache_warns_once_and_computes(cache_env, monkeypatch):
    good = emb.SentenceEncoder(disk_cache=False).encode(TEXTS)
    path = cache_env / "embeddings" / "vectors.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    enc = emb.SentenceEncoder()
    with pytest.warns(RuntimeWarning, match="not usable"):
        out = enc.encode(TEXTS)
    assert np.array_equal(out, good)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(enc.encode(TEXTS + ["more"])[:4], good)  # no second warning


_WRITER = """
import sys, numpy as np
from toolkit.embeddings._store import VectorStore
store = VectorStore(sys.argv[1], model="m", dim=8)
for i in range(40):
    store.put({f"text {j}": np.full(8, j, dtype=np.float32) for j in range(i * 5, i * 5 + 50)})
    got = store.get([f"text {j}" for j in range(i * 5 + 50)])
    assert all(np.array_equal(v, np.full(8, int(t.split()[1]), dtype=np.float32)) for t, v in got.items())
print("ok")
"""


def test_two_processes_writing_at_once_do_not_corrupt_the_cache(tmp_path):
    from toolkit.embeddings._store import VectorStore

    db = tmp_path / "v.sqlite3"
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    got = VectorStore(db, model="m", dim=8).get([f"text {j}" for j in range(300)])
    assert len(got) == 40 * 5 + 45  # texts 0..244, each once
    assert all(np.array_equal(v, np.full(8, int(t.split()[1]), dtype=np.float32)) for t, v in got.items())
    assert VectorStore(db, model="other", dim=8).get(["text 0"]) == {}
