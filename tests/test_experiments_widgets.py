"""The interactive planner panel of a prompt experiment (``toolkit.experiments.widgets``)."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from toolkit.experiments.planner import plan_repetitions  # noqa: E402
from toolkit.experiments.widgets import recommendation_text, repetition_panel  # noqa: E402


def test_controls_drive_the_plan():
    panel = repetition_panel(var_between_diff=0.01, var_within=0.04, mde=0.1, draw=False)
    assert panel.recommendation.value == recommendation_text(plan_repetitions(0.1, var_between_diff=0.01,
                                                                              var_within=0.04))
    panel.controls["cost_per_call"].value = 0.01
    panel.controls["cost_per_example"].value = 5.0  # examples are dear: more repetitions pay
    assert panel.plan.recommended["repetitions"] > 1
    assert "cost" in panel.recommendation.value
    panel.controls["max_repetitions"].value = 8
    assert len(panel.plan.table) == 8 and "<table" in panel.table.value


def test_from_an_analysis_and_with_the_figure():
    import numpy as np
    import pandas as pd

    from toolkit.experiments.analysis import analyze_repeated

    rng = np.random.default_rng(0)
    u = rng.normal(0, 1, 20)
    rows = [(v, f"<b>e{i}</b>", k, u[i] + (0.3 if v == "B" else 0) + rng.normal(0, 0.5))
            for v in "AB" for i in range(20) for k in range(3)]
    res = analyze_repeated(pd.DataFrame(rows, columns=["variant", "example_id", "repetition", "quality"]), n_boot=0)
    panel = repetition_panel(res, mde=0.3)
    assert panel.plan.n_available == 20 and panel.figure.value[:4] == b"\x89PNG"
    assert panel.plan.var_between_diff == pytest.approx(res.comparisons.loc[0, "var_between_diff"])


def test_errors_show_in_the_panel():
    panel = repetition_panel(var_between_diff=0.0, var_within=0.0, draw=False)
    assert panel.plan is None and "all 0" in panel.error and "all 0" in panel.error_box.value
