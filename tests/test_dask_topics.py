"""Clustering on the Dask engine (issue 13): fit on a seeded sample, assign on a real 2-process
LocalCluster, profile summed on the workers -- equal to the pandas path on the same sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

from toolkit.clustering import ClusteringInputError, ClusterResult, cluster_log, clustering_units  # noqa: E402
from toolkit.dask_engine.client import EngineError  # noqa: E402
from toolkit.dask_engine.read import read_log  # noqa: E402
from toolkit.dask_engine.topics import sample_units  # noqa: E402


@pytest.fixture(scope="module")
def parted(small_log, tmp_path_factory):
    """Turns in one file per day (conversations past midnight straddle two), conversations apart."""
    folder = tmp_path_factory.mktemp("parted_topics")
    t, c = small_log.turns, small_log.conversations
    for day, part in t.groupby(t["timestamp"].dt.strftime("%Y-%m-%d")):
        d = folder / "turns" / f"date={day}"
        d.mkdir(parents=True)
        part.to_parquet(d / "part-0.parquet", index=False)
    (folder / "conversations").mkdir()
    c.to_parquet(folder / "conversations" / "part-0.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def dlog(parted, client):
    return read_log(parted, npartitions=3)


def _same(a: ClusterResult, b: ClusterResult) -> None:
    pd.testing.assert_frame_equal(a.profile, b.profile, check_exact=False, rtol=1e-12, atol=1e-12)
    pd.testing.assert_frame_equal(a.assignments.drop(columns=["x", "y"]), b.assignments.drop(columns=["x", "y"]))
    pd.testing.assert_frame_equal(a.clusters, b.clusters)
    assert a.k == b.k and a.n_units == b.n_units


def test_the_seeded_sample_does_not_depend_on_order_or_partitions(small_log):
    units = clustering_units(small_log)
    a = sample_units(units, 300, seed=3)
    b = sample_units(units.sample(frac=1.0, random_state=1), 300, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 300 and a["conversation_id"].is_unique
    assert not a.equals(sample_units(units, 300, seed=4))
    assert len(sample_units(units, 10**6, seed=3)) == len(units)


def test_fit_on_everything_equals_the_pandas_engine(dlog, small_log):
    ref = cluster_log(small_log, k=8, backend="tfidf", seed=0)
    got = cluster_log(dlog, k=8, backend="tfidf", seed=0, engine="dask", sample_size=10**6)
    ref.n_units = len(ref.assignments)  # the Dask result always says how many units it assigned
    _same(got, ref)
    assert got.summary()["n_units"] == len(clustering_units(small_log))


def test_fit_on_a_sample_equals_the_pandas_sample_path(dlog, small_log):
    units = clustering_units(small_log)
    n = len(units) // 3
    ref = cluster_log(small_log, k="auto", backend="tfidf", seed=1, sample_size=n)
    got = cluster_log(dlog, k="auto", backend="tfidf", seed=1, engine="dask", sample_size=n)
    _same(got, ref)
    assert len(got.assignments) == n and got.n_units == len(units)
    assert int(got.profile["size"].sum()) == len(units)  # the profile counts every unit, not the sample


def test_embeddings_on_the_workers_and_every_assignment_written(dlog, small_log, tmp_path, sample):
    from sklearn.metrics import normalized_mutual_info_score

    pytest.importorskip("onnxruntime")
    units = clustering_units(small_log)
    n = len(units) // 2
    res = cluster_log(dlog, k=len(sample.truth["intents"]), seed=0, engine="dask", sample_size=n,
                      out=tmp_path / "assigned")
    assert res.backend == "embeddings" and res.out == str(tmp_path / "assigned")
    written = pd.read_parquet(tmp_path / "assigned").sort_values("conversation_id").reset_index(drop=True)
    assert len(written) == len(units) and written["conversation_id"].is_unique
    # the workers' assignments are the fitted model's, message for message
    mine = res.assignments.set_index("conversation_id")["cluster"]
    back = written.set_index("conversation_id")["cluster"]
    assert (back.loc[mine.index] == mine).all()  # the sample keeps the fit's labels
    lab = cluster_log(small_log, k=res.k, seed=0, sample_size=n).assignments  # pandas, same sample
    assert (lab.set_index("conversation_id")["cluster"] == mine).all()
    # and the messages outside the sample land in the right topics: scored against the truth
    intents = [sample.truth["conversations"][c]["intent"] for c in written["conversation_id"]]
    assert normalized_mutual_info_score(intents, written["cluster"]) >= 0.8


def test_cli_cluster_with_the_dask_engine(parted, small_log, tmp_path, client, capsys):
    from toolkit.cli import main

    out = tmp_path / "clusters"
    assert main(["cluster", str(parted), "--engine", "dask", "--k", "6", "--backend", "tfidf",
                 "--sample-size", "400", "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    n = len(clustering_units(small_log))
    assert doc["summary"]["n_units"] == n and doc["summary"]["fitted_on"] == 400
    assert sum(row["size"] for row in doc["profile"]) == n
    assert len(pd.read_parquet(out)) == n
    assert main(["cluster", str(parted), "--engine", "dask", "--out", str(out)]) == 2  # not empty
    assert "exists and is not an empty folder" in capsys.readouterr().err


def test_what_the_dask_engine_refuses(dlog, small_log, tmp_path):
    with pytest.raises(ClusteringInputError, match="KMeans only"):
        cluster_log(dlog, algorithm="hdbscan", engine="dask")
    with pytest.raises(EngineError, match="sample_size must be >= 2"):
        cluster_log(dlog, engine="dask", sample_size=1)
    with pytest.raises(ClusteringInputError, match="out= is for engine='dask'"):
        cluster_log(small_log, k=3, out=tmp_path / "x")
    Path(tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.txt").write_text("x")
    with pytest.raises(EngineError, match="not an empty folder"):
        cluster_log(dlog, k=3, engine="dask", out=tmp_path / "full")


def test_the_model_assigns_the_fitted_texts_to_their_fitted_clusters(small_log):
    """KMeans' predict, kept: the model reproduces the fit's labels on the texts it was fitted on."""
    from toolkit.clustering import cluster_texts

    texts = clustering_units(small_log)["text"]
    for backend in ("tfidf", "embeddings"):
        if backend == "embeddings":
            pytest.importorskip("onnxruntime")
        tc = cluster_texts(texts, k=12, backend=backend, seed=0)
        np.testing.assert_array_equal(tc.model.assign(texts), tc.labels)
        assert tc.model.assign(["", "1234"]).tolist() == [-1, -1]
