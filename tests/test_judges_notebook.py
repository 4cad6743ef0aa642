"""``notebooks/07_judges_and_labels.ipynb`` under papermill: the simulated judge and labels on the
sample (the naive estimate misses the truth, PPI++ covers it), and a real judge run against the
loopback fake OpenAI server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "07_judges_and_labels.ipynb"


def test_parameters_the_notebook_takes():
    import papermill as pm

    assert {"data_path", "labels_path", "score", "n_labels", "seed", "judge_model", "judge_base_url",
            "judge_limit", "target_ci_width"} <= set(pm.inspect_notebook(str(NB)))


@pytest.mark.slow
def test_notebook_on_the_sample_with_a_simulated_judge_and_a_real_one(run_notebook, monkeypatch, tmp_path):
    """One run: the simulated judge and labels on three weeks of the sample, and a real judge on a
    configured endpoint (the loopback fake server), whose key never reaches the outputs."""
    pytest.importorskip("openai")
    from tests.fake_openai import FakeOpenAI, scoring_judge

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-NOTEBOOK-KEY-should-not-show-0042")
    with FakeOpenAI(scoring_judge) as srv:
        side = run_notebook("07_judges_and_labels", n_labels=400, seed=1, end="2026-09-22",
                            judge_model="gpt-4o-mini", judge_base_url=srv.base_url, judge_limit=12)
    res = side["results"]
    truth = res["truth"]
    assert res["simulated"] is True and res["n_labels"] == 400 and res["score"] == "judge_sim"
    true_lift = truth["lift"]["B"]

    def within_3se(est, lo, hi, true):  # a 95 % interval misses 1 time in 20; 3 SE 1 in 370
        return abs(est - true) <= 3 * (hi - lo) / (2 * 1.96)

    assert within_3se(res["lift_ppi"], res["lift_ppi_ci_low"], res["lift_ppi_ci_high"], true_lift)
    assert res["lift_naive_ci_low"] > true_lift + 0.1  # the judge favours B: the naive lift is biased up
    for arm in res["arms"]:
        true = truth["mean_rating"][arm["arm"]]
        assert within_3se(arm["ppi"], arm["ppi_ci_low"], arm["ppi_ci_high"], true)
        assert arm["naive_ci_low"] > true + 0.3  # lenient judge
        assert abs(arm["ppi"] - true) < abs(arm["naive"] - true) / 3
    assert res["effective_labels"] > 400 and res["plan_n_ppi"] < res["plan_n_label_only"]
    scores = {r["score"] for r in res["agreement"]}
    assert {"quality", "reaction", "judge_sim"} <= scores
    out = Path(side["_output_dir"]) / "figures"
    assert {"means_by_variant.png", "lift.svg", "per_period.png"} <= {p.name for p in out.iterdir()}
    executed = nbformat.read(side["_executed"], as_version=4)
    streams = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert not [o for o in streams if o.name == "stderr"], "warnings spilled into the notebook"
    # the real judge
    real = res["real_judge"]
    assert real["judged"] == 12 and real["requests"] == 12 and len(srv.requests) == 12
    assert real["cost_usd"] > 0 and real["missing"] == {"helpfulness": 0}
    text = Path(side["_executed"]).read_text()
    assert "sk-NOTEBOOK-KEY" not in text and "sk-NOTEBOOK-KEY" not in str(side)
