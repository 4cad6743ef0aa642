"""Series files: ``timestamp,value`` and long ``series_id,timestamp,value`` tables.

Examples
--------
>>> is_series_table(["timestamp", "value"])
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from toolkit.validation import has_utc_offset
from toolkit.series.grid import MAX_VALUE, SeriesError, _fmt_ts, regularize

__all__ = ["read_series", "split_long", "to_long", "is_series_table", "peek_columns"]


def is_series_table(columns: Iterable[str]) -> bool:
    """Whether a table's columns are a series file: ``timestamp,value`` (+ ``series_id``).

    Examples
    --------
    >>> is_series_table(["series_id", "timestamp", "value"]), is_series_table(["timestamp", "turn"])
    (True, False)
    """
    cols = {str(c).strip().lower() for c in columns}
    return {"timestamp", "value"} <= cols and cols <= {"timestamp", "value", "series_id"}


def peek_columns(path: str | os.PathLike) -> list[str] | None:
    """Column names of a CSV, JSON Lines or Parquet file without reading it all.

    None for a folder, another kind of file or one that cannot be read (a conversation log
    loader gives the precise error then).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("timestamp,value\\n2026-01-01,1\\n")
    >>> peek_columns(p)
    ['timestamp', 'value']
    """
    import json

    path = Path(path)
    if not path.is_file():
        return None
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix in (".csv", ".txt"):
            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        if suffix in (".jsonl", ".ndjson", ".json"):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        obj = json.loads(line)
                        return list(obj) if isinstance(obj, dict) else None
    except Exception:  # noqa: BLE001 - OSError, ValueError, UnicodeDecodeError, pyarrow errors on a broken file
        return None
    return None


def _parse_timestamps(raw: pd.Series, where: str, tz: str | None = None) -> pd.Series:
    """Parse timestamps: aware ones to UTC; naive dates kept naive; naive times of day localised
    in ``tz`` (to UTC) and rejected without it, as in a log; never a mix."""
    if raw.isna().any():
        rows = list(raw.index[raw.isna()])
        raise SeriesError(f"{where}.timestamp must not be missing; missing in rows {_fmt_ts(rows)}")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return raw.dt.tz_convert("UTC") if raw.dt.tz is not None else raw
    text = raw.astype("string").str.strip()
    aware = has_utc_offset(text)
    if aware.any() and not aware.all():
        naive_rows = list(raw.index[~aware])
        raise SeriesError(
            f"{where}.timestamp mixes naive and time-zone-aware values; naive in rows {_fmt_ts(naive_rows)}"
        )
    parsed = pd.to_datetime(text, errors="coerce", utc=bool(aware.any()), format="mixed")
    bad = raw[parsed.isna().to_numpy()]
    if len(bad):
        raise SeriesError(f"{where}.timestamp must be a date/time; cannot parse rows {_fmt_ts(f'{i} ({v!r})' for i, v in bad.items())}")
    timed = text.str.contains(r"[T ]\d", regex=True).fillna(False).to_numpy(dtype=bool)
    if not aware.any() and timed.any():
        if tz is None:
            rows = list(raw.index[timed])
            raise SeriesError(
                f"{where}.timestamp has naive times (no UTC offset) in rows {_fmt_ts(rows)}; they are not "
                "guessed: write them with an offset (2026-01-01T10:00:00Z) or pass the time zone they "
                "were recorded in (--tz / tz=)"
            )
        from toolkit.validation import check_timezone

        local = parsed.dt.tz_localize(check_timezone(tz, "tz"), ambiguous="NaT", nonexistent="NaT")
        if local.isna().any():
            rows = list(raw.index[local.isna().to_numpy()])
            raise SeriesError(f"{where}.timestamp has times that do not exist or are ambiguous in {tz}: rows {_fmt_ts(rows)}")
        return local.dt.tz_convert("UTC")
    return parsed


def read_series(path: str | os.PathLike | pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """Read a series file: ``timestamp,value`` or long ``series_id,timestamp,value``.

    CSV, JSON Lines and Parquet are accepted (as in :func:`toolkit.io.read_table`). Time-zone
    aware timestamps are converted to UTC; naive dates (``2026-01-01``) are kept naive; naive
    times of day are localised in ``tz`` and converted to UTC, and rejected without it (no zone
    is guessed, as for a log).

    Parameters
    ----------
    path : path or DataFrame
        The series file, or a frame with ``timestamp`` and ``value`` (and ``series_id``).
    tz : str, optional
        Time zone of naive times of day (e.g. ``"Europe/Berlin"``).

    Returns
    -------
    DataFrame
        Long table ``series_id, timestamp, value`` (a two-column file gets the file's stem as
        ``series_id``; a DataFrame ``'value'``), sorted by series and time. Grids are not enforced
        here: see :func:`split_long` / :func:`regularize`.

    Raises
    ------
    SeriesError
        Missing columns, unparseable timestamps, non-numeric values, duplicate
        (series_id, timestamp) pairs: each names the offending rows.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"timestamp": ["2026-01-01", "2026-01-02"], "value": [1, 2]})
    >>> read_series(raw)["series_id"].tolist()
    ['value', 'value']
    >>> hourly = pd.DataFrame({"timestamp": ["2026-01-01 10:00"], "value": [1]})
    >>> str(read_series(hourly, tz="Europe/Berlin")["timestamp"].iloc[0])
    '2026-01-01 09:00:00+00:00'
    """
    if isinstance(path, pd.DataFrame):
        raw, where = path.copy(), "series"
        sid_default = "value"
    else:
        from toolkit.io import read_table

        p = Path(path)
        raw, where = read_table(p), p.name
        sid_default = p.stem
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if not {"timestamp", "value"} <= set(raw.columns):
        raise SeriesError(
            f"{where} is not a series table: it needs columns timestamp,value (and optionally series_id); "
            f"it has {list(raw.columns)[:10]}"
        )
    if "series_id" not in raw.columns:
        raw["series_id"] = sid_default
    raw = raw[["series_id", "timestamp", "value"]].reset_index(drop=True)
    if raw["series_id"].isna().any():
        rows = list(raw.index[raw["series_id"].isna()])
        raise SeriesError(f"{where}.series_id must not be missing; missing in rows {_fmt_ts(rows)}")
    raw["series_id"] = raw["series_id"].astype("string")
    ts = _parse_timestamps(raw["timestamp"], where, tz)
    val = pd.to_numeric(raw["value"], errors="coerce")
    bad = raw.index[val.isna() & raw["value"].notna()]
    if len(bad):
        shown = _fmt_ts(f"{i} ({_shown(raw.at[i, 'value'])})" for i in bad)
        raise SeriesError(f"{where}.value must be numeric; not numeric in rows {shown}")
    big = raw.index[~np.isfinite(val.astype("float64").fillna(0.0)) | (val.astype("float64").abs() > MAX_VALUE)]
    if len(big):
        shown = _fmt_ts(f"{i} ({_shown(raw.at[i, 'value'])})" for i in big)
        raise SeriesError(f"{where}.value must be finite and at most {MAX_VALUE:g} in size (rescale the series); "
                          f"not in rows {shown}")
    out = pd.DataFrame({"series_id": raw["series_id"], "timestamp": ts, "value": val.astype("float64")})
    dup = out.duplicated(["series_id", "timestamp"], keep=False)
    if dup.any():
        ex = out[dup].head(5)
        shown = ", ".join(f"row {i} ({r.series_id}, {r.timestamp})" for i, r in ex.iterrows())
        raise SeriesError(f"{where}: (series_id, timestamp) must be unique; {int(dup.sum())} duplicated rows: {shown}")
    return out.sort_values(["series_id", "timestamp"], kind="stable").reset_index(drop=True)


def split_long(long: pd.DataFrame, freq: str | None = None) -> dict[str, pd.Series]:
    """Split a long table into regular series (one per ``series_id``), via :func:`regularize`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"series_id": ["a"] * 3 + ["b"] * 3,
    ...                    "timestamp": list(pd.date_range("2026-01-01", periods=3, freq="D")) * 2,
    ...                    "value": [1., 2., 3., 4., 5., 6.]})
    >>> {k: len(v) for k, v in split_long(df).items()}
    {'a': 3, 'b': 3}
    """
    out: dict[str, pd.Series] = {}
    for sid, grp in long.groupby("series_id", sort=True):
        s = pd.Series(grp["value"].to_numpy(), index=pd.DatetimeIndex(grp["timestamp"]), name=str(sid))
        out[str(sid)] = regularize(s, freq, name=str(sid))
    return out


def to_long(obj: pd.Series | pd.DataFrame | dict) -> pd.DataFrame:
    """A series, a wide frame (one column per series) or a dict of series as a long table.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series([1.0, 2.0], index=pd.date_range("2026-01-01", periods=2, freq="D"), name="x")
    >>> to_long(s).columns.tolist()
    ['series_id', 'timestamp', 'value']
    """
    if isinstance(obj, pd.Series):
        obj = {obj.name if obj.name is not None else "value": obj}
    elif isinstance(obj, pd.DataFrame):
        obj = {c: obj[c] for c in obj.columns}
    parts = []
    for sid, s in obj.items():
        parts.append(pd.DataFrame({"series_id": str(sid), "timestamp": s.index, "value": s.to_numpy(dtype="float64")}))
    if not parts:
        return pd.DataFrame({"series_id": pd.Series(dtype="string"), "timestamp": pd.Series(dtype="datetime64[ns, UTC]"), "value": pd.Series(dtype="float64")})
    out = pd.concat(parts, ignore_index=True)
    out["series_id"] = out["series_id"].astype("string")
    return out


def _shown(value) -> str:
    """A cell as the user wrote it, at most 30 characters: text quoted, a number plain (numpy's
    repr would say ``np.float64(inf)``)."""
    return f"{value!r:.30}" if isinstance(value, str) else f"{value!s:.30}"
