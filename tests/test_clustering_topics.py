"""Issue 27: automatic granularity, the topic hierarchy, stable topics, topics over time."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

from toolkit.clustering import choose_k, cluster_log, cluster_texts

_TEXTS = (["reset my password", "forgot password reset", "password reset link", "password not working"] * 3
          + ["where is my order", "order not arrived", "track my order", "order status please"] * 3
          + ["refund please", "i want a refund", "refund my money", "money back refund"] * 3)


def test_modularity_finds_separated_groups_without_a_k_max():
    rng = np.random.default_rng(0)
    centers = np.eye(60)
    X = np.vstack([c + 0.05 * rng.standard_normal((20, 60)) for c in centers])
    sel = choose_k(X, seed=0)
    assert sel.method == "modularity"
    assert 55 <= sel.k <= 75, sel.rule  # 60 groups: above the old cap of 40


def test_same_data_and_seed_give_the_same_topics():
    a = cluster_texts(_TEXTS, "auto", backend="tfidf", seed=3)
    b = cluster_texts(_TEXTS, "auto", backend="tfidf", seed=3)
    assert a.k == b.k and (a.labels == b.labels).all() and a.cluster_labels == b.cluster_labels


@pytest.mark.parametrize("backend", ["tfidf", "embeddings"])
def test_new_messages_keep_known_ids_and_far_ones_get_new_topics(backend):
    if backend == "embeddings":
        pytest.importorskip("onnxruntime")
    res = cluster_texts(_TEXTS, 3, backend=backend, seed=0)
    model = res.model
    assert model.threshold is not None and model.threshold > 0
    week2 = ["password reset please", "my order has not arrived", "refund my money please"]
    far = ["opening hours on sunday", "are you open sunday", "sunday opening hours",
           "store hours sunday", "hours open sunday"]
    lab = model.assign(week2 + far, propose_new=True, min_new=3)
    assert lab[:3].tolist() == [res.labels[0], res.labels[12], res.labels[24]]
    if backend == "tfidf":  # no word of the fitted vocabulary: far from every topic
        assert (lab[3:] == -2).all() and (model.assign(week2 + far)[3:] == -1).all()
    else:
        assert (lab[3:] >= model.k).all()  # a new topic, not forced into a known one
        assert 0 <= model.assign(week2 + far)[3:].max() < model.k  # without propose_new: nearest known


def test_hierarchy_reads_the_result_at_fewer_topics(small_log):
    res = cluster_log(small_log, k=6, backend="tfidf", seed=0, n_threads=1)
    assert res.hierarchy is not None and res.hierarchy.k == 6
    two = res.at_level(2)
    assert two.k == 2 and set(two.assignments["cluster"].unique()) <= {0, 1, -1}
    # parents are unions of the fitted topics
    pairs = two.assignments.groupby("fine_cluster")["cluster"].nunique()
    assert (pairs == 1).all()
    assert two.profile["size"].sum() == res.profile["size"].sum()
    assert all(len(x) for x in two.clusters["top_terms"])
    assert res.at_level(10).k == 6


def test_topics_over_time_finds_the_planted_spike():
    import pandas as pd

    from toolkit.clustering.over_time import topics_over_time
    from toolkit.sample import generate_sample

    s = generate_sample(seed=5, days=14)
    spike = s.truth["topic_spike"]
    res = cluster_log(s.log, backend="tfidf", seed=0, n_threads=1)
    tot = topics_over_time(res, s.log)
    convs = s.truth["conversations"]
    a = res.assignments.assign(intent=[convs[c]["intent"] for c in res.assignments["conversation_id"]])
    spiked = set(a[a["intent"] == spike["intent"]]["cluster"].value_counts().index[:2])
    top = tot.spikes.iloc[0]
    assert int(top["cluster"]) in spiked, tot.summary_table().head()
    start, end = pd.Timestamp(spike["start"]), pd.Timestamp(spike["end"])
    assert top["start"] < end and top["end"] > start
    assert top["share_in_window"] > 2 * (a["intent"] == spike["intent"]).mean()
    assert list(tot.outcome_drops.columns) == ["cluster", "label", "outcome", "start", "end", "value", "expected"]
    assert set(tot.to_dict()) == {"freq", "n_topics", "spikes", "outcome_drops"}


def test_topic_level_slider_relabels_the_profile():
    pytest.importorskip("ipywidgets")
    from toolkit.clustering import topic_level_slider

    res = cluster_log(_log_of(_TEXTS), k=3, backend="tfidf", seed=0, n_threads=1)
    panel = topic_level_slider(res)
    assert panel.slider.max == 3 and panel.table.value.count("<tr>") == 3  # body rows
    first = panel.image.value
    panel.slider.value = 2
    assert panel.table.value.count("<tr>") == 2 and panel.image.value != first


def _log_of(texts):
    import pandas as pd

    from toolkit.log import validate

    n = len(texts)
    turns = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(n)], "turn": 0,
                          "timestamp": pd.date_range("2026-01-01", periods=n, freq="h", tz="UTC"),
                          "user_input": texts, "bot_response": "ok", "response_time_s": 1.0})
    return validate(turns)


def test_cli_over_time_and_level(tmp_path, capsys):
    import json

    from toolkit.cli import main
    from toolkit.io import save
    from toolkit.sample import generate_sample

    s = generate_sample(seed=5, days=14)
    src = save(s.log, tmp_path / "log")
    out = tmp_path / "c.csv"
    assert main(["cluster", str(src), "--backend", "tfidf", "--level", "10", "--over-time", "h",
                 "--out", str(out), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["summary"]["k"] == 10 and len(got["profile"]) == 10
    assert got["over_time"]["spikes"][0]["start"].startswith(s.truth["topic_spike"]["start"][:10])
    import warnings

    with warnings.catch_warnings():  # the text table of spikes: no pandas warning on stderr
        warnings.simplefilter("error")
        assert main(["cluster", str(src), "--backend", "tfidf", "--level", "10", "--over-time", "h",
                     "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "topic volume spikes (hourly)" in text and "worse" in text and "resolved" in text
    assert max(len(line) for line in text.splitlines()) <= 100, text  # the README's promise
    with pytest.raises(SystemExit) as bad:  # argparse's range check: exit 2 with one message
        main(["cluster", str(src), "--backend", "tfidf", "--level", "0", "--out", str(out)])
    assert bad.value.code == 2


def test_only_the_windows_of_detect_anomalies_are_read(monkeypatch):
    """A detect_anomalies that takes only (y, season) and returns start/end windows is enough."""
    import types

    import pandas as pd

    import toolkit.forecasting as F
    from toolkit.clustering.over_time import _windows

    y = pd.Series(np.r_[np.ones(100), 9.0, np.ones(50)], index=pd.date_range("2026-01-01", periods=151, freq="h"))
    win = pd.DataFrame({"start": [y.index[100]], "end": [y.index[100]], "other": [1]})
    monkeypatch.setattr(F, "detect_anomalies", lambda y, season=None: types.SimpleNamespace(windows=win))
    assert _windows(y, 24, "high").columns.tolist() == ["start", "end"]


def test_topics_over_time_without_any_spike_still_plots():
    """A log where no topic spikes (most real logs): the notebook's `tot.plot()` raised
    KeyError: 'cluster' because the empty spikes frame had no columns."""
    from matplotlib.figure import Figure

    from toolkit.clustering.over_time import topics_over_time

    texts = (_TEXTS * 20)[:200]  # steady traffic: one message an hour, topics in turn
    res = cluster_log(_log_of(texts), k=3, backend="tfidf", seed=0, n_threads=1)
    for detect in (True, False):
        tot = topics_over_time(res, _log_of(texts), detect=detect)
        assert len(tot.spikes) == 0 and "cluster" in tot.spikes.columns
        assert isinstance(tot.plot(), Figure)
        assert len(tot.summary_table()) == 0 and tot.to_dict()["spikes"] == []
