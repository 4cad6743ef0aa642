"""PPI++ by simulation (benchmarks/bench_ppi.py; the full table runs 4,000 runs per setting there):
2,000 runs with a biased, noisy score, n = 300 labels and N = 10,000 unlabelled units."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.parametrize("rho", [0.5])
def test_ppi_covers_naive_does_not_and_ppi_is_narrower(rho):
    from bench_ppi import simulate

    r = simulate(rho, 300, runs=2000, seed=11)
    # the Monte Carlo SE of a 95 % coverage over 2,000 runs is 0.49 pp: the window is 3 SE; the
    # benchmark's 4,000 runs per setting hold 95 +/- 1 % (README); 10,000 runs at n = 200 gave
    # 94.46 % (the normal interval is a little short at small n, as the label-only one: 94.67 %)
    assert 0.935 <= r["ppi_coverage"] <= 0.965, r
    assert r["naive_coverage"] < 0.5, r
    assert 0.935 <= r["label_only_coverage"] <= 0.965, r
    assert r["ppi_width"] < 0.95 * r["label_only_width"], r


def test_uncorrelated_score_costs_little():
    from bench_ppi import simulate

    r = simulate(0.0, 300, runs=500, seed=12)
    # lambda ~ 0: PPI falls back to about the label-only interval
    assert abs(r["mean_lambda"]) < 0.1 and r["ppi_width"] < 1.02 * r["label_only_width"]
