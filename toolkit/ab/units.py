"""The per-unit table of an A/B test, built from a conversation log.

An A/B analysis needs one row per **randomisation unit** -- the thing the variant was assigned
to -- because units, not turns, are independent. Turns of one conversation share a user, an
intent and a bot state; treating them as independent would understate every standard error.
Metrics measured per turn (response time) become **ratio metrics** on the unit table
(``sum(response time) / sum(turns)`` per arm) analysed with the delta method.

Examples
--------
>>> import toolkit
>>> units = units_from_log(toolkit.load_sample())
>>> {"variant", "resolved", "total_response_time_s", "n_turns"} <= set(units.columns)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError, Metric, one_of

__all__ = ["units_from_log", "default_metrics", "candidate_metrics", "read_ab_input", "with_quality",
           "planning_inputs", "UNIT_COLUMNS"]

_LOG_COLUMNS = {"conversation_id", "turn", "timestamp", "bot_response"}

#: columns of the conversation-level unit table (``mean_quality`` and ``mean_reaction`` only when
#: turns are scored)
UNIT_COLUMNS = [
    "conversation_id", "user_id", "variant", "start_time", "resolved", "satisfaction",
    "mean_quality", "mean_reaction", "n_turns", "mean_response_time_s", "total_response_time_s",
    "total_cost_usd", "n_errors",
]


def _check_variant_per(turns: pd.DataFrame, key: str, what: str) -> None:
    if "variant" not in turns.columns:
        return
    nv = turns.dropna(subset=["variant"]).groupby(key, sort=False)["variant"].nunique()
    bad = nv[nv > 1]
    if len(bad):
        raise ABInputError(
            f"turns.variant must be constant within each {what} to use the {what} as the "
            f"randomisation unit; {len(bad)} {what}s have several variants, e.g. "
            f"{', '.join(map(str, bad.index[:5]))}")


def units_from_log(log, *, unit: str = "conversation") -> pd.DataFrame:
    """One row per conversation (or user) with its variant and metric columns.

    Parameters
    ----------
    log : ConversationLog
    unit : {"conversation", "user"}
        The randomisation unit. ``"user"`` requires each user to have a single variant.

    Returns
    -------
    DataFrame
        For ``unit="conversation"``: conversation_id, user_id, variant, start_time, resolved
        (float 0/1, NaN when unknown), satisfaction, mean_quality (only when the turns carry a
        ``quality`` column, e.g. after :mod:`toolkit.quality` scored them), mean_reaction (the
        mean ``reaction`` of the conversation's turns, when present; NaN for one-turn
        conversations), n_turns,
        mean_response_time_s, total_response_time_s, total_cost_usd, n_errors.
        For ``unit="user"``: user_id, variant, start_time (first conversation),
        n_conversations, n_resolved, n_resolution_known, resolved_rate, satisfaction (mean over
        rated conversations), mean_quality (when scored), n_turns, total_response_time_s,
        total_cost_usd, n_errors.

    Examples
    --------
    >>> import toolkit
    >>> u = units_from_log(toolkit.load_sample())
    >>> u["conversation_id"].is_unique, "resolved" in u
    (True, True)
    """
    from toolkit.log import conversation_metrics

    one_of(unit, ("conversation", "user"), "unit")
    _check_variant_per(log.turns, "conversation_id", "conversation")
    cm = conversation_metrics(log)
    out = pd.DataFrame({
        "conversation_id": cm["conversation_id"],
        "user_id": cm["user_id"] if "user_id" in cm else pd.NA,
        "variant": cm["variant"],
        "start_time": cm["start_time"],
        "resolved": cm["resolved"].astype("Float64").astype("float64")
        if "resolved" in cm else np.nan,
        "satisfaction": cm["satisfaction"].astype("float64") if "satisfaction" in cm else np.nan,
    })
    if "mean_quality" in cm.columns:
        out["mean_quality"] = cm["mean_quality"].astype("float64")
    if "reaction" in log.turns.columns:  # the user's reaction to the answers (toolkit.quality.reaction)
        r = log.turns.groupby("conversation_id", sort=False)["reaction"].mean()
        out["mean_reaction"] = out["conversation_id"].map(r).astype("float64")
    out["n_turns"] = cm["n_turns"].astype("int64")
    out["mean_response_time_s"] = cm["mean_response_time_s"].astype("float64")
    out["total_response_time_s"] = cm["total_response_time_s"].astype("float64")
    out["total_cost_usd"] = cm["total_cost_usd"].astype("float64")
    out["n_errors"] = cm["n_errors"].astype("int64")
    if unit == "conversation":
        return out.reset_index(drop=True)

    if out["user_id"].isna().any():
        n = int(out["user_id"].isna().sum())
        raise ABInputError(f"conversations.user_id is missing for {n} conversations; "
                           "cannot use the user as the unit")
    nv = out.dropna(subset=["variant"]).groupby("user_id")["variant"].nunique()
    bad = nv[nv > 1]
    if len(bad):
        raise ABInputError(
            f"each user must see a single variant to use the user as the randomisation unit; "
            f"{len(bad)} users saw several, e.g. {', '.join(map(str, bad.index[:5]))}")
    g = out.groupby("user_id", sort=True)
    users = pd.DataFrame({
        "variant": g["variant"].first(),
        "start_time": g["start_time"].min(),
        "n_conversations": g.size(),
        "n_resolved": g["resolved"].sum(min_count=0),
        "n_resolution_known": g["resolved"].count(),
        "resolved_rate": g["resolved"].mean(),
        "satisfaction": g["satisfaction"].mean(),
    })
    if "mean_quality" in out.columns:
        users["mean_quality"] = g["mean_quality"].mean()
    if "mean_reaction" in out.columns:
        users["mean_reaction"] = g["mean_reaction"].mean()
    for col in ("n_turns", "total_response_time_s", "total_cost_usd", "n_errors"):
        users[col] = g[col].sum()
    return users.reset_index()


def default_metrics(units: pd.DataFrame) -> list[Metric]:
    """The standard metrics of a unit table built from a log, skipping empty or constant ones.

    Conversation units: ``resolved`` (binary), ``satisfaction`` (continuous), ``mean_quality``
    and ``mean_reaction`` (continuous, when scored), ``response_time_s`` (ratio ``total_response_time_s / n_turns``,
    lower is better), ``cost_usd`` (continuous ``total_cost_usd`` per conversation, lower is
    better). User units: ``resolved`` is the ratio ``n_resolved / n_resolution_known``.

    Examples
    --------
    >>> import toolkit
    >>> [m.name for m in default_metrics(units_from_log(toolkit.load_sample()))][:2]
    ['resolved', 'satisfaction']
    """
    cols = set(units.columns)
    out = []
    for m in candidate_metrics(cols):
        ok = True
        for c in m.columns:
            s = pd.to_numeric(units[c], errors="coerce") if c in cols else None
            if s is None or s.notna().sum() < 4 or s.nunique(dropna=True) < 2:
                ok = False
        if m.kind == "ratio" and ok:
            num = pd.to_numeric(units[m.numerator], errors="coerce")
            den = pd.to_numeric(units[m.denominator], errors="coerce")
            ok = bool((den > 0).any() and (num / den.where(den > 0)).nunique() > 1)
        if ok:
            out.append(m)
    return out


def candidate_metrics(cols) -> list[Metric]:
    """The standard metrics a unit table with these columns can have, before any data check.

    Examples
    --------
    >>> [m.name for m in candidate_metrics({"resolved", "total_cost_usd"})]
    ['resolved', 'cost_usd']
    """
    cols = set(cols)
    cand: list[Metric] = []
    if "n_resolution_known" in cols:
        cand.append(Metric("resolved", "ratio", numerator="n_resolved",
                           denominator="n_resolution_known",
                           label="share of conversations resolved (per user)"))
    elif "resolved" in cols:
        cand.append(Metric("resolved", "binary", label="conversation resolved"))
    if "satisfaction" in cols:
        cand.append(Metric("satisfaction", "continuous", label="satisfaction score (0-1)"))
    if "mean_quality" in cols:
        cand.append(Metric("mean_quality", "continuous", label="mean response quality"))
    if "mean_reaction" in cols:
        cand.append(Metric("mean_reaction", "continuous", label="mean user reaction to the answers (0-1)"))
    if {"total_response_time_s", "n_turns"} <= cols:
        cand.append(Metric("response_time_s", "ratio", numerator="total_response_time_s",
                           denominator="n_turns", higher_is_better=False,
                           label="mean response time per turn (s)"))
    if "total_cost_usd" in cols:
        cand.append(Metric("cost_usd", "continuous", column="total_cost_usd",
                           higher_is_better=False, label="cost per unit (USD)"))
    return cand


def read_ab_input(path, *, tz: str | None = None):
    """Read what an A/B analysis runs on: a conversation log or a per-unit table.

    Folders, SQLite databases and files with the turn columns (conversation_id, turn,
    timestamp, bot_response) are loaded as a conversation log with :func:`toolkit.io.load`; any
    other CSV / JSONL / Parquet file is a per-unit table (one row per unit). ``""`` or ``None``
    loads the bundled sample.

    Returns
    -------
    (ConversationLog or DataFrame, bool)
        The data and whether it is a log.

    Examples
    --------
    >>> data, is_log = read_ab_input("")
    >>> is_log
    True
    """
    from pathlib import Path

    from toolkit.io import FORMATS, load, read_table

    if not path:
        from toolkit.sample import load_sample

        return load_sample(), True
    pth = Path(path)
    if not pth.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if pth.is_dir() or pth.suffix.lower() not in FORMATS:
        return load(pth, tz=tz), True
    table = read_table(pth)
    if _LOG_COLUMNS <= set(table.columns):
        return load(pth, tz=tz), True
    return table, False


def with_quality(log):
    """The log with per-turn ``quality`` scores, scoring it with :mod:`toolkit.quality` if needed.

    A log that already has a ``quality`` column is returned as is. When the quality module
    cannot be used (not installed, or it fails on this log), the log is returned unscored and
    the second value says why: the A/B analysis then simply has no quality metric.

    Returns
    -------
    (ConversationLog, str or None)
        The (possibly scored) log and a note when it could not be scored.

    Examples
    --------
    >>> import toolkit
    >>> from toolkit.sample import generate_sample
    >>> scored, note = with_quality(generate_sample(seed=3, days=2).log)
    >>> "quality" in scored.turns, note
    (True, None)
    """
    if "quality" in log.turns.columns:
        return log, None
    try:
        from toolkit.quality import score_log
    except ImportError as exc:  # pragma: no cover - depends on the installation
        return log, f"quality not scored: toolkit.quality unavailable ({exc})"
    try:
        return score_log(log), None
    except Exception as exc:  # noqa: BLE001 - the A/B analysis goes on without quality
        return log, f"quality not scored: {type(exc).__name__}: {exc}"


def planning_inputs(units, metric: str = "resolved", *, baseline: float | None = None,
                    daily_traffic: int | None = None) -> tuple[float, int]:
    """Baseline rate and daily traffic for planning the next test, from a per-unit table.

    Parameters
    ----------
    units : DataFrame
        One row per unit, e.g. from :func:`units_from_log`.
    metric : str
        Binary (or numeric) column whose overall mean is the baseline.
    baseline : float, optional
        Use this baseline instead (``None`` or 0: measure it).
    daily_traffic : int, optional
        Use this traffic instead (``None`` or 0: units per day over the ``start_time`` span,
        at least one day).

    Returns
    -------
    (float, int)
        Baseline and units per day.

    Raises
    ------
    ValueError
        ``metric`` is not a column with values, or there is no ``start_time`` to measure traffic.

    Examples
    --------
    >>> import pandas as pd
    >>> u = pd.DataFrame({"resolved": [True, False, True, True],
    ...                   "start_time": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03",
    ...                                                 "2026-01-03"], utc=True)})
    >>> planning_inputs(u)
    (0.75, 2)
    """
    import pandas as pd

    if baseline:
        base = float(baseline)
    elif metric in units.columns and units[metric].notna().any():
        base = float(pd.to_numeric(units[metric].astype("Float64"), errors="coerce").mean())
    else:
        raise ABInputError(f"plan metric {metric!r} is not a column with values; give its baseline "
                           "(baseline=; plan_baseline in notebook 02) or plan another metric")
    if daily_traffic:
        traffic = int(daily_traffic)
    elif "start_time" in units.columns:
        span_days = (units["start_time"].max() - units["start_time"].min()) / pd.Timedelta(days=1)
        traffic = max(1, round(len(units) / max(span_days, 1.0)))
    else:
        raise ABInputError("no start_time column to measure traffic; pass daily_traffic")
    return base, traffic
