"""``toolkit power`` / ``toolkit abtest`` and the planning widget (no browser needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main


def _json(capsys):
    return json.loads(capsys.readouterr().out)


# ---- toolkit power -------------------------------------------------------------------------

def test_power_proportion_json(capsys):
    assert main(["power", "--metric", "proportion", "--baseline", "0.5", "--mde", "0.25",
                 "--power", "0.9", "--json"]) == 0
    out = _json(capsys)
    assert out["n_control_exact"] == pytest.approx(76.7069, abs=1e-4)   # R power.prop.test
    assert out["n_per_arm"] == [77, 77] and out["method"] == "pooled normal (R power.prop.test)"


def test_power_mean_effect_size_and_sd(capsys):
    assert main(["power", "--metric", "mean", "--effect-size", "0.5", "--power", "0.9", "--json"]) == 0
    out = _json(capsys)
    assert out["n_total"] == 172 and round(out["achieved_power"], 4) == 0.9032   # G*Power
    assert main(["power", "--metric", "mean", "--sd", "2", "--mde", "1", "--daily-traffic", "50"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("n per arm: 64") and "3 days at 50 units/day" in text
    assert "noncentral t (exact)" in text


def test_power_solves_mde_and_power(capsys):
    assert main(["power", "--baseline", "0.3", "--n", "8394", "--json"]) == 0
    assert _json(capsys)["mde"] == pytest.approx(0.02, abs=1e-5)
    assert main(["power", "--metric", "mean", "--effect-size", "1", "--n", "20", "--json"]) == 0
    assert _json(capsys)["power"] == pytest.approx(0.8689528, abs=5e-8)
    assert main(["power", "--baseline", "0.3", "--mde", "0.02", "--formula", "cohen_h",
                 "--arms", "3", "--ratio", "2", "--json"]) == 0
    out = _json(capsys)
    assert out["method"] == "arcsine (Cohen's h)" and out["alpha_per_comparison"] == 0.025
    assert out["n_treatment"] == pytest.approx(2 * out["n_control"], abs=1)


@pytest.mark.parametrize("argv, message", [
    (["power", "--metric", "proportion", "--mde", "0.02"], "needs --baseline"),
    (["power", "--baseline", "0.3", "--mde", "0.02", "--formula", "exact"], "--formula for proportions"),
    (["power", "--metric", "mean", "--mde", "1"], "needs --sd"),
    (["power", "--baseline", "0.99", "--mde", "0.05"], "baseline + mde must be in (0, 1)"),
])
def test_power_bad_input_exits_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


# ---- toolkit abtest ------------------------------------------------------------------------

def _unit_table(tmp_path, fmt="csv"):
    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame({"arm": rng.choice(["ctl", "new"], n), "converted": rng.random(n) < 0.2,
                       "latency": rng.gamma(2.0, 1.0, n), "n_turns": rng.integers(1, 5, n)})
    df["total_rt"] = df["n_turns"] * rng.gamma(3.0, 0.5, n)
    path = tmp_path / f"units.{fmt}"
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path)
    return path, df


def test_abtest_unit_table_json(tmp_path, capsys):
    path, df = _unit_table(tmp_path, "parquet")
    assert main(["abtest", str(path), "--variant-col", "arm", "--control", "ctl", "--metrics",
                 "converted:binary,latency:continuous:lower,rt:ratio:total_rt/n_turns:lower",
                 "--json"]) == 0
    out = _json(capsys)
    assert out["input"] == "units" and out["control"] == "ctl" and out["treatments"] == ["new"]
    assert [m["metric"] for m in out["metrics"]] == ["converted", "latency", "rt"]
    assert out["srm"]["flagged"] is False and len(out["verdicts"]) == 3
    from scipy import stats
    a = df.loc[df.arm == "ctl", "latency"]
    b = df.loc[df.arm == "new", "latency"]
    assert out["metrics"][1]["p_value"] == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue, abs=1e-9)


def test_abtest_log_folder_text(tmp_path, sample, capsys):
    from toolkit.io import save

    folder = save(sample.log, tmp_path / "log", format="parquet")
    assert main(["abtest", str(folder), "--bootstrap", "200"]) == 0
    text = capsys.readouterr().out
    assert "sample ratio mismatch" in text.lower() and "resolved" in text and "- resolved:" in text
    assert "mean_quality" not in text
    assert main(["abtest", str(folder), "--score-quality", "--no-sequential", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "mean_quality" in [m["metric"] for m in out["metrics"]]


@pytest.mark.parametrize("extra, message", [
    (["--control", "Z"], "control 'Z' not found in column 'arm'"),
    (["--metrics", "converted:continuous,latency:binary"], "metric 'latency' is binary"),
    (["--metrics", "latency"], "expected 'name:kind'"),
    (["--allocation", "ctl=0.5"], "arms without a planned share: ['new']"),
])
def test_abtest_bad_input_exits_2(tmp_path, extra, message, capsys):
    path, _ = _unit_table(tmp_path)
    assert main(["abtest", str(path), "--variant-col", "arm", *extra]) == 2
    assert message in capsys.readouterr().err


def test_abtest_one_variant_and_missing_file(tmp_path, capsys):
    path = tmp_path / "one.csv"
    pd.DataFrame({"variant": ["A"] * 5, "x": range(5)}).to_csv(path, index=False)
    assert main(["abtest", str(path)]) == 2
    assert "needs a control and at least one treatment" in capsys.readouterr().err
    assert main(["abtest", str(tmp_path / "nope.csv")]) == 2


def test_abtest_without_metric_columns_names_the_option(tmp_path, capsys):
    path = tmp_path / "units.csv"
    pd.DataFrame({"variant": ["A", "B"] * 5, "note": list("abcdefghij")}).to_csv(path, index=False)
    assert main(["abtest", str(path)]) == 2
    assert "--metrics on the command line" in capsys.readouterr().err


# ---- planning widget ------------------------------------------------------------------------

def test_planning_panel_updates_sample_size_on_change():
    from toolkit.ab.power import plan_proportions
    from toolkit.ab.widgets import planning_panel

    panel = planning_panel(baseline=0.30, mde=0.02, daily_traffic=2000)
    assert "ab-sample-size" in panel.sample_size._dom_classes
    assert panel.sample_size.value == f"n per arm: {plan_proportions(baseline=0.3, mde=0.02).n_control:,}"
    png = panel.curve.value
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    panel.controls["mde"].value = 0.04
    expected = plan_proportions(baseline=0.3, mde=0.04, daily_traffic=2000)
    assert panel.sample_size.value == f"n per arm: {expected.n_control:,}"
    assert f"{expected.duration_days:,} days" in panel.duration.value
    assert panel.curve.value != png and panel.plan.n_control == expected.n_control
    panel.controls["power"].value = 0.9
    panel.controls["alpha"].value = 0.01
    assert panel.plan.n_control == plan_proportions(baseline=0.3, mde=0.04, power=0.9, alpha=0.01).n_control


def test_planning_panel_arms_allocation_metric_and_errors():
    from toolkit.ab.power import plan_means, plan_proportions
    from toolkit.ab.widgets import planning_panel

    panel = planning_panel(draw_curve=False)
    # hiding the sd field (proportions) must not hide the other controls (no shared Layout)
    assert panel.controls["sd"].layout.display == "none"
    layouts = [c.layout for c in panel.controls.values()]
    assert len({id(x) for x in layouts}) == len(layouts)
    assert all(c.layout.display != "none" for k, c in panel.controls.items() if k != "sd")
    panel.controls["arms"].value = 3
    assert panel.controls["control_share"].value == pytest.approx(0.33)
    assert "Bonferroni" in panel.details.value and "per treatment" in panel.sample_size.value
    panel.controls["arms"].value = 2
    panel.controls["control_share"].value = 0.25    # 1:3 split
    exp = plan_proportions(baseline=0.3, mde=0.02, ratio=3.0)
    assert panel.sample_size.value == f"n per arm: {exp.n_control:,} control, {exp.n_treatment:,} per treatment"
    panel.controls["control_share"].value = 0.5
    panel.controls["metric"].value = "mean"
    panel.controls["sd"].value = 2.0
    panel.controls["mde"].value = 1.0
    assert panel.sample_size.value == "n per arm: 64" and panel.plan.method == "noncentral t (exact)"
    panel.controls["method"].value = "normal"
    assert panel.plan.n_control == plan_means(mde=1.0, sd=2.0, method="normal").n_control
    panel.controls["metric"].value = "proportion"
    panel.controls["baseline"].value = 0.99
    assert panel.plan is None and "baseline + mde" in panel.error_box.value
    assert panel.sample_size.value.startswith("n per arm:")
    panel.controls["baseline"].value = 0.3
    assert panel.error_box.value == "" and panel.plan is not None


def test_planning_panel_matches_the_static_plan_and_its_mde_slider_spans_useful_values():
    """The notebook passes the unrounded baseline: the panel says what the static plan says
    (issue 23: 9,192 vs 9,193), and the MDE slider's range is 0.001-0.1 for proportions."""
    from toolkit.ab import plan_proportions
    from toolkit.ab.widgets import planning_panel

    baseline = 0.6154780496269304  # the bundled sample's resolution rate
    static = plan_proportions(baseline=baseline, mde=0.02, alpha=0.05, power=0.8)
    panel = planning_panel(baseline=baseline, mde=0.02, draw_curve=False)
    assert panel.controls["baseline"].value == baseline
    assert panel.plan.n_control == static.n_control
    mde = panel.controls["mde"]
    assert (mde.min, mde.max) == (0.001, 0.1)
    assert planning_panel(baseline=0.3, mde=0.08, draw_curve=False).controls["mde"].max == 0.16
    nb = (Path(__file__).resolve().parents[1] / "notebooks" / "02_ab_testing.ipynb").read_text()
    assert "planning_panel(baseline=round(" not in nb


def test_abtest_text_table_fits_100_columns_with_relative_lift_in_percent(capsys):
    from toolkit.cli import main

    assert main(["abtest", "data/sample"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("metric"))
    table = lines[head:head + 5]
    assert all(len(line) <= 100 for line in table), table
    assert "rel lift" in table[0] and "verdict" in table[0]
    resolved = next(line for line in table if line.startswith("resolved"))
    assert "+8.4%" in resolved and "[+5.3%, +11.6%]" in resolved and "winner" in resolved
    assert main(["abtest", "data/sample", "--wide"]) == 0
    assert "risk (ship)" in capsys.readouterr().out
