"""What is in a conversation log: volume by day and hour, variants, response times, lengths.

The tables and figures behind ``notebooks/00_overview.ipynb``. Every function takes a
:class:`~toolkit.log.ConversationLog` and returns a DataFrame or a matplotlib ``Figure``.

Examples
--------
>>> import toolkit
>>> from toolkit.overview import overview
>>> ov = overview(toolkit.load_sample())
>>> ov.headline["turns"] > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.log import ConversationLog, conversation_metrics

__all__ = [
    "Overview",
    "overview",
    "daily_volume",
    "hourly_profile",
    "variant_table",
    "response_time_table",
    "length_distribution",
    "plot_daily_volume",
    "plot_hourly_profile",
    "plot_response_times",
    "plot_conversation_lengths",
]

_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def daily_volume(log: ConversationLog) -> pd.DataFrame:
    """Conversations started, turns and errors per UTC day (days without traffic count zero).

    Examples
    --------
    >>> import toolkit
    >>> daily_volume(toolkit.load_sample()).columns.tolist()
    ['date', 'conversations', 'turns', 'errors']
    """
    t = log.turns
    day = t["timestamp"].dt.floor("D")
    conv_day = log.conversations["start_time"].dt.floor("D")
    idx = pd.date_range(day.min(), day.max(), freq="D")
    out = pd.DataFrame(
        {
            "conversations": conv_day.value_counts().reindex(idx, fill_value=0),
            "turns": day.value_counts().reindex(idx, fill_value=0),
            "errors": t["error"].notna().groupby(day).sum().reindex(idx, fill_value=0),
        }
    )
    out.index.name = "date"
    return out.reset_index().astype({"conversations": "int64", "turns": "int64", "errors": "int64"})


def hourly_profile(log: ConversationLog) -> pd.DataFrame:
    """Mean conversations started per hour of day (rows, 0-23) and weekday (columns, Mon-Sun).

    Means are over the weeks the log covers, so a partial first or last week does not bias them.

    Examples
    --------
    >>> import toolkit
    >>> hourly_profile(toolkit.load_sample()).shape
    (24, 7)
    """
    start = log.conversations["start_time"]
    hours = pd.date_range(start.min().floor("h"), start.max().floor("h"), freq="h")
    counts = start.dt.floor("h").value_counts().reindex(hours, fill_value=0)
    frame = pd.DataFrame({"n": counts.to_numpy(), "hour": hours.hour, "weekday": hours.day_of_week})
    table = frame.pivot_table(index="hour", columns="weekday", values="n", aggfunc="mean")
    table = table.reindex(index=range(24), columns=range(7))
    table.columns = [_WEEKDAYS[c] for c in table.columns]
    table.index.name = "hour"
    return table


def variant_table(log: ConversationLog) -> pd.DataFrame:
    """Per variant (``(none)`` for unassigned): conversations, share, turns, outcomes.

    Columns: conversations, share, turns, turns_per_conversation, mean_response_time_s,
    error_rate, resolution_rate (of conversations with a known outcome), satisfaction (mean of
    the observed scores), satisfaction_observed (share of conversations with a score).

    Examples
    --------
    >>> import toolkit
    >>> "resolution_rate" in variant_table(toolkit.load_sample()).columns
    True
    """
    m = conversation_metrics(log)
    m = m.assign(variant=m["variant"].fillna("(none)"), resolved=m["resolved"].astype("Float64"))
    t = log.turns.assign(variant=log.turns["variant"].fillna("(none)"))
    g = m.groupby("variant", sort=True)
    tg = t.groupby("variant", sort=True)
    out = pd.DataFrame(
        {
            "conversations": g.size(),
            "turns": tg.size(),
            "mean_response_time_s": tg["response_time_s"].mean(),
            "error_rate": t["error"].notna().groupby(t["variant"]).mean(),
            "resolution_rate": g["resolved"].mean().astype("float64"),
            "satisfaction": g["satisfaction"].mean(),
            "satisfaction_observed": m["satisfaction"].notna().groupby(m["variant"]).mean(),
        }
    )
    out.insert(1, "share", out["conversations"] / out["conversations"].sum())
    out.insert(3, "turns_per_conversation", out["turns"] / out["conversations"])
    return out


def response_time_table(log: ConversationLog, by: str = "model") -> pd.DataFrame:
    """Response-time mean, median, p95, p99 and max (seconds) per ``by`` and overall.

    Examples
    --------
    >>> import toolkit
    >>> float(response_time_table(toolkit.load_sample()).loc["(all)", "p95"]) > 0
    True
    """
    t = log.turns
    key = t[by].fillna("(none)") if by in t.columns else pd.Series("(all)", index=t.index)

    def stats(s: pd.Series) -> pd.Series:
        q = s.quantile([0.5, 0.95, 0.99]).to_numpy()
        return pd.Series({"turns": len(s), "mean": s.mean(), "median": q[0], "p95": q[1], "p99": q[2], "max": s.max()})

    per = t["response_time_s"].groupby(key).apply(stats).unstack()
    per.loc["(all)"] = stats(t["response_time_s"])
    per["turns"] = per["turns"].astype("int64")
    per.index.name = by
    return per


def length_distribution(log: ConversationLog) -> pd.DataFrame:
    """Number and share of conversations by their number of turns.

    Examples
    --------
    >>> import toolkit
    >>> length_distribution(toolkit.load_sample())["share"].sum().round(6)
    np.float64(1.0)
    """
    n = log.turns.groupby("conversation_id").size()
    counts = n.value_counts().sort_index()
    out = pd.DataFrame({"conversations": counts, "share": counts / counts.sum()})
    out.index.name = "turns"
    return out


# ---- figures -------------------------------------------------------------------------------


def _figure(width: float = 9.0, height: float = 3.6, **kw):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained", **kw)
    return fig


def plot_daily_volume(log: ConversationLog):
    """Line chart of conversations and turns per day, with error counts on a second axis."""
    v = daily_volume(log)
    fig = _figure()
    ax = fig.subplots()
    ax.plot(v["date"], v["conversations"], label="conversations", color="#1f77b4")
    ax.plot(v["date"], v["turns"], label="turns", color="#9ecae1")
    ax.set_ylabel("per day")
    ax2 = ax.twinx()
    ax2.bar(v["date"], v["errors"], color="#d62728", alpha=0.35, width=0.8, label="errors")
    ax2.set_ylabel("errors per day", color="#d62728")
    lines = ax.get_legend_handles_labels()
    bars = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], loc="upper left", frameon=False)
    ax.set_title("Daily volume")
    fig.autofmt_xdate()
    return fig


def plot_hourly_profile(log: ConversationLog):
    """Heat map of mean conversations started by hour of day (UTC) and weekday."""
    table = hourly_profile(log)
    fig = _figure(7.5, 4.8)
    ax = fig.subplots()
    im = ax.imshow(table.to_numpy(), aspect="auto", cmap="viridis", origin="upper")
    ax.set_xticks(range(7), table.columns)
    ax.set_yticks(range(0, 24, 3), [f"{h:02d}:00" for h in range(0, 24, 3)])
    ax.set_xlabel("weekday")
    ax.set_ylabel("hour of day (UTC)")
    ax.set_title("Conversations started per hour")
    fig.colorbar(im, ax=ax, label="mean per hour")
    return fig


def plot_response_times(log: ConversationLog, by: str = "model"):
    """Histogram of response times (log scale) per ``by``, with the p95 marked."""
    t = log.turns
    fig = _figure()
    ax = fig.subplots()
    key = t[by].fillna("(none)") if by in t.columns else pd.Series("(all)", index=t.index)
    rt = t["response_time_s"].clip(lower=1e-3)
    bins = np.logspace(np.log10(rt.min()), np.log10(rt.max()), 50)
    for name, s in rt.groupby(key):
        ax.hist(s, bins=bins, histtype="step", linewidth=1.5, label=f"{name} (p95 {s.quantile(0.95):.2f} s)")
    ax.set_xscale("log")
    ax.set_xlabel("response time (s, log scale)")
    ax.set_ylabel("turns")
    ax.legend(frameon=False)
    ax.set_title(f"Response-time distribution by {by}")
    return fig


def plot_conversation_lengths(log: ConversationLog):
    """Bar chart of the share of conversations by number of turns."""
    d = length_distribution(log)
    fig = _figure(6.0, 3.4)
    ax = fig.subplots()
    ax.bar(d.index.astype(str), d["share"] * 100, color="#6baed6")
    ax.set_xlabel("turns per conversation")
    ax.set_ylabel("% of conversations")
    ax.set_title("Conversation lengths")
    return fig


@dataclass(frozen=True)
class Overview:
    """Headline facts and tables of a log (see :func:`overview`)."""

    headline: dict
    daily: pd.DataFrame
    hourly: pd.DataFrame
    variants: pd.DataFrame
    response_times: pd.DataFrame
    lengths: pd.DataFrame

    def to_dict(self) -> dict:
        """The headline facts (what the sidecar records)."""
        return dict(self.headline)

    def summary_table(self) -> pd.DataFrame:
        """The headline facts as a one-column ``value`` table."""
        return pd.Series(self.headline, name="value").to_frame()


def overview(log: ConversationLog) -> Overview:
    """Compute the overview's headline facts and tables in one call.

    Parameters
    ----------
    log : ConversationLog

    Returns
    -------
    Overview
        ``headline`` (a flat dict for the sidecar) and the tables.

    Examples
    --------
    >>> import toolkit
    >>> ov = overview(toolkit.load_sample())
    >>> ov.headline["conversations"] > 10_000, 0 <= ov.headline["busiest_hour_utc"] < 24
    (True, True)
    """
    s = log.summary()
    daily = daily_volume(log)
    hourly = hourly_profile(log)
    lengths = length_distribution(log)
    rt = log.turns["response_time_s"]
    resolved = log.conversations["resolved"].astype("Float64")
    headline = {
        "turns": s["turns"],
        "conversations": s["conversations"],
        "users": s["users"],
        "start": s["start"],
        "end": s["end"],
        "days": int(len(daily)),
        "variants": s["variants"],
        "models": s["models"],
        "conversations_per_day": float(daily["conversations"].mean()),
        "busiest_hour_utc": int(hourly.mean(axis=1).idxmax()),
        "mean_turns_per_conversation": float(s["turns"] / s["conversations"]),
        "response_time_mean_s": float(rt.mean()),
        "response_time_p95_s": float(rt.quantile(0.95)),
        "error_rate": s["error_rate"],
        "resolution_rate": float(resolved.mean()) if resolved.notna().any() else None,
        "satisfaction_mean": float(log.conversations["satisfaction"].mean()) if log.conversations["satisfaction"].notna().any() else None,
        "total_cost_usd": float(log.turns["cost_usd"].sum()),
    }
    return Overview(headline, daily, hourly, variant_table(log), response_time_table(log), lengths)
