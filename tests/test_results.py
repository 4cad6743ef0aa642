"""Results carry their own outputs (issue 21): ``summary_table()`` is a DataFrame and ``to_dict()``
JSON-ready plain data, on results computed from the sample."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit._files import to_jsonable


def _check(result) -> dict:
    table = result.summary_table()
    assert isinstance(table, pd.DataFrame) and len(table) > 0, type(result).__name__
    d = result.to_dict()
    assert isinstance(d, dict) and d
    json.dumps(to_jsonable(d), allow_nan=False)  # plain data
    return d


@pytest.fixture(scope="module")
def hourly():
    idx = pd.date_range("2026-01-01", periods=24 * 21, freq="h", tz="UTC")
    t = np.arange(len(idx))
    return pd.Series(50 + 10 * np.sin(2 * np.pi * t / 24) + 0.05 * t + np.random.default_rng(0).normal(0, 1, len(t)),
                     index=idx)


def test_forecasting_results(hourly):
    import toolkit.forecasting as F
    from toolkit.forecasting.report import ForecastReport

    bt = F.backtest(hourly, 24, ["snaive", "ets"], 24, n_origins=2)
    fc = F.forecast(hourly, 24, model="snaive", season=24)
    tr = F.trend_test(hourly, 24)
    dec = F.decompose(hourly, (24,))
    assert _check(bt)["best"] in ("snaive", "ets")
    assert len(_check(fc)["forecast"]) == 24
    assert _check(tr)["direction"] == "increasing"
    assert _check(dec)["periods"] == [24]
    rep = ForecastReport(hourly, "volume", 24, 24, bt, fc, tr)
    assert _check(rep)["n_points"] == len(hourly)


def test_clustering_and_overview_results():
    import toolkit
    from toolkit.clustering import cluster_log
    from toolkit.overview import overview

    log = toolkit.load_sample().select(end="2026-09-08")
    res = cluster_log(log, k="auto", backend="tfidf", seed=0)
    d = _check(res)
    assert d["n_clusters"] == res.k and len(d["worst_clusters"]) == 3
    assert _check(res.k_selection)["k"] == res.k
    assert _check(res.hierarchy)["k"] == res.k
    assert _check(overview(log))["turns"] == len(log.turns)


def test_monitoring_judges_and_run_results(tmp_path):
    import toolkit
    from toolkit.batch.summary import BatchResult
    from toolkit.judges.agreement import weighted_kappa
    from toolkit.monitoring.quality_run import QualityRun
    from toolkit.runner.run import RunResult

    run = QualityRun.score(toolkit.load_sample().select(end="2026-09-03"))
    assert _check(run)["n_turns"] == len(run.scored)
    assert _check(run.report)["kpis"]["n_turns"] == len(run.scored)
    assert set(run.report.group_tables()) == {"By bot", "By variant", "By model (tokens and cost)"}
    k = weighted_kappa([1, 2, 3, 4, 5, 3], [1, 2, 3, 5, 5, 2], bootstrap=100)
    assert _check(k)["n"] == 6
    rec = RunResult(name="r", notebook="nb.ipynb", out_dir=str(tmp_path), parameters={"n": 1}, status="failed",
                    started="", ended="", duration_s=1.0, error={"ename": "ValueError", "evalue": "bad"})
    assert _check(rec)["status"] == "failed" and rec.summary_table()["error"][0].startswith("ValueError: bad")
    batch = BatchResult(out_dir=tmp_path, records=[rec.to_dict()])
    assert _check(batch)["exit_code"] == 1 and batch.summary_table()["status"].tolist() == ["failed"]
