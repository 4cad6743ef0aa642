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

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "Thresholds",
    "MonitoringReport",
    "monitoring_report",
    "turn_kpis",
    "kpi_table",
    "evaluate_alerts",
    "alerts_for",
    "suggestions",
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
]

ALERT_COLUMNS = ["severity", "metric", "scope", "value", "threshold", "rule", "n_turns", "recommendation"]
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds. Defaults are the reference design's.

    Parameters
    ----------
    quality_high, quality_medium : float
        Mean quality below ``quality_high`` raises a high alert, below ``quality_medium`` a
        medium one (0.6 and 0.7).
    response_time_high, response_time_medium : float
        Mean response time (s) above ``response_time_high`` raises a high alert, above
        ``response_time_medium`` a medium one (5 and 3).
    high_quality_share_medium : float
        Share of responses at level ``good`` or better below this raises a medium alert (0.5).
    error_rate_high, error_rate_medium : float, optional
        Error-rate thresholds; ``None`` (the default, as in the reference) disables them.
    min_turns : int
        A bot or variant with fewer turns is not checked (its mean is too noisy); the overall
        scope is always checked.

    Examples
    --------
    >>> Thresholds().quality_medium
    0.7
    >>> Thresholds.from_dict({"quality_high": 0.5}).quality_high
    0.5
    """

    quality_high: float = 0.6
    quality_medium: float = 0.7
    response_time_high: float = 5.0
    response_time_medium: float = 3.0
    high_quality_share_medium: float = 0.5
    error_rate_high: float | None = None
    error_rate_medium: float | None = None
    min_turns: int = 30

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None and f.name.startswith("error_rate"):
                continue
            if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool) or not math.isfinite(v):
                raise ValueError(f"Thresholds.{f.name} must be a finite number, got {v!r}")
            if v < 0:
                raise ValueError(f"Thresholds.{f.name} must be >= 0, got {v!r}")
        for name in ("quality_high", "quality_medium", "high_quality_share_medium"):
            if getattr(self, name) > 1:
                raise ValueError(f"Thresholds.{name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.quality_high > self.quality_medium:
            raise ValueError(
                f"Thresholds: quality_high ({self.quality_high}) must be <= quality_medium "
                f"({self.quality_medium}): a high alert fires below the lower threshold"
            )
        if self.response_time_high < self.response_time_medium:
            raise ValueError(
                f"Thresholds: response_time_high ({self.response_time_high}) must be >= "
                f"response_time_medium ({self.response_time_medium})"
            )
        if (self.error_rate_high is not None and self.error_rate_medium is not None
                and self.error_rate_high < self.error_rate_medium):
            raise ValueError("Thresholds: error_rate_high must be >= error_rate_medium")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Thresholds":
        """Build from a dict (e.g. a JSON file); unknown keys are an error naming them."""
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"Thresholds: unknown setting(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


def _thresholds(t) -> Thresholds:
    if t is None:
        return Thresholds()
    if isinstance(t, Thresholds):
        return t
    if isinstance(t, Mapping):
        return Thresholds.from_dict(t)
    raise TypeError(f"thresholds must be Thresholds or a dict, got {type(t).__name__}")


# -------------------------------------------------------------------------------------------
# KPIs
# -------------------------------------------------------------------------------------------


def _scored(data, config=None):
    """Scored turns and the conversations table of a log or a turns frame."""
    from toolkit.log import ConversationLog
    from toolkit.quality import SCORE_COLUMNS, score_turns

    if isinstance(data, ConversationLog):
        turns, convs = data.turns, data.conversations
    elif isinstance(data, pd.DataFrame):
        turns, convs = data, None
    else:
        raise TypeError(f"expected a ConversationLog or a turns DataFrame, got {type(data).__name__}")
    if not set(SCORE_COLUMNS) <= set(turns.columns):
        turns = score_turns(turns, config)
    elif config is not None:
        # already scored: the scores stay (rescore to change weights); levels follow the cut-offs
        from toolkit.quality import _config, assign_levels

        turns = turns.assign(level=assign_levels(turns["quality"].to_numpy(float), _config(config).cutoffs))
    return turns, convs


def _cutoffs(config):
    from toolkit.quality import _config

    return _config(config).cutoffs


def turn_kpis(turns: pd.DataFrame, cutoffs: Mapping[str, float] | None = None) -> dict[str, Any]:
    """KPIs of a set of scored turns (one scope).

    Examples
    --------
    >>> t = pd.DataFrame({"response_time_s": [1.0, 2.0, 9.0], "error": [None, "timeout", None],
    ...                   "quality": [0.9, 0.5, 0.75], "level": ["excellent", "average", "good"]})
    >>> k = turn_kpis(t)
    >>> k["n_turns"], k["mean_response_time_s"], round(k["error_rate"], 3), round(k["high_quality_share"], 3)
    (3, 4.0, 0.333, 0.667)
    """
    from toolkit.quality import _check_cutoffs, _DEFAULT_CUTOFFS

    c = _check_cutoffs(cutoffs or _DEFAULT_CUTOFFS)
    n = int(len(turns))
    rt = pd.to_numeric(turns["response_time_s"], errors="coerce").to_numpy(dtype=float) if "response_time_s" in turns else np.full(n, np.nan)
    rt = rt[~np.isnan(rt)]
    out: dict[str, Any] = {"n_turns": n}
    out["mean_response_time_s"] = float(rt.mean()) if rt.size else None
    out["median_response_time_s"] = float(np.median(rt)) if rt.size else None
    out["p95_response_time_s"] = float(np.quantile(rt, 0.95)) if rt.size else None
    out["p99_response_time_s"] = float(np.quantile(rt, 0.99)) if rt.size else None
    out["error_rate"] = float(turns["error"].notna().mean()) if ("error" in turns and n) else None
    for col in ("prompt_tokens", "completion_tokens"):
        out[col] = int(pd.to_numeric(turns[col], errors="coerce").fillna(0).sum()) if col in turns else None
    if out.get("prompt_tokens") is not None and out.get("completion_tokens") is not None and n:
        out["tokens_per_turn"] = (out["prompt_tokens"] + out["completion_tokens"]) / n
    else:
        out["tokens_per_turn"] = None
    if "cost_usd" in turns and n:
        cost = pd.to_numeric(turns["cost_usd"], errors="coerce")
        out["cost_usd"] = float(cost.sum()) if cost.notna().any() else None
        out["cost_per_turn_usd"] = float(cost.mean()) if cost.notna().any() else None
    else:
        out["cost_usd"] = out["cost_per_turn_usd"] = None
    if "quality" in turns and n:
        q = pd.to_numeric(turns["quality"], errors="coerce").to_numpy(dtype=float)
        q = q[~np.isnan(q)]
        out["mean_quality"] = float(q.mean()) if q.size else None
        out["median_quality"] = float(np.median(q)) if q.size else None
        out["high_quality_share"] = float((q >= c["good"]).mean()) if q.size else None
        out["poor_share"] = float((q < c["average"]).mean()) if q.size else None
    else:
        out["mean_quality"] = out["median_quality"] = out["high_quality_share"] = out["poor_share"] = None
    return out


def _conversation_kpis(convs: pd.DataFrame, n_turns_by_conv: pd.Series) -> dict[str, Any]:
    n = int(len(convs))
    out: dict[str, Any] = {"n_conversations": n}
    if n == 0:
        out.update(mean_turns_per_conversation=None, resolution_rate=None, mean_satisfaction=None)
        return out
    lens = n_turns_by_conv.reindex(convs["conversation_id"].to_numpy()).fillna(0)
    out["mean_turns_per_conversation"] = float(lens.mean())
    if "resolved" in convs and convs["resolved"].notna().any():
        out["resolution_rate"] = float(convs["resolved"].dropna().astype(float).mean())
    else:
        out["resolution_rate"] = None
    if "satisfaction" in convs and convs["satisfaction"].notna().any():
        out["mean_satisfaction"] = float(pd.to_numeric(convs["satisfaction"], errors="coerce").mean())
    else:
        out["mean_satisfaction"] = None
    return out


def _period_start(ts: pd.Series, freq: str) -> pd.Series:
    """Start of the period (``h``, ``D``, ``W``, ``M``, ...) of each timestamp, in its time zone."""
    if freq in ("h", "H", "D", "min"):
        return ts.dt.floor(freq)
    tz = ts.dt.tz
    naive = ts.dt.tz_convert(None) if tz is not None else ts
    start = naive.dt.to_period(freq).dt.start_time
    return start.dt.tz_localize("UTC").dt.tz_convert(tz) if tz is not None else start


def kpi_table(
    turns: pd.DataFrame,
    conversations: pd.DataFrame | None = None,
    by: str | None = None,
    *,
    freq: str = "D",
    cutoffs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """KPIs per group of a scored log: ``by`` a column (``bot_id``, ``variant``, ``model``, ...)
    or ``"time"`` (periods of ``freq`` by turn timestamp / conversation start).

    Returns one row per group with a ``group`` column, turn KPIs and (unless grouping by a
    turn-level column such as ``model``) conversation KPIs.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> from toolkit.quality import score_turns
    >>> log = generate_sample(seed=3, days=3).log
    >>> kpi_table(score_turns(log), log.conversations, by="variant")["group"].tolist()
    ['A', 'B']
    """
    if by is not None and by != "time" and by not in turns.columns:
        raise ValueError(f"kpi_table: turns have no column {by!r} to group by (columns: {list(turns.columns)})")
    n_by_conv = turns.groupby("conversation_id").size() if "conversation_id" in turns else pd.Series(dtype=float)
    rows = []
    if by is None:
        row = {"group": "all", **turn_kpis(turns, cutoffs)}
        if conversations is not None:
            row.update(_conversation_kpis(conversations, n_by_conv))
        return pd.DataFrame([row])
    if by == "time":
        key_t = _period_start(turns["timestamp"], freq)
        conv_key = None
        if conversations is not None and "start_time" in conversations:
            conv_key = _period_start(conversations["start_time"], freq)
    else:
        key_t = turns[by]
        conv_key = conversations[by] if (conversations is not None and by in conversations.columns) else None
    for g, part in turns.groupby(key_t, sort=True, dropna=False):
        row = {"group": g, **turn_kpis(part, cutoffs)}
        if conv_key is not None:
            mask = (conv_key == g).fillna(False).to_numpy() if not (isinstance(g, float) and math.isnan(g)) else conv_key.isna().to_numpy()
            row.update(_conversation_kpis(conversations[mask], n_by_conv))
        rows.append(row)
    out = pd.DataFrame(rows)
    if by != "time" and len(out):
        out["group"] = out["group"].astype(object).where(out["group"].notna(), "(none)").astype(str)
    return out


# -------------------------------------------------------------------------------------------
# alerts
# -------------------------------------------------------------------------------------------


def _weighted_shortfalls(turns: pd.DataFrame, config=None) -> dict[str, float]:
    """What each component costs the composite, averaged over the turns (they add up to
    ``1 - mean quality``)."""
    from toolkit.quality import _config, composite_parts, content_words

    cfg = _config(config)
    w = cfg.normalised_weights()
    if not len(turns):
        return {k: 0.0 for k in w}
    cw = content_words(turns["bot_response"], stop_words=cfg.stop_words) if "bot_response" in turns else None
    parts = composite_parts(turns, cfg, content_words=cw)
    return {k: float(w[k] * np.mean(1 - parts[k].to_numpy())) for k in parts.columns}


def _quality_advice(part: pd.DataFrame, config=None) -> str:
    if not len(part) or "relevance" not in part:
        return "Review the lowest-scoring responses."
    short = _weighted_shortfalls(part, config)
    worst = max(short, key=short.get)
    n = len(part)
    if worst == "relevance":
        share = float((part["relevance"] < 0.05).mean())
        detail = (f"{share:.1%} of its {n} responses share almost no vocabulary with the conversation "
                  "(relevance < 0.05): check retrieval/grounding and the prompt for off-topic and "
                  "generic answers")
    elif worst == "coherence":
        share = float((part["coherence"] < 0.5).mean())
        detail = (f"{share:.1%} of its {n} responses look truncated, repetitive or garbled "
                  "(coherence < 0.5): check max-token limits, stop sequences and template rendering")
    elif worst == "length_fit":
        share = float((part["length_fit"] < 0.5).mean())
        detail = (f"{share:.1%} of its {n} responses are far too short or too long (length fit < 0.5): "
                  "check length instructions in the prompt and truncation")
    else:
        share = float((part["sentiment"] < -0.5).mean())
        detail = (f"{share:.1%} of its {n} responses read as clearly negative (VADER < -0.5): "
                  "review tone instructions")
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
    >>> [a["severity"] for a in alerts_for("all", {"n_turns": 100, "mean_quality": 0.65,
    ...     "mean_response_time_s": 5.5, "high_quality_share": 0.7})]
    ['medium', 'high']
    """
    th = _thresholds(thresholds)
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
    >>> t = pd.DataFrame({"response_time_s": [4.0] * 40, "quality": [0.65] * 40,
    ...     "level": ["average"] * 40, "relevance": [0.1] * 40, "sentiment": [0.0] * 40,
    ...     "coherence": [1.0] * 40, "length_fit": [1.0] * 40, "bot_response": ["x"] * 40,
    ...     "user_input": ["y"] * 40})
    >>> evaluate_alerts(t, by=())[["severity", "metric", "value", "threshold"]].values.tolist()
    [['medium', 'high_quality_share', 0.0, 0.5], ['medium', 'mean_quality', 0.65, 0.7], ['medium', 'mean_response_time_s', 4.0, 3.0]]
    """
    th = _thresholds(thresholds)
    turns, _ = _scored(data, config)
    cut = cutoffs or _cutoffs(config)
    if cutoffs is not None:
        from toolkit.quality import assign_levels

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


# -------------------------------------------------------------------------------------------
# suggestions
# -------------------------------------------------------------------------------------------


def _segment_differences(y: np.ndarray, key: np.ndarray, codes: np.ndarray, min_n: int = 30) -> pd.DataFrame:
    """Each segment's mean of ``y`` against the rest's, with a conversation-clustered z.

    The z is the Wald statistic of the slope in OLS ``y ~ 1 + in_segment`` with cluster-robust
    (sandwich) errors by conversation ``codes`` (0..G-1) and statsmodels' small-sample factor
    G/(G-1) * (N-1)/(N-2): conversations split across the segment and the rest are handled.
    One grouping per call; "the rest" comes by subtraction from the per-conversation totals.
    A perfect separation (no spread left) gets an infinite z. Rows whose key is missing count
    in the rest. Segments with fewer than ``min_n`` rows, or a rest that small, are left out.
    """
    n_all = len(y)
    n_clusters = int(codes.max()) + 1 if n_all else 0
    s_c = np.bincount(codes, weights=y, minlength=n_clusters)
    n_c = np.bincount(codes, minlength=n_clusters).astype(float)
    total = float(y.sum())
    valid = pd.notna(key)
    per = (pd.DataFrame({"g": key[valid], "c": codes[valid], "y": y[valid]})
           .groupby(["g", "c"], sort=True)["y"].agg(["sum", "size"]))
    factor = n_clusters / (n_clusters - 1) * (n_all - 1) / (n_all - 2) if n_clusters > 1 and n_all > 2 else math.nan
    rows = []
    for g, part in per.groupby(level="g", sort=True):
        c = part.index.get_level_values("c").to_numpy()
        s1c, n1c = part["sum"].to_numpy(float), part["size"].to_numpy(float)
        n1 = n1c.sum()
        n0 = n_all - n1
        if n1 < min_n or n0 < min_n:
            continue
        p1, p0 = s1c.sum() / n1, (total - s1c.sum()) / n0
        # per-conversation score of the slope: inside residuals / n1 - rest residuals / n0
        rest_out = (s_c - p0 * n_c) ** 2  # conversations with no turn in the segment
        psi_in = (s1c - p1 * n1c) / n1 - ((s_c[c] - s1c) - p0 * (n_c[c] - n1c)) / n0
        ss = (rest_out.sum() - rest_out[c].sum()) / n0 ** 2 + (psi_in ** 2).sum()
        se = math.sqrt(max(ss, 0.0) * factor)
        z = (p1 - p0) / se if se > 0 else (math.copysign(math.inf, p1 - p0) if p1 != p0 else 0.0)
        rows.append({"segment": g, "n": int(n1), "share": p1, "share_rest": p0, "se": se, "z": z})
    return pd.DataFrame(rows, columns=["segment", "n", "share", "share_rest", "se", "z"])


def _segment_findings(turns: pd.DataFrame, cutoffs, min_n: int = 30) -> list[dict]:
    """Segments whose share of poor answers is clearly above the rest (z > 3).

    The z treats conversations, not turns, as the independent units (turns of one conversation
    are alike; counting them as independent would flag noise): see :func:`_segment_differences`.
    """
    poor = (turns["quality"].to_numpy(float) < cutoffs["average"])
    y = poor.astype(float)
    codes = (pd.factorize(turns["conversation_id"])[0] if "conversation_id" in turns.columns
             else np.arange(len(turns)))
    dims = []
    for col in ("cluster", "cluster_label", "variant", "model", "bot_id"):
        if col in turns.columns and turns[col].notna().any():
            dims.append((col, turns[col].astype(object)))
    if "timestamp" in turns.columns:
        dims.append(("hour", turns["timestamp"].dt.hour))
    found = []
    for name, key in dims:
        diffs = _segment_differences(y, key.to_numpy(), codes, min_n=min_n)
        for r in diffs[(diffs["z"] > 3) & (diffs["share"] > diffs["share_rest"])].itertuples():
            g, n, p1, p0 = r.segment, r.n, r.share, r.share_rest
            k = int(round(p1 * n))
            found.append({
                "area": "quality",
                "finding": f"Poor answers concentrate in {name}={g}: {p1:.1%} poor vs {p0:.1%} elsewhere "
                           f"({k} of {n} turns).",
                "evidence": {"segment": f"{name}={g}", "poor_share": p1, "poor_share_elsewhere": p0,
                             "n_turns": n, "z": r.z, "excess_poor_turns": (p1 - p0) * n},
                "action": f"Inspect the worst responses of {name}={g} first; it accounts for "
                          f"{(p1 - p0) * n:.0f} more poor answers than the rest's rate would give.",
            })
    found.sort(key=lambda f: -f["evidence"]["excess_poor_turns"])
    return found


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    out, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        if not m and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(mask) - 1))
    return out


def _drop_findings(turns: pd.DataFrame) -> list[dict]:
    """Days with unusually low quality (robust z > 4); hours with slow responses (z > 5)."""
    found = []
    if "timestamp" not in turns.columns or len(turns) < 100:
        return found
    day = turns["timestamp"].dt.floor("D")
    q = turns["quality"].astype(float).groupby(day).agg(["mean", "size", "std"])
    q = q[q["size"] >= 20]
    if len(q) >= 7:
        med = q["mean"].median()
        se = (q["std"] / np.sqrt(q["size"])).clip(lower=1e-9)
        mad = 1.4826 * (q["mean"] - med).abs().median()
        scale = np.sqrt(se ** 2 + mad ** 2)
        z = (med - q["mean"]) / scale
        for a, b in _runs((z > 4).to_numpy()):
            sel = q.iloc[a : b + 1]
            mean = float((sel["mean"] * sel["size"]).sum() / sel["size"].sum())
            found.append({
                "area": "quality",
                "finding": f"Quality dropped from {sel.index[0]:%Y-%m-%d} to {sel.index[-1]:%Y-%m-%d}: "
                           f"mean {mean:.3f} vs a typical day's {med:.3f}.",
                "evidence": {"start": sel.index[0], "end": sel.index[-1] + pd.Timedelta(days=1),
                             "mean_quality": mean, "typical_daily_mean": float(med),
                             "n_turns": int(sel["size"].sum())},
                "action": "Check deployments, prompt or model changes and knowledge-base updates in this "
                          "window; compare its worst responses with those of a typical day.",
            })
    hour = turns["timestamp"].dt.floor("h")
    # hourly medians: one slow timeout does not move them, a real incident does
    rt = pd.to_numeric(turns["response_time_s"], errors="coerce").groupby(hour).agg(["median", "mean", "size"])
    rt = rt[rt["size"] >= 5]
    if len(rt) >= 48:
        med = rt["median"].median()
        mad = 1.4826 * (rt["median"] - med).abs().median()
        z = (rt["median"] - med) / max(mad, 1e-9)
        for a, b in _runs((z > 5).to_numpy()):
            sel = rt.iloc[a : b + 1]
            if len(sel) < 2:
                continue
            mean = float((sel["mean"] * sel["size"]).sum() / sel["size"].sum())
            found.append({
                "area": "latency",
                "finding": f"Response times spiked from {sel.index[0]:%Y-%m-%d %H:00} to "
                           f"{sel.index[-1] + pd.Timedelta(hours=1):%Y-%m-%d %H:00}: median "
                           f"{sel['median'].median():.2f} s (mean {mean:.2f} s) vs a typical hour's "
                           f"median {med:.2f} s.",
                "evidence": {"start": sel.index[0], "end": sel.index[-1] + pd.Timedelta(hours=1),
                             "median_response_time_s": float(sel["median"].median()),
                             "mean_response_time_s": mean, "typical_hourly_median_s": float(med),
                             "n_turns": int(sel["size"].sum())},
                "action": "Check the provider's status and rate limits for this window, and whether "
                          "timeouts and retries behaved as intended.",
            })
    return found


def suggestions(data, *, config=None, min_n: int = 30, max_items: int = 12) -> pd.DataFrame:
    """Findings derived from the data, each with its evidence and an action.

    Covers: segments where poor answers concentrate (cluster if the turns carry one, variant,
    model, bot, hour of day; two-proportion z > 3 against the rest), days when quality dropped
    (robust z > 4) and hours when response times spiked (hourly medians, robust z > 5, two hours
    or more), the component that costs the most
    quality, and the most frequent errors.

    Returns
    -------
    DataFrame
        Columns ``area``, ``finding``, ``action``, ``evidence`` (a dict of the numbers).

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> s = suggestions(generate_sample(seed=3, days=3).log)
    >>> list(s.columns)
    ['area', 'finding', 'action', 'evidence']
    """
    turns, _ = _scored(data, config)
    cut = _cutoffs(config)
    items: list[dict] = []
    if len(turns):
        short = _weighted_shortfalls(turns, config)
        worst = max(short, key=short.get)
        total = sum(short.values())
        items.append({
            "area": "quality",
            "finding": f"{worst} costs the most quality: {short[worst]:.3f} of the {total:.3f} points "
                       f"lost on average (mean quality {turns['quality'].mean():.3f}).",
            "evidence": {f"lost_{k}": v for k, v in short.items()},
            "action": _quality_advice(turns, config),
        })
    items += _segment_findings(turns, cut, min_n=min_n)
    items += _drop_findings(turns)
    if "error" in turns.columns and turns["error"].notna().any():
        errs = turns["error"].dropna().astype(str)
        top = errs.value_counts()
        by_model = ""
        if "model" in turns.columns:
            rate = turns["error"].notna().groupby(turns["model"]).mean().sort_values(ascending=False)
            if len(rate) > 1:
                by_model = f"; highest error rate: model {rate.index[0]} ({rate.iloc[0]:.1%})"
        items.append({
            "area": "errors",
            "finding": f"{len(errs)} turns failed ({len(errs) / len(turns):.1%}); most frequent: "
                       + ", ".join(f"{k} ({v})" for k, v in top.head(3).items()) + by_model + ".",
            "evidence": {"n_errors": int(len(errs)), "error_rate": len(errs) / len(turns),
                         **{f"count_{k}": int(v) for k, v in top.head(5).items()}},
            "action": "Look at retries and timeouts for the most frequent error and the model with the "
                      "highest error rate.",
        })
    df = pd.DataFrame(items[:max_items], columns=["area", "finding", "action", "evidence"])
    return df


# -------------------------------------------------------------------------------------------
# tables for the notebook
# -------------------------------------------------------------------------------------------


def worst_responses(data, n: int = 10, *, config=None) -> pd.DataFrame:
    """The ``n`` lowest-quality responses with their inputs and components.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> w = worst_responses(generate_sample(seed=3, days=3).log, n=3)
    >>> len(w), list(w.columns)[:4]
    (3, ['conversation_id', 'turn', 'user_input', 'bot_response'])
    """
    turns, _ = _scored(data, config)
    cols = [c for c in ("conversation_id", "turn", "user_input", "bot_response", "quality", "level",
                        "relevance", "coherence", "length_fit", "sentiment", "variant", "model") if c in turns]
    return turns.nsmallest(n, "quality")[cols].reset_index(drop=True)


def _clustered_means(y: np.ndarray, group: np.ndarray, cluster: np.ndarray | None) -> pd.DataFrame:
    """Per-group mean of ``y`` and its standard error with conversations as the independent units.

    The SE is the cluster-robust (sandwich) SE of the mean, with the usual small-sample factor
    G / (G - 1) for G clusters in the group: what ``statsmodels`` OLS on an intercept gives with
    ``cov_type="cluster"``. With ``cluster=None`` every row is its own cluster, which is the
    plain ``sd / sqrt(n)``. Returns ``n, clusters, mean, se`` indexed by group.
    """
    frame = pd.DataFrame({"g": group, "y": y, "c": np.arange(len(y)) if cluster is None else cluster})
    per = frame.groupby(["g", "c"], sort=True)["y"].agg(["sum", "size"]).reset_index()
    tot = per.groupby("g", sort=True).agg(total=("sum", "sum"), n=("size", "sum"), clusters=("c", "size"))
    mean = tot["total"] / tot["n"]
    resid = per["sum"] - per["g"].map(mean) * per["size"]
    ss = (resid ** 2).groupby(per["g"], sort=True).sum()
    g_ = tot["clusters"]
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(ss * g_ / (g_ - 1).where(g_ > 1)) / tot["n"]
    return pd.DataFrame({"n": tot["n"], "clusters": g_, "mean": mean, "se": se})


def quality_by(data, by: str | pd.Series, *, config=None) -> pd.DataFrame:
    """Mean quality, its 95 % interval, high-quality and poor shares per group.

    Turns of one conversation are alike (same user, same topic, same bot state), so the interval
    treats conversations, not turns, as the independent units: a normal interval with a
    conversation-clustered standard error (see :func:`_clustered_means`). Turns-as-independent
    intervals would be too narrow by about the square root of the design effect. Without a
    ``conversation_id`` column each turn is its own unit.

    ``by`` is a column name, ``"hour"`` (hour of day of the timestamp) or a Series aligned with
    the turns (e.g. intents from the sample's truth).

    Returns
    -------
    pandas.DataFrame
        ``group, n_turns, n_conversations, mean_quality, ci_low, ci_high, high_quality_share,
        poor_share``; ``attrs["by"]`` names the grouping.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> t = quality_by(generate_sample(seed=3, days=3).log, "variant")
    >>> t["group"].tolist(), bool((t["n_conversations"] < t["n_turns"]).all())
    (['A', 'B'], True)
    """
    turns, _ = _scored(data, config)
    cut = _cutoffs(config)
    if isinstance(by, pd.Series):
        key, name = by.reindex(turns.index), by.name or "group"
    elif by == "hour":
        key, name = turns["timestamp"].dt.hour, "hour"
    elif by in turns.columns:
        key, name = turns[by], by
    else:
        raise ValueError(f"quality_by: no column {by!r} (and not 'hour')")
    q = turns["quality"].astype(float)
    keep = key.notna().to_numpy() & q.notna().to_numpy()
    k = key.to_numpy()[keep]
    conv = turns["conversation_id"].to_numpy()[keep] if "conversation_id" in turns.columns else None
    m = _clustered_means(q.to_numpy()[keep], k, conv)
    z = 1.959963984540054
    out = pd.DataFrame({"n_turns": m["n"], "n_conversations": m["clusters"], "mean_quality": m["mean"],
                        "ci_low": m["mean"] - z * m["se"], "ci_high": m["mean"] + z * m["se"]})
    out["high_quality_share"] = pd.Series(q.to_numpy()[keep] >= cut["good"]).groupby(k, sort=True).mean()
    out["poor_share"] = pd.Series(q.to_numpy()[keep] < cut["average"]).groupby(k, sort=True).mean()
    out = out.reset_index(names="group")
    out.attrs["by"] = name
    return out


# -------------------------------------------------------------------------------------------
# the report
# -------------------------------------------------------------------------------------------


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

    def to_dict(self) -> dict:
        """KPIs, groups, alerts and suggestions as plain Python objects."""
        from toolkit.notebook import to_jsonable

        return to_jsonable({
            "kpis": self.kpis,
            "levels": self.levels,
            "by_bot": self.by_bot,
            "by_variant": self.by_variant,
            "by_model": self.by_model,
            "over_time": self.over_time,
            "alerts": self.alerts,
            "suggestions": self.suggestions,
            "thresholds": self.thresholds.to_dict(),
            "cutoffs": self.cutoffs,
            "freq": self.freq,
        })


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
    from toolkit.quality import level_counts

    th = _thresholds(thresholds)
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


# -------------------------------------------------------------------------------------------
# figures
# -------------------------------------------------------------------------------------------

_FREQ_NAMES = {"D": "day", "W": "week", "M": "month", "h": "hour", "H": "hour", "min": "minute"}
_LEVEL_COLOURS = {"excellent": "#1a9850", "good": "#91cf60", "average": "#fee08b", "poor": "#fc8d59",
                  "unacceptable": "#d73027"}


def _figure(figsize=(7.5, 4.0)):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def quality_distribution_figure(data, cutoffs: Mapping[str, float] | None = None, *, config=None, bins: int = 40):
    """Histogram of quality with the level cut-offs, bars coloured by level.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> fig = quality_distribution_figure(generate_sample(seed=3, days=2).log)
    >>> fig.axes[0].get_xlabel()
    'quality'
    """
    from toolkit.quality import _check_cutoffs

    turns, _ = _scored(data, config)
    cut = _check_cutoffs(cutoffs or _cutoffs(config))
    fig = _figure()
    ax = fig.add_subplot()
    q = turns["quality"].astype(float).dropna().to_numpy()
    counts, edges = np.histogram(q, bins=bins, range=(0, 1))
    mids = (edges[:-1] + edges[1:]) / 2
    from toolkit.quality import assign_levels

    colours = [_LEVEL_COLOURS[str(lv)] for lv in assign_levels(mids, cut)]
    ax.bar(mids, counts, width=edges[1] - edges[0], color=colours, edgecolor="white", linewidth=0.4)
    for name in ("poor", "average", "good", "excellent"):
        ax.axvline(cut[name], color="#444", lw=0.8, ls="--")
        ax.text(cut[name], ax.get_ylim()[1] * 0.97, f" {name}", rotation=90, va="top", ha="left", fontsize=8)
    ax.set_xlabel("quality")
    ax.set_ylabel("responses")
    ax.set_title(f"Quality of {len(q):,} responses (mean {q.mean():.3f})" if len(q) else "Quality")
    ax.set_xlim(0, 1)
    return fig


def components_figure(data, *, config=None):
    """Histograms of the four components (relevance, sentiment, coherence, length fit).

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> len(components_figure(generate_sample(seed=3, days=2).log).axes)
    4
    """
    turns, _ = _scored(data, config)
    fig = _figure((9, 5))
    axes = fig.subplots(2, 2)
    spec = [("relevance", (0, 1)), ("sentiment", (-1, 1)), ("coherence", (0, 1)), ("length_fit", (0, 1))]
    for ax, (col, rng) in zip(axes.ravel(), spec):
        v = turns[col].astype(float).dropna()
        ax.hist(v, bins=30, range=rng, color="#4575b4", edgecolor="white", linewidth=0.4)
        ax.set_title(f"{col} (mean {v.mean():.3f})", fontsize=10)
        ax.set_xlim(*rng)
    return fig


def quality_by_figure(table: pd.DataFrame, *, title: str | None = None, horizontal: bool | None = None):
    """Mean quality with 95 % intervals per group, from :func:`quality_by`.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> fig = quality_by_figure(quality_by(generate_sample(seed=3, days=2).log, "variant"))
    >>> fig.axes[0].get_ylabel()
    'mean quality'
    """
    fig = _figure((7.5, max(3.0, 0.28 * len(table) + 1.2)) if (horizontal or len(table) > 8) else (7.5, 3.8))
    ax = fig.add_subplot()
    labels = table["group"].astype(str).tolist()
    y = table["mean_quality"].to_numpy(float)
    err = np.vstack([y - table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float) - y])
    err = np.nan_to_num(err)
    if horizontal or (horizontal is None and len(table) > 8):
        ax.barh(labels, y, xerr=err, color="#4575b4", capsize=2)
        ax.invert_yaxis()
        ax.set_xlabel("mean quality")
        ax.set_xlim(0, 1)
    else:
        ax.bar(labels, y, yerr=err, color="#4575b4", capsize=3)
        ax.set_ylabel("mean quality")
        ax.set_ylim(0, 1)
    ax.set_title(title or f"Quality by {table.attrs.get('by', 'group')} (95% CI)")
    return fig


def quality_over_time_figure(data, *, freq: str = "D", by: str | None = None, config=None,
                             cutoffs: Mapping[str, float] | None = None):
    """Mean quality per period (optionally one line per group) and the high-quality share.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> len(quality_over_time_figure(generate_sample(seed=3, days=3).log, by="variant").axes)
    2
    """
    turns, _ = _scored(data, config)
    cut = cutoffs or _cutoffs(config)
    fig = _figure((9, 5))
    ax, ax2 = fig.subplots(2, 1, sharex=True)
    period = _period_start(turns["timestamp"], freq)
    if by and by in turns:
        for g, part in turns.groupby(by):
            m = part["quality"].astype(float).groupby(period[part.index]).mean()
            ax.plot(m.index, m.to_numpy(), label=f"{by}={g}", lw=1.2)
        ax.legend(fontsize=8, loc="lower left")
    else:
        m = turns["quality"].astype(float).groupby(period).mean()
        ax.plot(m.index, m.to_numpy(), lw=1.2, color="#4575b4")
    ax.set_ylabel("mean quality")
    share = (turns["quality"].astype(float) >= cut["good"]).groupby(period).mean()
    ax2.plot(share.index, share.to_numpy(), color="#1a9850", lw=1.2)
    ax2.set_ylabel("share good+")
    ax2.set_ylim(0, 1)
    ax.set_title(f"Quality over time (per {_FREQ_NAMES.get(freq, freq)})")
    fig.autofmt_xdate()
    return fig


def response_time_vs_quality_figure(data, *, config=None, bins: int = 12):
    """Response time against quality: a hexbin of all turns and the mean quality per time bin.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> response_time_vs_quality_figure(generate_sample(seed=3, days=2).log).axes[0].get_xlabel()
    'response time (s, log scale)'
    """
    turns, _ = _scored(data, config)
    fig = _figure()
    ax = fig.add_subplot()
    rt = pd.to_numeric(turns["response_time_s"], errors="coerce").astype(float)
    ok = rt.notna() & (rt > 0)
    x = np.log10(rt[ok].to_numpy())
    y = turns.loc[ok, "quality"].astype(float).to_numpy()
    if len(x):
        ax.hexbin(x, y, gridsize=35, cmap="Blues", mincnt=1, bins="log")
        edges = np.quantile(x, np.linspace(0, 1, bins + 1))
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
        mx = np.array([x[idx == i].mean() if (idx == i).any() else np.nan for i in range(bins)])
        my = np.array([y[idx == i].mean() if (idx == i).any() else np.nan for i in range(bins)])
        ax.plot(mx, my, color="#d73027", marker="o", lw=1.5, label=f"mean quality per response-time bin ({bins} bins of equal count)")
        ax.legend(fontsize=8, loc="lower left")
        ticks = [t for t in (0.1, 0.3, 1, 3, 10, 30, 100) if x.min() - 0.3 <= math.log10(t) <= x.max() + 0.3]
        ax.set_xticks([math.log10(t) for t in ticks], [f"{t:g}" for t in ticks])
        r = np.corrcoef(x, y)[0, 1] if len(x) > 2 else float("nan")
        ax.set_title(f"Response time vs quality (correlation with log time {r:+.2f})")
    ax.set_xlabel("response time (s, log scale)")
    ax.set_ylabel("quality")
    ax.set_ylim(0, 1)
    return fig


def level_counts_figure(levels: pd.DataFrame):
    """Bar chart of a :func:`toolkit.quality.level_counts` table.

    Examples
    --------
    >>> from toolkit.quality import level_counts, assign_levels
    >>> level_counts_figure(level_counts(assign_levels([0.9, 0.5]))).axes[0].get_ylabel()
    'responses'
    """
    fig = _figure((6, 3.2))
    ax = fig.add_subplot()
    names = levels["level"].astype(str).tolist()
    ax.bar(names, levels["count"].to_numpy(), color=[_LEVEL_COLOURS.get(n, "#999") for n in names])
    total = max(1, int(levels["count"].sum()))
    for i, c in enumerate(levels["count"].to_numpy()):
        ax.text(i, c, f"{c / total:.1%}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("responses")
    ax.set_title("Quality levels")
    return fig


def kpis_over_time_figure(report: MonitoringReport):
    """Response time (mean and p95), error rate and volume per period of a report.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> len(kpis_over_time_figure(monitoring_report(generate_sample(seed=3, days=3).log)).axes)
    3
    """
    t = report.over_time
    fig = _figure((9, 6))
    a1, a2, a3 = fig.subplots(3, 1, sharex=True)
    if len(t):
        x = pd.to_datetime(t["group"])
        a1.plot(x, t["mean_response_time_s"], label="mean", lw=1.2)
        a1.plot(x, t["p95_response_time_s"], label="p95", lw=1.2)
        a1.axhline(report.thresholds.response_time_medium, color="#fc8d59", ls="--", lw=0.8, label="medium threshold")
        a1.axhline(report.thresholds.response_time_high, color="#d73027", ls="--", lw=0.8, label="high threshold")
        a1.legend(fontsize=7, ncol=4, loc="upper left")
        a2.plot(x, t["error_rate"], color="#d73027", lw=1.2)
        width = {"D": 0.8, "W": 5.6, "M": 24.0, "h": 0.8 / 24, "H": 0.8 / 24}.get(report.freq, 0.8)
        a3.bar(x, t["n_turns"], width=width, color="#4575b4", align="edge")
    a1.set_ylabel("response time (s)")
    a2.set_ylabel("error rate")
    a3.set_ylabel("turns")
    a1.set_title(f"Operations per {_FREQ_NAMES.get(report.freq, report.freq)}")
    fig.autofmt_xdate()
    return fig
