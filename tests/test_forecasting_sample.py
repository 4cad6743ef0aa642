"""The planted truth of the bundled sample (data/sample/truth.json) is found by toolkit.forecasting."""

from __future__ import annotations

import pandas as pd
import pytest

import toolkit.forecasting as F
from toolkit.series import metric_series


@pytest.fixture(scope="module")
def truth():
    from toolkit.sample import load_sample_truth

    return load_sample_truth()


@pytest.fixture(scope="module")
def scored(bundled):
    """The bundled sample with the real quality score (toolkit.quality)."""
    from toolkit import quality

    return quality.score_log(bundled)


def _report(w: pd.DataFrame) -> str:
    return "\n" + w[["start", "until", "peak_score", "matched"]].to_string()


def test_latency_incident_is_flagged_with_at_most_one_false_window(bundled, truth):
    y = metric_series(bundled, "response_time_mean", "h")
    w = F.windows_overlap(F.detect_anomalies(y).windows, truth["incidents"])
    assert "latency" in set(w.matched.dropna()), _report(w)
    false = w[w.matched.isna()]
    print("false flags (response_time_mean):", _report(false))
    # at the default of 0.1 false alarms a week the sample's 8.5 weeks expect 0.85 false windows;
    # the one left is 2026-10-24 12-18 h: 7 timeouts of 30 s against 1.7 expected (Poisson
    # p = 0.002, the most extreme of the sample's 240 six-hour blocks, not planted), which no
    # rate from 0.02 to 0.25 a week removes. The three day-long windows of the earlier
    # multi-scale version (one-sided timeout clusters taken for variance changes) are gone.
    assert len(false) <= 1, _report(w)


def test_quality_regression_is_flagged_with_no_false_window(scored, truth):
    y = metric_series(scored, "quality", "h")
    w = F.windows_overlap(F.detect_anomalies(y).windows, truth["incidents"])
    assert "quality_regression" in set(w.matched.dropna()), _report(w)
    false = w[w.matched.isna()]
    print("false flags (quality):", _report(false))
    # no false drop; at most one false rise. The default quality (the fitted model, a percentile)
    # spreads turns more widely than the earlier composite; the first fitted model had one quiet
    # hour flagged (2026-10-03 22 h, 5 turns at mean 0.86, not planted), the refit of 2026-12-07
    # none, like the composite
    assert len(false) <= 1 and (false.peak_score > 0).all(), _report(w)
    # one window for the regression, which says the departure lasted its two days: the
    # baseline (median of the last week) does not follow it within half a day as the median of
    # the last day did; the window itself is the onset (it ends where the day's median has
    # absorbed half the shift, so that a two-day shift is not two days of flagged time)
    hits = w[w.matched == "quality_regression"]
    assert len(hits) == 1 and hits.lasts_until.iloc[0] - hits.start.iloc[0] >= pd.Timedelta(hours=30), _report(w)
    assert hits.until.iloc[0] - hits.start.iloc[0] <= pd.Timedelta(hours=24), _report(w)
    # the flagged window overlaps the planted one: [start, end) of the regression
    inc = next(i for i in truth["incidents"] if i["kind"] == "quality_regression")
    hit = w[w.matched == "quality_regression"].iloc[0]
    assert hit.start < pd.Timestamp(inc["end"]) and hit.until > pd.Timestamp(inc["start"])
    assert hit.peak_score < 0          # quality went down


def test_volume_trend_has_the_planted_sign_and_size(bundled, truth):
    r = F.trend_test(metric_series(bundled, "volume", "h"))
    growth = truth["trend"]["volume_growth_per_day"]
    assert r.direction == ("increasing" if growth > 0 else "decreasing") and r.p_value < 0.001
    assert r.relative_ci_low < growth < r.relative_ci_high, r


def test_default_model_beats_seasonal_naive_on_sample_volume(bundled):
    y = metric_series(bundled, "volume", "h")
    bt = F.backtest(y, 48, ["snaive", F.DEFAULT_MODEL], n_origins=3)
    s = bt.summary.set_index("model")
    assert s.loc[F.DEFAULT_MODEL, "mase"] < 0.9 * s.loc["snaive", "mase"], s
    assert 0.85 <= s.loc[F.DEFAULT_MODEL, "coverage95"] <= 1.0, s


def test_real_public_series_co2_default_beats_snaive():
    """Monthly Mauna Loa CO2 (statsmodels.datasets.co2, weekly averaged to months)."""
    from statsmodels.datasets import co2

    y = co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    bt = F.backtest(y, 12, ["snaive", F.DEFAULT_MODEL], n_origins=3)
    s = bt.summary.set_index("model")
    assert s.loc[F.DEFAULT_MODEL, "mase"] < 0.6 * s.loc["snaive", "mase"], s
    assert s.loc[F.DEFAULT_MODEL, "coverage95"] >= 0.85, s
