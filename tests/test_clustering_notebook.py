"""``notebooks/03_clustering.ipynb`` under papermill: static results, figures and sidecar."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "03_clustering.ipynb"


def test_parameters_the_notebook_takes():
    # committed clean, one documented parameters cell: tests/test_packaging.py, for every notebook
    import papermill as pm

    inferred = pm.inspect_notebook(str(NB))
    assert {"text", "backend", "k", "min_cluster_size", "seed", "start", "end", "variant"} <= set(inferred)
    assert inferred["k"]["default"] == '"auto"' and inferred["text"]["default"] == '"first_user"'


def _outputs(side):
    executed = nbformat.read(side["_executed"], as_version=4)
    return [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]


@pytest.mark.slow
def test_notebook_runs_on_bundled_sample_and_checks_the_truth(run_notebook):
    side = run_notebook("03_clustering")
    res = side["results"]
    out = Path(side["_output_dir"])
    assert res["truth_k_true"] == 18
    assert abs(res["truth_k_error"]) <= 0.3 and res["truth_nmi"] >= 0.8
    assert res["k_method"] == "modularity" and res["text"] == "first_user"
    methods = {m["method"]: m for m in res["truth_methods"]}
    assert set(methods) == {"modularity", "eigengap", "stability", "silhouette"}
    # the default lands near the planted number of intents (20 of 18 on the bundled sample; it errs
    # high by design, since merging intents costs more than splitting them: README, topics)
    assert abs(methods["modularity"]["k_error"]) <= 0.15
    prof = res["profile"]
    assert sum(r["size"] for r in prof) == res["n_units"]
    assert [r["excess_failures"] for r in prof] == sorted((r["excess_failures"] for r in prof), reverse=True)
    assert res["worst_cluster"] == prof[0]["label"] and len(res["worst_clusters"]) == 3
    assert {"cluster_map.png", "cluster_map.svg", "k_selection.png", "topic_hierarchy.png",
            "topics_over_time.png"} <= {p.name for p in (out / "figures").iterdir()}
    # topics over time: the planted spike is the largest one flagged
    spike = res["topic_spikes"][0]
    assert spike["start"].startswith("2026-10-01") and "pay" in spike["label"]
    outputs = _outputs(side)
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], "warnings spilled"
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    # the static drill-down: one heading per worst cluster
    md = [o for o in outputs if "text/markdown" in o.get("data", {})
          and o["data"]["text/markdown"].startswith("**Cluster")]
    assert len(md) == 3 and md[0]["data"]["text/markdown"].startswith(f"**Cluster {prof[0]['cluster']}:")


@pytest.mark.slow
def test_notebook_on_own_log_bot_responses_with_hdbscan(run_notebook, tmp_path, sample):
    from toolkit.io import save

    path = save(sample.log, tmp_path / "log")
    # TF-IDF here keeps the run short (the run above covers the default embeddings backend)
    side = run_notebook("03_clustering", data_path=str(path), text="bot_response", backend="tfidf",
                        algorithm="hdbscan", min_cluster_size=40, compare_k_methods=False)
    res = side["results"]
    assert res["algorithm"] == "hdbscan" and res["text"] == "bot_response"
    assert 0.0 <= res["noise_share"] < 0.5 and res["k"] >= 2
    assert res["n_units"] == len(sample.log.turns)
    assert not any(k.startswith("truth_") for k in res)
