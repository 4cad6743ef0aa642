"""The multi-scale default of detect_anomalies (issue 28): kinds, alarm load, sparse data, cycles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toolkit.forecasting as F
from toolkit.errors import ToolkitError


def seasonal(n: int, freq: str = "5min", seed: int = 0, noise: str = "gauss") -> pd.Series:
    per_day = int(pd.Timedelta("1D") / pd.Timedelta(pd.tseries.frequencies.to_offset(freq)))
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    e = rng.normal(0, 1, n) if noise == "gauss" else rng.standard_t(3, n)
    v = 50 + 10 * np.sin(2 * np.pi * t / per_day) + 3 * np.sin(2 * np.pi * t / (7 * per_day)) + 2 * e
    return pd.Series(v, index=pd.date_range("2026-01-05", periods=n, freq=freq, tz="UTC"))


@pytest.mark.parametrize("kind", ["spike", "burst", "level_shift", "variance_change"])
def test_each_planted_kind_is_found_and_named(kind):
    y = seasonal(288 * 21, seed={"spike": 1, "burst": 2, "level_shift": 3, "variance_change": 4}[kind])
    at = 288 * 15 + 100
    length = {"spike": 1, "burst": 24, "level_shift": 288 * 2, "variance_change": 288}[kind]
    if kind == "spike":
        y.iloc[at] += 20
    elif kind == "burst":
        y.iloc[at : at + length] += 8
    elif kind == "level_shift":
        y.iloc[at : at + length] -= 4
    else:
        y.iloc[at : at + length] += np.random.default_rng(9).normal(0, 6, length)
    a = F.detect_anomalies(y)
    s, e = y.index[at], y.index[at + length - 1]
    hit = a.windows[(a.windows.start <= e) & (a.windows.until > s)]
    assert len(hit) >= 1, a.windows
    assert kind in set(hit.kind), hit[["start", "end", "kind", "scale", "size"]]
    w = hit.iloc[0]
    assert w.expected_lo < w.expected < w.expected_hi and w["size"] > 0
    # the window is about as long as the incident, not as long as the smoothing
    if kind in ("spike", "burst"):
        assert (hit.end.max() - hit.start.min()) <= (e - s) + pd.Timedelta("2h"), hit[["start", "end"]]


def _false_windows(freq: str, weeks: int, seeds: range, noise: str, rounded: bool, apw: float) -> float:
    """False windows / windows asked on normal seasonal data (no incident)."""
    per_week = int(pd.Timedelta("7D") / pd.Timedelta(freq))
    wins = 0
    for s in seeds:
        y = seasonal(per_week * weeks, freq=freq, seed=s, noise=noise)
        wins += len(F.detect_anomalies(y.round() if rounded else y, alarms_per_week=apw).windows)
    return wins / (apw * weeks * len(seeds))


@pytest.mark.parametrize("freq,noise", [("5min", "gauss"), ("5min", "t3"), ("1h", "gauss"), ("1h", "t3")])
def test_false_alarm_rate_is_near_what_was_asked_at_fine_and_hourly_steps(freq, noise):
    """Normal seasonal data: about ``alarms_per_week`` false windows a week over all scales
    together. The budget was split over the scales by sqrt(n) whatever their overlap: 5-minute
    data got 1.8-2.0 times the rate asked (hourly 1.1-1.3); each scale's rate now comes from the
    windows per excursion measured on the series (README: 0.84-1.14 from 1-minute to daily
    steps at 1 and 4 a week asked, over more seeds than here). 4 a week asked, so that the
    windows are many: 5-minute data 4 weeks x 4 series, hourly 16 weeks x 2."""
    weeks, seeds = (4, range(4)) if freq == "5min" else (16, range(2))
    ratio = _false_windows(freq, weeks, range(40, 40 + len(seeds)), noise, False, 4.0)
    assert 0.7 <= ratio <= 1.3, ratio


def test_whole_numbers_at_five_minute_steps_keep_the_false_alarm_rate():
    """The same data rounded to whole numbers (sd 2: about 12 levels within a day's cycle): the
    residuals' MAD at each time of day was a whole number (sigma 1.48 or 2.97 where it is 2),
    which gave about 1.2 times the windows of the continuous data (2 times at 0.1 a week asked).
    The local spread is the grouped-data median's now."""
    cont = _false_windows("5min", 4, range(50, 54), "gauss", False, 4.0)
    rnd = _false_windows("5min", 4, range(50, 54), "gauss", True, 4.0)
    assert 0.7 <= rnd <= 1.3 and rnd <= 1.15 * cont + 0.05, (rnd, cont)


def test_five_minute_data_gets_a_daily_cycle_and_hourly_a_weekly_one():
    a = F.detect_anomalies(seasonal(288 * 10))
    assert a.periods == (288,) and "time of day" in a.method
    y = seasonal(24 * 7 * 5, freq="h", seed=3)
    y = y + np.where(y.index.day_of_week >= 5, -15.0, 0.0)
    b = F.detect_anomalies(y)
    assert b.periods == (168,), b.method


def test_sparse_and_irregular_series_are_analysed_not_rejected():
    y = seasonal(24 * 7 * 6, freq="h", seed=5)
    rng = np.random.default_rng(0)
    keep = rng.random(len(y)) < 0.35                       # 65 % of the hours missing
    ys = y[keep].copy()
    ys.iloc[len(ys) // 2] += 40
    a = F.detect_anomalies(ys)
    t = ys.index[len(ys) // 2]
    assert ((a.windows.start <= t) & (a.windows.until > t)).any(), a.windows
    assert a.notes, a.notes          # the grid used and the missing steps are reported
    # irregular timestamps (jittered 5-minute readings) are averaged into their step
    z = seasonal(288 * 8, seed=6)
    jit = pd.to_timedelta(np.random.default_rng(1).integers(0, 120, len(z)), unit="s")
    zi = pd.Series(z.to_numpy(), index=z.index + jit)
    b = F.detect_anomalies(zi)
    assert b.step == pd.Timedelta("5min") and any("irregular" in n for n in b.notes)
    with pytest.raises(ToolkitError, match="too few observed values.*24"):
        F.detect_anomalies(y.iloc[:10])


def test_a_daily_series_in_local_time_across_a_dst_change_keeps_its_days():
    """Local midnights are 23 or 25 hours apart across a DST change: the grid is the calendar day
    (no two days averaged into one, no later day reported a day early); hourly data stays on its
    absolute hours."""
    rng = np.random.default_rng(3)
    v = rng.normal(100, 2, 120)
    v[100] = 160                                          # 2026-04-11, after the change of 29 March
    y = pd.Series(v, index=pd.date_range("2026-01-01", periods=120, freq="D", tz="Europe/Berlin"))
    a = F.detect_anomalies(y)
    assert len(a.points) == 120 and a.points.index.equals(y.index), a.points.index[85:90]
    np.testing.assert_array_equal(a.points["value"].to_numpy(), v)
    assert not any("irregular" in n for n in a.notes), a.notes
    assert y.index[100] in set(a.windows["start"]), a.windows[["start", "kind"]]
    h = pd.Series(rng.normal(100, 2, 24 * 40), index=pd.date_range("2026-03-01", periods=24 * 40, freq="h",
                                                                     tz="Europe/Berlin"))
    b = F.detect_anomalies(h)
    assert b.points.index.equals(h.index) and not b.notes, b.notes


def test_a_few_points_seconds_apart_and_one_far_later_build_no_huge_grid():
    """The grid of the median step (1 s) over the span (a year: 31.5 million steps) was built
    before being found too sparse: 0.8 GB here, tens of GB for a century-long file of 31 rows."""
    import tracemalloc

    idx = pd.DatetimeIndex(list(pd.date_range("2026-01-01", periods=30, freq="s")) + [pd.Timestamp("2027-01-01")])
    y = pd.Series(np.arange(31.0), index=idx)
    tracemalloc.start()
    try:
        with pytest.raises(ToolkitError, match="too few observed values"):
            F.detect_anomalies(y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB"
    # a dense series keeps its own step
    z = seasonal(288 * 3)
    assert F.detect_anomalies(z).step == pd.Timedelta("5min")


def test_second_level_data_is_analysed_in_bounded_memory(monkeypatch):
    """The same-time-of-day medians were one (points x lags) matrix: 8,640 steps a day on
    10-second data is 609 lags, 1.1 GB for three days; 5-second data, 4 GB; 1-second data over
    a week, hundreds of GB. They are computed in blocks of rows, with the same result."""
    import tracemalloc

    from toolkit.forecasting import _multiscale as M

    y = seasonal(8640 * 3, freq="10s", seed=11)
    tracemalloc.start()
    try:
        a = F.detect_anomalies(y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert a.periods == (8640,) and peak < 300e6, f"{peak / 1e6:.0f} MB"
    # blocks of a few rows give what one block gives
    x = seasonal(288 * 9, seed=12).to_numpy().copy()
    x[100:400] = np.nan
    whole = M.seasonal_median(x, 288, 7), M.local_scale(x - 50, pd.Timedelta("5min"))
    monkeypatch.setattr(M, "_BLOCK_CELLS", 5000)
    np.testing.assert_array_equal(M.seasonal_median(x, 288, 7), whole[0])
    np.testing.assert_array_equal(M.local_scale(x - 50, pd.Timedelta("5min")), whole[1])


def test_old_knobs_raise_a_clear_error_or_still_work():
    y = seasonal(24 * 21, freq="h", seed=8)
    with pytest.raises(ToolkitError, match="alarms_per_week"):
        F.detect_anomalies(y, level=0.99)
    assert F.detect_anomalies(y, method="stl", level=0.999).method.startswith("outlier-cleaned")
    with pytest.raises(ToolkitError, match="alarms_per_week must be"):
        F.detect_anomalies(y, alarms_per_week=0)
    assert F.AnomalyOptions().alarms_per_week == F.DEFAULT_ALARMS_PER_WEEK == 0.1


def test_cycle_and_smoothing_lengths_are_checked():
    """A season or period longer than the series asked for a (points x millions of lags) matrix
    (season=10**9: a 150 GiB MemoryError); text where a number belongs was a bare ValueError."""
    y = seasonal(24 * 21, freq="h", seed=8)
    for kw in ({"season": 10 ** 9}, {"periods": [24, 10 ** 9]}):
        with pytest.raises(ToolkitError, match=r"(season|periods) .*at most the series' 504 steps.*1000000000"):
            F.detect_anomalies(y, **kw)
    for kw in ({"season": "x"}, {"periods": ["x"]}, {"smooth": "x"}, {"smooth": ["x"]}):
        with pytest.raises(ToolkitError, match=next(iter(kw))):
            F.detect_anomalies(y, **kw)
    assert F.detect_anomalies(y, season=24).periods == (24,)
    assert F.detect_anomalies(y, periods=[504]).periods == (504,)


def test_weights_that_weigh_nothing_or_are_not_numbers_are_refused():
    """No positive weight left every score NaN (a 'Mean of empty slice' warning and silently no
    window); text weights were a bare ValueError."""
    y = seasonal(24 * 21, freq="h", seed=8)
    for w in (np.zeros(len(y)), np.full(len(y), np.nan), -np.ones(len(y))):
        with pytest.raises(ToolkitError, match="weights"):
            F.detect_anomalies(y, weights=w)
    with pytest.raises(ToolkitError, match="weights"):
        F.detect_anomalies(y, weights=["a"] * len(y))


def test_twenty_thousand_points_in_under_two_seconds():
    import time

    y = seasonal(20_000, seed=11)
    F.detect_anomalies(y.iloc[:3000])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        F.detect_anomalies(y)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[1] < 2.0, times


def test_windows_explain_themselves_and_weights_are_used():
    y = seasonal(24 * 7 * 4, freq="h", seed=12)
    y.iloc[400] += 25
    n = pd.Series(20.0, index=y.index)
    n.iloc[300] = 0.0                                      # no observations behind this value
    y.iloc[300] += 40
    a = F.detect_anomalies(y, weights=n, alarms_per_week=0.5)
    assert a.windows.start.eq(y.index[400]).any() and not a.windows.start.eq(y.index[300]).any(), a.windows
    w = a.windows[a.windows.start == y.index[400]].iloc[0]
    assert w.kind == "spike" and w.direction == "high" and w["size"] > 5 and w.ratio > 1
    assert w.expected_lo < w.expected < w.expected_hi < y.iloc[400]
    assert {"start", "until", "kind", "size", "ratio", "expected_lo", "expected_hi"} <= set(a.summary_table().columns)
    assert a.to_dict()["windows"][0]["kind"] in F.KINDS


def test_small_counts_are_read_on_a_square_root_scale():
    # messages an hour in one topic: Poisson counts around 0.2-3, a 4-hour burst of ~12 an hour
    t = np.arange(24 * 28)
    rate = 0.2 + 2.8 * np.clip(np.sin(np.pi * ((t % 24) - 6) / 16), 0, None)
    n = np.random.default_rng(21).poisson(rate).astype(float)
    at = 24 * 20 + 10
    n[at : at + 4] += 10
    y = pd.Series(n, index=pd.date_range("2026-03-02", periods=t.size, freq="h"))
    a = F.detect_anomalies(y, direction="high")
    assert a.method.startswith("square-root scale"), a.method
    hit = a.windows[(a.windows.start <= y.index[at + 3]) & (a.windows.until > y.index[at])]
    assert len(hit) == 1 and hit.start.iloc[0] == y.index[at], a.windows
    assert len(a.windows) - len(hit) <= 1, a.windows          # one count at a quiet hour is no spike
    assert (a.points["expected"] >= 0).all()


def test_a_few_counts_after_a_quiet_stretch_are_judged_by_their_poisson_tail():
    """Error counts that are usually zero: 7 after 199 zeros was not flagged (the square-root
    scale's sd floor and the fallback threshold); its Poisson tail at the quiet rate is tiny."""
    for c, flagged in ((7, True), (1, False)):
        v = np.zeros(200)
        v[-1] = c
        y = pd.Series(v, index=pd.date_range("2026-01-01", periods=200, freq="h"))
        a = F.detect_anomalies(y)
        assert (len(a.windows) == 1 and a.windows.start.iloc[0] == y.index[-1]) == flagged, (c, a.windows)
        assert a.thresholds.rule.iloc[0] == "count tail"


@pytest.mark.parametrize("dispersion", [1.0, 3.0])
def test_false_alarms_on_clean_counts_stay_near_what_was_asked(dispersion):
    """Clean Poisson (and overdispersed negative binomial) counts at a few rates: the count tail
    keeps the false alarms a week near the rate asked (under it for the rarest counts, whose
    tail probabilities are coarse steps)."""
    n, reps, weeks = 24 * 7 * 12, 3, 12 * 3
    rng = np.random.default_rng(28)
    for lam in (0.05, 0.5, 2.0, 8.0):
        mu = np.full((reps, n), lam)
        x = rng.poisson(mu) if dispersion == 1 else rng.negative_binomial(mu / (dispersion - 1), 1 / dispersion)
        idx = pd.date_range("2026-01-05", periods=n, freq="h")
        wins = sum(len(F.detect_anomalies(pd.Series(x[r].astype(float), index=idx), alarms_per_week=1.0).windows)
                   for r in range(reps))
        rate = wins / weeks
        assert rate <= 2.0 and (lam < 1 or rate >= 0.4), (lam, rate)


def test_array_weights_follow_their_values_when_the_input_is_unsorted():
    """Weights given as an array belong to the values in the order given (they were matched to
    the sorted grid by position: a shuffled series got another point's weights)."""
    y = seasonal(24 * 7 * 4, freq="h", seed=12)
    y.iloc[400] += 25
    n = np.full(len(y), 20.0)
    n[300] = 0.0                                         # no observations behind this value
    y.iloc[300] += 40
    order = np.random.default_rng(3).permutation(len(y))
    ref = F.detect_anomalies(y, weights=n, alarms_per_week=0.5).windows
    got = F.detect_anomalies(y.iloc[order], weights=n[order], alarms_per_week=0.5).windows
    pd.testing.assert_frame_equal(got, ref)
    assert not got.start.eq(y.index[300]).any()
    # as a Series on other timestamps, or of another length: refused, naming weights
    with pytest.raises(ToolkitError, match="weights"):
        F.detect_anomalies(y, weights=n[:-1])
    # a reversed date_range (its freq is negative) is the same series
    pd.testing.assert_frame_equal(F.detect_anomalies(y.iloc[::-1], weights=n[::-1], alarms_per_week=0.5).windows, ref)
    # the model methods align them the same way
    kw = dict(method="stl", smooth=1, periods=[24])
    pd.testing.assert_frame_equal(F.detect_anomalies(y.iloc[order], weights=n[order], **kw).windows,
                                  F.detect_anomalies(y, weights=n, **kw).windows)


def test_a_spike_on_a_wandering_level_is_judged_against_its_surroundings():
    """The seasonal baseline cannot follow an hour-scale wander of the level (real KPIs wander);
    a spike of 15 times the point-to-point noise on a level wandering by about 1 was judged
    against the wander and missed. Short scales are scored against their own surroundings."""
    from scipy.signal import lfilter

    n, found, false = 288 * 21, 0, 0
    t = np.arange(n)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        wander = lfilter([0.2], [1, -0.98], rng.normal(0, 1, n))          # AR(1), sd about 1
        v = 50 + 10 * np.sin(2 * np.pi * t / 288) + wander + rng.normal(0, 0.2, n)
        at = 288 * 15 + 37 * seed
        v[at] += 3.0
        y = pd.Series(v, index=pd.date_range("2026-01-05", periods=n, freq="5min"))
        w = F.detect_anomalies(y, alarms_per_week=1.0).windows
        hit = (w.start <= y.index[at]) & (w.until > y.index[at])
        found += bool(hit.any())
        false += int((~hit).sum())
    assert found == 3, found
    assert false / 9 <= 2.0, false                  # 3 weeks each: near the 1 a week asked


def test_a_lasting_shift_flags_its_onset_and_says_how_long_it_lasted():
    # a three-day shift: the window ends where the median of the last day has absorbed half of
    # it (about half a day in), not three days later; lasts_until says how long it lasted
    y = seasonal(288 * 21, seed=5)
    at, length = 288 * 15 + 100, 288 * 3
    y.iloc[at : at + length] += 8
    a = F.detect_anomalies(y, alarms_per_week=0.1)
    s, e = y.index[at], y.index[at + length - 1]
    hit = a.windows[(a.windows.start <= e) & (a.windows.until > s)]
    assert len(hit) == 1 and hit.kind.iloc[0] == "level_shift", hit
    w = hit.iloc[0]
    assert abs(w.start - s) <= pd.Timedelta("1h"), w
    assert pd.Timedelta("10h") <= w.until - w.start <= pd.Timedelta("14h"), w
    assert w.lasts_until >= e - pd.Timedelta("2h"), w
    # the points after the onset are not flagged; a three-hour burst keeps its whole window
    assert not a.points.flag[w.until + pd.Timedelta("1h") : e].any()
    z = seasonal(288 * 21, seed=6)
    z.iloc[at : at + 36] += 8
    b = F.detect_anomalies(z, alarms_per_week=0.1).windows
    hb = b[(b.start <= z.index[at + 35]) & (b.until > z.index[at])]
    assert len(hb) == 1 and hb.until.iloc[0] - hb.start.iloc[0] >= pd.Timedelta("2h45min"), hb
    assert (hb.lasts_until == hb.until).all(), hb


def test_the_count_that_is_the_incident_does_not_set_the_dispersion_of_a_short_series():
    """Under 100 counts the "bulk" (the smallest 99 % of the Pearson residuals) was every count,
    the incident too: 9 errors after 47 quiet hours made the counts look overdispersed (phi 81)
    and scored 3.3 under a negative binomial, under its threshold (the square-root scale before
    the count tail flagged it). The largest residual is left out of the dispersion."""
    from toolkit.forecasting._multiscale import count_z

    x = np.r_[np.zeros(47), 9.0]
    z, phi = count_z(x, np.full(48, 0.5 / 24))
    assert phi == 1.0 and z[-1] > 9
    y = pd.Series(x, index=pd.date_range("2026-01-01", periods=48, freq="h"))
    w = F.detect_anomalies(y).windows
    assert len(w) == 1 and w.start.iloc[0] == y.index[-1] and w.kind.iloc[0] == "spike", w


def test_one_huge_count_is_one_spike_not_alarms_around_it():
    """The expected rate of a count is the mean over a week around it: one count of 5,000 among
    hourly counts of about 0.3 raised its neighbours' rate to about 30, so the zeros beside it
    were 'low spikes' (7 false windows and a variance change); a million made a week-long level
    shift starting three days early. The counts entering a neighbour's rate are capped at the
    series' 99th percentile (at least 1): one spike, at the hour, as before the count tail."""
    idx = pd.date_range("2026-01-05", periods=24 * 28, freq="h", tz="UTC")
    c = np.random.default_rng(0).poisson(0.3, len(idx)).astype(float)
    for big in (5000.0, 1e6):
        x = c.copy()
        x[300] = big
        w = F.detect_anomalies(pd.Series(x, idx)).windows
        assert len(w) == 1 and w.start.iloc[0] == idx[300] and w.kind.iloc[0] == "spike", (big, w)


def test_series_weights_must_be_indexed_by_timestamps_of_the_same_kind():
    """A Series of weights is matched to the values by its timestamps: naive weights on an
    aware series (or the reverse) were silently taken to be in the series' zone (UTC for a naive
    series): refused, as the log refuses to guess a zone; an index of numbers (pd.Series(list))
    was read as nanoseconds since 1970 and ended in "no observed value has a positive weight"."""
    idx = pd.date_range("2026-01-05", periods=24 * 14, freq="h", tz="UTC")
    v = 10 + np.random.default_rng(1).normal(0, 1, len(idx))
    w = np.full(len(idx), 4.0)
    with pytest.raises(ToolkitError, match="naive"):
        F.detect_anomalies(pd.Series(v, idx), weights=pd.Series(w, idx.tz_localize(None)))
    with pytest.raises(ToolkitError, match="naive"):
        F.detect_anomalies(pd.Series(v, idx.tz_localize(None)), weights=pd.Series(w, idx))
    with pytest.raises(ToolkitError, match="numbers.*pass an array"):
        F.detect_anomalies(pd.Series(v, idx), weights=pd.Series(w))
    # the same instants in another zone are the same timestamps
    ref = F.detect_anomalies(pd.Series(v, idx), weights=w).points
    pd.testing.assert_frame_equal(
        F.detect_anomalies(pd.Series(v, idx), weights=pd.Series(w, idx.tz_convert("Asia/Tokyo"))).points, ref)


def test_a_reversed_date_range_works_with_the_model_methods_too():
    """A reversed date_range keeps its (negative) freq, which the model methods, forecasts and
    decompositions passed on as the grid: "timestamps must be regular (every -1h ...); 504 off
    the grid". The detector's own grid was fixed; these read the same series now."""
    y = seasonal(24 * 21, freq="h", seed=8)
    for method in ("stl", "onestep"):
        pd.testing.assert_frame_equal(F.detect_anomalies(y.iloc[::-1], method=method).points,
                                      F.detect_anomalies(y, method=method).points)
    pd.testing.assert_frame_equal(F.forecast(y.iloc[::-1], horizon=3).frame, F.forecast(y, horizon=3).frame)


def test_data_on_two_levels_keep_the_false_alarm_rate():
    """Ratings of 4 and 5 at random: the departure from the 5-point running median is 0 most of
    the time, its MAD 0, and the 90th-percentile spread took one step for 3.3 sd: every step was
    a spike (45 windows over ten 4-week series at 0.1 a week asked, where about 4 are expected).
    The spread of such departures is their root mean square."""
    idx = pd.date_range("2026-01-05", periods=24 * 28, freq="h", tz="UTC")
    n = sum(len(F.detect_anomalies(pd.Series(np.random.default_rng(s).integers(4, 6, len(idx)).astype(float), idx),
                                   transform=None).windows) for s in range(10))
    assert n <= 8, n


def test_whole_numbers_with_a_small_spread_keep_the_false_alarm_rate():
    """Rounded N(50, 3), hourly, 8 weeks, 1 a week asked: whole numbers on about 20 levels
    (a reported case of about 16 windows where 8 are asked: that is at 5-10-minute steps, 14-16
    windows against 12-13.5 unrounded, see the README; hourly it is not). Measured hourly over 40
    seeds: 9.6 windows on average (6-14), as many as the same data unrounded (9.7, 4-15); this
    holds it there (within the factor 2 of the calibration test)."""
    idx = pd.date_range("2026-01-05", periods=24 * 56, freq="h")
    rounded, plain = [], []
    for s in range(6):
        v = np.random.default_rng(s).normal(50, 3, len(idx))
        rounded.append(len(F.detect_anomalies(pd.Series(np.round(v), idx), alarms_per_week=1).windows))
        plain.append(len(F.detect_anomalies(pd.Series(v, idx), alarms_per_week=1).windows))
    assert 4 * 6 <= sum(rounded) <= 16 * 6, rounded
    assert sum(rounded) <= 1.5 * sum(plain), (rounded, plain)


@pytest.mark.parametrize("seed", [0, 3])
def test_a_variance_change_at_five_minute_steps_is_one_window(seed):
    """Half a day of 5x noise: the point and hour scales flag its deviations up and down in turn;
    it is one variance-change window, not a dozen spikes and bursts (the review's reproducer: the
    runs were cut at every turn of sign, giving 11-26 windows in the change)."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2026-01-01", periods=21 * 288, freq="5min")
    day = np.asarray((idx - idx[0]) / pd.Timedelta(days=1))
    noise = rng.normal(0, 3, len(idx))
    noise[(day >= 14) & (day < 14.5)] *= 5
    y = pd.Series(100 + 20 * np.sin(2 * np.pi * day) + noise, index=idx)
    w = F.detect_anomalies(y, alarms_per_week=1).summary_table()
    inside = w[(w["start"] < idx[0] + pd.Timedelta(days=14.6)) & (w["until"] > idx[0] + pd.Timedelta(days=13.9))]
    assert inside["kind"].tolist() == ["variance_change"]
