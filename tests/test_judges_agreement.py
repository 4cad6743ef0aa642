"""Judge agreement with human labels: weighted kappa (against scikit-learn), the joint report."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.errors import ToolkitError
from toolkit.judges import judge_agreement, simulate_judge_and_labels, weighted_kappa


@pytest.mark.parametrize("weights", ["quadratic", "linear", "none"])
def test_weighted_kappa_matches_sklearn(weights):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    a = rng.integers(1, 6, 400)
    b = np.clip(a + rng.integers(-1, 2, 400), 1, 5)
    k = weighted_kappa(a, b, weights=weights, bootstrap=500)
    ref = cohen_kappa_score(a, b, weights=None if weights == "none" else weights, labels=[1, 2, 3, 4, 5])
    assert k.kappa == pytest.approx(ref, abs=1e-12)
    assert k.ci_low < k.kappa < k.ci_high and k.ci_high - k.ci_low < 0.2
    assert k.exact == pytest.approx((a == b).mean()) and k.within_one == 1.0


def test_weighted_kappa_rejects_unrounded_ratings():
    with pytest.raises(ToolkitError, match="not among the categories"):
        weighted_kappa([1.5, 2], [1, 2])


def test_judge_agreement_on_simulated_labels(sample):
    sim = simulate_judge_and_labels(sample.log, sample.truth, n_labels=400, seed=0)
    ag = judge_agreement(sim.turns, sim.labels, scores=["judge_sim"], bootstrap=200)
    row = ag.kappa.iloc[0]
    assert row["score"] == "judge_sim" and row["n"] == 400
    # the simulated judge is lenient and noisy: it agrees, but far from perfectly
    assert 0.2 < row["kappa_quadratic"] < 0.8 and row["kappa_ci_low"] < row["kappa_quadratic"]
    table = ag.summary_table()
    assert "kappa_quadratic" in table.columns and "judge_sim" in set(table["score"])
