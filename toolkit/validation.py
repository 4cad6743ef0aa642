"""The checks behind :func:`toolkit.log.validate`: problems, the error, and per-column coercion.

:func:`toolkit.log.validate` applies the rules of the log (which columns, which dtypes, which
values); the pieces it is built from live here: :class:`Problem` (one broken rule and its rows),
:class:`LogValidationError` (all of them, one message), and the coercers that turn a column into
its documented dtype while flagging the rows that cannot be (``_as_string``, ``_as_datetime``,
``_as_float``, ``_as_int``, ``_as_bool``, driven by ``_coerce``). Import the error and
:class:`Problem` from here (``toolkit.LogValidationError`` is the same class).

Examples
--------
>>> str(Problem("turns", "turn", "must be >= 0", rows=(3,), n_rows=1))
'turns.turn must be >= 0 (1 row)'
>>> LogValidationError("no turns", source="x.csv").args[0]
'invalid conversation log (x.csv): log no turns'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd
from toolkit.errors import ToolkitError

__all__ = ["Problem", "LogValidationError", "has_utc_offset", "check_timezone"]

_MAX_EXAMPLES = 5
_MAX_INT = 2**53
_TZ_SUFFIX = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def check_timezone(tz: str, where: str = "tz") -> str:
    """``tz`` when it names a time zone (IANA names such as ``UTC``, ``Europe/Berlin``), else a
    :class:`toolkit.errors.ToolkitError` naming ``where``.

    Examples
    --------
    >>> check_timezone("Europe/Berlin")
    'Europe/Berlin'
    >>> check_timezone("")
    Traceback (most recent call last):
    ...
    toolkit.errors.ToolkitError: tz must be an IANA time zone such as UTC or Europe/Berlin, got ''
    """
    message = f"{where} must be an IANA time zone such as UTC or Europe/Berlin, got {tz!r}"
    if not isinstance(tz, str) or not tz.strip() or len(tz) > 100 or ".." in tz or tz.startswith("/"):
        raise ToolkitError(message)
    try:
        pd.Timestamp("2026-01-01").tz_localize(tz)
    except Exception:  # noqa: BLE001 - pytz/zoneinfo/dateutil raise their own types for unknown names
        raise ToolkitError(message) from None
    return tz


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


class LogValidationError(ToolkitError):
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


# ---- coercion and checks, one column at a time ---------------------------------------------


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
                readable = local.notna().to_numpy()
                local = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
                parsed = parsed.where(~pd.Series(naive_mask, index=s.index), local)
                chk.flag(col, "has text that is not an ISO 8601 timestamp", naive_mask & ~readable)
                chk.flag(col, f"has times that do not exist or are ambiguous in time zone {tz!r} (a "
                              "daylight-saving change; they are not guessed: write them with a UTC offset)",
                         naive_mask & readable & local.isna().to_numpy())
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
    if str(out.dtype) != "datetime64[ns, UTC]":
        lo, hi = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
        oob = ((out < lo) | (out > hi)).fillna(False).to_numpy(dtype=bool)
        chk.flag(col, "is outside the range of timestamps that can be held (1677-09-22 to 2262-04-11)", oob)
        out = out.where(~oob)
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
    huge = np.isfinite(vals) & (np.abs(vals) > _MAX_INT)
    chk.flag(col, f"must be at most {_MAX_INT:,} (2^53: larger whole numbers cannot be stored exactly)", huge)
    if required:
        chk.flag(col, "must not be missing", missing)
    clean = np.where(np.isfinite(vals) & ~frac & ~huge, vals, np.nan)
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
