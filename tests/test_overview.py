"""The overview tables and the overview notebook on the sample data."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.overview import (daily_volume, hourly_profile, length_distribution, overview,
                              plot_conversation_lengths, plot_daily_volume, plot_hourly_profile,
                              plot_response_times, response_time_table, variant_table)


def test_tables_add_up(sample_log):
    log = sample_log
    d = daily_volume(log)
    assert d["turns"].sum() == len(log.turns)
    assert d["conversations"].sum() == len(log.conversations)
    assert d["errors"].sum() == log.turns["error"].notna().sum()
    v = variant_table(log)
    assert v["conversations"].sum() == len(log.conversations)
    assert v["share"].sum() == pytest.approx(1.0)
    lengths = length_distribution(log)
    assert (lengths["conversations"] * lengths.index).sum() == len(log.turns)
    rt = response_time_table(log)
    assert rt.loc["(all)", "turns"] == len(log.turns)
    assert rt.loc["(all)", "p95"] == pytest.approx(log.turns["response_time_s"].quantile(0.95))


def test_hourly_profile_shows_daily_seasonality(sample_log):
    h = hourly_profile(sample_log).mean(axis=1)
    assert h.loc[12:15].mean() > 2 * h.loc[1:4].mean()


def test_variant_outcomes_match_the_data(sample_log):
    v = variant_table(sample_log)
    c = sample_log.conversations
    for name, row in v.iterrows():
        sub = c[c["variant"].fillna("(none)") == name]
        assert row["resolution_rate"] == pytest.approx(sub["resolved"].astype("Float64").mean())


def test_overview_headline_and_figures(sample_log):
    ov = overview(sample_log)
    assert ov.headline["turns"] == len(sample_log.turns)
    assert 0 <= ov.headline["busiest_hour_utc"] < 24
    for plot in (plot_daily_volume, plot_hourly_profile, plot_response_times, plot_conversation_lengths):
        fig = plot(sample_log)
        assert fig.axes and fig.get_size_inches()[0] <= 10


def test_input_not_mutated(sample_log):
    before = sample_log.turns.copy()
    overview(sample_log)
    pd.testing.assert_frame_equal(before, sample_log.turns)


def test_overview_notebook_runs(run_notebook):
    side = run_notebook("00_overview")
    res = side["results"]
    assert side["notebook"] == "00_overview"
    assert res["turns"] > 10_000 and res["days"] >= 50
    from pathlib import Path

    figs = {p.name for p in (Path(side["_output_dir"]) / "figures").iterdir()}
    assert {"daily_volume.png", "daily_volume.svg", "hourly_profile.png", "response_times.svg"} <= figs
