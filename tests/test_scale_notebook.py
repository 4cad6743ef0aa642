"""``notebooks/05_at_scale.ipynb`` under papermill: a Dask run on a generated partitioned sample."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")


@pytest.mark.slow
def test_at_scale_notebook_runs_and_the_engines_agree(run_notebook):
    side = run_notebook("05_at_scale")
    res = side["results"]
    assert res["turns"] > 1000 and res["partitions"] >= 1
    assert res["scores_equal"] is True
    engines = {row["engine"]: row for row in res["engines"]}
    assert set(engines) == {"pandas", "dask"}
    assert engines["pandas"]["turns"] == engines["dask"]["turns"] == res["turns"]
    assert all(row["peak_rss_mb"] > 0 and row["seconds"] > 0 for row in engines.values())
    assert {r["metric"] for r in res["ab_verdicts"]} >= {"resolved"}
    topics = res["topics"]  # fitted on a 1,000-conversation sample, every conversation assigned
    assert topics["k"] >= 2 and topics["fitted_on"] == 1000 < topics["conversations"]
