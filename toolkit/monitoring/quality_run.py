"""A quality run as notebook 01 does it: score a log, report on it, and what it found.

:meth:`QualityRun.score` scores the turns (timed) and builds the monitoring report;
:meth:`QualityRun.to_dict` is the sidecar's results. The helpers beside it cut the scores by
what a log offers: :func:`intent_key` (the sample's intents or the clusters), :func:`answer_kind_check`
(on the bundled sample: do the scores find the planted answer kinds?) and :func:`worst_reactions`.

Examples
--------
>>> from toolkit.sample import generate_sample
>>> run = QualityRun.score(generate_sample(seed=1, days=2).log)
>>> str(run).split(" responses")[0] == f"{len(run.scored):,}", 0 <= run.to_dict()["mean_quality"] <= 1
(True, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from toolkit.monitoring.report import MonitoringReport, monitoring_report
from toolkit.monitoring.tables import quality_by
from toolkit.monitoring.thresholds import Thresholds

__all__ = ["QualityRun", "intent_key", "answer_kind_check", "worst_reactions"]


@dataclass
class QualityRun:
    """A scored log (``scored``: its turns with the quality columns), how long scoring took, and
    the monitoring report (``report``, built on first use)."""

    log: Any
    scored: pd.DataFrame
    seconds: float
    config: Any = None
    thresholds: Thresholds | None = None
    freq: str = "D"
    conversations: pd.DataFrame = field(default=None, repr=False)

    @classmethod
    def score(cls, log, config=None, thresholds: Thresholds | None = None, *, freq: str = "D") -> "QualityRun":
        """Score ``log`` with :func:`toolkit.quality.score_turns` (``config``), timing it."""
        from toolkit.quality import conversation_quality, score_turns

        t0 = time.perf_counter()
        scored = score_turns(log, config)
        seconds = time.perf_counter() - t0
        return cls(log, scored, seconds, config, thresholds, freq, conversation_quality(scored))

    @cached_property
    def report(self) -> MonitoringReport:
        """:func:`monitoring_report` of the scored log."""
        return monitoring_report(self.log.with_turns(self.scored), self.thresholds, config=self.config, freq=self.freq)

    def __str__(self) -> str:
        n, s = len(self.scored), self.seconds
        return (f"{n:,} responses in {self.log.conversations.shape[0]:,} conversations scored in {s:.1f} s "
                f"({n / max(s, 1e-9):,.0f} responses/s)")

    def summary_table(self) -> pd.DataFrame:
        """The headline results as a ``value`` table (scalars only)."""
        return pd.Series({k: v for k, v in self.to_dict().items() if not isinstance(v, (dict, list))},
                         name="value").to_frame()

    def to_dict(self) -> dict:
        """The sidecar's results: sizes, mean scores, KPIs, levels, alerts, suggestions, reaction."""
        s, k, conv = self.scored, self.report.kpis, self.conversations
        alerts = self.report.alerts
        out = {"n_turns": int(len(s)), "n_conversations": int(self.log.conversations.shape[0]),
               "mean_quality": float(s["quality"].mean()), "median_quality": float(s["quality"].median()),
               "high_quality_share": k["high_quality_share"], "poor_share": k["poor_share"]}
        out.update({f"mean_{c}": float(s[c].mean()) for c in ("relevance", "sentiment", "coherence", "length_fit")})
        out.update({c: k.get(c) for c in ("mean_response_time_s", "p95_response_time_s", "error_rate",
                                           "resolution_rate", "mean_satisfaction", "levels")})
        out.update({"quality_by_variant": {r.group: r.mean_quality for r in quality_by(s, "variant").itertuples()},
                    "share_conversations_with_poor_answer": float((conv["share_poor"] > 0).mean()),
                    "n_alerts": int(len(alerts)), "n_high_alerts": int((alerts["severity"] == "high").sum()),
                    "alerts": alerts.to_dict(orient="records"), "suggestions": self.report.suggestions["finding"].tolist(),
                    "scoring_seconds": self.seconds})
        if "reaction" in s:
            out.update(mean_reaction=float(s["reaction"].mean()), mean_conversation_reaction=float(conv["reaction"].mean()))
        return out


def intent_key(scored: pd.DataFrame, truth: dict | None = None) -> pd.Series | None:
    """What to cut quality by beside variant and hour: the intents of the bundled sample's
    ``truth``, else the ``cluster`` column of a clustered log, else None.

    Examples
    --------
    >>> t = pd.DataFrame({"conversation_id": ["a", "b"], "cluster": [1, 2]})
    >>> intent_key(t).tolist(), intent_key(t.drop(columns="cluster"))
    (['1', '2'], None)
    """
    if truth is not None:
        return pd.Series([truth["conversations"][c]["intent"] for c in scored["conversation_id"]],
                         index=scored.index, name="intent (sample truth)")
    if "cluster" in scored.columns:
        return scored["cluster"].astype(str).rename("cluster")
    return None


def answer_kind_check(scored: pd.DataFrame, truth: dict) -> tuple[pd.DataFrame, dict[str, float]]:
    """On the bundled sample: the mean scores per planted answer kind, and ROC AUCs of the scores
    separating good from off-topic answers and garbled ones from the rest.

    Examples
    --------
    >>> from toolkit.sample import load_sample, load_sample_truth
    >>> from toolkit.quality import score_turns
    >>> table, auc = answer_kind_check(score_turns(load_sample()), load_sample_truth())
    >>> list(table.index), auc["auc_good_vs_off_topic_relevance"] > 0.8
    (['good', 'generic', 'off_topic', 'garbled'], True)
    """
    from sklearn.metrics import roc_auc_score

    from toolkit.sample import answer_kinds

    kinds = pd.Series(answer_kinds(scored, truth), index=scored.index)
    table = (scored.groupby(kinds)[["quality", "relevance", "coherence", "length_fit", "sentiment"]].mean()
             .reindex(["good", "generic", "off_topic", "garbled"]))
    pair = kinds.isin(["good", "off_topic"])
    auc = {f"auc_good_vs_off_topic_{c}": float(roc_auc_score(kinds[pair] == "good", scored.loc[pair, c]))
           for c in ("quality", "relevance")}
    auc["auc_other_vs_garbled_coherence"] = float(roc_auc_score(kinds != "garbled", scored["coherence"]))
    return table, auc


def worst_reactions(scored: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` answers the users reacted worst to, with the user's next message.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> from toolkit.quality import score_turns
    >>> list(worst_reactions(score_turns(generate_sample(seed=2, days=2).log), 3).columns)[-3:]
    ['next_user_message', 'reaction', 'quality']
    """
    from toolkit.quality.reaction import next_user_messages

    return (scored.assign(next_user_message=next_user_messages(scored)).nsmallest(n, "reaction")
            [["conversation_id", "turn", "bot_response", "next_user_message", "reaction", "quality"]])
