"""Sequential testing: the always-valid sequence keeps its error rate under continuous monitoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.ab.sequential import (
    confidence_sequence,
    mixture_log_lr,
    mixture_radius,
    optimal_tau2,
    sequential_test,
)


def test_radius_is_where_the_mixture_lr_reaches_one_over_alpha():
    v, tau2, alpha = 0.004, 0.03, 0.05
    r = float(mixture_radius(v, tau2, alpha))
    assert float(mixture_log_lr(r, v, tau2)) == pytest.approx(math.log(1 / alpha), abs=1e-12)
    assert float(mixture_log_lr(-r, v, tau2)) == pytest.approx(math.log(1 / alpha), abs=1e-12)
    # the optimal tau2 minimises the radius at v
    t0 = optimal_tau2(v, alpha)
    assert float(mixture_radius(v, t0)) < min(float(mixture_radius(v, t0 * 1.2)), float(mixture_radius(v, t0 / 1.2)))


def _naive_peeking_rejects(y, is_t, min_n=30):
    """Reject at the first look (every unit) where the fixed-horizon z-test has p < 0.05."""
    out = []
    for mask in (~is_t, is_t):
        n = np.cumsum(mask)
        s1 = np.cumsum(np.where(mask, y, 0.0))
        s2 = np.cumsum(np.where(mask, y * y, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            m = s1 / n
            v = (s2 - n * m * m) / (n - 1) / n
        out.append((n, m, v))
    (nc, mc, vc), (nt, mt, vt) = out
    ok = (nc >= min_n) & (nt >= min_n) & (vc + vt > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(mt - mc) / np.sqrt(vc + vt)
    return bool(np.any(ok & (z > 1.959963984540054)))


@pytest.mark.parametrize("kind", ["normal", "binary"])
def test_false_positive_rate_under_continuous_monitoring(kind):
    rng = np.random.default_rng(2024 if kind == "normal" else 2025)
    S, N = 400, 3000
    seq_rej = naive_rej = final_rej = 0
    for _ in range(S):
        is_t = rng.random(N) < 0.5
        y = rng.normal(0, 1, N) if kind == "normal" else (rng.random(N) < 0.2).astype(float)
        res = confidence_sequence(y, is_t, alpha=0.05)
        seq_rej += res.rejected
        naive_rej += _naive_peeking_rejects(y, is_t)
        final_rej += stats.ttest_ind(y[is_t], y[~is_t], equal_var=False).pvalue < 0.05
    # always-valid: at most alpha (one-sided binomial check at the 0.1 % level)
    assert stats.binomtest(seq_rej, S, 0.05, alternative="greater").pvalue > 0.001, seq_rej / S
    # naive peeking after every unit: far above alpha; the single final look is fine
    assert naive_rej / S > 0.2, naive_rej / S
    assert stats.binomtest(int(final_rej), S, 0.05).pvalue > 0.001


def test_sequence_covers_a_planted_effect_at_all_times_and_detects_it():
    rng = np.random.default_rng(7)
    S, N, effect = 300, 3000, 0.2
    miss = detect = 0
    for _ in range(S):
        is_t = rng.random(N) < 0.5
        y = rng.normal(0, 1, N) + effect * is_t
        # a look after every unit: the time-uniform guarantee is checked at every time, not
        # at a sample of times
        lk = confidence_sequence(y, is_t, n_looks=N).looks
        assert len(lk) >= N - 200  # all units from the first one with min_n per arm
        missed = bool(((lk["lower"] > effect) | (lk["upper"] < effect)).any())
        # the reported sequence is the running intersection, so its last interval tells the same
        res = confidence_sequence(y, is_t)
        assert missed == (not res.cs_low <= effect <= res.cs_high)
        miss += missed
        detect += res.rejected
    assert stats.binomtest(miss, S, 0.05, alternative="greater").pvalue > 0.001, miss / S
    assert detect / S > 0.6


def test_sequence_is_wider_than_fixed_horizon_and_narrows():
    rng = np.random.default_rng(3)
    N = 5000
    is_t = rng.random(N) < 0.5
    y = rng.normal(0, 1, N)
    res = confidence_sequence(y, is_t, n_looks=50)
    w = stats.ttest_ind(y[is_t], y[~is_t], equal_var=False).confidence_interval()
    assert res.cs_high - res.cs_low > w.high - w.low
    widths = (res.looks["upper"] - res.looks["lower"]).to_numpy()
    assert np.all(np.diff(widths) <= 1e-12) and len(res.looks) == 50
    assert res.cs_low <= res.estimate <= res.cs_high


def test_ratio_sequence_and_dataframe_interface():
    rng = np.random.default_rng(4)
    n = 4000
    start = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.random(n)) * 30, unit="D")
    arm = rng.choice(["A", "B"], n)
    turns = rng.integers(1, 6, n)
    per_turn = np.where(arm == "B", 1.5, 1.0)  # B is slower: 1.5 s vs 1.0 s per turn on average
    units = pd.DataFrame({"variant": arm, "start_time": start, "n_turns": turns,
                          "rt": turns * rng.gamma(4.0, per_turn / 4.0)})
    res = sequential_test(units.sample(frac=1, random_state=1), "rt", control="A", treatment="B",
                          denominator="n_turns")
    assert res.rejected and res.cs_low > 0 and "delta-method ratio" in res.method
    assert res.first_rejection_time is not None and res.first_rejection_time.tzinfo is not None
    assert res.first_rejection_time < start.max()
    assert res.cs_low <= 0.5 <= res.cs_high
    assert res.looks["time"].is_monotonic_increasing


def test_sequential_columns_in_analysis_and_errors():
    from toolkit.ab.analysis import analyze

    rng = np.random.default_rng(5)
    n = 3000
    units = pd.DataFrame({"variant": rng.choice(["A", "B"], n),
                          "start_time": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
                          "x": rng.normal(0, 1, n)})
    res = analyze(units, "x:continuous")
    row = res.table.iloc[0]
    assert row["seq_low"] < row["abs_ci_low"] and row["seq_high"] > row["abs_ci_high"]
    assert "x|B" in res.sequential and row["seq_method"].startswith("mSPRT")
    no_time = analyze(units.drop(columns="start_time"), "x:continuous")
    assert "seq_low" not in no_time.table and any("sequential analysis skipped" in s for s in no_time.notes)
    with pytest.raises(ValueError, match="at least 30 units per arm"):
        confidence_sequence(np.ones(20), np.arange(20) % 2 == 0)
    with pytest.raises(ValueError, match="column 'y' not found"):
        sequential_test(units, "y", control="A", treatment="B")


@pytest.mark.parametrize("ratio", [False, True])
def test_sparse_looks_agree_with_every_unit(ratio):
    from toolkit.ab.sequential import _running_stats

    rng = np.random.default_rng(6)
    N = 20000
    is_t = rng.random(N) < 0.4
    den = rng.integers(1, 6, N).astype(float) if ratio else None
    y = (den if ratio else 1.0) * rng.gamma(2.0, 1.0, N)
    pos = np.unique(np.linspace(0, N - 1, 501).round().astype(int))
    every = _running_stats(y, is_t, den, np.arange(N))
    sparse = _running_stats(y, is_t, den, pos)
    for key in "ct":
        for a, b in zip(every[key], sparse[key]):
            a = np.asarray(a, dtype=float)[pos]
            ok = np.isfinite(a)
            assert np.array_equal(ok, np.isfinite(b))
            assert np.allclose(a[ok], np.asarray(b)[ok], rtol=1e-9, atol=0)
    full = confidence_sequence(y, is_t, denominator=den)
    coarse = confidence_sequence(y, is_t, denominator=den, max_looks=500)
    assert coarse.estimate == pytest.approx(full.estimate, rel=1e-12)
    # fewer looks: the running intersection can only be wider, the p-value only larger
    assert coarse.cs_low <= full.cs_low + 1e-12 and coarse.cs_high >= full.cs_high - 1e-12
    assert coarse.p_value >= full.p_value - 1e-12
