"""Models, backtests, trend tests, anomalies and bad input of toolkit.forecasting (synthetic data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import toolkit.forecasting as F
from toolkit.forecasting import arima
from toolkit.series import SeriesError


def hourly(n=24 * 28, seed=0, noise=1.0, level=20.0, amp=5.0, weekly=2.0, trend=0.0, start="2026-01-05"):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    v = level + trend * t + amp * np.sin(2 * np.pi * t / 24) + weekly * np.sin(2 * np.pi * t / 168) + rng.normal(0, noise, n)
    return pd.Series(v, index=pd.date_range(start, periods=n, freq="h", tz="UTC"), name="y")


def ar1(n, phi, seed, sigma=1.0):
    rng = np.random.default_rng(seed)
    e = rng.normal(0, sigma, n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


# ------------------------------------------------------------------------------ accuracy metrics


def test_mase_and_smape_reference_values():
    train = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])
    # seasonal naive MAE with m=2: |2-1|, |5-3|, |4-2|, |6-5| -> 6/4 = 1.5
    assert F.mase(np.array([7.0, 8.0]), np.array([6.0, 10.0]), train, m=2) == pytest.approx(1.5 / 1.5)
    assert F.smape(np.array([100.0, 0.0]), np.array([110.0, 0.0])) == pytest.approx((200 * 10 / 210) / 2)
    assert np.isnan(F.mase(np.array([1.0]), np.array([1.0]), np.ones(5), m=1))   # no scale


# ------------------------------------------------------------------------------ models


def test_seasonal_naive_point_forecast_and_interval_formula():
    y = hourly(24 * 10, seed=1)
    fc = F.forecast(y, 30, model="snaive")
    v = y.to_numpy()
    assert np.allclose(fc.frame.yhat.to_numpy()[:24], v[-24:])
    assert np.allclose(fc.frame.yhat.to_numpy()[24:], v[-24:-18])
    e = v[24:] - v[:-24]
    sigma = np.sqrt(np.mean(e**2))
    sd = (fc.frame.hi95 - fc.frame.yhat).to_numpy() / 1.959963984540054
    assert sd[0] == pytest.approx(sigma) and sd[25] == pytest.approx(sigma * np.sqrt(2))   # fpp3 5.5
    assert fc.frame.index[0] == y.index[-1] + pd.Timedelta("1h")
    assert fc.model == "snaive" and fc.baseline.equals(fc.frame)


def test_css_arima_matches_statsmodels_mle():
    """The fast conditional-sum-of-squares fit agrees with statsmodels' exact ML on ARMA(1,1)."""
    from statsmodels.tsa.arima_process import ArmaProcess

    x = ArmaProcess([1, -0.6], [1, 0.3]).generate_sample(600, distrvs=np.random.default_rng(3).standard_normal) + 5.0
    css = arima._css_fit(x, (1, 0, 1), (0, 0, 0, 0), True)
    mle = arima._mle_fit(x, (1, 0, 1), (0, 0, 0, 0), True)
    assert css.ar[1] == pytest.approx(mle.ar[1], abs=0.02)
    assert css.ma[1] == pytest.approx(mle.ma[1], abs=0.03)
    assert css.mu == pytest.approx(mle.mu, abs=0.05)
    assert css.sigma2 == pytest.approx(mle.sigma2, rel=0.03)


