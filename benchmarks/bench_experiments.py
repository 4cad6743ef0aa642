"""Repeated runs of a prompt experiment, by simulation: the repetition-aware analysis against the
naive one, and the planner's predicted power against the simulated power.

Each experiment has ``n`` examples answered ``r`` times by two variants. Scores are
``u_i + v_{i,variant} + lift * [treatment] + e``: a shared example level ``u`` (SD 1), a
variant-specific part whose SD makes the SD of the examples' true difference ``sigma_bd``, and
run-to-run noise ``e`` (SD ``sigma_w``). Vectorised over ``sims`` experiments (20,000; 5,000 with
--quick) through the same functions the analysis uses
(:func:`toolkit.experiments.lift.paired_item_test` and ``naive_repetition_test``).

* A/A (lift 0, two variants of equal mean that suit examples differently): rejection rate of the
  paired t on example means (target 5 +/- 1 %) and of the naive analysis that counts every
  repetition as an example; the same for identical variants (``sigma_bd = 0``), where both hold.
* A/A with a pass/fail metric like the stand-in bot's (flaky examples, stable ones).
* Coverage of the 95 % CI of a planted lift (target 95 +/- 1 %), both analyses.
* Planner: predicted power (:func:`toolkit.experiments.planner.power_repeated`) against the
  rejection rate simulated at the planted lift (target: within 2 points), and the simulated power
  of a planned design (the examples the planner asks for at 80 %).
* Time of :func:`toolkit.experiments.analysis.analyze_repeated` on a log of 3 variants x 500
  examples x 5 repetitions.

Usage: ``python benchmarks/run.py experiments`` (or ``--quick``).
"""

from __future__ import annotations

import math
import time

import numpy as np

from common import median_time


