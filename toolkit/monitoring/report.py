"""The monitoring report: KPIs, groups, alerts and suggestions of a log in one object."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Mapping, Sequence

import pandas as pd

from toolkit.monitoring.alerts import evaluate_alerts
from toolkit.monitoring.findings import suggestions
from toolkit.monitoring.kpis import _conversation_kpis, _cutoffs, _scored, kpi_table, turn_kpis
from toolkit.monitoring.thresholds import Thresholds, _thresholds
from toolkit.quality.levels import level_counts

__all__ = ["MonitoringReport", "monitoring_report"]


@dataclass
class MonitoringReport:
    """The monitoring report (see the module docstring); ``to_dict()`` gives JSON-ready data."""

    kpis: dict
    levels: pd.DataFrame
    by_bot: pd.DataFrame
    by_variant: pd.DataFrame
    by_model: pd.DataFrame
    over_time: pd.DataFrame
    alerts: pd.DataFrame
    suggestions: pd.DataFrame
    thresholds: Thresholds
    cutoffs: dict
    freq: str = "D"
    turns: pd.DataFrame = field(default=None, repr=False)

    def summary_table(self) -> pd.DataFrame:
        """The overall KPIs (scalars; the level counts aside) as a one-column ``value`` table."""
        return pd.Series({k: v for k, v in self.kpis.items() if not isinstance(v, dict)}, name="value").to_frame()

    def group_tables(self) -> dict[str, pd.DataFrame]:
        """The KPIs by bot, by variant and by model, each with the columns that apply to it."""
        turn = ["group", "n_turns", "mean_quality", "high_quality_share", "poor_share", "mean_response_time_s",
                "p95_response_time_s", "p99_response_time_s", "error_rate", "tokens_per_turn", "cost_usd"]
        conv = ["n_conversations", "mean_turns_per_conversation", "resolution_rate", "mean_satisfaction"]
        model = ["prompt_tokens", "completion_tokens", "cost_per_turn_usd"]
        pick = lambda t, cols: t[[c for c in cols if c in t]]  # noqa: E731
        return {"By bot": pick(self.by_bot, turn + conv), "By variant": pick(self.by_variant, turn + conv),
                "By model (tokens and cost)": pick(self.by_model, turn + model)}

    def to_dict(self) -> dict:
        """KPIs, groups, alerts and suggestions as plain Python objects."""
        from toolkit._files import to_jsonable

        return to_jsonable({f.name: getattr(self, f.name) for f in fields(self) if f.name != "turns"})


def monitoring_report(
    data,
    thresholds: Thresholds | Mapping | None = None,
    *,
    config=None,
    freq: str = "D",
    by: Sequence[str] = ("bot_id", "variant"),
) -> MonitoringReport:
    """Build the monitoring report of a log (scoring it first if needed).

    Parameters
    ----------
    data : ConversationLog or DataFrame
        A log (conversation KPIs need its conversations table) or turns.
    thresholds : Thresholds or dict, optional
        Alert thresholds; defaults are the reference design's.
    config : QualityConfig or dict, optional
        Quality settings (weights, level cut-offs) for scoring and levels.
    freq : str
        Period of the ``over_time`` table (``"D"`` days, ``"h"`` hours, ``"W"`` weeks).
    by : sequence of str
        Columns whose groups get their own alerts.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> r = monitoring_report(generate_sample(seed=3, days=3).log, {"quality_medium": 0.99})
    >>> "mean_quality" in set(r.alerts["metric"])
    True
    """
    th = _thresholds(thresholds, config)
    turns, convs = _scored(data, config)
    cut = _cutoffs(config)
    n_by_conv = turns.groupby("conversation_id").size() if "conversation_id" in turns else pd.Series(dtype=float)
    k = turn_kpis(turns, cut)
    if convs is not None:
        k.update(_conversation_kpis(convs, n_by_conv))
    levels = level_counts(turns["level"])
    k["levels"] = dict(zip(levels["level"], levels["count"].astype(int)))
    if len(turns) and "timestamp" in turns:
        k["start"] = turns["timestamp"].min()
        k["end"] = turns["timestamp"].max()
    by_bot = kpi_table(turns, convs, "bot_id", cutoffs=cut) if "bot_id" in turns else pd.DataFrame()
    by_variant = kpi_table(turns, convs, "variant", cutoffs=cut) if "variant" in turns else pd.DataFrame()
    by_model = (kpi_table(turns, None, "model", cutoffs=cut) if "model" in turns else pd.DataFrame())
    over_time = kpi_table(turns, convs, "time", freq=freq, cutoffs=cut) if "timestamp" in turns else pd.DataFrame()
    alerts = evaluate_alerts(turns, th, by=by, config=config)
    sugg = suggestions(turns, config=config)
    return MonitoringReport(kpis=k, levels=levels, by_bot=by_bot, by_variant=by_variant, by_model=by_model,
                            over_time=over_time, alerts=alerts, suggestions=sugg, thresholds=th,
                            cutoffs=dict(cut), freq=freq, turns=turns)
