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
toolkit.log.LogValidationError: invalid conversation log: turns.response_time_s must be >= 0 (1 row): row 1 (conversation_id='c1', turn=1, response_time_s=-1.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = [
    "ConversationLog",
    "LogValidationError",
    "Problem",
    "validate",
    "conversation_metrics",
    "has_utc_offset",
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

_MAX_EXAMPLES = 5
_TZ_SUFFIX = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def has_utc_offset(text: pd.Series) -> np.ndarray:
    """Which timestamp strings carry a UTC offset (``Z``, ``+02:00``, ``-0500``) after a time.

    A date alone (``2026-01-01``) ends in something that looks like an offset (``-01``); only a
    time part can carry one, so it counts as naive.

    Examples
    --------
    >>> import pandas as pd
    >>> has_utc_offset(pd.Series(["2026-01-01T10:00Z", "2026-01-01 10:00+02:00",
    ...                           "2026-01-01", "2026-01-01 10:00", None])).tolist()
    [True, True, False, False, False]
    """
    s = text.astype("string").str.strip()
    suffix = s.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
    timed = s.str.contains(r"[T ]\d", regex=True).fillna(False).to_numpy(dtype=bool)
    return suffix & timed


@dataclass(frozen=True)
class Problem:
    """One broken rule: where, what, and which rows (index labels of the input frame)."""

    table: str
    column: str | None
    rule: str
    rows: tuple = ()
    n_rows: int = 0
    examples: str = ""

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = f"{where} {self.rule}"
        if self.n_rows:
            text += f" ({self.n_rows} row{'s' if self.n_rows != 1 else ''})"
        if self.examples:
            text += f": {self.examples}"
        return text


class LogValidationError(ValueError):
    """A conversation log broke one or more rules.

    Attributes
    ----------
    problems : list of Problem
        Every rule that failed, each with its table, column, rule and offending rows.
    """

    def __init__(self, problems: list[Problem] | str, *, source: str | None = None):
        if isinstance(problems, str):
            problems = [Problem("log", None, problems)]
        self.problems = list(problems)
        self.source = source
        head = "invalid conversation log" + (f" ({source})" if source else "")
        lines = [str(p) for p in self.problems]
        if len(lines) == 1:
            message = f"{head}: {lines[0]}"
        else:
            message = f"{head}: {len(lines)} problems:\n" + "\n".join(f"  - {ln}" for ln in lines)
        super().__init__(message)

    @property
    def columns(self) -> list[str]:
        """The columns named by the problems."""
        return [p.column for p in self.problems if p.column]


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
                try:
                    stamp = stamp.tz_localize(tz or "UTC")
                except Exception as exc:  # unknown zone name
                    raise ValueError(f"select: tz={tz!r} is not a time zone ({exc})") from None
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
# validation helpers
# --------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "<missing>"
    if isinstance(value, pd.Timestamp):
        return repr(str(value))
    return repr(value)


def _examples(df: pd.DataFrame, mask: np.ndarray, column: str | None, keys: Iterable[str]) -> str:
    idx = np.flatnonzero(mask)[:_MAX_EXAMPLES]
    shown = []
    cols = [k for k in keys if k in df.columns and k != column]
    if column is not None and column in df.columns:
        cols.append(column)
    for i in idx:
        label = df.index[i]
        fields = ", ".join(f"{c}={_fmt(df[c].iloc[i])}" for c in cols)
        shown.append(f"row {label} ({fields})" if fields else f"row {label}")
    more = int(mask.sum()) - len(idx)
    return "; ".join(shown) + (f"; ... and {more} more" if more > 0 else "")


class _Checker:
    """Collects problems for one table."""

    def __init__(self, table: str, df: pd.DataFrame, keys: tuple[str, ...]):
        self.table, self.df, self.keys = table, df, keys
        self.problems: list[Problem] = []

    def flag(self, column: str | None, rule: str, mask) -> bool:
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if n:
            rows = tuple(self.df.index[np.flatnonzero(mask)[:_MAX_EXAMPLES]])
            self.problems.append(
                Problem(self.table, column, rule, rows, n, _examples(self.df, mask, column, self.keys))
            )
        return n > 0

    def note(self, column: str | None, rule: str) -> None:
        self.problems.append(Problem(self.table, column, rule))


def _as_string(chk: _Checker, col: str, s: pd.Series, *, required: bool) -> pd.Series:
    missing = s.isna().to_numpy()
    if s.dtype == object:  # string dtypes hold only text or NA: nothing to check
        bad = np.array([not isinstance(v, str) for v in s.to_numpy(dtype=object)]) & ~missing
        if bad.any():
            # numbers and other scalars become their text; containers are refused
            weird = np.array([isinstance(v, (list, dict, tuple, set, bytes)) for v in s.to_numpy(dtype=object)])
            chk.flag(col, "must hold text, not lists, dicts or bytes", weird)
    out = s.astype("string")
    if required:
        chk.flag(col, "must not be missing", missing)
        empty = out.fillna("x").str.strip().eq("").to_numpy()
        chk.flag(col, "must not be empty", empty)
    return out


def _as_datetime(chk: _Checker, col: str, s: pd.Series, *, tz: str | None, required: bool) -> pd.Series:
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(s.dtype):
        if tz is None:
            chk.flag(
                col,
                "has naive timestamps (no time zone); they are not guessed: store UTC offsets "
                "or pass tz='UTC' (or the zone they were recorded in) to localise them",
                ~missing,
            )
            return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
        out = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        chk.flag(col, f"has times that do not exist or are ambiguous in time zone {tz!r}", out.isna().to_numpy() & ~missing)
    elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        values = s.astype("string")
        is_text = np.array([isinstance(v, str) for v in s.to_numpy(dtype=object)])
        not_text = ~is_text & ~missing
        if not_text.any() and all(
            isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "isoformat")
            for v in s[not_text]
        ):
            # datetime objects mixed in an object column: format them and parse below
            values = pd.Series([v.isoformat() if hasattr(v, "isoformat") else str(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype="string")
            not_text[:] = False
        chk.flag(col, "must be ISO 8601 timestamps (text) or datetimes", not_text)
        stripped = values.str.strip()
        has_tz = has_utc_offset(stripped)
        parsed = pd.to_datetime(stripped.where(has_tz), errors="coerce", utc=True, format="ISO8601")
        naive_mask = ~has_tz & ~missing & ~not_text
        if naive_mask.any():
            if tz is None:
                naive_parsed = pd.to_datetime(stripped.where(naive_mask), errors="coerce", format="ISO8601")
                parseable = naive_parsed.notna().to_numpy()
                chk.flag(
                    col,
                    "has naive timestamps (no time zone); they are not guessed: write them with "
                    "a UTC offset (e.g. 2026-01-01T10:00:00Z) or pass tz='UTC' (or the zone they "
                    "were recorded in) to localise them",
                    naive_mask & parseable,
                )
                chk.flag(col, "has text that is not an ISO 8601 timestamp", naive_mask & ~parseable)
            else:
                local = pd.to_datetime(stripped.where(naive_mask), errors="coerce", format="ISO8601")
                local = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
                parsed = parsed.where(~pd.Series(naive_mask, index=s.index), local)
                chk.flag(col, "has text that is not an ISO 8601 timestamp", naive_mask & local.isna().to_numpy())
        chk.flag(col, "has text that is not an ISO 8601 timestamp", has_tz & parsed.isna().to_numpy())
        out = parsed
    elif pd.api.types.is_numeric_dtype(s.dtype) and not missing.all():
        chk.flag(
            col,
            "must be timestamps, not numbers (convert epoch seconds with "
            "pd.to_datetime(x, unit='s', utc=True) first)",
            ~missing,
        )
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    else:
        out = pd.to_datetime(s, errors="coerce", utc=True)
    out = out.astype("datetime64[ns, UTC]")
    if required:
        chk.flag(col, "must not be missing", missing)
    return out


def _as_float(chk: _Checker, col: str, s: pd.Series, *, required: bool, lo: float | None = 0.0, hi: float | None = None) -> pd.Series:
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype):
        chk.flag(col, "must be numeric, not true/false", ~missing)
        return pd.Series(np.nan, index=s.index)
    out = pd.to_numeric(s, errors="coerce")
    chk.flag(col, "must be numeric", out.isna().to_numpy() & ~missing)
    out = out.astype("float64")
    vals = out.to_numpy()
    chk.flag(col, "must be finite (no inf)", np.isinf(vals))
    if lo is not None and hi is not None:
        chk.flag(col, f"must be in [{lo:g}, {hi:g}]", (vals < lo) | (vals > hi))
    elif lo is not None:
        chk.flag(col, f"must be >= {lo:g}", vals < lo)
    if required:
        chk.flag(col, "must not be missing", missing)
    return out


def _as_int(chk: _Checker, col: str, s: pd.Series, *, required: bool, nullable: bool) -> pd.Series:
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype):
        chk.flag(col, "must be whole numbers, not true/false", ~missing)
        return pd.Series(0, index=s.index, dtype="int64")
    num = pd.to_numeric(s, errors="coerce").astype("float64")
    vals = num.to_numpy()
    chk.flag(col, "must be numeric", np.isnan(vals) & ~missing)
    frac = ~np.isnan(vals) & (np.mod(np.where(np.isinf(vals), 0, vals), 1) != 0)
    chk.flag(col, "must be whole numbers", frac | np.isinf(vals))
    chk.flag(col, "must be >= 0", vals < 0)
    if required:
        chk.flag(col, "must not be missing", missing)
    clean = np.where(np.isfinite(vals) & ~frac, vals, np.nan)
    if nullable:
        return pd.Series(clean, index=s.index).round().astype("Int64")
    return pd.Series(np.nan_to_num(clean), index=s.index).astype("int64")


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _as_bool(chk: _Checker, col: str, s: pd.Series) -> pd.Series:
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    text = s.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    chk.flag(col, "must be boolean (true/false, 1/0)", ~(is_true | is_false | missing))
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[is_true] = True
    out[is_false] = False
    return out


def _coerce(chk: _Checker, df: pd.DataFrame, spec: dict[str, str], required: tuple[str, ...], tz: str | None) -> pd.DataFrame:
    out = {}
    for col, kind in spec.items():
        if col not in df.columns:
            continue
        s = df[col]
        req = col in required
        if kind == "id":
            out[col] = _as_string(chk, col, s, required=True)
        elif kind in ("string", "text"):
            out[col] = _as_string(chk, col, s, required=False)
        elif kind == "datetime":
            out[col] = _as_datetime(chk, col, s, tz=tz, required=req)
        elif kind == "int":
            out[col] = _as_int(chk, col, s, required=True, nullable=False)
        elif kind == "count":
            out[col] = _as_int(chk, col, s, required=False, nullable=True)
        elif kind == "float":
            out[col] = _as_float(chk, col, s, required=req)
        elif kind == "money":
            out[col] = _as_float(chk, col, s, required=False)
        elif kind == "unit":
            out[col] = _as_float(chk, col, s, required=False, lo=0.0, hi=1.0)
        elif kind == "bool":
            out[col] = _as_bool(chk, col, s)
    return df.assign(**out)


def _missing_columns(chk: _Checker, df: pd.DataFrame, required: tuple[str, ...]) -> bool:
    missing = [c for c in required if c not in df.columns]
    for c in missing:
        have = ", ".join(map(str, df.columns[:20])) or "none"
        chk.note(c, f"is a required column and is missing (columns present: {have})")
    return bool(missing)


def _check_frame(obj: Any, table: str) -> pd.DataFrame:
    if not isinstance(obj, pd.DataFrame):
        raise LogValidationError(
            [Problem(table, None, f"must be a pandas DataFrame, got {type(obj).__name__}")]
        )
    if obj.columns.duplicated().any():
        dup = sorted(set(map(str, obj.columns[obj.columns.duplicated()])))
        raise LogValidationError([Problem(table, None, f"has duplicate column names: {dup}")])
    return obj


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
    turns = _check_frame(turns, "turns")
    keys = ("conversation_id", "turn")
    tchk = _Checker("turns", turns, keys)
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

    problems = list(tchk.problems)

    # ---- conversations -------------------------------------------------------------------
    derived = None
    if not problems:
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
        derived = derived.reset_index()

    if conversations is None:
        if problems:
            raise LogValidationError(problems, source=source)
        c = derived.assign(
            satisfaction=np.nan, resolved=pd.array([pd.NA] * len(derived), dtype="boolean")
        )
    else:
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
        problems += cchk.problems
        if problems:
            raise LogValidationError(problems, source=source)
        orphan = pd.Index(c["conversation_id"]).get_indexer(t["conversation_id"]) < 0
        tchk2 = _Checker("turns", t, keys)
        tchk2.flag(
            "conversation_id", "refers to a conversation that is not in the conversations table", orphan
        )
        cchk2 = _Checker("conversations", c, ("conversation_id",))
        cchk2.flag(
            "conversation_id",
            "has no turns (every conversation needs at least one turn)",
            pd.Index(derived["conversation_id"]).get_indexer(c["conversation_id"]) < 0,
        )
        if "variant" in c.columns:
            merged = c[["conversation_id", "variant"]].merge(
                derived[["conversation_id", "variant"]], on="conversation_id", how="left", suffixes=("", "_turns")
            )
            both = merged["variant"].notna() & merged["variant_turns"].notna()
            cchk2.flag(
                "variant",
                "disagrees with the variant of the conversation's turns",
                (both & (merged["variant"] != merged["variant_turns"])).fillna(False).to_numpy(dtype=bool),
            )
        problems = tchk2.problems + cchk2.problems
        if problems:
            raise LogValidationError(problems, source=source)
        # fill what the conversations table does not have from the turns
        d = derived.set_index("conversation_id").reindex(c["conversation_id"])
        fill = {}
        for col in ("user_id", "bot_id", "variant", "start_time", "end_time"):
            derived_col = d[col].set_axis(c.index)
            fill[col] = derived_col if col not in c.columns else c[col].where(c[col].notna(), derived_col)
        c = c.assign(**fill)
        if "satisfaction" not in c.columns:
            c["satisfaction"] = np.nan
        if "resolved" not in c.columns:
            c["resolved"] = pd.array([pd.NA] * len(c), dtype="boolean")

    # canonical order and dtypes
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
