"""Tables for the notebook: the worst responses, and quality per group with clustered intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.monitoring.kpis import _cutoffs, _scored

__all__ = ["worst_responses", "quality_by"]


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
