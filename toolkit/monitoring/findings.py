"""Suggestions: findings derived from the data (segments where poor answers concentrate, quality
drops, latency spikes, the costliest component, frequent errors), each with evidence and an action.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit.monitoring.alerts import _quality_advice, _weighted_shortfalls
from toolkit.monitoring.kpis import _cutoffs, _scored

__all__ = ["suggestions", "suggestions_markdown"]


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
    """(first, last) position of each run of True in ``mask``.

    Examples
    --------
    >>> _runs(np.array([True, True, False, True]))
    [(0, 1), (3, 3)]
    """
    edges = np.flatnonzero(np.diff(np.r_[0, np.asarray(mask, dtype=int), 0]))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _drop_findings(turns: pd.DataFrame) -> list[dict]:
    """Days with unusually low quality (robust z > 4); hours with slow responses (z > 5)."""
    if "timestamp" not in turns.columns or len(turns) < 100:
        return []
    return _quality_drops(turns) + _latency_spikes(turns)


def _quality_drops(turns: pd.DataFrame) -> list[dict]:
    """Runs of days whose mean quality is far below a typical day's (robust z > 4)."""
    found = []
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
    return found


def _latency_spikes(turns: pd.DataFrame) -> list[dict]:
    """Runs of two or more hours whose median response time is far above a typical hour's (z > 5)."""
    found = []
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
            "finding": f"{worst} is the weakest component: it costs {short[worst]:.3f} of the {total:.3f} "
                       "points the hand-weighted composite of the components loses on average "
                       f"(mean quality {turns['quality'].mean():.3f}).",
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
    return pd.DataFrame(items[:max_items], columns=["area", "finding", "action", "evidence"])


def suggestions_markdown(frame: pd.DataFrame) -> str:
    r"""The suggestions as a Markdown list, every data-derived text escaped (a model or variant
    named ``<script>...`` is shown, never run, in a notebook or its HTML export).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"area": ["model"], "finding": ["<img src=x onerror=alert(1)> is slow"],
    ...                    "action": ["check *it*"]})
    >>> suggestions_markdown(df)
    '- **model**: &lt;img src=x onerror=alert\\(1\\)&gt; is slow _check \\*it\\*_'
    """
    from toolkit._escape import md_text

    return "\n".join(f"- **{md_text(r.area)}**: {md_text(r.finding)} _{md_text(r.action)}_"
                     for r in frame.itertuples())
