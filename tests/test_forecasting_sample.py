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


#: the sample spans 8.5 weeks: at the default of 1 false alarm a week about 8 false windows are
#: expected (measured: 9 on response time, 12 on quality); a two-month report asks for about
#: one in seven weeks (as notebook 04 does; measured: 2 and 1 false windows)
ALARMS_PER_WEEK = 0.15


def _report(w: pd.DataFrame) -> str:
    return "\n" + w[["start", "until", "peak_score", "matched"]].to_string()


def test_latency_incident_is_flagged_with_few_false_windows(bundled, truth):
    y = metric_series(bundled, "response_time_mean", "h")
    w = F.windows_overlap(F.detect_anomalies(y, alarms_per_week=ALARMS_PER_WEEK).windows, truth["incidents"])
    assert "latency" in set(w.matched.dropna()), _report(w)
    false = w[w.matched.isna()]
    print("false flags (response_time_mean):", _report(false))
    # 3 since the sample gained its A/B plants (issue 24): three day-long excursions of the hourly
    # mean (robust z 4-5.3, the latency incident 10.4) that no asked alarm rate from 0.08 to 0.2 a
    # week removes; the earlier one-step detector flags none of them. A known gap of issue 28.
    assert len(false) <= 3, _report(w)


def test_quality_regression_is_flagged_in_the_quality_score(scored, truth):
    y = metric_series(scored, "quality", "h")
    w = F.windows_overlap(F.detect_anomalies(y, alarms_per_week=ALARMS_PER_WEEK).windows, truth["incidents"])
    assert "quality_regression" in set(w.matched.dropna()), _report(w)
    false = w[w.matched.isna()]
    print("false flags (quality):", _report(false))
    assert len(false) <= 2, _report(w)
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
