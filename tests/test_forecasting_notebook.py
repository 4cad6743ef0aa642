"""notebooks/04_forecasting.ipynb runs under papermill and writes its sidecar."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_notebook_on_the_bundled_sample(run_notebook):
    res = run_notebook("04_forecasting", horizon=24, backtest_origins=2, models="snaive,arima,combo")
    r = res["results"]
    assert r["metric"] == "volume" and r["beats_snaive"] is True
    assert set(r["incidents_found"]) == {"latency", "quality_regression"}
    # see test_forecasting_sample: at most one false latency window, none on quality
    assert set(r["false_windows"]) == {"response_time_mean", "quality"}
    assert r["false_windows"]["response_time_mean"] <= 1 and r["false_windows"]["quality"] == 0
    assert r["trend"]["direction"] == "increasing" and len(r["forecast"]) == 24
    figs = Path(res["_output_dir"]) / "figures"
    assert {"forecast.png", "decomposition.svg", "backtest.png", "anomalies_quality.png"} <= {p.name for p in figs.iterdir()}


@pytest.mark.slow
def test_notebook_on_a_series_file(run_notebook, tmp_path):
    import numpy as np
    import pandas as pd

    t = np.arange(120)
    pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=120, freq="D").strftime("%Y-%m-%d"),
                  "value": 50 + 5 * np.sin(2 * np.pi * t / 7) + np.random.default_rng(0).normal(0, 1, 120)}
                 ).to_csv(tmp_path / "daily.csv", index=False)
    res = run_notebook("04_forecasting", data_path=str(tmp_path / "daily.csv"), horizon=14, backtest_origins=2,
                       models="snaive,ets,stl_ets")
    r = res["results"]
    assert r["metric"] == "daily" and r["season"] == 7 and len(r["forecast"]) == 14


def test_log_selection_parameters_are_refused_for_a_series_file(run_notebook, tmp_path):
    import pandas as pd
    from tests.conftest import NotebookFailed

    pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=60, freq="D").strftime("%Y-%m-%d"),
                  "value": range(60)}).to_csv(tmp_path / "daily.csv", index=False)
    with pytest.raises(NotebookFailed, match="start, end and variant select conversations of a log"):
        run_notebook("04_forecasting", data_path=str(tmp_path / "daily.csv"), variant="A")


def test_the_metric_picker_offers_cost_only_when_the_log_records_costs(tmp_path):
    """A log without costs has no cost series (a sum of nothing is refused, not a line of zeros):
    notebook 04's metric picker does not offer it."""
    from toolkit.io import save
    from toolkit.notebook import load_series_input
    from toolkit.sample import generate_sample

    log = generate_sample(seed=3, days=8).log
    assert "cost" in load_series_input(save(log, tmp_path / "with"), "volume").metric_choices()
    bare = log.with_turns(log.turns.drop(columns=["cost_usd"]))
    assert "cost" not in load_series_input(save(bare, tmp_path / "without"), "volume").metric_choices()
