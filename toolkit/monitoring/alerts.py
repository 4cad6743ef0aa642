"""Threshold alerts, overall and per bot and variant, each with a recommendation from its data.

Examples
--------
>>> alerts_for("all", {"n_turns": 50, "mean_quality": 0.3})[0]["rule"]
'mean quality < 0.45'
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.monitoring.kpis import _cutoffs, _scored, turn_kpis
from toolkit.monitoring.thresholds import Thresholds, _thresholds
from toolkit.quality.components import content_words
from toolkit.quality.config import _config
from toolkit.quality.levels import assign_levels
from toolkit.quality.score import composite_parts

__all__ = ["ALERT_COLUMNS", "alerts_for", "evaluate_alerts"]

ALERT_COLUMNS = ["severity", "metric", "scope", "value", "threshold", "rule", "n_turns", "recommendation"]
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def _weighted_shortfalls(turns: pd.DataFrame, config=None) -> dict[str, float]:
    """What each component costs the hand-weighted composite, averaged over the turns (they add up
    to ``1 - mean composite``; with the fitted default ``quality`` they say which component is
    weakest, not how the fitted score was lost)."""
    cfg = _config(config)
    w = cfg.normalised_weights()
    if not len(turns):
        return {k: 0.0 for k in w}
    cw = content_words(turns["bot_response"], stop_words=cfg.stop_words) if "bot_response" in turns else None
    parts = composite_parts(turns, cfg, content_words=cw)
    return {k: float(w[k] * np.mean(1 - parts[k].to_numpy())) for k in parts.columns}


#: per component: the responses that clearly miss it, what they are and what to check
_MISSES = {
    "relevance": (lambda p: p["relevance"] < 0.05, "share almost no vocabulary with the conversation "
                  "(relevance < 0.05): check retrieval/grounding and the prompt for off-topic and generic answers"),
    "coherence": (lambda p: p["coherence"] < 0.5, "look truncated, repetitive or garbled (coherence < 0.5): "
                  "check max-token limits, stop sequences and template rendering"),
    "length_fit": (lambda p: p["length_fit"] < 0.5, "are far too short or too long (length fit < 0.5): check "
                   "length instructions in the prompt and truncation"),
    "sentiment": (lambda p: p["sentiment"] < -0.5, "read as clearly negative (VADER < -0.5): review tone "
                  "instructions"),
}


def _quality_advice(part: pd.DataFrame, config=None) -> str:
    if not len(part) or "relevance" not in part:
        return "Review the lowest-scoring responses."
    short = _weighted_shortfalls(part, config)
    worst = max(short, key=short.get)
    misses, detail = _MISSES.get(worst, _MISSES["sentiment"])
    detail = f"{float(misses(part).mean()):.1%} of its {len(part)} responses {detail}"
    return f"Largest shortfall: {worst} ({short[worst]:.3f} of the composite lost on average); {detail}."


def _latency_advice(part: pd.DataFrame) -> str:
    bits = []
    rt = pd.to_numeric(part["response_time_s"], errors="coerce")
    if "model" in part and part["model"].notna().any():
        m = rt.groupby(part["model"]).agg(["mean", "size"]).sort_values("mean", ascending=False)
        if len(m) > 1:
            bits.append(f"slowest model {m.index[0]} (mean {m['mean'].iloc[0]:.2f} s over {int(m['size'].iloc[0])} "
                        f"turns vs {m['mean'].iloc[-1]:.2f} s for {m.index[-1]})")
    if "timestamp" in part and len(part) >= 24:
        hourly = rt.groupby(part["timestamp"].dt.floor("h")).mean()
        top = hourly.sort_values(ascending=False).head(1)
        if len(top):
            bits.append(f"slowest hour {top.index[0]:%Y-%m-%d %H:00} (mean {top.iloc[0]:.2f} s)")
    if "error" in part and part["error"].notna().any():
        bits.append(f"error rate {part['error'].notna().mean():.1%}")
    where = "; ".join(bits) if bits else "no breakdown available"
    return (f"p95 {rt.quantile(0.95):.2f} s, p99 {rt.quantile(0.99):.2f} s; {where}. Check provider "
            "latency and timeouts for the slowest model and hours; consider a faster model, caching or "
            "shorter prompts there.")


def _share_advice(part: pd.DataFrame, cutoffs, config=None) -> str:
    levels = pd.Series(part["level"]).astype(str).value_counts(normalize=True)
    top = ", ".join(f"{k} {v:.1%}" for k, v in levels.items())
    return (f"Levels in this scope: {top} (good starts at quality {cutoffs['good']:.2f}). "
            + _quality_advice(part, config))


def _error_advice(part: pd.DataFrame) -> str:
    errs = part["error"].dropna().astype(str)
    top = errs.value_counts().head(3)
    kinds = ", ".join(f"{k} ({v})" for k, v in top.items()) or "none"
    return f"Most frequent errors: {kinds}. Check retries, timeouts and provider status for these."


def alerts_for(
    scope: str,
    kpis: Mapping[str, Any],
    thresholds: Thresholds | Mapping | None = None,
    *,
    turns: pd.DataFrame | None = None,
    config=None,
) -> list[dict]:
    """Alerts for one scope's KPIs (see :func:`evaluate_alerts`).

    Examples
    --------
    >>> [a["severity"] for a in alerts_for("all", {"n_turns": 100, "mean_quality": 0.45,
    ...     "mean_response_time_s": 5.5, "high_quality_share": 0.7})]
    ['medium', 'high']
    """
    th = _thresholds(thresholds, config)
    cut = _cutoffs(config)
    out = []
    n = int(kpis.get("n_turns") or 0)

    def add(severity, metric, value, threshold, rule, advice):
        out.append({"severity": severity, "metric": metric, "scope": scope, "value": float(value),
                    "threshold": float(threshold), "rule": rule, "n_turns": n, "recommendation": advice})

    q = kpis.get("mean_quality")
    if q is not None and not math.isnan(q):
        if q < th.quality_high or q < th.quality_medium:
            sev, thr = ("high", th.quality_high) if q < th.quality_high else ("medium", th.quality_medium)
            add(sev, "mean_quality", q, thr, f"mean quality < {thr:g}",
                _quality_advice(turns, config) if turns is not None else "Review the lowest-scoring responses.")
    rt = kpis.get("mean_response_time_s")
    if rt is not None and not math.isnan(rt):
        if rt > th.response_time_high or rt > th.response_time_medium:
            sev, thr = ("high", th.response_time_high) if rt > th.response_time_high else ("medium", th.response_time_medium)
            add(sev, "mean_response_time_s", rt, thr, f"mean response time > {thr:g} s",
                _latency_advice(turns) if turns is not None else "Check model latency.")
    hs = kpis.get("high_quality_share")
    if hs is not None and not math.isnan(hs) and hs < th.high_quality_share_medium:
        add("medium", "high_quality_share", hs, th.high_quality_share_medium,
            f"share of responses at level good or better < {th.high_quality_share_medium:g}",
            _share_advice(turns, cut, config) if turns is not None else "Review the lowest-scoring responses.")
    rc = kpis.get("mean_reaction")
    if rc is not None and not math.isnan(rc) and rc < th.reaction_medium:
        add("medium", "mean_reaction", rc, th.reaction_medium, f"mean user reaction < {th.reaction_medium:g}",
            "The users' next messages often complain, repeat the request or ask for a human: read the "
            "answers with the lowest reaction (sort the turns by reaction) and the messages that follow them.")
    er = kpis.get("error_rate")
    if er is not None and not math.isnan(er):
        if th.error_rate_high is not None and er > th.error_rate_high:
            add("high", "error_rate", er, th.error_rate_high, f"error rate > {th.error_rate_high:g}",
                _error_advice(turns) if turns is not None else "Check errors.")
        elif th.error_rate_medium is not None and er > th.error_rate_medium:
            add("medium", "error_rate", er, th.error_rate_medium, f"error rate > {th.error_rate_medium:g}",
                _error_advice(turns) if turns is not None else "Check errors.")
    return out


def _sort_alerts(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    if len(df):
        order = df["severity"].map(_SEVERITY_ORDER)
        scope_rank = (df["scope"] != "all").astype(int)
        df = (df.assign(_o=order, _s=scope_rank).sort_values(["_o", "_s", "metric", "scope"], kind="stable")
              .drop(columns=["_o", "_s"]).reset_index(drop=True))
    return df


def evaluate_alerts(
    data,
    thresholds: Thresholds | Mapping | None = None,
    *,
    by: Sequence[str] = ("bot_id", "variant"),
    config=None,
    cutoffs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Alerts for the whole log and for each bot and variant, most severe first.

    Parameters
    ----------
    data : ConversationLog or DataFrame
        Scored or unscored turns (scored on the fly with ``config``).
    thresholds : Thresholds or dict, optional
        Defaults: the reference design's.
    by : sequence of str
        Columns whose groups are checked too (groups with fewer than ``thresholds.min_turns``
        turns are skipped).
    config : QualityConfig or dict, optional
        Used to score, and for the level cut-offs (unless ``cutoffs`` is given).
    cutoffs : dict, optional
        Level cut-offs for the high-quality share (``good`` and better).

    Returns
    -------
    DataFrame
        Columns :data:`ALERT_COLUMNS`; empty when nothing is breached.

    Examples
    --------
    >>> t = pd.DataFrame({"response_time_s": [4.0] * 40, "quality": [0.45] * 40,
    ...     "level": ["average"] * 40, "relevance": [0.1] * 40, "sentiment": [0.0] * 40,
    ...     "coherence": [1.0] * 40, "length_fit": [1.0] * 40, "bot_response": ["x"] * 40,
    ...     "user_input": ["y"] * 40})
    >>> evaluate_alerts(t, by=())[["severity", "metric", "value", "threshold"]].values.tolist()
    [['medium', 'high_quality_share', 0.0, 0.5], ['medium', 'mean_quality', 0.45, 0.6], ['medium', 'mean_response_time_s', 4.0, 3.0]]
    """
    th = _thresholds(thresholds, config)
    turns, _ = _scored(data, config)
    cut = cutoffs or _cutoffs(config)
    if cutoffs is not None:
        turns = turns.assign(level=assign_levels(turns["quality"].to_numpy(float), cutoffs))
    rows = alerts_for("all", turn_kpis(turns, cut), th, turns=turns, config=config)
    for col in by:
        if col not in turns.columns:
            continue
        for g, part in turns.groupby(col, sort=True):
            if len(part) < th.min_turns:
                continue
            rows += alerts_for(f"{col}={g}", turn_kpis(part, cut), th, turns=part, config=config)
    return _sort_alerts(rows)
