"""Read human ratings into the labels table, with one clear error per bad file.

:func:`read_labels` accepts a CSV / Parquet / JSONL file, a DataFrame, or LangSmith feedback
already pulled (records with ``run_id``, ``key`` and ``score``, mapped to turns through the log's
``run_id`` column). It returns the labels table (see :mod:`toolkit.labels`) and raises
:class:`LabelsError` naming the file, the column, the rule and the first offending rows.
:func:`label_means` averages the raters of each key.

Examples
--------
>>> import pandas as pd
>>> from toolkit.labels import read_labels
>>> read_labels(pd.DataFrame({"conversation_id": ["a"], "turn": [0], "rating": ["x"]}))
Traceback (most recent call last):
...
toolkit.labels.read.LabelsError: labels (DataFrame): column 'rating' must be numeric (1 row): row 0 (conversation_id='a', turn=0, rating='x')
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = ["read_labels", "label_means", "LabelsError", "LABEL_COLUMNS", "MAX_LABEL_ROWS"]

#: the labels table's columns and dtypes, in order (``rater`` only when given)
LABEL_COLUMNS: dict[str, str] = {"conversation_id": "string", "turn": "Int64", "rating": "float64",
                                 "rater": "string"}
#: rows read at most from one labels source (a user-controlled size)
MAX_LABEL_ROWS = 5_000_000
_SHOW = 5  # offending rows quoted in an error


class LabelsError(ToolkitError):
    """A labels file or frame breaks a rule; the message names source, column, rule and rows.

    Attributes
    ----------
    source : str
        The file path, or ``"labels (DataFrame)"``.
    problems : list of (column, rule, rows)
        Every broken rule; ``rows`` are index labels of the input (0-based data rows of a file).
    """

    def __init__(self, source: str, problems: list[tuple[str, str, list]]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(rule for _, rule, _ in problems))


def _name(source) -> str:
    if isinstance(source, pd.DataFrame):
        return "labels (DataFrame)"
    return f"labels file {os.fspath(source)!s}"


def _read_file(path: Path, where: str) -> pd.DataFrame:
    if not path.is_file():
        raise LabelsError(where, [("", "file not found", [])])
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".jsonl", ".ndjson", ".jsonl.gz"):
            frame = pd.read_json(path, lines=True, dtype=False, nrows=MAX_LABEL_ROWS + 1)
        elif suffix in (".json",):
            frame = pd.read_json(path, dtype=False)
        elif suffix in (".csv", ".csv.gz", ".tsv", ".txt"):
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, encoding="utf-8-sig",
                                keep_default_na=True, nrows=MAX_LABEL_ROWS + 1)
        else:
            raise LabelsError(where, [("", f"unknown file type {path.suffix!r} (use .csv, .tsv, .parquet, "
                                           ".jsonl or .json)", [])])
    except LabelsError:
        raise
    except Exception as exc:  # a parser's own error, on one line
        msg = " ".join(str(exc).split())[:200]
        raise LabelsError(where, [("", f"cannot be read ({type(exc).__name__}: {msg})", [])]) from None
    return frame


def _turns_of(log) -> pd.DataFrame:
    turns = getattr(log, "turns", log)
    if not isinstance(turns, pd.DataFrame):
        raise TypeError(f"log must be a ConversationLog or a turns DataFrame, not {type(log).__name__}")
    return turns


def _from_feedback(frame: pd.DataFrame, log, feedback_key: str | None, where: str) -> pd.DataFrame:
    """LangSmith feedback records (run_id, key, score[, created_by]) -> labels columns."""
    if log is None:
        raise LabelsError(where, [("run_id", "LangSmith feedback (run_id, score) needs log= with a run_id "
                                             "column to map runs to conversation_id and turn", [])])
    turns = _turns_of(log)
    if "run_id" not in turns.columns:
        raise LabelsError(where, [("run_id", "the log has no run_id column to map feedback to turns", [])])
    fb = frame
    if "key" in fb.columns:
        keys = sorted(map(str, fb["key"].dropna().unique()))
        if feedback_key is None:
            if len(keys) > 1:
                raise LabelsError(where, [("key", f"feedback has {len(keys)} keys {keys[:5]}: choose one with "
                                                  "feedback_key=", [])])
        else:
            if feedback_key not in keys:
                raise LabelsError(where, [("key", f"no feedback with key {feedback_key!r} (keys: {keys[:5]})", [])])
            fb = fb[fb["key"].astype(str) == feedback_key]
    runs = turns[["run_id", "conversation_id", "turn"]].astype({"run_id": str})
    runs = runs.drop_duplicates("run_id")
    rid = fb["run_id"].astype(str)
    known = rid.isin(set(runs["run_id"]))
    if not known.all():
        bad = list(fb.index[~known][:_SHOW])
        raise LabelsError(where, [("run_id", f"column 'run_id' must name a run of the log ({int((~known).sum())} "
                                             f"rows do not): rows {bad}", bad)])
    m = runs.set_index("run_id").loc[rid]
    out = pd.DataFrame({"conversation_id": m["conversation_id"].to_numpy(), "turn": m["turn"].to_numpy(),
                        "rating": fb["score"].to_numpy()}, index=fb.index)
    if "created_by" in fb.columns and fb["created_by"].notna().any():
        out["rater"] = fb["created_by"].to_numpy()
    return out


def _show(frame: pd.DataFrame, rows, cols: Sequence[str]) -> str:
    parts = []
    for r in list(rows)[:_SHOW]:
        vals = ", ".join(f"{c}={_fmt(frame.at[r, c])}" for c in cols if c in frame.columns)
        parts.append(f"row {r} ({vals})")
    more = len(rows) - _SHOW
    return ", ".join(parts) + (f", ... ({more} more)" if more > 0 else "")


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "<NA>"
    if isinstance(v, (np.integer,)):
        v = int(v)
    if isinstance(v, (np.floating,)):
        v = float(v)
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _rule(problems: list, frame: pd.DataFrame, column: str, rule: str, mask, cols=None) -> None:
    rows = list(frame.index[np.asarray(mask, dtype=bool)])
    if rows:
        n = len(rows)
        shown = _show(frame, rows, list(dict.fromkeys(cols or ["conversation_id", "turn", column])))
        problems.append((column, f"column {column!r} {rule} ({n} row{'s' if n != 1 else ''}): {shown}", rows))


def read_labels(
    source,
    *,
    log=None,
    scale: tuple[float, float] | None = None,
    feedback_key: str | None = None,
) -> pd.DataFrame:
    """Read human ratings into the labels table, checking every rule.

    Parameters
    ----------
    source : str, path or DataFrame
        A ``.csv``/``.tsv`` (text columns, header row), ``.parquet``, ``.jsonl``/``.json`` file, or
        a frame, with ``conversation_id``, ``rating``, optional ``turn`` (empty = a label of the
        whole conversation) and ``rater``. LangSmith feedback already pulled (``run_id``, ``score``,
        optional ``key`` and ``created_by``) is read too when ``log`` has a ``run_id`` column.
    log : ConversationLog or DataFrame, optional
        When given, every ``conversation_id`` and every ``(conversation_id, turn)`` must be in it.
    scale : (lo, hi), optional
        The rating scale: ratings outside ``[lo, hi]`` are an error.
    feedback_key : str, optional
        Which feedback key to read when the feedback has several.

    Returns
    -------
    DataFrame
        ``conversation_id`` (string), ``turn`` (Int64, <NA> for a conversation label),
        ``rating`` (float64) and, when present, ``rater`` (string); the input's row order,
        a fresh 0..n-1 index.

    Raises
    ------
    LabelsError
        (a :class:`toolkit.errors.ToolkitError`) naming the file, the column, the rule and up to
        five offending rows: missing columns, missing / non-numeric / non-finite ratings, ratings
        outside ``scale``, turns that are not non-negative integers, duplicate
        (conversation_id, turn, rater) rows, ids or turns unknown to ``log``.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"conversation_id": ["c1", "c1", "c2"], "turn": ["0", "1", ""],
    ...                     "rating": ["4", "2.5", "5"]})
    >>> labels = read_labels(raw, scale=(1, 5))
    >>> labels.dtypes.astype(str).tolist(), labels["turn"].tolist()
    (['string', 'Int64', 'float64'], [0, 1, <NA>])
    >>> read_labels(raw.assign(rating=["4", "7", "5"]), scale=(1, 5))
    Traceback (most recent call last):
    ...
    toolkit.labels.read.LabelsError: labels (DataFrame): column 'rating' must be within the scale [1, 5] (1 row): row 1 (conversation_id='c1', turn='1', rating='7')
    """
    if isinstance(source, pd.DataFrame):
        where, frame = _name(source), source
    elif isinstance(source, (str, os.PathLike)):
        where = _name(source)
        frame = _read_file(Path(source), where)
    else:
        raise TypeError(f"read_labels needs a path or a DataFrame, not {type(source).__name__}")
    if len(frame) > MAX_LABEL_ROWS:
        raise LabelsError(where, [("", f"has more than {MAX_LABEL_ROWS:,} rows (the limit of one labels source)",
                                   [])])
    if scale is not None:
        try:
            lo, hi = (float(scale[0]), float(scale[1]))
        except (TypeError, ValueError, IndexError):
            raise ToolkitError(f"scale must be a pair (lo, hi) of numbers, got {scale!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ToolkitError(f"scale must be finite numbers with lo < hi, got {scale!r}")
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    if "conversation_id" not in frame.columns and "run_id" in frame.columns and "score" in frame.columns:
        frame = _from_feedback(frame, log, feedback_key, where)
    missing = [c for c in ("conversation_id", "rating") if c not in frame.columns]
    if missing:
        raise LabelsError(where, [(c, f"missing column {c!r} (a labels table has conversation_id, "
                                      f"turn, rating[, rater]; found {list(frame.columns)[:8]})", [])
                                  for c in missing])
    frame.index = pd.RangeIndex(len(frame))
    problems: list = []

    cid = frame["conversation_id"]
    cid_missing = cid.isna() | (cid.astype("string").str.strip() == "").fillna(True)
    _rule(problems, frame, "conversation_id", "must not be empty", cid_missing)

    raw = frame["rating"]
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        rating = raw.astype("Float64")
    else:
        rating = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").astype("Float64")
    rating = pd.Series(rating.to_numpy(dtype="float64", na_value=np.nan), index=frame.index)
    absent = raw.isna() | (raw.astype("string").str.strip() == "").fillna(True)
    _rule(problems, frame, "rating", "must not be empty", absent)
    _rule(problems, frame, "rating", "must be numeric", ~absent & rating.isna())
    _rule(problems, frame, "rating", "must be finite", np.isinf(rating.to_numpy()))
    if scale is not None:
        ok = rating.notna() & np.isfinite(rating)
        out = ok & ((rating < lo) | (rating > hi))
        _rule(problems, frame, "rating", f"must be within the scale [{scale[0]:g}, {scale[1]:g}]", out)

    if "turn" in frame.columns:
        traw = frame["turn"]
        tstr = traw.astype("string").str.strip()
        tmiss = traw.isna() | (tstr == "").fillna(True)
        tnum = pd.to_numeric(tstr.where(~tmiss), errors="coerce").astype("float64")
        bad = ~tmiss & (tnum.isna() | ~np.isfinite(tnum) | (tnum < 0) | (tnum != np.floor(tnum)))
        _rule(problems, frame, "turn", "must be a non-negative integer or empty (a conversation label)", bad)
        turn = pd.array(np.where(tmiss | bad, 0, tnum.fillna(0)).astype("int64"), dtype="Int64")
        turn[np.asarray(tmiss | bad)] = pd.NA
    else:
        turn = pd.array([pd.NA] * len(frame), dtype="Int64")

    out = pd.DataFrame({"conversation_id": cid.astype("string").str.strip(), "turn": turn,
                        "rating": rating.to_numpy()}, index=frame.index)
    if "rater" in frame.columns:
        out["rater"] = frame["rater"].astype("string").str.strip()

    if not problems:
        key = ["conversation_id", "turn"] + (["rater"] if "rater" in out.columns else [])
        dup = out[key].astype("string").fillna("\x00<NA>").duplicated(keep=False)
        _rule(problems, frame, "rating", "must have one row per (" + ", ".join(key) + ")",
              dup.to_numpy(), cols=key + ["rating"])
        problems[-1:] = [(k, r.replace("column 'rating' must", "rows must", 1), rows)
                         for k, r, rows in problems[-1:]]
    if not problems and log is not None:
        turns = _turns_of(log)
        for col in ("conversation_id", "turn"):
            if col not in turns.columns:
                raise TypeError(f"log has no {col!r} column")
        ids = set(turns["conversation_id"].astype(str))
        unknown = ~out["conversation_id"].astype(str).isin(ids)
        _rule(problems, frame, "conversation_id", "must name a conversation of the log", unknown.to_numpy())
        if not problems:
            has_turn = out["turn"].notna().to_numpy()
            pairs = pd.MultiIndex.from_arrays([turns["conversation_id"].astype(str),
                                               turns["turn"].astype("int64")])
            q = pd.MultiIndex.from_arrays([out["conversation_id"].astype(str),
                                           out["turn"].fillna(0).astype("int64")])
            _rule(problems, frame, "turn", "must name a turn of that conversation in the log",
                  has_turn & ~q.isin(pairs))
    if problems:
        raise LabelsError(where, problems)
    return out.reset_index(drop=True)


def label_means(labels: pd.DataFrame) -> pd.DataFrame:
    """Rater-averaged rating per (conversation_id, turn).

    Parameters
    ----------
    labels : DataFrame
        The labels table (:func:`read_labels`).

    Returns
    -------
    DataFrame
        ``conversation_id``, ``turn`` (Int64, <NA> for conversation labels), ``rating`` (mean),
        ``rating_sd`` (the raters' standard deviation, NaN for one rater) and ``n_raters``,
        sorted by key.

    Examples
    --------
    >>> import pandas as pd
    >>> lab = read_labels(pd.DataFrame({"conversation_id": ["a", "a"], "turn": [1, 1],
    ...                                 "rating": [2.0, 4.0], "rater": ["x", "y"]}))
    >>> label_means(lab).round(3).to_dict("records")
    [{'conversation_id': 'a', 'turn': 1, 'rating': 3.0, 'rating_sd': 1.414, 'n_raters': 2}]
    """
    for c in ("conversation_id", "turn", "rating"):
        if c not in labels.columns:
            raise LabelsError("labels (DataFrame)", [(c, f"missing column {c!r}", [])])
    g = labels.groupby(["conversation_id", "turn"], dropna=False, sort=True, observed=True)["rating"]
    out = g.agg(rating="mean", rating_sd="std", n_raters="size").reset_index()
    out["turn"] = out["turn"].astype("Int64")
    out["conversation_id"] = out["conversation_id"].astype("string")
    out["n_raters"] = out["n_raters"].astype("int64")
    return out