def simulate(sims, n, r, *, lift=0.0, sd_example=1.0, sd_between_diff=1.0, sd_within=0.5,
             sd_within_treatment=None, seed=0):
    """Scores of ``sims`` experiments, arrays of shape (sims, n, r) for control and treatment."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, sd_example, (sims, n, 1))
    half = sd_between_diff / math.sqrt(2)
    yc = u + rng.normal(0, half, (sims, n, 1)) + rng.normal(0, sd_within, (sims, n, r))
    swt = sd_within if sd_within_treatment is None else sd_within_treatment
    yt = u + lift + rng.normal(0, half, (sims, n, 1)) + rng.normal(0, swt, (sims, n, r))
    return yc, yt


def simulate_pass_fail(sims, n, r, *, skills=(0.7, 0.7), flaky_share=0.15, own_share=0.2, seed=0):
    """Pass/fail like the stand-in bot (flaky examples pass with probability 0.5, stable ones
    0.995 or 0.005), arrays of shape (sims, n, r) per variant."""
    rng = np.random.default_rng(seed)
    flaky = rng.random((sims, n)) < flaky_share
    shared = rng.random((sims, n))
    own = rng.random((sims, n)) < own_share
    out = []
    for skill in skills:
        u = np.where(own, rng.random((sims, n)), shared)
        p = np.where(flaky, 0.5, np.where(u < skill, 0.995, 0.005))
        out.append((rng.random((sims, n, r)) < p[..., None]).astype(float))
    return out


def _rate(out, alpha=0.05):
    return float((out["p_value"] < alpha).mean())


def run(quick: bool = False) -> list[dict]:
    from toolkit.experiments.analysis import analyze_repeated
    from toolkit.experiments.lift import naive_repetition_test, paired_item_test
    from toolkit.experiments.planner import plan_repetitions, power_repeated

    sims = 5000 if quick else 20_000
    se5 = 100 * math.sqrt(0.05 * 0.95 / sims)
    rows = []
    for n, r, sbd, sw in ((30, 3, 1.0, 0.5), (100, 5, 0.5, 0.5), (30, 3, 0.0, 0.5)):
        t0 = time.perf_counter()
        yc, yt = simulate(sims, n, r, sd_between_diff=sbd, sd_within=sw, seed=n * 10 + r + int(10 * sbd))
        right, naive = _rate(paired_item_test(yc, yt)), _rate(naive_repetition_test(yc, yt))
        tag = f"n={n} r={r} sigma_bd={sbd:g} sigma_w={sw:g}"
        rows.append({"metric": f"A/A rejection, examples as units, {tag}", "value": 100 * right, "unit": "%",
                     "target": 5.0, "ratio": right / 0.05,
                     "note": f"{sims:,} experiments; Monte Carlo SE {se5:.2f} pp; {time.perf_counter() - t0:.1f} s"})
        rows.append({"metric": f"A/A rejection, naive (repetitions as examples), {tag}", "value": 100 * naive,
                     "unit": "%", "target": 5.0, "ratio": naive / 0.05,
                     "note": "sigma_bd = 0 (identical variants): the naive analysis holds too" if sbd == 0
                     else "its SE ignores that repetitions share the example's difference"})
    ya, yb = simulate_pass_fail(sims, 60, 3, seed=16)
    for name, out in (("examples as units", paired_item_test(ya, yb)),
                      ("naive (repetitions as examples)", naive_repetition_test(ya, yb))):
        rows.append({"metric": f"A/A rejection, pass/fail like the stand-in, {name}, n=60 r=3",
                     "value": 100 * _rate(out), "unit": "%", "target": 5.0, "ratio": _rate(out) / 0.05,
                     "note": "15 % flaky examples (p 0.5), the rest 0.995 / 0.005; 20 % of examples "
                             "drawn per variant"})
    lift = 0.3
    yc, yt = simulate(sims, 25, 3, lift=lift, sd_between_diff=0.8, sd_within=0.5, sd_within_treatment=0.8, seed=3)
    for name, out in (("examples as units", paired_item_test(yc, yt)),
                      ("naive (repetitions as examples)", naive_repetition_test(yc, yt))):
        cover = float(((out["ci_low"] <= lift) & (lift <= out["ci_high"])).mean())
        rows.append({"metric": f"95% CI coverage, {name}, n=25 r=3 sigma_bd=0.8", "value": 100 * cover,
                     "unit": "%", "target": 95.0, "ratio": cover / 0.95,
                     "note": f"lift {lift}, run-to-run SD 0.5 (control) and 0.8 (treatment); {sims:,} experiments"})
    vbd, vw = 0.36, 0.64
    for n, r, mde in ((40, 2, 0.35), (20, 5, 0.5), (60, 1, 0.45)):
        pred = float(power_repeated(n, r, mde, var_between_diff=vbd, var_within_control=vw))
        yc, yt = simulate(sims, n, r, lift=mde, sd_between_diff=math.sqrt(vbd), sd_within=math.sqrt(vw), seed=10 + r)
        simulated = _rate(paired_item_test(yc, yt))
        rows.append({"metric": f"planner power, n={n} r={r} mde={mde}", "value": 100 * pred, "unit": "%",
                     "baseline": 100 * simulated, "ratio": pred / simulated,
                     "note": f"baseline: simulated power ({sims:,} experiments); sigma_bd^2 {vbd}, sigma_w^2 {vw}"})
    plan = plan_repetitions(0.25, var_between_diff=0.2, var_within=0.9, max_repetitions=5)
    for _, row in plan.table.iterrows():
        k, n = int(row["repetitions"]), int(row["examples"])
        yc, yt = simulate(sims, n, k, lift=0.25, sd_between_diff=math.sqrt(0.2), sd_within=math.sqrt(0.9), seed=40 + k)
        simulated = _rate(paired_item_test(yc, yt))
        rows.append({"metric": f"planned design r={k}: {n} examples, {int(row['calls'])} calls",
                     "value": 100 * simulated, "unit": "% power", "target": 100 * float(row["power"]),
                     "ratio": simulated / float(row["power"]),
                     "note": "simulated power of the planned design; target: the planner's power at that n "
                             "(>= 80 %); mde 0.25, sigma_bd^2 0.2, sigma_w^2 0.9"})
    # timing of the frame analysis
    import pandas as pd

    rng = np.random.default_rng(0)
    nv, ne, nr = 3, 500, 5
    y = rng.normal(0, 1, (nv, ne, nr)) + rng.normal(0, 1, (1, ne, 1))
    log = pd.DataFrame({"variant": np.repeat([f"v{i}" for i in range(nv)], ne * nr),
                        "example_id": np.tile(np.repeat([f"e{i}" for i in range(ne)], nr), nv),
                        "repetition": np.tile(np.arange(nr), nv * ne), "quality": y.ravel()})
    secs = median_time(lambda: analyze_repeated(log, n_boot=2000), repeats=2 if quick else 5)
    rows.append({"metric": "analyze_repeated, 3 variants x 500 examples x 5 repetitions", "value": secs,
                 "unit": "s", "note": "7,500 rows, 2,000 bootstrap resamples per comparison"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
