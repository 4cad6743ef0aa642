"""Quality levels from cut-offs, level counts, the high-quality share, per-conversation quality.

Examples
--------
>>> level_counts(assign_levels([0.9, 0.3]))[["level", "count"]].values.tolist()
[['excellent', 1], ['good', 0], ['average', 1], ['poor', 0], ['unacceptable', 0]]
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.quality.config import _DEFAULT_CUTOFFS, LEVELS, _as_turns, _check_cutoffs

__all__ = ["assign_levels", "level_counts", "high_quality_share", "conversation_quality"]


def assign_levels(quality, cutoffs: Mapping[str, float] | None = None) -> pd.Categorical:
    """Quality levels (an ordered categorical over :data:`LEVELS`) from cut-offs.

    Examples
    --------
    >>> list(assign_levels([0.9, 0.5, 0.49, 0.05]))   # the default (fitted) model's cut-offs
    ['excellent', 'good', 'average', 'unacceptable']
    >>> list(assign_levels([0.9, 0.7, 0.69], {"excellent": 0.85, "good": 0.7, "average": 0.5, "poor": 0.3}))
    ['excellent', 'good', 'average']
    """
    c = _check_cutoffs(cutoffs or _DEFAULT_CUTOFFS)
    q = np.asarray(quality, dtype=float)
    edges = np.array([c["poor"], c["average"], c["good"], c["excellent"]])
    codes = np.searchsorted(edges, q, side="right")
    codes = np.where(np.isnan(q), -1, codes)
    return pd.Categorical.from_codes(codes, categories=list(LEVELS), ordered=True)


def level_counts(levels) -> pd.DataFrame:
    """Count and share of each level (all five levels, best first).

    Examples
    --------
    >>> level_counts(assign_levels([0.9, 0.9, 0.05]))["count"].tolist()
    [2, 0, 0, 0, 1]
    """
    cat = pd.Categorical(levels, categories=list(LEVELS), ordered=True)
    counts = pd.Series(cat).value_counts().reindex(list(LEVELS)[::-1], fill_value=0)
    total = int(counts.sum())
    share = counts / total if total else counts.astype(float)
    out = pd.DataFrame({"level": counts.index.astype(str), "count": counts.to_numpy().astype(int),
                        "share": share.to_numpy().astype(float)})
    return out.reset_index(drop=True)


def high_quality_share(quality, cutoffs: Mapping[str, float] | None = None) -> float:
    """Share of responses at level ``good`` or better (quality >= the ``good`` cut-off).

    Examples
    --------
    >>> high_quality_share([0.9, 0.52, 0.4, 0.1])
    0.5
    """
    c = _check_cutoffs(cutoffs or _DEFAULT_CUTOFFS)
    q = np.asarray(quality, dtype=float)
    q = q[~np.isnan(q)]
    return float((q >= c["good"]).mean()) if q.size else float("nan")


def conversation_quality(scored, *, poor_levels: Sequence[str] = ("poor", "unacceptable")) -> pd.DataFrame:
    """Per-conversation quality: mean, worst, share of poor turns, and the worst turn.

    Parameters
    ----------
    scored : DataFrame or ConversationLog
        Scored turns (from :func:`score_turns`), with ``conversation_id`` and ``turn``.
    poor_levels : sequence of str
        Levels that count as poor.

    Returns
    -------
    DataFrame
        One row per conversation: ``conversation_id``, ``n_turns``, ``mean_quality``,
        ``min_quality``, ``share_poor``, ``worst_turn``, and ``reaction`` when the turns have
        that column (:func:`toolkit.quality.reaction.conversation_reaction`: the mean reaction,
        an unresolved ending counting as 0 when ``scored`` is a log with ``resolved``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a", "a", "b"], "turn": [0, 1, 0],
    ...                   "quality": [0.9, 0.2, 0.6],
    ...                   "level": ["excellent", "unacceptable", "average"]})
    >>> conversation_quality(t)[["mean_quality", "min_quality", "share_poor", "worst_turn"]].values.tolist()
    [[0.55, 0.2, 0.5, 1.0], [0.6, 0.6, 0.0, 0.0]]
    """
    t = _as_turns(scored)
    need = [c for c in ("conversation_id", "turn", "quality", "level") if c not in t.columns]
    if need:
        raise ValueError(f"conversation_quality needs scored turns; missing columns {need} (run score_turns first)")
    bad = set(poor_levels) - set(LEVELS)
    if bad:
        raise ValueError(f"poor_levels: unknown level(s) {sorted(bad)}; levels are {list(LEVELS)}")
    df = pd.DataFrame({
        "conversation_id": t["conversation_id"].to_numpy(),
        "turn": t["turn"].to_numpy(),
        "quality": t["quality"].to_numpy(dtype=float),
        "poor": pd.Series(t["level"]).astype(str).isin(list(poor_levels)).to_numpy(),
    })
    g = df.groupby("conversation_id", sort=True)
    idx_worst = g["quality"].idxmin()
    out = pd.DataFrame({
        "n_turns": g.size(),
        "mean_quality": g["quality"].mean(),
        "min_quality": g["quality"].min(),
        "share_poor": g["poor"].mean(),
    })
    out["worst_turn"] = df.loc[idx_worst.dropna().astype(int), "turn"].set_axis(idx_worst.dropna().index).reindex(out.index).astype(float)
    if "reaction" in t.columns:
        from toolkit.quality.reaction import conversation_reaction

        conv = getattr(scored, "conversations", None)
        out["reaction"] = conversation_reaction(t, conv).reindex(out.index.astype(str)).to_numpy()
    return out.reset_index()
