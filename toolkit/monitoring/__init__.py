"""Monitoring report: KPIs by bot, variant, model and over time; threshold alerts; suggestions.

:func:`monitoring_report` scores the log when it has no quality columns yet
(:func:`toolkit.quality.score_turns`) and returns a :class:`MonitoringReport` with

* ``kpis``: the headline numbers: response time mean/median/p95/p99, error rate, tokens and
  cost, conversation length, resolution rate, satisfaction, quality mean/median, the share of
  high-quality responses (level ``good`` or better) and of poor ones, and the level counts;
* ``by_bot``, ``by_variant``, ``by_model``, ``over_time``: the same KPIs per group
  (conversation KPIs are not defined per model, where a conversation may use several);
* ``alerts``: one row per breached threshold of :class:`Thresholds`, overall and per bot and
  variant, naming the metric, the scope, the value, the threshold, the severity and a
  recommendation built from the data of that scope;
* ``suggestions``: findings derived from the data: segments (cluster, variant, model, bot,
  hour of day) where poor answers concentrate, days when quality dropped, hours when response
  times spiked, the weakest quality component, the most frequent errors.

Nothing is canned: every number in an alert, recommendation or suggestion is computed from the
log. Figures are returned as matplotlib ``Figure`` objects.

Modules
-------
``thresholds`` (:class:`Thresholds`), ``kpis`` (:func:`turn_kpis`, :func:`kpi_table`), ``alerts``
(:func:`evaluate_alerts`, :func:`alerts_for`), ``findings`` (:func:`suggestions`), ``tables``
(:func:`worst_responses`, :func:`quality_by`), ``report`` (:class:`MonitoringReport`,
:func:`monitoring_report`), ``figures`` and ``quality_run`` (notebook 01 as functions). Every public name is importable from ``toolkit.monitoring``.

Examples
--------
>>> from toolkit.sample import generate_sample
>>> report = monitoring_report(generate_sample(seed=3, days=3).log)
>>> round(report.kpis["mean_quality"], 2) > 0, report.kpis["n_turns"] > 0
(True, True)
>>> list(report.alerts.columns)
['severity', 'metric', 'scope', 'value', 'threshold', 'rule', 'n_turns', 'recommendation']
"""

from __future__ import annotations

from toolkit.monitoring.alerts import ALERT_COLUMNS, alerts_for, evaluate_alerts
from toolkit.monitoring.figures import (
    components_figure,
    kpis_over_time_figure,
    level_counts_figure,
    quality_by_figure,
    quality_distribution_figure,
    quality_over_time_figure,
    reaction_by_figure,
    response_time_vs_quality_figure,
)
from toolkit.monitoring.findings import suggestions, suggestions_markdown
from toolkit.monitoring.kpis import kpi_table, turn_kpis
from toolkit.monitoring.report import MonitoringReport, monitoring_report
from toolkit.monitoring.tables import quality_by, worst_responses
from toolkit.monitoring.thresholds import Thresholds

__all__ = [
    "Thresholds",
    "MonitoringReport",
    "monitoring_report",
    "turn_kpis",
    "kpi_table",
    "evaluate_alerts",
    "alerts_for",
    "suggestions",
    "suggestions_markdown",
    "worst_responses",
    "quality_by",
    "ALERT_COLUMNS",
    "quality_distribution_figure",
    "components_figure",
    "quality_by_figure",
    "quality_over_time_figure",
    "response_time_vs_quality_figure",
    "level_counts_figure",
    "kpis_over_time_figure",
    "reaction_by_figure",
]
