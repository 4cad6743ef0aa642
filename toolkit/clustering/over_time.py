"""Topics over time: per-topic volume, quality, reaction and resolution as series, with
anomaly flags: which topic spiked, and did the bot serve it worse (:func:`topics_over_time`).

Each clustered unit is placed in time (a conversation's start for first user messages, the
turn's timestamp for per-turn units) and counted per topic and bucket (hourly or daily).
:func:`toolkit.forecasting.detect_anomalies` runs on every topic's volume series (high side
only; only its ``windows`` frame is read), and for each flagged window the topic's resolution,
quality and reaction inside the window are set against the same topic outside it.

Examples
--------
>>> import toolkit
>>> from toolkit.clustering import cluster_log
>>> log = toolkit.load_sample()                                        # doctest: +SKIP
>>> tot = topics_over_time(cluster_log(log, backend="tfidf"), log)     # doctest: +SKIP
>>> tot.spikes[["label", "start", "end"]].head(1)                      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.clustering._base import ClusteringInputError

__all__ = ["TopicsOverTime", "topics_over_time"]

_FREQS = {"h": "h", "hour": "h", "hourly": "h", "d": "D", "day": "D", "daily": "D"}


@dataclass
class TopicsOverTime:
    """Per-topic series and the spikes found in them.

    Attributes
    ----------
    series : DataFrame
        Long format: ``period, cluster, label, volume`` and, when the data have them,
        ``quality``, ``reaction``, ``resolution_rate`` (means over the topic's units that
        period; NaN when it had none).
    spikes : DataFrame
        One row per flagged volume window: ``cluster, label, start, end, volume, expected``
        (mean volume per bucket inside the window, and the topic's mean volume at the same hours
        of the day, or days of the week, over the whole series),
        ``share_in_window`` (the topic's share of all units in the window) and, per outcome,
        ``<outcome>_in_window`` and ``<outcome>_elsewhere``, and ``served_worse`` (resolution,
        or else quality, lower inside the window). Largest excess volume first.
    freq : str
    outcome_drops : DataFrame
        Windows where a topic's daily outcome (quality, reaction, resolution rate) fell below
        its expected band: ``cluster, label, outcome, start, end, value, expected`` (empty when
        the log spans under three weeks or nothing was flagged).
    """

    series: pd.DataFrame
    spikes: pd.DataFrame
    freq: str
    outcome_drops: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary_table(self) -> pd.DataFrame:
        """The spikes, one readable row each."""
        cols = [c for c in ("cluster", "label", "start", "end", "volume", "expected", "share_in_window",
                            "resolution_rate_in_window", "resolution_rate_elsewhere", "served_worse")
                if c in self.spikes]
        return self.spikes[cols].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers for a sidecar."""
        def records(frame: pd.DataFrame) -> list[dict]:
            return frame.astype({c: str for c in ("start", "end") if c in frame}).to_dict("records")

        return {"freq": self.freq, "n_topics": int(self.series["cluster"].nunique()),
                "spikes": records(self.summary_table()), "outcome_drops": records(self.outcome_drops)}

    def plot(self, *, top: int = 6, outcome: str = "resolution_rate"):
        """Volume of the spiking topics (top ``top`` by volume otherwise), flagged windows shaded,
        and their ``outcome`` below; a matplotlib Figure."""
        from matplotlib.figure import Figure

        s = self.series
        ids = list(dict.fromkeys(self.spikes["cluster"].tolist()))[:top]
        if len(ids) < top:
            rest = s.groupby("cluster")["volume"].sum().sort_values(ascending=False).index
            ids += [c for c in rest if c not in ids][: top - len(ids)]
        fig = Figure(figsize=(11, 6), layout="constrained")
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        for c in ids:
            one = s[s["cluster"] == c]
            lab = f"{c}: {one['label'].iloc[0]}" if len(one) else str(c)
            ax1.plot(one["period"], one["volume"], lw=0.8, label=lab)
            if outcome in one:
                ax2.plot(one["period"], one[outcome].rolling(24 if self.freq == "h" else 3, min_periods=1).mean(),
                         lw=0.8)
        for _, w in self.spikes.iterrows():
            for ax in (ax1, ax2):
                ax.axvspan(w["start"], w["end"], color="tab:red", alpha=0.15)
        ax1.set_ylabel(f"units per {'hour' if self.freq == 'h' else 'day'}")
        ax1.set_title("Topics over time (flagged volume spikes shaded)")
        ax1.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax2.set_ylabel(f"{outcome} (rolling mean)")
        return fig


def _unit_times(a: pd.DataFrame, log) -> pd.Series:
    if "turn" in a and log is not None:
        t = log.turns[["conversation_id", "turn", "timestamp"]]
        return a[["conversation_id", "turn"]].merge(t, how="left", on=["conversation_id", "turn"])["timestamp"]
    if log is None:
        raise ClusteringInputError("topics_over_time needs the conversation log (for the timestamps)")
    conv = log.conversations.set_index("conversation_id")
    if "start_time" in conv:
        start = conv["start_time"]
    else:
        start = log.turns.groupby("conversation_id")["timestamp"].min()
    return a["conversation_id"].map(start)


def topics_over_time(result, log, freq: str = "h", *, detect: bool = True, max_topics: int = 200) -> TopicsOverTime:
    """Per-topic series of a clustering and the topics whose volume spiked.

    Parameters
    ----------
    result : ClusterResult
        From :func:`cluster_log` (or ``result.at_level(n)``).
    log : ConversationLog
        The log that was clustered (timestamps, ``reaction`` when the turns carry it).
    freq : {"h", "D"}
        Hourly or daily buckets.
    detect : bool
        Run :func:`toolkit.forecasting.detect_anomalies` on each topic's volume.
    max_topics : int
        Largest topics analysed (a limit on the work).

    Returns
    -------
    TopicsOverTime

    Examples
    --------
    See the module docstring.
    """
    f = _FREQS.get(str(freq).lower())
    if f is None:
        raise ClusteringInputError(f"freq must be 'h' (hourly) or 'D' (daily), got {freq!r}")
    from toolkit.clustering.from_log import _as_log

    log = _as_log(log)
    a = result.assignments
    a = a[a["cluster"] >= 0]
    when = pd.to_datetime(_unit_times(a, log).to_numpy(), utc=True)
    df = pd.DataFrame({"period": when.floor(f), "cluster": a["cluster"].to_numpy()})
    outcomes = []
    if "quality" in a:
        df["quality"] = pd.to_numeric(a["quality"], errors="coerce").to_numpy(dtype=float)
        outcomes.append("quality")
    if "reaction" in log.turns:
        r = pd.to_numeric(log.turns["reaction"], errors="coerce").groupby(log.turns["conversation_id"]).mean()
        df["reaction"] = a["conversation_id"].map(r).to_numpy(dtype=float)
        outcomes.append("reaction")
    if "resolved" in a:
        df["resolution_rate"] = a["resolved"].astype("Float64").astype("float64").to_numpy()
        outcomes.append("resolution_rate")
    df = df.dropna(subset=["period"])
    sizes = df["cluster"].value_counts()
    keep = sizes.index[: int(max_topics)]
    df = df[df["cluster"].isin(keep)]
    grid = pd.date_range(df["period"].min(), df["period"].max(), freq=f)
    g = df.groupby(["cluster", "period"])
    ser = g.size().rename("volume").to_frame()
    for o in outcomes:
        ser[o] = g[o].mean()
    full = pd.MultiIndex.from_product([sorted(keep), grid], names=["cluster", "period"])
    ser = ser.reindex(full)
    ser["volume"] = ser["volume"].fillna(0).astype(np.int64)
    ser = ser.reset_index()
    names = dict(zip(result.clusters["cluster"], result.clusters["label"]))
    ser.insert(2, "label", ser["cluster"].map(names))
    series = ser[["period", "cluster", "label", "volume", *outcomes]]
    spikes = _spikes(series, df, outcomes, f) if detect else _no_spikes(outcomes)
    drops = _outcome_drops(df, outcomes, names) if detect else pd.DataFrame()
    return TopicsOverTime(series=series, spikes=spikes, freq=f, outcome_drops=drops)


def _outcome_drops(df: pd.DataFrame, outcomes: list[str], names: dict) -> pd.DataFrame:
    """Daily outcome series per topic, low side flagged by detect_anomalies (its windows only)."""
    from toolkit.errors import ToolkitError

    cols = ["cluster", "label", "outcome", "start", "end", "value", "expected"]
    day = df.assign(day=df["period"].dt.floor("D"))
    rows = []
    for c, one in day.groupby("cluster", sort=True):
        for o in outcomes:
            y = one.groupby("day")[o].mean()
            if y.notna().sum() < 21:
                continue
            y = y.reindex(pd.date_range(y.index.min(), y.index.max(), freq="D"))
            try:
                wins = _windows(y, 7, "low")
            except (ToolkitError, ValueError):
                continue
            expected = _seasonal_mean(y.interpolate(limit_direction="both"), 7)
            for _, w in wins.iterrows():
                inside = (y.index >= w["start"]) & (y.index <= w["end"])
                if not y[inside].mean() < expected[inside].mean():
                    continue
                rows.append({"cluster": int(c), "label": names.get(c, str(c)), "outcome": o,
                             "start": pd.Timestamp(w["start"]), "end": pd.Timestamp(w["end"]) + pd.Timedelta(days=1),
                             "value": float(y[inside].mean()),
                             "expected": float(expected[inside].mean())})
    return pd.DataFrame(rows, columns=cols)


def _windows(y: pd.Series, season: int, direction: str) -> pd.DataFrame:
    """``detect_anomalies(y).windows`` (start, end): only that frame of the forecasting module is
    read. Its default (multi-scale) detector, one side, when the function takes ``direction``."""
    import warnings

    from toolkit.forecasting import detect_anomalies

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            an = detect_anomalies(y, season=season, direction=direction)
        except TypeError:
            an = detect_anomalies(y, season=season)
    w = an.windows
    return w[["start", "end"]] if w is not None and len(w) else pd.DataFrame(columns=["start", "end"])


def _seasonal_mean(y: pd.Series, season: int) -> pd.Series:
    """Expected value of each bucket: the series' mean at the same phase of the season."""
    phase = np.arange(len(y)) % season
    prof = pd.Series(y.to_numpy(dtype=float)).groupby(phase).mean()
    return pd.Series(prof.reindex(phase).to_numpy(), index=y.index)


def _no_spikes(outcomes: list[str]) -> pd.DataFrame:
    """The spikes frame with its columns and no row (a log where no topic spiked)."""
    cols = ["cluster", "label", "start", "end", "volume", "expected", "share_in_window"]
    cols += [f"{o}_{w}" for o in outcomes for w in ("in_window", "elsewhere")] + ["served_worse"]
    return pd.DataFrame(columns=cols)


def _spikes(series: pd.DataFrame, df: pd.DataFrame, outcomes: list[str], f: str) -> pd.DataFrame:
    from scipy import stats

    p_max = 1e-3
    total = series.groupby("period")["volume"].sum()
    rows = []
    season = 24 if f == "h" else 7
    for c, one in series.groupby("cluster", sort=True):
        y = one.set_index("period")["volume"].astype(float)
        if len(y) < 2 * season or y.sum() == 0:
            continue
        wins = _windows(y, season, "high")
        if not len(wins):
            continue
        step = pd.Timedelta(1, unit="h" if f == "h" else "D")
        expected = _seasonal_mean(y, season)
        for _, w in wins.iterrows():
            start, end = pd.Timestamp(w["start"]), pd.Timestamp(w["end"])
            inside = (y.index >= start) & (y.index <= end)
            # counts are small: keep a window only when its count is improbable under a Poisson
            # law with the detector's expected count (one message at 3 am is not a spike)
            if stats.poisson.sf(y[inside].sum() - 1, max(float(expected[inside].sum()), 0.5)) > p_max:
                continue
            units = df[df["cluster"] == c]
            u_in = (units["period"] >= start) & (units["period"] <= end)
            row = {"cluster": int(c), "label": one["label"].iloc[0], "start": start, "end": end + step,
                   "volume": float(y[inside].mean()), "expected": float(expected[inside].mean()),
                   "share_in_window": float(y[inside].sum() / max(total[inside].sum(), 1))}
            for o in outcomes:
                row[f"{o}_in_window"] = float(units.loc[u_in, o].mean())
                row[f"{o}_elsewhere"] = float(units.loc[~u_in, o].mean())
            key = "resolution_rate" if "resolution_rate" in outcomes else ("quality" if "quality" in outcomes else None)
            row["served_worse"] = (bool(row[f"{key}_in_window"] < row[f"{key}_elsewhere"]) if key else None)
            rows.append(row)
    out = pd.DataFrame(rows) if rows else _no_spikes(outcomes)
    if len(out):
        excess = (out["volume"] - out["expected"]) * ((out["end"] - out["start"]) / pd.Timedelta(1, unit=f))
        out = out.assign(_x=excess).sort_values("_x", ascending=False, kind="stable").drop(columns="_x")
    return out.reset_index(drop=True)