def test_psi_weight_intervals_match_statsmodels_state_space():
    """Integrated forecasts and their variances equal SARIMAX's exact state-space forecasts."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rng = np.random.default_rng(5)
    y = np.cumsum(ar1(400, 0.5, 5)) + 0.3 * rng.normal(size=400)
    fit = arima._mle_fit(y, (1, 1, 1), (0, 0, 0, 0), False)
    ours = arima._arima_forecast(fit, y, 12)
    params = np.r_[fit.result.params, fit.sigma2]
    ref = SARIMAX(y, order=(1, 1, 1)).filter(params).get_forecast(12)
    assert np.allclose(ours["yhat"], ref.predicted_mean, rtol=1e-6, atol=1e-6)
    ci = ref.conf_int(alpha=0.05)
    assert np.allclose(ours["hi95"] - ours["yhat"], ci[:, 1] - ref.predicted_mean, rtol=2e-3)


def test_seasonal_arima_beats_snaive_on_seasonal_ar_data():
    n = 24 * 30
    t = np.arange(n)
    v = 50 + 8 * np.sin(2 * np.pi * t / 24) + 3 * ar1(n, 0.8, 11)
    y = pd.Series(v, index=pd.date_range("2026-01-01", periods=n, freq="h"))
    bt = F.backtest(y, 24, ["snaive", "arima"], n_origins=3)
    s = bt.summary.set_index("model")
    assert s.loc["arima", "mase"] < 0.8 * s.loc["snaive", "mase"]
    assert bt.best == "arima" and s.loc["snaive", "mase_vs_snaive"] == 1.0
    assert len(bt.scores) == 6 and set(bt.scores.columns) >= {"mase", "smape", "coverage80", "coverage95"}


def test_every_model_gives_ordered_intervals_on_hourly_data():
    y = hourly(24 * 24, seed=2)
    for model in F.MODELS:
        fc = F.forecast(y, 48, model=model)
        f = fc.frame
        assert list(f.columns) == ["yhat", "lo80", "hi80", "lo95", "hi95"] and len(f) == 48, model
        assert (f.lo95 <= f.lo80).all() and (f.lo80 <= f.yhat).all() and (f.yhat <= f.hi80).all() and (f.hi80 <= f.hi95).all(), model
        assert np.abs(f.yhat - (20 + 5 * np.sin(2 * np.pi * np.arange(len(y), len(y) + 48) / 24))).mean() < 3.0, model


def test_ets_uses_statsmodels_intervals():
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series(ar1(200, 0.9, 4) + 10, index=pd.date_range("2026-01-01", periods=200, freq="D"))
    fc = F.forecast(y, 5, model="ets", season=1)
    res = ETSModel(y, error="add", trend=None, initialization_method="heuristic").fit(disp=False)
    assert fc.spec == "ETS(A,N,N)"
    ref = res.get_prediction(start=200, end=204).summary_frame(alpha=0.05)
    assert np.allclose(fc.frame.lo95, ref["pi_lower"], rtol=1e-6)


def test_decomposition_recovers_daily_and_weekly_cycles():
    y = hourly(24 * 28, seed=3, noise=0.3)
    d = F.decompose(y)
    assert d.periods == (24, 168) and d.method == "MSTL"
    t = np.arange(len(y))
    assert np.corrcoef(d.seasonal["seasonal_24"], 5 * np.sin(2 * np.pi * t / 24))[0, 1] > 0.98
    assert np.corrcoef(d.seasonal["seasonal_168"], 2 * np.sin(2 * np.pi * t / 168))[0, 1] > 0.9
    assert d.strength["seasonal_24"] > 0.9
    assert np.allclose(d.frame().drop(columns="observed").sum(axis=1), y)
    assert F.decompose(y, 24).method == "STL"


def test_stl_interval_calibration_reaches_nominal_coverage():
    """STL+ARIMA intervals are widened by their inner-origin errors to near-nominal coverage."""
    cov = []
    for seed in range(3):
        y = hourly(24 * 21, seed=seed, noise=2.0)
        bt = F.backtest(y, 24, ["stl_arima"], n_origins=3)
        cov.append(float(bt.summary.set_index("model").loc["stl_arima", "coverage95"]))
    assert 0.85 <= np.mean(cov) <= 1.0


def test_auto_selects_by_backtest_and_reports_it():
    y = hourly(24 * 21, seed=4)
    fc = F.forecast(y, 24, "auto", candidates=("snaive", "arima"), backtest_origins=2)
    assert fc.backtest is not None and fc.model == fc.backtest.best
    assert set(fc.backtest.summary.model) == {"snaive", "arima"}


def test_the_default_model_is_the_benchmarks_choice_everywhere():
    """combo beat auto on the real hourly benchmark (OWA 0.653 vs 0.739) at a tenth of its time;
    forecast(), forecast_many() and the CLI all default to it (issue 23)."""
    import inspect

    from toolkit.cli import build_parser

    assert F.DEFAULT_MODEL == "combo"
    assert inspect.signature(F.forecast).parameters["model"].default == F.DEFAULT_MODEL
    assert inspect.signature(F.forecast_many).parameters["model"].default == F.DEFAULT_MODEL
    args = build_parser().parse_args(["forecast", "x.csv", "--horizon", "2"])
    assert args.model == F.DEFAULT_MODEL
    assert F.forecast(hourly(24 * 21, seed=4), 24).model == "combo"


# ------------------------------------------------------------------------------ bad input


def test_too_few_points_for_the_season():
    y = hourly(30)
    with pytest.raises(SeriesError, match=r"too few points for the season: 30 < 2 seasons of 24 \(48\)"):
        F.forecast(y, 5)
    assert len(F.forecast(y, 5, season=1, model="arima").frame) == 5


def test_constant_series_gives_flat_zero_width_forecast():
    y = pd.Series(3.0, index=pd.date_range("2026-01-01", periods=60, freq="D"))
    fc = F.forecast(y, 7)
    assert (fc.frame == 3.0).all().all() and any("constant series" in n for n in fc.notes)


def test_missing_values_are_interpolated_and_reported():
    y = hourly(24 * 14, seed=5)
    y.iloc[[50, 51, 200]] = np.nan
    fc = F.forecast(y, 12, model="stl_ets")
    assert any("interpolated 3 missing value(s)" in n for n in fc.notes)
    y.iloc[20:280] = np.nan
    with pytest.raises(SeriesError, match=r"too many missing values: 260 of 300 \(87%\) > 50%"):
        F.forecast(y.iloc[:300], 5)


def test_irregular_duplicate_and_negative_inputs_are_rejected():
    y = hourly(24 * 7)
    dup = pd.concat([y, y.iloc[[10]]])
    with pytest.raises(SeriesError, match=r"must be unique; duplicated: 2026-01-05 10:00:00\+00:00"):
        F.forecast(dup, 5)
    odd = y.copy()
    odd.index = odd.index.where(np.arange(len(y)) != 30, odd.index[30] + pd.Timedelta("17min"))
    with pytest.raises(SeriesError, match=r"must be regular .*06:17:00"):
        F.forecast(odd, 5)
    neg = y.copy()
    neg.iloc[5] = -2.0
    with pytest.raises(SeriesError, match=r"counts must be >= 0; negative at 2026-01-05 05:00:00\+00:00 \(-2\)"):
        F.forecast(neg, 5, nonnegative=True)
    counts = pd.Series(np.tile([0.0, 1.0, 5.0, 2.0], 30), index=pd.date_range("2026-01-01", periods=120, freq="D"))
    fc = F.forecast(counts, 8, model="arima", season=4, nonnegative=True)
    assert (fc.frame >= 0).all().all()
    with pytest.raises(SeriesError, match="horizon must be >= 1"):
        F.forecast(y, 0)
    with pytest.raises(SeriesError, match="unknown model 'prophet'"):
        F.forecast(y, 5, model="prophet")


def test_gaps_in_the_grid_become_missing_values():
    y = hourly(24 * 10).drop(hourly(24 * 10).index[[40, 41]])
    fc = F.forecast(y, 6, model="snaive")
    assert any("2 missing timestamps" in n for n in fc.notes)
    assert len(fc.history) == 240


# ------------------------------------------------------------------------------ trend


def test_mann_kendall_reference_values():
    r = F.mann_kendall(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    # S = 10, Var(S) = 5*4*15/18, z = (S - 1)/sd
    assert r["s"] == 10 and r["var_s"] == pytest.approx(5 * 4 * 15 / 18)
    assert r["z"] == pytest.approx(9 / np.sqrt(5 * 4 * 15 / 18)) and r["p"] == pytest.approx(0.02749, abs=1e-4)
    x = np.array([3.1, 2.0, 2.0, 5.5, 4.0, 6.2, 6.2, 6.2, 8.0, 7.5])
    r = F.mann_kendall(x)
    tau_b, _ = stats.kendalltau(np.arange(10), x)
    # tie-corrected variance: n(n-1)(2n+5)/18 - sum over tie groups t(t-1)(2t+5)/18
    assert r["var_s"] == pytest.approx((10 * 9 * 25 - (2 * 1 * 9) - (3 * 2 * 11)) / 18)
    assert np.sign(r["s"]) == np.sign(tau_b)


def test_trend_test_slope_and_ci_match_theil_sen():
    rng = np.random.default_rng(0)
    y = pd.Series(0.5 * np.arange(80) + rng.normal(0, 3, 80), index=pd.date_range("2026-01-01", periods=80, freq="D"))
    r = F.trend_test(y, season=1, autocorrelation=False)
    ref = stats.theilslopes(y.to_numpy(), np.arange(80), alpha=0.95)
    assert r.slope == pytest.approx(ref.slope)
    assert r.ci_low == pytest.approx(ref.low_slope, rel=0.02) and r.ci_high == pytest.approx(ref.high_slope, rel=0.02)
    assert r.direction == "increasing" and r.p_value < 1e-6 and r.unit == "D"


def test_trend_test_on_hourly_data_reports_per_day_and_holds_its_level():
    y = hourly(24 * 28, seed=6, trend=0.01)        # +0.24 per day
    r = F.trend_test(y)
    assert r.direction == "increasing" and r.ci_low < 0.24 < r.ci_high
    # AR(1) noise without trend: the Hamed-Rao correction keeps false positives near alpha
    rejections = 0
    for seed in range(60):
        x = pd.Series(ar1(60, 0.6, 100 + seed), index=pd.date_range("2026-01-01", periods=60, freq="D"))
        rejections += F.trend_test(x, season=1).p_value < 0.05
    assert rejections / 60 <= 0.15


# ------------------------------------------------------------------------------ anomalies


def test_spike_and_level_shift_are_flagged_as_windows():
    y = hourly(24 * 42, seed=7)
    y.iloc[300:306] += 8.0              # a 6-hour incident
    y.iloc[500:548] -= 2.5              # a 2-day regression, small against the noise
    a = F.detect_anomalies(y, alarms_per_week=0.1)     # 6 weeks: under one false window expected
    w = F.windows_overlap(a.windows, [
        {"kind": "spike", "start": y.index[300], "end": y.index[306]},
        {"kind": "shift", "start": y.index[500], "end": y.index[548]},
    ])
    assert set(w.matched.dropna()) == {"spike", "shift"}
    assert w.matched.isna().sum() <= 1
    assert set(w.kind[w.matched == "shift"]) <= {"burst", "level_shift"}
    assert {"value", "expected", "lo", "hi", "score", "flag"} <= set(a.points.columns)
    assert (a.windows["until"] > a.windows["end"]).all()


def test_no_flags_on_clean_series_most_of_the_time():
    # the default asks for 1 false alarm a week (3 in these 3 weeks); at 1 every 50 weeks most
    # clean series have none (tests/test_forecasting_anomalies.py checks the rate itself)
    false = [len(F.detect_anomalies(hourly(24 * 21, seed=s), alarms_per_week=0.02).windows) for s in range(10)]
    assert sum(f > 0 for f in false) <= 2


def test_stl_method_log_transform_and_weights():
    y = np.exp(hourly(24 * 21, seed=8, noise=0.2, level=1.0, amp=0.5, weekly=0.0))
    y.iloc[200:203] *= 4
    a = F.detect_anomalies(y, method="stl", smooth=1)
    assert a.method.startswith("log scale") and a.flagged.index.min() == y.index[200]
    n = pd.Series(20.0, index=y.index)
    b = F.detect_anomalies(y, method="stl", smooth=3, weights=n)
    assert "weighted" in b.method and y.index[201] in b.flagged.index


def test_anomaly_options_object_gives_the_same_result_as_the_keywords():
    y = hourly(24 * 21, seed=9)
    y.iloc[250:256] += 10.0
    by_keywords = F.detect_anomalies(y, method="stl", smooth=[1, 6], direction="high")
    opts = F.AnomalyOptions(method="stl", smooth=[1, 6], direction="high")
    by_options = F.detect_anomalies(y, options=opts)
    pd.testing.assert_frame_equal(by_keywords.points, by_options.points)
    pd.testing.assert_frame_equal(by_keywords.windows, by_options.windows)
    assert by_keywords.method == by_options.method and len(by_options.windows) >= 1
    with pytest.raises(SeriesError, match="either as options or as keywords.*smooth"):
        F.detect_anomalies(y, options=opts, smooth=3)
    with pytest.raises(SeriesError, match="unknown anomaly method 'x'"):
        F.AnomalyOptions(method="x")


def test_windows_overlap_uses_bucket_ends():
    found = pd.DataFrame({"start": pd.to_datetime(["2026-01-02"]), "end": pd.to_datetime(["2026-01-02"]),
                          "until": pd.to_datetime(["2026-01-03"])})
    truth = [{"kind": "x", "start": "2026-01-02T13:00", "end": "2026-01-02T19:00"}]
    assert F.windows_overlap(found, truth).matched.tolist() == ["x"]
    assert F.windows_overlap(found.drop(columns="until"), truth).matched.tolist() == [None]


def test_change_points_find_a_mean_shift():
    rng = np.random.default_rng(1)
    v = np.r_[np.zeros(60), np.full(40, 2.0)] + rng.normal(0, 0.5, 100)
    y = pd.Series(v, index=pd.date_range("2026-01-01", periods=100, freq="D"))
    cp = F.change_points(y, season=1)
    assert len(cp) == 1 and abs((cp.timestamp.iloc[0] - y.index[60]).days) <= 2
    assert cp["shift"].iloc[0] == pytest.approx(2.0, abs=0.4)
    assert F.change_points(pd.Series(rng.normal(0, 1, 100), index=y.index), season=1).empty


# ------------------------------------------------------------------------------ many series


def test_forecast_many_isolates_failures_and_runs_in_parallel():
    idx = pd.date_range("2026-01-01", periods=60, freq="D")
    series = {
        "good": pd.Series(np.tile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 9.0], 9)[:60], index=idx),
        "short": pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], index=idx[:10]),
        "flat": pd.Series(2.0, index=idx),
    }
    fc, summ = F.forecast_many(series, 7, "ets", n_jobs=2, progress=False)
    s = summ.set_index("series_id")
    assert s.loc["short", "error"].startswith("series 'short': too few points for the season: 10 < 2 seasons of 7")
    assert pd.isna(s.loc["good", "error"]) and s.loc["flat", "spec"] == "constant"
    assert fc.columns.tolist() == ["series_id", "timestamp", "yhat", "lo80", "hi80", "lo95", "hi95"]
    assert sorted(fc.series_id.unique()) == ["flat", "good"] and len(fc) == 14



@pytest.mark.parametrize("horizon", [0, -3, 2.5, "7", 10_001, True])
def test_forecast_many_refuses_a_bad_horizon_once_up_front(horizon, monkeypatch):
    """A bad horizon is one clear error naming it and its range, raised before any series is
    forecast -- not the same error repeated in every row of the summary (horizon=0 did that)."""
    from toolkit.errors import ToolkitError
    from toolkit.forecasting import parallel

    idx = pd.date_range("2026-01-01", periods=30, freq="D")
    series = {k: pd.Series(np.arange(30.0), index=idx) for k in "abc"}
    fc, _ = F.forecast_many(series, 3.0, "snaive", n_jobs=1, progress=False)   # a whole float is fine
    assert len(fc) == 9
    calls = []
    monkeypatch.setattr(parallel, "_forecast_task", lambda t: calls.append(t))
    with pytest.raises(F.HorizonError, match=r"horizon must be >= 1 and at most 10,000 \(whole steps\), got ") as e:
        F.forecast_many(series, horizon, "snaive", n_jobs=1, progress=False)
    assert isinstance(e.value, ToolkitError) and calls == []
    with pytest.raises(F.HorizonError, match="horizon"):
        F.forecast(series["a"], horizon, model="snaive")


def test_the_command_lines_horizon_range_is_the_librarys():
    from toolkit.commands import forecast as cmd
    from toolkit.forecasting.forecasts import MAX_HORIZON

    assert cmd.MAX_HORIZON == MAX_HORIZON

# ------------------------------------------------------------------------------ figures


def test_figures_are_returned():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    y = hourly(24 * 21, seed=9)
    fc = F.forecast(y, 24, "auto", candidates=("snaive", "stl_ets"), backtest_origins=2)
    figs = [
        F.plot_forecast(fc, history=24 * 7),
        F.plot_decomposition(F.decompose(y)),
        F.plot_anomalies(y, F.detect_anomalies(y), truth=[{"start": y.index[10], "end": y.index[20]}]),
        F.plot_backtest(fc.backtest),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    import matplotlib.pyplot as plt

    for f in figs:
        plt.close(f)


def test_backtest_scores_only_observed_values():
    y = hourly(24 * 14, seed=10)
    y.iloc[-30:-20] = np.nan       # 6 missing hours in the second-last test window, 4 in the last
    bt = F.backtest(y, 24, ["snaive"], n_origins=2)
    assert bt.scores.n_points.tolist() == [18, 20]
    assert bt.summary.n_points.iloc[0] == 38
