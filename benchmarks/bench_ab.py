"""A/B: planning solves and power curves (slider speed), and the analysis of 1M units x 3 metrics.

Targets (issue 4): a sample-size solve <= 0.1 ms, a 200-point power curve <= 2 ms, the analysis of
1,000,000 units x 3 metrics <= 1 s without bootstrap. Baselines run in the same process:
statsmodels' power solvers and per-point power calls, and scipy/statsmodels tests on per-arm
arrays.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from common import median_time


def _per_call(fn, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean time of one call (seconds), from ``calls`` calls."""
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t) / calls)
    return statistics.median(out)


def run(quick: bool = False) -> list[dict]:
    import pandas as pd
    from scipy import stats
    from statsmodels.stats.power import NormalIndPower, TTestIndPower
    from statsmodels.stats.proportion import proportion_effectsize, proportions_ztest

    from toolkit.ab.analysis import analyze
    from toolkit.ab.power import (plan_means, plan_proportions, power_curve, power_means,
                                  sample_size_means, sample_size_proportions)

    reps = 5 if quick else 9
    calls = 200 if quick else 1000
    rows = []

    # -- planning: one sample-size solve -------------------------------------------------------
    tt = TTestIndPower()
    t_exact = _per_call(lambda: sample_size_means(0.37, power=0.85), calls, reps)
    t_sm = _per_call(lambda: tt.solve_power(0.37, nobs1=None, alpha=0.05, power=0.85), calls // 20, reps)
    rows.append({"metric": "sample size, exact noncentral t (solve)", "value": t_exact * 1e3, "unit": "ms",
                 "baseline": t_sm * 1e3, "ratio": t_sm / t_exact,
                 "note": "target <= 0.1 ms; baseline statsmodels TTestIndPower.solve_power; ratio = speed-up"})
    t_plan = _per_call(lambda: plan_means(effect_size=0.37, power=0.85), calls, reps)
    rows.append({"metric": "plan_means(...) full result (solve, rounding, achieved power)", "value": t_plan * 1e3,
                 "unit": "ms", "note": "dataclass with method name; target <= 0.1 ms"})
    h = proportion_effectsize(0.32, 0.30)
    nip = NormalIndPower()
    t_prop = _per_call(lambda: sample_size_proportions(0.30, 0.02), calls, reps)
    t_nsm = _per_call(lambda: nip.solve_power(h, nobs1=None, alpha=0.05, power=0.8), calls // 20, reps)
    rows.append({"metric": "sample size, pooled normal (R power.prop.test)", "value": t_prop * 1e3, "unit": "ms",
                 "baseline": t_nsm * 1e3, "ratio": t_nsm / t_prop,
                 "note": "closed form; baseline statsmodels NormalIndPower.solve_power (Cohen's h)"})
    t_pplan = _per_call(lambda: plan_proportions(baseline=0.30, mde=0.02, daily_traffic=1000), calls, reps)
    rows.append({"metric": "plan_proportions(...) full result", "value": t_pplan * 1e3, "unit": "ms",
                 "note": "target <= 0.1 ms"})

    # -- planning: 200-point power curves --------------------------------------------------------
    n = np.linspace(3, 600, 200)
    t_curve = _per_call(lambda: power_means(n, 0.3), calls // 5, reps)
    t_loop = _per_call(lambda: [tt.power(0.3, float(k), 0.05) for k in n], 2, max(3, reps // 2))
    rows.append({"metric": "power curve, exact t, 200 points", "value": t_curve * 1e3, "unit": "ms",
                 "baseline": t_loop * 1e3, "ratio": t_loop / t_curve,
                 "note": "target <= 2 ms; baseline 200 statsmodels TTestIndPower.power calls; ratio = speed-up"})
    plan = plan_proportions(baseline=0.3, mde=0.02)
    t_pcurve = _per_call(lambda: power_curve(plan), calls // 5, reps)
    rows.append({"metric": "power curve, proportions (pooled), 200 points", "value": t_pcurve * 1e3, "unit": "ms",
                 "note": "from a PowerResult, as the widget draws it"})
    try:
        from toolkit.ab.widgets import planning_panel

        panel = planning_panel(draw_curve=False)
        vals = iter(np.r_[np.linspace(0.01, 0.05, 41)] .tolist() * 50)
        t_w = _per_call(lambda: setattr(panel.controls["mde"], "value", next(vals)), 20, reps)
        panel.draw_curve = True
        t_wc = _per_call(lambda: setattr(panel.controls["mde"], "value", next(vals)), 3, max(3, reps // 2))
        rows.append({"metric": "planning widget: MDE change -> sample-size text", "value": t_w * 1e3, "unit": "ms",
                     "note": "recompute plan, update HTML widgets (no curve)"})
        rows.append({"metric": "planning widget: MDE change incl. power-curve PNG", "value": t_wc * 1e3,
                     "unit": "ms", "note": "matplotlib Agg render dominates"})
    except ImportError:  # pragma: no cover
        pass

    # -- analysis: 1M units x 3 metrics -----------------------------------------------------------
    size = 200_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    arm = rng.random(size) < 0.5
    turns = rng.integers(1, 8, size)
    units = pd.DataFrame({
        "variant": np.where(arm, "B", "A"),
        "start_time": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.random(size)) * 30, unit="D"),
        "resolved": rng.random(size) < np.where(arm, 0.62, 0.60),
        "satisfaction": np.clip(rng.normal(np.where(arm, 0.71, 0.70), 0.2), 0, 1),
        "total_rt": turns * rng.gamma(4.0, 0.35, size),
        "n_turns": turns,
    })
    spec = "resolved:binary,satisfaction:continuous,rt:ratio:total_rt/n_turns:lower"
    r_reps = 3 if quick else 5
    t_core = median_time(lambda: analyze(units, spec, sequential=False, nonparametric=False), repeats=r_reps)
    t_full = median_time(lambda: analyze(units, spec), repeats=max(2, r_reps - 2))

    def baseline(mann_whitney: bool):
        g = units.groupby("variant")
        a, b = (units["variant"] == "A").to_numpy(), (units["variant"] == "B").to_numpy()
        res = units["resolved"].to_numpy()
        proportions_ztest([res[b].sum(), res[a].sum()], [b.sum(), a.sum()])
        s = units["satisfaction"].to_numpy()
        stats.ttest_ind(s[b], s[a], equal_var=False)
        if mann_whitney:
            stats.mannwhitneyu(s[b], s[a])
        # ratio: per-arm sums via groupby; the delta-method variance via per-arm covariance
        sums = g[["total_rt", "n_turns"]].sum()
        for m in (a, b):
            np.cov(units["total_rt"].to_numpy()[m], units["n_turns"].to_numpy()[m])
        return sums

    t_base = median_time(lambda: baseline(False), repeats=max(2, r_reps - 2))
    t_base_mw = median_time(lambda: baseline(True), repeats=max(2, r_reps - 2))
    rows.append({"metric": f"analyze {size:,} units x 3 metrics (binary, continuous, ratio)", "value": t_core,
                 "unit": "s", "baseline": t_base, "ratio": t_base / t_core,
                 "note": "target <= 1 s; no bootstrap, no Mann-Whitney, no sequence; baseline: the bare "
                         "scipy/statsmodels tests on per-arm arrays (no lifts, CIs, SRM, verdicts); ratio = speed-up"})
    rows.append({"metric": f"analyze {size:,} units x 3 metrics, full default", "value": t_full, "unit": "s",
                 "baseline": t_base_mw, "ratio": t_base_mw / t_full,
                 "note": "adds Mann-Whitney and always-valid confidence sequences (time-sorted, 20,000 looks); "
                         "baseline: the bare tests incl. Mann-Whitney"})
    t_boot = median_time(lambda: analyze(units.iloc[: size // 10], spec, sequential=False, bootstrap=1000, seed=0),
                         repeats=2, warmup=0)
    rows.append({"metric": f"analyze {size // 10:,} units x 3 metrics, bootstrap 1000 (pct + BCa)",
                 "value": t_boot, "unit": "s", "note": "for scale: bootstrap is opt-in"})
    rows += _second_wave(units, spec, size, r_reps, t_core)
    rows += own_vs_library(quick)
    return rows


def own_vs_library(quick: bool = False) -> list[dict]:
    """The bootstrap and the paired tests kept in toolkit.ab against the library calls they
    would otherwise delegate to (issue 21): scipy.stats.bootstrap, ttest_rel / wilcoxon /
    binomtest, statsmodels mcnemar. The figures are quoted at the top of ab/bootstrap.py and
    ab/paired.py."""
    from scipy import stats
    from statsmodels.stats.contingency_tables import mcnemar

    from toolkit.ab.bootstrap import bootstrap_ci
    from toolkit.ab.paired import mcnemar_pvalue, paired_pvalues

    rng = np.random.default_rng(5)
    rows = []
    n, B = (2_000, 1000) if quick else (10_000, 2000)
    xc, xt = rng.gamma(2.0, 1.0, n), rng.gamma(2.0, 1.05, n)
    t_own = median_time(lambda: bootstrap_ci(xc, xt, n_resamples=B, seed=0), repeats=3)
    t_sp = median_time(lambda: stats.bootstrap((xc, xt), lambda a, b, axis=-1: b.mean(axis) - a.mean(axis),
                                               n_resamples=B, method="BCa", vectorized=True,
                                               batch=250, random_state=0), repeats=3)
    rows.append({"metric": f"bootstrap_ci continuous, {n:,} per arm, {B} resamples (pct + BCa)",
                 "value": t_own, "unit": "s", "baseline": t_sp, "ratio": t_sp / t_own,
                 "note": "baseline scipy.stats.bootstrap(method='BCa', vectorized, batch=250); ratio = speed-up"})
    nb = 20_000  # scipy's BCa jackknife holds batch x n indices (without batch=: n x n)
    bc, bt = (rng.random(nb) < 0.30).astype(float), (rng.random(nb) < 0.32).astype(float)
    t_own = median_time(lambda: bootstrap_ci(bc, bt, kind="binary", n_resamples=B, seed=0), repeats=3)
    t_sp = median_time(lambda: stats.bootstrap((bc, bt), lambda a, b, axis=-1: b.mean(axis) - a.mean(axis),
                                               n_resamples=B, method="BCa", vectorized=True,
                                               batch=250, random_state=0), repeats=1, warmup=0)
    rows.append({"metric": f"bootstrap_ci binary, {nb:,} per arm, {B} resamples (pct + BCa)",
                 "value": t_own, "unit": "s", "baseline": t_sp, "ratio": t_sp / t_own,
                 "note": "binomial resampling of the count; baseline scipy.stats.bootstrap (BCa, batch=250; "
                         "its jackknife dominates); ratio = speed-up"})
    S, m = (300, 200) if quick else (2000, 200)
    d = rng.normal(0.1, 1.0, (S, m))
    t_own = median_time(lambda: paired_pvalues(d), repeats=3)
    k = max(20, S // 20)
    t_sp = median_time(lambda: [(stats.ttest_rel(r, np.zeros(m)), stats.wilcoxon(r, method="approx"),
                                 stats.binomtest(int((r > 0).sum()), m)) for r in d[:k]], repeats=3) * S / k
    rows.append({"metric": f"paired t + Wilcoxon + sign p-values, {S:,} experiments x {m} pairs",
                 "value": t_own, "unit": "s", "baseline": t_sp, "ratio": t_sp / t_own,
                 "note": "vectorised (power simulations); baseline scipy ttest_rel + wilcoxon + binomtest "
                         "per experiment; ratio = speed-up"})
    n01, n10 = rng.integers(0, 60, 10_000), rng.integers(0, 60, 10_000)
    t_own = median_time(lambda: mcnemar_pvalue(n01, n10), repeats=3)
    t_sm = median_time(lambda: [mcnemar([[0, a], [b, 0]], exact=(a + b) < 25, correction=False).pvalue
                                for a, b in zip(n01[:500], n10[:500])], repeats=3) * 20
    rows.append({"metric": "McNemar p-values, 10,000 tables", "value": t_own, "unit": "s",
                 "baseline": t_sm, "ratio": t_sm / t_own,
                 "note": "vectorised; baseline statsmodels mcnemar per table; ratio = speed-up"})
    return rows


def _second_wave(units, spec, size, r_reps, t_core) -> list[dict]:
    """Bayesian read-out, CUPED, quantiles and paired tests (issue 15)."""
    from scipy import stats

    from toolkit.ab.analysis import analyze
    from toolkit.ab.paired import compare_paired
    from toolkit.ab.quantiles import quantile_diff

    rows = []
    t_nobayes = median_time(lambda: analyze(units, spec, sequential=False, nonparametric=False,
                                            bayes=False), repeats=r_reps)
    rows.append({"metric": f"analyze {size:,} units x 3 metrics without the Bayesian read-out",
                 "value": t_nobayes, "unit": "s", "baseline": t_core, "ratio": t_nobayes / t_core,
                 "note": "baseline: the same with it (the default); the read-out is a few scalar "
                         "formulas per row"})
    rng = np.random.default_rng(1)
    cov = units.assign(resolved_pre=(rng.random(size) < 0.6).astype(float),
                       satisfaction_pre=np.clip(units["satisfaction"] + rng.normal(0, 0.2, size), 0, 1))
    covs = {"resolved": "resolved_pre", "satisfaction": "satisfaction_pre"}
    t_cuped = median_time(lambda: analyze(cov, spec, sequential=False, nonparametric=False,
                                          covariates=covs), repeats=r_reps)
    rows.append({"metric": f"analyze {size:,} units x 3 metrics, CUPED on 2 of them", "value": t_cuped,
                 "unit": "s", "baseline": t_core, "ratio": t_cuped / t_core,
                 "note": "baseline: without covariates; ratio = cost of the adjustment"})
    n_q = 20_000 if size < 1_000_000 else 100_000
    c, t = rng.gamma(2.0, 0.5, n_q), rng.gamma(2.0, 0.55, n_q)
    t_q = median_time(lambda: quantile_diff(c, t, n_resamples=500, seed=0), repeats=3)

    def naive():  # 50 index resamples with np.quantile each, scaled to 500
        for _ in range(50):
            np.quantile(t[rng.integers(0, n_q, n_q)], [0.5, 0.9, 0.95]) - np.quantile(
                c[rng.integers(0, n_q, n_q)], [0.5, 0.9, 0.95])
    t_naive = median_time(naive, repeats=3) * 10
    rows.append({"metric": f"quantile_diff p50/p90/p95, {n_q:,} values per arm, 500 resamples",
                 "value": t_q, "unit": "s", "baseline": t_naive, "ratio": t_naive / t_q,
                 "note": "values resampled, quantiles of a chunk of resamples per np.quantile call; "
                         "baseline: one np.quantile per resample; ratio = speed-up"})
    cl = np.repeat(np.arange(n_q // 3 + 1), 3)[:n_q]
    t_qc = median_time(lambda: quantile_diff(c, t, n_resamples=500, seed=0, control_clusters=cl,
                                             treatment_clusters=cl), repeats=3)
    rows.append({"metric": f"quantile_diff clustered (3 values per cluster), {n_q:,} per arm, 500 resamples",
                 "value": t_qc, "unit": "s", "baseline": t_q, "ratio": t_qc / t_q,
                 "note": "Poisson weights per cluster, weighted quantiles on one sort; baseline: unclustered"})
    a = rng.normal(0, 1, 10_000)
    b = 0.7 * a + rng.normal(0.05, 0.7, 10_000)
    t_p = median_time(lambda: compare_paired(a, b, n_resamples=2000, seed=0), repeats=3)
    t_pb = median_time(lambda: (stats.ttest_rel(b, a), stats.wilcoxon(b, a),
                                stats.binomtest(int((b > a).sum()), 10_000)), repeats=3)
    rows.append({"metric": "compare_paired 10,000 pairs (t, Wilcoxon, sign, bootstrap 2000)",
                 "value": t_p, "unit": "s", "baseline": t_pb, "ratio": t_pb / t_p,
                 "note": "baseline: scipy ttest_rel + wilcoxon + binomtest alone (no bootstrap)"})
    return rows
