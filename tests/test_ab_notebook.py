"""``notebooks/02_ab_testing.ipynb`` under papermill: static results, figures and sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks" / "02_ab_testing.ipynb"


def test_parameters_the_notebook_takes():
    # committed clean, one documented parameters cell: tests/test_packaging.py, for every notebook
    import papermill as pm

    assert {"variant_col", "control", "alpha", "correction", "plan_mde", "metrics"} <= set(pm.inspect_notebook(str(NB)))


@pytest.mark.slow
def test_notebook_runs_on_bundled_sample(run_notebook):
    from toolkit.ab.power import plan_proportions
    from toolkit.sample import default_sample_path

    side = run_notebook("02_ab_testing", bootstrap=200)
    res = side["results"]
    out = Path(side["_output_dir"])
    assert res["control"] == "A" and res["treatments"] == ["B"] and res["srm_flagged"] is False
    plan = plan_proportions(baseline=res["plan_baseline"], mde=0.02)
    assert res["plan_n_per_arm"] == plan.n_control and res["plan_method"] == plan.method
    truth = json.loads((default_sample_path() / "truth.json").read_text())["variants"]["effects"]
    assert res["resolved_B_abs_ci_low"] <= truth["resolved"]["abs_lift"] <= res["resolved_B_abs_ci_high"]
    assert res["resolved_B_verdict"] == "winner"
    assert "mean_quality_B_abs_lift" in res  # the log was scored by toolkit.quality
    assert {"power_curve.png", "forest_plot.svg", "confidence_sequence.png"} <= {p.name for p in (out / "figures").iterdir()}
    rows = res["analysis"]["metrics"]
    assert all(r["boot_abs_bca_low"] is not None for r in rows)
    # effects by intent: the planted per-topic effect is found in its intent; the mix shift too
    plant = json.loads((default_sample_path() / "truth.json").read_text())["segments"]
    found = {(r["segment"], r["metric"]): r["verdict"] for r in res["segments"]["segments"]}
    assert found[(plant["topic_effect"]["intent"], "response_time_s")] == "better"
    assert res["mix_shift_chi2_p"] < 1e-6
    assert {"segments.png", "mix_shift.png"} <= {p.name for p in (out / "figures").iterdir()}
    executed = nbformat.read(side["_executed"], as_version=4)
    streams = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert not [o for o in streams if o.name == "stderr"], "warnings spilled into the notebook"
    html = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "display_data" and "text/html" in o.data]
    assert any("ab-srm" in o.data["text/html"] for o in html)
    # the static plan is printed (under papermill the widget panel has no view)
    assert any(o.name == "stdout" and o.text.startswith(f"n per arm: {plan.n_control:,}") for o in streams)


@pytest.mark.slow
def test_notebook_on_a_per_unit_table(run_notebook, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 4000
    units = pd.DataFrame({"arm": rng.choice(["ctl", "new", "newer"], n),
                          "start_time": pd.date_range("2026-01-01", periods=n, freq="10min", tz="UTC"),
                          "converted": rng.random(n) < 0.25, "spend": rng.gamma(2.0, 5.0, n)})
    path = tmp_path / "units.parquet"
    units.to_parquet(path)
    side = run_notebook("02_ab_testing", data_path=str(path), variant_col="arm", control="ctl",
                        metrics="converted:binary,spend:continuous", plan_metric="converted",
                        correction="bh")
    res = side["results"]
    assert res["treatments"] == ["new", "newer"] and res["n_units"] == n
    assert {"converted_new_p_adjusted", "spend_newer_verdict"} <= set(res)
    assert res["plan_days"] == -(-res["plan_total"] // 144)  # 144 units/day at one per 10 minutes


@pytest.mark.slow
def test_notebook_on_a_log_shorter_than_the_pre_period(run_notebook, tmp_path):
    """A 10-day log and the default pre_period_days=20: the CUPED comparison failed the whole
    notebook ('no units start at or after the pre-period end'); it is skipped with a note."""
    import toolkit

    log = toolkit.load_sample().select(start="2026-09-01", end="2026-09-11")
    path = toolkit.save(log, tmp_path / "short")
    side = run_notebook("02_ab_testing", data_path=str(path), paired_examples=200, score_quality=False)
    assert "cuped_comparison" not in side["results"] and side["results"]["control"] == "A"
    executed = nbformat.read(side["_executed"], as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "CUPED comparison skipped (pre_period_days=20): no units start at or after" in text
