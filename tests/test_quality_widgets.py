"""The quality panel, without a browser: set slider values, read the alert and level tables,
and compare them with what the toolkit functions compute for the same thresholds."""

from __future__ import annotations

import re

import pytest

from toolkit.monitoring import Thresholds, evaluate_alerts
from toolkit.quality import QualityConfig, assign_levels, level_counts, score_turns
from toolkit.quality_widgets import CUTOFF_SLIDERS, THRESHOLD_SLIDERS, alerts_html, levels_html, quality_panel


@pytest.fixture(scope="module")
def scored(sample_log):
    return score_turns(sample_log)


@pytest.fixture
def panel(scored):
    return quality_panel(scored, draw_figure=False)


def _rows(html_text, cls):
    """Rows of a rendered table as lists of cell texts."""
    body = re.search(r"<tbody>(.*)</tbody>", html_text, re.S).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S) for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_initial_state_matches_toolkit(panel, scored):
    assert panel.sliders["quality_medium"].value == Thresholds().quality_medium
    assert panel.sliders["cutoff_good"].value == QualityConfig().cutoffs["good"]
    assert set(panel.sliders) == set(THRESHOLD_SLIDERS) | set(CUTOFF_SLIDERS)
    expected = evaluate_alerts(scored, Thresholds())
    assert panel.alerts_box.value == alerts_html(expected)
    assert panel.levels_box.value == levels_html(level_counts(scored["level"]))
    for cls in ("quality-alerts", "quality-levels", "quality-figure", "quality-error"):
        owners = [w for w in (panel.alerts_box, panel.levels_box, panel.figure, panel.error_box)
                  if cls in w._dom_classes]
        assert len(owners) == 1, cls
    assert "quality-quality_medium" in panel.sliders["quality_medium"]._dom_classes


def test_threshold_slider_updates_alert_table(panel, scored):
    mean_q = float(scored["quality"].mean())
    target = round(mean_q + 0.02, 2)  # a medium threshold just above the mean quality
    panel.sliders["quality_medium"].value = target
    expected = evaluate_alerts(scored, Thresholds(quality_medium=target))
    assert panel.alerts_box.value == alerts_html(expected)
    rows = {(r[1], r[2]): r for r in _rows(panel.alerts_box.value, "alerts")}
    sev, metric, scope, value, threshold, n = rows[("mean_quality", "all")][:6]
    assert (sev, threshold, n) == ("medium", f"{target:g}", str(len(scored)))
    assert value == f"{mean_q:.4f}"
    # one keyboard step down (what ArrowLeft does in a browser) and the alert disappears again
    panel.sliders["quality_medium"].value = round(mean_q - 0.01, 2)
    left = _rows(panel.alerts_box.value, "alerts")  # may be the one-cell "no alerts" row
    assert ("mean_quality", "all") not in {(r[1], r[2]) for r in left if len(r) > 2}
    assert panel.current_thresholds.quality_medium == round(mean_q - 0.01, 2)


def test_response_time_slider(panel, scored):
    mean_rt = float(scored["response_time_s"].mean())
    panel.sliders["response_time_medium"].value = round(mean_rt - 0.1, 1)
    alerts = panel.alerts
    row = alerts[(alerts.metric == "mean_response_time_s") & (alerts.scope == "all")].iloc[0]
    assert row.severity == "medium" and row.value == pytest.approx(mean_rt)


def test_cutoff_slider_updates_levels_and_share_alert(panel, scored):
    panel.sliders["cutoff_excellent"].value = 0.9
    panel.sliders["cutoff_good"].value = 0.8
    cut = {**QualityConfig().cutoffs, "excellent": 0.9, "good": 0.8}
    expected = level_counts(assign_levels(scored["quality"].to_numpy(float), cut))
    assert panel.levels_box.value == levels_html(expected)
    counts = {r[0]: int(r[1]) for r in _rows(panel.levels_box.value, "levels")}
    assert counts["good"] == int(((scored["quality"] >= 0.8) & (scored["quality"] < 0.9)).sum())
    assert sum(counts.values()) == len(scored)
    exp_alerts = evaluate_alerts(scored, Thresholds(), cutoffs=cut)
    assert panel.alerts_box.value == alerts_html(exp_alerts)
    share = panel.alerts[(panel.alerts.metric == "high_quality_share") & (panel.alerts.scope == "all")]
    assert len(share), "expected a high-quality-share alert at cut-off 0.8"
    assert share.iloc[0].value == pytest.approx((scored["quality"] >= 0.8).mean())


def test_invalid_combination_shows_error_and_keeps_tables(panel):
    before = panel.levels_box.value
    good = panel.sliders["cutoff_good"].value
    panel.sliders["cutoff_good"].value = min(1.0, panel.sliders["cutoff_excellent"].value + 0.05)  # above "excellent"
    assert "excellent &gt;= good" in panel.error_box.value
    assert panel.levels_box.value == before
    panel.sliders["cutoff_good"].value = good
    assert panel.error_box.value == ""
    panel.sliders["quality_high"].value = 0.9  # above quality_medium
    assert "quality_high" in panel.error_box.value


def test_figure_is_drawn(scored):
    p = quality_panel(scored.head(500))
    first = p.figure.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    p.sliders["cutoff_average"].value = 0.4  # between "poor" and "good", away from its default
    assert p.figure.value != first
