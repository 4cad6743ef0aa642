"""The conversation log: two tidy tables and the one function that validates them.

``turns`` has one row per bot response; ``conversations`` one row per conversation. Every entry
point of the toolkit calls :func:`validate`, which coerces the columns to their documented dtypes
and raises a single :class:`LogValidationError` naming the table, the column, the rule and a few
offending rows when the input breaks a rule. Nothing here mutates its input.

Turns columns
    conversation_id (string), turn (int64, >= 0), timestamp (datetime64[ns, UTC]),
    user_input, bot_response (string, nullable), response_time_s (float64, >= 0),
    and optional user_id, bot_id, variant, model, error (string, nullable),
    prompt_tokens, completion_tokens (Int64, >= 0, nullable), cost_usd (float64, >= 0, nullable).
    Other columns are kept as they are.

Conversations columns
    conversation_id (string, unique), user_id, bot_id, variant (string, nullable),
    start_time, end_time (datetime64[ns, UTC]), satisfaction (float64 in [0, 1], nullable),
    resolved (boolean, nullable). Missing optional columns are derived from the turns.

Examples
--------
>>> import pandas as pd
>>> turns = pd.DataFrame({
...     "conversation_id": ["c1", "c1"], "turn": [0, 1],
...     "timestamp": ["2026-01-01T10:00:00Z", "2026-01-01T10:00:30Z"],
...     "user_input": ["hi", "where is my order?"], "bot_response": ["Hello!", "Let me check."],
...     "response_time_s": [0.8, 1.2]})
>>> log = validate(turns)
>>> log.summary()["conversations"]
1
>>> validate(turns.assign(response_time_s=[0.8, -1.0]))
Traceback (most recent call last):
...
toolkit.validation.LogValidationError: invalid conversation log: turns.response_time_s must be >= 0 (1 row): row 1 (conversation_id='c1', turn=1, response_time_s=-1.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

# the checks live in toolkit.validation (LogValidationError, Problem, has_utc_offset are imported from there)
from toolkit.validation import (
    LogValidationError,
    Problem,
    _Checker,
    _check_frame,
    _coerce,
    _missing_columns,
)

__all__ = [
    "ConversationLog",
    "validate",
    "conversation_metrics",
    "TURN_COLUMNS",
    "CONVERSATION_COLUMNS",
    "REQUIRED_TURN_COLUMNS",
]

#: turns columns in their canonical order, with their kind
TURN_COLUMNS: dict[str, str] = {
    "conversation_id": "id",
    "turn": "int",
    "timestamp": "datetime",
    "user_id": "string",
    "bot_id": "string",
    "variant": "string",
    "model": "string",
    "user_input": "text",
    "bot_response": "text",
    "response_time_s": "float",
    "prompt_tokens": "count",
    "completion_tokens": "count",
    "cost_usd": "money",
    "error": "string",
}
REQUIRED_TURN_COLUMNS = (
    "conversation_id",
    "turn",
    "timestamp",
    "user_input",
    "bot_response",
    "response_time_s",
)
CONVERSATION_COLUMNS: dict[str, str] = {
    "conversation_id": "id",
    "user_id": "string",
    "bot_id": "string",
    "variant": "string",
    "start_time": "datetime",
    "end_time": "datetime",
    "satisfaction": "unit",
    "resolved": "bool",
}

@dataclass(frozen=True)
class ConversationLog:
    """A validated conversation log: ``turns`` and ``conversations`` DataFrames.

    Build it with :func:`validate` (or :func:`toolkit.io.load`); the constructor itself does not
    check anything. Analyses return new frames or new logs and never mutate these.

    Examples
    --------
    >>> import toolkit
    >>> log = toolkit.load_sample()
    >>> sorted(log.summary())[:3]
    ['bots', 'conversations', 'end']
    """

    turns: pd.DataFrame
    conversations: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"ConversationLog({s['turns']} turns, {s['conversations']} conversations, "
            f"{s['start']} .. {s['end']}, variants={s['variants']})"
        )

    def with_turns(self, turns: pd.DataFrame) -> "ConversationLog":
        """Return a log with ``turns`` replaced (e.g. with added score columns), unvalidated."""
        return ConversationLog(turns=turns, conversations=self.conversations)

    def select(self, *, start: Any = None, end: Any = None,
               variant: str | Iterable[str] | None = None, tz: str | None = None) -> "ConversationLog":
        """Whole conversations that start in ``[start, end)`` and ran on the given variant(s).

        A conversation is kept or dropped as a whole (by the time of its first turn), so
        per-conversation figures stay intact. Empty values mean no limit.

        Parameters
        ----------
        start, end : str, datetime or Timestamp, optional
            Window on the conversation's first turn; ``end`` is exclusive. A date or time without
            an offset is read in ``tz`` (e.g. ``"2026-09-07"`` is that day's midnight there).
        variant : str or iterable of str, optional
            One variant, several, or a comma-separated string (``"A,B"``).
        tz : str, optional
            Time zone of ``start``/``end`` when they carry no offset; default UTC.

        Returns
        -------
        ConversationLog
            The selection, with fresh row numbers.

        Raises
        ------
        ValueError
            For an unreadable date, ``end`` not after ``start``, a variant the log does not
            have (the message lists the ones it has) or an empty selection (the message gives
            the log's time range).

        Examples
        --------
        >>> import toolkit
        >>> log = toolkit.load_sample()
        >>> week = log.select(start="2026-09-07", end="2026-09-14", variant="B")
        >>> week.summary()["variants"], str(week.turns["timestamp"].min().date())
        (['B'], '2026-09-07')
        """
        t = self.turns
        first = t.groupby("conversation_id", sort=False)["timestamp"].min()
        keep = pd.Series(True, index=first.index)
        bounds = {}
        for name, value in (("start", start), ("end", end)):
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                stamp = pd.Timestamp(value)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"select: {name}={value!r} is not a date or time ({exc})") from None
            if stamp is pd.NaT:
                raise ValueError(f"select: {name}={value!r} is not a date or time")
            if stamp.tzinfo is None:
                _check_zone(tz, "select")
                stamp = stamp.tz_localize(tz or "UTC")
            bounds[name] = stamp.tz_convert("UTC")
        if "start" in bounds and "end" in bounds and bounds["end"] <= bounds["start"]:
            raise ValueError(f"select: end {bounds['end']} is not after start {bounds['start']}")
        if "start" in bounds:
            keep &= first >= bounds["start"]
        if "end" in bounds:
            keep &= first < bounds["end"]
        wanted: list[str] = []
        if variant is not None:
            items = variant.split(",") if isinstance(variant, str) else list(variant)
            wanted = [str(v).strip() for v in items if str(v).strip()]
        if wanted:
            have = sorted(map(str, t["variant"].dropna().unique()))
            unknown = [v for v in wanted if v not in have]
            if unknown:
                raise ValueError(f"select: turns.variant has no {unknown}; the log's variants are {have}")
            conv_variant = t.groupby("conversation_id", sort=False)["variant"].first().astype(object)
            keep &= conv_variant.reindex(first.index).isin(wanted)
        if keep.all():
            return self
        ids = first.index[keep.to_numpy()]
        if len(ids) == 0:
            s = self.summary()
            raise ValueError(
                f"select: no conversation starts in [{bounds.get('start', '-inf')}, {bounds.get('end', '+inf')})"
                + (f" on variant(s) {wanted}" if wanted else "")
                + f"; the log runs from {s['start']} to {s['end']} with variants {s['variants']}"
            )
        turns = t[t["conversation_id"].isin(ids)].reset_index(drop=True)
        c = self.conversations
        convs = c[c["conversation_id"].isin(ids)].reset_index(drop=True)
        return ConversationLog(turns=turns, conversations=convs)

    def summary(self) -> dict[str, Any]:
        """Headline facts: row counts, date range, variants, bots and models.

        Examples
        --------
        >>> import toolkit
        >>> toolkit.load_sample().summary()["turns"] > 1000
        True
        """
        t = self.turns
        ts = t["timestamp"]
        return {
            "turns": int(len(t)),
            "conversations": int(len(self.conversations)),
            "users": int(t["user_id"].nunique()),
            "start": ts.min().isoformat() if len(t) else None,
            "end": ts.max().isoformat() if len(t) else None,
            "variants": sorted(map(str, t["variant"].dropna().unique())),
            "bots": sorted(map(str, t["bot_id"].dropna().unique())),
            "models": sorted(map(str, t["model"].dropna().unique())),
            "error_rate": float(t["error"].notna().mean()) if len(t) else None,
        }


# --------------------------------------------------------------------------------------------
# the validation function
# --------------------------------------------------------------------------------------------


def validate(
    turns: pd.DataFrame,
    conversations: pd.DataFrame | None = None,
    *,
    tz: str | None = None,
    source: str | None = None,
) -> ConversationLog:
    """Check and normalise a conversation log; the one place where its rules live.

    Parameters
    ----------
    turns : DataFrame
        One row per bot response. Required columns: ``conversation_id``, ``turn``,
        ``timestamp``, ``user_input``, ``bot_response``, ``response_time_s``; optional:
        ``user_id``, ``bot_id``, ``variant``, ``model``, ``prompt_tokens``,
        ``completion_tokens``, ``cost_usd``, ``error``. Other columns are kept.
    conversations : DataFrame, optional
        One row per conversation (``conversation_id`` required; ``satisfaction``, ``resolved``,
        ``user_id``, ``bot_id``, ``variant``, ``start_time``, ``end_time`` optional). Derived from
        ``turns`` when omitted, and missing columns are filled from ``turns``.
    tz : str, optional
        Time zone in which naive timestamps were recorded. Without it naive timestamps are an
        error: they are never guessed.
    source : str, optional
        Where the data came from (a path), quoted in the error message.

    Returns
    -------
    ConversationLog
        Copies with canonical dtypes, sorted by ``conversation_id`` then ``turn``.

    Raises
    ------
    LogValidationError
        Listing every broken rule with its table, column and up to five offending rows (index
        labels of the input frames, with their ids and values).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a"], "turn": [0],
    ...                   "timestamp": ["2026-03-01 09:00"], "user_input": ["hi"],
    ...                   "bot_response": ["hello"], "response_time_s": [1.0]})
    >>> validate(t, tz="Europe/Berlin").turns["timestamp"].iloc[0]
    Timestamp('2026-03-01 08:00:00+0000', tz='UTC')
    >>> try:
    ...     validate(t.drop(columns="response_time_s"))
    ... except LogValidationError as e:
    ...     print(e.columns)
    ['response_time_s']
    """
    _check_zone(tz, "validate")
    t, problems = _checked_turns(turns, tz, source)
    derived = None if problems else _conversations_from_turns(t)
    if conversations is None:
        if problems:
            raise LogValidationError(problems, source=source)
        c = _with_outcome_columns(derived)
    else:
        c = _checked_conversations(conversations, problems, tz, source)
        _check_against_turns(t, c, derived, source)
        c = _with_outcome_columns(_fill_from_turns(c, derived))
    return _canonical_log(t, c)


def _check_zone(tz: str | None, where: str) -> None:
    """Raise one ValueError naming ``tz`` when it is not a time zone name (None is fine)."""
    if tz is None:
        return
    from toolkit.validation import check_timezone

    try:
        check_timezone(tz, "tz")
    except ValueError:
        raise LogValidationError(f"{where}: tz={tz!r} is not a time zone (use an IANA name such as UTC or Europe/Berlin)") from None


_TURN_KEYS = ("conversation_id", "turn")
#: conversation columns that can be derived from the turns
_DERIVED_COLUMNS = ("user_id", "bot_id", "variant", "start_time", "end_time")


def _checked_turns(turns: pd.DataFrame, tz: str | None, source: str | None) -> tuple[pd.DataFrame, list[Problem]]:
    """The turns coerced to their dtypes (absent optional columns added) and the rules they break.

    Raises at once when the table is empty or lacks a required column: nothing else can be checked.
    """
    turns = _check_frame(turns, "turns")
    tchk = _Checker("turns", turns, _TURN_KEYS)
    if len(turns) == 0:
        raise LogValidationError([Problem("turns", None, "is empty: the log has no turns")], source=source)
    if _missing_columns(tchk, turns, REQUIRED_TURN_COLUMNS):
        raise LogValidationError(tchk.problems, source=source)

    t = _coerce(tchk, turns, TURN_COLUMNS, REQUIRED_TURN_COLUMNS, tz)
    for col, kind in TURN_COLUMNS.items():
        if col not in t.columns:
            if kind == "count":
                t[col] = pd.array([pd.NA] * len(t), dtype="Int64")
            elif kind == "money":
                t[col] = np.nan
            else:
                t[col] = pd.array([pd.NA] * len(t), dtype="string")

    if not tchk.problems:
        dup = t.duplicated(["conversation_id", "turn"], keep=False).to_numpy()
        tchk.flag("turn", "must be unique within a conversation: (conversation_id, turn) repeats", dup)
        if t["variant"].notna().any():
            n_arms = t.groupby("conversation_id", sort=False)["variant"].transform("nunique")
            tchk.flag("variant", "must be the same on every turn of a conversation (an A/B arm is assigned "
                      "per conversation; these conversations switch arms)", (n_arms > 1).to_numpy())
    return t, list(tchk.problems)


def _conversations_from_turns(t: pd.DataFrame) -> pd.DataFrame:
    """One row per conversation: its first non-missing user, bot and variant (in turn order), first and last time."""
    first = t.sort_values(["conversation_id", "turn"]).groupby("conversation_id", sort=True)
    derived = pd.DataFrame(
        {
            "user_id": first["user_id"].first(),
            "bot_id": first["bot_id"].first(),
            "variant": first["variant"].first(),
            "start_time": first["timestamp"].min(),
            "end_time": first["timestamp"].max(),
        }
    )
    derived.index.name = "conversation_id"
    return derived.reset_index()


def _checked_conversations(
    conversations: pd.DataFrame, problems: list[Problem], tz: str | None, source: str | None
) -> pd.DataFrame:
    """The conversations table coerced to its dtypes; raises with ``problems`` (the turns') and its own."""
    conversations = _check_frame(conversations, "conversations")
    cchk = _Checker("conversations", conversations, ("conversation_id",))
    if _missing_columns(cchk, conversations, ("conversation_id",)):
        raise LogValidationError(problems + cchk.problems, source=source)
    c = _coerce(cchk, conversations, CONVERSATION_COLUMNS, ("conversation_id",), tz)
    if not cchk.problems:
        cchk.flag(
            "conversation_id", "must be unique", c["conversation_id"].duplicated(keep=False).to_numpy()
        )
    if "start_time" in c.columns and "end_time" in c.columns:
        cchk.flag("end_time", "must not be before start_time", (c["end_time"] < c["start_time"]).fillna(False).to_numpy(dtype=bool))
    problems = problems + cchk.problems
    if problems:
        raise LogValidationError(problems, source=source)
    return c


def _check_against_turns(t: pd.DataFrame, c: pd.DataFrame, derived: pd.DataFrame, source: str | None) -> None:
    """Both tables name the same conversations, and agree on each conversation's variant."""
    orphan = pd.Index(c["conversation_id"]).get_indexer(t["conversation_id"]) < 0
    tchk = _Checker("turns", t, _TURN_KEYS)
    tchk.flag(
        "conversation_id", "refers to a conversation that is not in the conversations table", orphan
    )
    cchk = _Checker("conversations", c, ("conversation_id",))
    cchk.flag(
        "conversation_id",
        "has no turns (every conversation needs at least one turn)",
        pd.Index(derived["conversation_id"]).get_indexer(c["conversation_id"]) < 0,
    )
    if "variant" in c.columns:
        merged = c[["conversation_id", "variant"]].merge(
            derived[["conversation_id", "variant"]], on="conversation_id", how="left", suffixes=("", "_turns")
        )
        both = merged["variant"].notna() & merged["variant_turns"].notna()
        cchk.flag(
            "variant",
            "disagrees with the variant of the conversation's turns",
            (both & (merged["variant"] != merged["variant_turns"])).fillna(False).to_numpy(dtype=bool),
        )
    problems = tchk.problems + cchk.problems
    if problems:
        raise LogValidationError(problems, source=source)


def _fill_from_turns(c: pd.DataFrame, derived: pd.DataFrame) -> pd.DataFrame:
    """Fill what the conversations table does not have (columns or values) from the turns."""
    d = derived.set_index("conversation_id").reindex(c["conversation_id"])
    fill = {}
    for col in _DERIVED_COLUMNS:
        derived_col = d[col].set_axis(c.index)
        fill[col] = derived_col if col not in c.columns else c[col].where(c[col].notna(), derived_col)
    return c.assign(**fill)


def _with_outcome_columns(c: pd.DataFrame) -> pd.DataFrame:
    """Add ``satisfaction`` (NaN) and ``resolved`` (<NA>) where the table does not have them."""
    add: dict[str, Any] = {}
    if "satisfaction" not in c.columns:
        add["satisfaction"] = np.nan
    if "resolved" not in c.columns:
        add["resolved"] = pd.array([pd.NA] * len(c), dtype="boolean")
    return c.assign(**add)


def _canonical_log(t: pd.DataFrame, c: pd.DataFrame) -> ConversationLog:
    """Both tables in their canonical column order and dtypes, sorted; extra columns kept last."""
    t_cols = list(TURN_COLUMNS) + [x for x in t.columns if x not in TURN_COLUMNS]
    t = t[t_cols].sort_values(["conversation_id", "turn"], kind="stable").reset_index(drop=True)
    c_cols = list(CONVERSATION_COLUMNS) + [x for x in c.columns if x not in CONVERSATION_COLUMNS]
    c = c[c_cols]
    for col in ("user_id", "bot_id", "variant"):
        c[col] = c[col].astype("string")
    for col in ("start_time", "end_time"):
        c[col] = c[col].astype("datetime64[ns, UTC]")
    c = c.sort_values("conversation_id", kind="stable").reset_index(drop=True)
    return ConversationLog(turns=t, conversations=c)


def conversation_metrics(log: ConversationLog) -> pd.DataFrame:
    """One row per conversation: its columns plus what is derived from its turns.

    Derived columns: ``n_turns``, ``first_user_input``, ``mean_response_time_s``,
    ``total_response_time_s``, ``total_cost_usd``, ``total_tokens``, ``n_errors``,
    ``duration_s``; and ``mean_quality`` / ``min_quality`` when the turns carry a ``quality``
    column.

    Parameters
    ----------
    log : ConversationLog

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import toolkit
    >>> m = conversation_metrics(toolkit.load_sample())
    >>> {"n_turns", "first_user_input", "mean_response_time_s"} <= set(m.columns)
    True
    """
    t = log.turns
    g = t.groupby("conversation_id", sort=True)
    first_idx = g["turn"].idxmin()
    tokens = t["prompt_tokens"].astype("Float64").fillna(0) + t["completion_tokens"].astype("Float64").fillna(0)
    agg = pd.DataFrame(
        {
            "n_turns": g.size(),
            "first_user_input": pd.Series(
                t.loc[first_idx.to_numpy(), "user_input"].to_numpy(), index=first_idx.index
            ).astype("string"),
            "mean_response_time_s": g["response_time_s"].mean(),
            "total_response_time_s": g["response_time_s"].sum(),
            "total_cost_usd": g["cost_usd"].sum(min_count=1),
            "total_tokens": tokens.groupby(t["conversation_id"]).sum().astype("float64"),
            "n_errors": t["error"].notna().groupby(t["conversation_id"]).sum(),
            "duration_s": (g["timestamp"].max() - g["timestamp"].min()).dt.total_seconds(),
        }
    )
    if "quality" in t.columns:
        q = pd.to_numeric(t["quality"], errors="coerce").groupby(t["conversation_id"])
        agg["mean_quality"] = q.mean()
        agg["min_quality"] = q.min()
    agg.index.name = "conversation_id"
    out = log.conversations.merge(agg.reset_index(), on="conversation_id", how="left")
    return out
