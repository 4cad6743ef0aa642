"""KPIs of a scored log: per scope (:func:`turn_kpis`) and per group or period (:func:`kpi_table`).

``_scored`` scores a log or turns frame when it has no quality columns yet; ``_cutoffs`` gives the
level cut-offs of a quality config.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from toolkit.quality.config import _DEFAULT_CUTOFFS, SCORE_COLUMNS, _check_cutoffs, _config
from toolkit.quality.levels import assign_levels
from toolkit.quality.score import score_turns

__all__ = ["turn_kpis", "kpi_table"]


def _scored(data, config=None):
    """Scored turns and the conversations table of a log or a turns frame."""
    from toolkit.log import ConversationLog

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
        turns = turns.assign(level=assign_levels(turns["quality"].to_numpy(float), _config(config).cutoffs))
    return turns, convs


def _cutoffs(config):
    return _config(config).cutoffs


def turn_kpis(turns: pd.DataFrame, cutoffs: Mapping[str, float] | None = None) -> dict[str, Any]:
    """KPIs of a set of scored turns (one scope).

    Examples
    --------
    >>> t = pd.DataFrame({"response_time_s": [1.0, 2.0, 9.0], "error": [None, "timeout", None],
    ...                   "quality": [0.9, 0.3, 0.75], "level": ["excellent", "average", "good"]})
    >>> k = turn_kpis(t)
    >>> k["n_turns"], k["mean_response_time_s"], round(k["error_rate"], 3), round(k["high_quality_share"], 3)
    (3, 4.0, 0.333, 0.667)
    """
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
    q = pd.to_numeric(turns["quality"], errors="coerce").to_numpy(dtype=float) if "quality" in turns else np.zeros(0)
    q = q[~np.isnan(q)]
    out["mean_quality"] = float(q.mean()) if q.size else None
    out["median_quality"] = float(np.median(q)) if q.size else None
    out["high_quality_share"] = float((q >= c["good"]).mean()) if q.size else None
    out["poor_share"] = float((q < c["average"]).mean()) if q.size else None
    # the user's reaction to the answers (toolkit.quality.reaction): NaN on last turns, skipped
    r = pd.to_numeric(turns["reaction"], errors="coerce").dropna() if "reaction" in turns else pd.Series([], dtype=float)
    out["mean_reaction"] = float(r.mean()) if r.size else None
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
