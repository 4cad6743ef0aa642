"""Hostile inputs (issue 22): malformed, extreme and malicious inputs to every command.

Each case builds its input files in a temporary folder, runs the command in-process through
:func:`toolkit.cli.main` and checks: the exit code, words of the one-line error, no traceback,
and that the output folder is unchanged (a failed command leaves nothing behind). The fault tests
kill a writer mid-write, fill a tiny disk, and talk to HTTP servers that echo headers or never
answer.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
SECRET = "lsv2_pt_0123456789abcdef_hostile_secret"

# ---- input builders -------------------------------------------------------------------------


def _turns(n_conv: int = 6, **cols) -> pd.DataFrame:
    rows = []
    for c in range(n_conv):
        for t in range(2):
            rows.append({
                "conversation_id": f"c{c}", "turn": t,
                "timestamp": (pd.Timestamp("2026-01-01T10:00:00Z") + pd.Timedelta(hours=c, minutes=t)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "user_id": f"u{c}", "bot_id": "b", "variant": "AB"[c % 2], "model": "m1",
                "user_input": "where is my order?" if t == 0 else "thanks",
                "bot_response": "Let me check your order." if t == 0 else "You are welcome.",
                "response_time_s": 1.0 + 0.1 * c, "prompt_tokens": 10, "completion_tokens": 5,
                "cost_usd": 0.001, "error": None,
            })
    df = pd.DataFrame(rows)
    for k, v in cols.items():
        df[k] = v
    return df


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False)


GOOD = _csv(_turns())


def _replace_cell(text: str, column: str, value: str, row: int = 0) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[1 + row].split(",")
    cells[header.index(column)] = value
    lines[1 + row] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _dup_column(text: str, column: str) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    i = header.index(column)
    out = []
    for ln in lines:
        cells = ln.split(",")
        out.append(",".join(cells + [cells[i]]))
    return "\n".join(out) + "\n"


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _dup_parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = _turns()
    arrays = [pa.array(df[c].astype(str)) for c in df.columns] + [pa.array(df["response_time_s"])]
    table = pa.Table.from_arrays(arrays, names=list(df.columns) + ["response_time_s"])
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _jsonl_nested(depth: int) -> str:
    rec = json.loads(_turns().iloc[0].to_json())
    text = json.dumps(rec)
    return text[:-1] + ', "meta": ' + _nested(depth) + "}\n"


def _sqlite_bytes(tmp: Path, corrupt: str) -> bytes:
    db = tmp / "_build.db"
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE conversations (id TEXT PRIMARY KEY, bot_id TEXT, user_id TEXT);"
        "CREATE TABLE responses (id TEXT PRIMARY KEY, conversation_id TEXT, timestamp TEXT,"
        " user_input TEXT, bot_response TEXT, response_time REAL, api_cost REAL);"
        + "".join(f"INSERT INTO conversations VALUES ('c{i}','b','u{i}');" for i in range(50))
        + "".join(f"INSERT INTO responses VALUES ('r{i}','c{i}','2026-01-01 10:00:00','hi','hello',1.0,0.1);" for i in range(50))
    )
    con.close()
    data = db.read_bytes()
    db.unlink()
    if corrupt == "truncated":
        return data[: len(data) // 2 + 100]
    if corrupt == "junk":
        return data[:100] + os.urandom(len(data) - 100)
    return data


def _series_csv(values) -> str:
    ts = pd.date_range("2026-01-01", periods=len(values), freq="D", tz="UTC")
    return pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": values}).to_csv(index=False)


SERIES_OK = _series_csv([10.0 + (i % 7) for i in range(60)])

MARKERS = {
    "GOOD": GOOD,
}


def _nb(cells_source: str = "x = 1") -> str:
    return json.dumps({
        "cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": cells_source,
                   "outputs": [], "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    })


# ---- the table ------------------------------------------------------------------------------
# (id, files {name: text|bytes|callable(tmp)->bytes}, argv with {tmp}, exit code, words)

C = []


def case(cid, files, argv, code, *words):
    C.append(pytest.param(files, argv, code, words, id=cid))


def _files(name="t.csv", text=GOOD):
    return {name: text}


# validation of the log, through every command that reads one
LOG_COMMANDS = [
    ["validate", "{tmp}/in/t.csv"],
    ["score", "{tmp}/in/t.csv", "--out", "{tmp}/out/s.parquet"],
    ["report", "{tmp}/in/t.csv"],
    ["abtest", "{tmp}/in/t.csv"],
    ["cluster", "{tmp}/in/t.csv", "--out", "{tmp}/out/c.csv", "--backend", "tfidf"],
    ["forecast", "{tmp}/in/t.csv", "--horizon", "3", "--out", "{tmp}/out/f.csv"],
]
BAD_LOGS = {
    "turn-int64-overflow": (_replace_cell(GOOD, "turn", "9223372036854775808"), ["turn"]),
    "turn-30-digits": (_replace_cell(GOOD, "turn", "1" * 30), ["turn"]),
    "duplicated-column": (_dup_column(GOOD, "response_time_s"), ["response_time_s", "duplicated"]),
    "prompt-tokens-30-digits": (_replace_cell(GOOD, "prompt_tokens", "9" * 30), ["prompt_tokens"]),
    "response-time-5001-digits": (_replace_cell(GOOD, "response_time_s", "9" * 5001), ["response_time_s"]),
    "year-2300": (_replace_cell(GOOD, "timestamp", "2300-01-01T10:00:00Z"), ["timestamp"]),
    "year-0001": (_replace_cell(GOOD, "timestamp", "0001-01-01T10:00:00Z"), ["timestamp"]),
    "naive-timestamp": (_replace_cell(GOOD, "timestamp", "2026-01-01 10:00:00"), ["timestamp", "tz"]),
    "negative-response-time": (_replace_cell(GOOD, "response_time_s", "-1"), ["response_time_s"]),
    "alternating-variants": (_replace_cell(GOOD, "variant", "B", row=1), ["variant"]),
}
for name, (text, words) in BAD_LOGS.items():
    for argv in LOG_COMMANDS:
        case(f"{argv[0]}-{name}", {"in/t.csv": text}, argv, 2, *words)

# files that are not what they claim, for every reader
JUNK = {
    "truncated-parquet": ("t.parquet", lambda tmp: _parquet_bytes(_turns())[:300], ["t.parquet"]),
    "junk-parquet": ("t.parquet", b"PAR1" + b"\x00junk" * 50, ["t.parquet"]),
    "duplicated-parquet-column": ("t.parquet", lambda tmp: _dup_parquet(), ["response_time_s"]),
    "truncated-sqlite": ("t.db", lambda tmp: _sqlite_bytes(tmp, "truncated"), ["t.db"]),
    "junk-sqlite": ("t.db", lambda tmp: _sqlite_bytes(tmp, "junk"), ["t.db"]),
    "json-nested-100k": ("t.jsonl", _jsonl_nested(100_000), ["t.jsonl", "nested"]),
    "otel-resourcespans-int": ("t.jsonl", '{"resourceSpans": 7}\n', ["resourceSpans"]),
    "list-valued-text": ("t.jsonl", _turns().assign(bot_response=[["a", "b"]] * 12).to_json(orient="records", lines=True), ["bot_response"]),
    "dict-valued-text": ("t.jsonl", _turns().assign(user_input=[{"a": 1}] * 12).to_json(orient="records", lines=True), ["user_input"]),
    "jsonl-5001-digit-number": ("t.jsonl", _turns().to_json(orient="records", lines=True).replace('"response_time_s":1.0', '"response_time_s":' + "9" * 5001, 1), ["t.jsonl", "number"]),
    "empty-csv": ("t.csv", "", ["empty"]),
    "binary-csv": ("t.csv", b"\xff\xfe\x00\x01" * 20, ["UTF-8"]),
}
for name, (fname, content, words) in JUNK.items():
    for argv in (["validate", "{tmp}/in/" + fname], ["score", "{tmp}/in/" + fname, "--out", "{tmp}/out/s.parquet"],
                 ["report", "{tmp}/in/" + fname]):
        case(f"{argv[0]}-{name}", {"in/" + fname: content}, argv, 2, *words)

# time zones, everywhere there is --tz
for cmd in (["validate"], ["report"], ["abtest"], ["score", "--out", "{tmp}/out/s.parquet"],
            ["cluster", "--out", "{tmp}/out/c.csv"], ["forecast", "--horizon", "2"]):
    for tz in ("Mars/Olympus", "", "../../../etc/passwd"):
        case(f"{cmd[0]}-tz-{tz or 'empty'}", _files("in/t.csv"), [cmd[0], "{tmp}/in/t.csv", *cmd[1:], "--tz", tz], 2, "--tz")

# options out of range
OPTS = [
    ("paired-alpha-2", ["paired", "{tmp}/in/a.csv", "{tmp}/in/b.csv", "--alpha", "2"], "--alpha"),
    ("paired-alpha-0", ["paired", "{tmp}/in/a.csv", "{tmp}/in/b.csv", "--alpha", "0"], "--alpha"),
    ("paired-bootstrap-huge", ["paired", "{tmp}/in/a.csv", "{tmp}/in/b.csv", "--bootstrap", "1000000000"], "--bootstrap"),
    ("paired-bootstrap-neg", ["paired", "{tmp}/in/a.csv", "{tmp}/in/b.csv", "--bootstrap", "-5"], "--bootstrap"),
    ("abtest-alpha-2", ["abtest", "{tmp}/in/t.csv", "--alpha", "2"], "--alpha"),
    ("abtest-alpha-nan", ["abtest", "{tmp}/in/t.csv", "--alpha", "nan"], "--alpha"),
    ("abtest-bootstrap-huge", ["abtest", "{tmp}/in/t.csv", "--bootstrap", "1000000000"], "--bootstrap"),
    ("abtest-bootstrap-neg", ["abtest", "{tmp}/in/t.csv", "--bootstrap", "-5"], "--bootstrap"),
    ("abtest-seed-neg", ["abtest", "{tmp}/in/t.csv", "--seed", "-1"], "--seed"),
    ("abtest-memory-lots", ["abtest", "{tmp}/in/t.csv", "--engine", "dask", "--memory-limit", "lots"], "--memory-limit"),
    ("abtest-workers-0", ["abtest", "{tmp}/in/t.csv", "--engine", "dask", "--workers", "0"], "--workers"),
    ("abtest-prior-sd-0", ["abtest", "{tmp}/in/t.csv", "--prior-sd", "0"], "--prior-sd"),
    ("forecast-horizon-huge", ["forecast", "{tmp}/in/t.csv", "--horizon", "100000000"], "--horizon"),
    ("forecast-horizon-0", ["forecast", "{tmp}/in/t.csv", "--horizon", "0"], "--horizon"),
    ("forecast-horizon-text", ["forecast", "{tmp}/in/t.csv", "--horizon", "ten"], "--horizon"),
    ("forecast-origins-0", ["forecast", "{tmp}/in/t.csv", "--horizon", "2", "--origins", "0"], "--origins"),
    ("forecast-season-0", ["forecast", "{tmp}/in/t.csv", "--horizon", "2", "--season", "0"], "--season"),
    ("forecast-jobs-0", ["forecast", "{tmp}/in/t.csv", "--horizon", "2", "--jobs", "0"], "--jobs"),
    ("forecast-memory-lots", ["forecast", "{tmp}/in/t.csv", "--horizon", "2", "--memory-limit", "lots"], "--memory-limit"),
    ("cluster-kmax-0", ["cluster", "{tmp}/in/t.csv", "--out", "{tmp}/out/c.csv", "--k-max", "0"], "--k-max"),
    ("cluster-kmax-1", ["cluster", "{tmp}/in/t.csv", "--out", "{tmp}/out/c.csv", "--k-max", "1"], "--k-max"),
    ("cluster-min-size-0", ["cluster", "{tmp}/in/t.csv", "--out", "{tmp}/out/c.csv", "--algorithm", "hdbscan", "--min-cluster-size", "0"], "--min-cluster-size"),
    ("cluster-seed-neg", ["cluster", "{tmp}/in/t.csv", "--out", "{tmp}/out/c.csv", "--seed", "-1"], "--seed"),
    ("cluster-sample-size-0", ["cluster", "{tmp}/in/t.csv", "--out", "{tmp}/out/c.csv", "--sample-size", "0"], "--sample-size"),
    ("power-daily-traffic-0", ["power", "--baseline", "0.1", "--mde", "0.02", "--daily-traffic", "0"], "--daily-traffic"),
    ("power-daily-traffic-neg", ["power", "--baseline", "0.1", "--mde", "0.02", "--daily-traffic", "-10"], "--daily-traffic"),
    ("power-alpha-1", ["power", "--baseline", "0.1", "--mde", "0.02", "--alpha", "1"], "--alpha"),
    ("power-power-0", ["power", "--baseline", "0.1", "--mde", "0.02", "--power", "0"], "--power"),
    ("power-arms-1", ["power", "--baseline", "0.1", "--mde", "0.02", "--arms", "1"], "--arms"),
    ("power-sd-neg", ["power", "--metric", "mean", "--baseline", "1", "--mde", "0.1", "--sd", "-1"], "--sd"),
    ("power-ratio-inf", ["power", "--baseline", "0.1", "--mde", "0.02", "--ratio", "inf"], "--ratio"),
    ("sample-seed-neg", ["sample", "--out", "{tmp}/out/s", "--seed", "-1"], "--seed"),
    ("sample-days-0", ["sample", "--out", "{tmp}/out/s", "--days", "0"], "--days"),
    ("sample-start-2262", ["sample", "--out", "{tmp}/out/s", "--start", "2262-04-01"], "--start"),
    ("sample-start-0001", ["sample", "--out", "{tmp}/out/s", "--start", "0001-01-01"], "--start"),
    ("sample-start-junk", ["sample", "--out", "{tmp}/out/s", "--days", "3", "--start", "yesterday-ish"], "--start"),
    ("score-jobs-0", ["score", "{tmp}/in/t.csv", "--out", "{tmp}/out/s.parquet", "--jobs", "0"], "--jobs"),
    ("score-memory-lots", ["score", "{tmp}/in/t.csv", "--out", "{tmp}/out/s", "--engine", "dask", "--memory-limit", "lots"], "--memory-limit"),
    ("run-timeout-neg", ["run", "{tmp}/in/n.ipynb", "--timeout", "-1"], "--timeout"),
    ("run-timeout-0", ["run", "{tmp}/in/n.ipynb", "--timeout", "0"], "--timeout"),
    ("batch-workers-0", ["batch", "-n", "{tmp}/in/n.ipynb", "--workers", "0", "--out", "{tmp}/out/b"], "--workers"),
    ("demo-workers-0", ["demo", "--out", "{tmp}/out/d", "--workers", "0"], "--workers"),
    ("validate-satisfaction-scale-0", ["validate", "{tmp}/in/t.csv", "--satisfaction-scale", "0"], "--satisfaction-scale"),
    ("langsmith-timeout-0", ["langsmith", "pull", "--project", "p", "--out", "{tmp}/out/r.jsonl", "--timeout", "0"], "--timeout"),
]
AB_CSV = pd.DataFrame({"example_id": range(20), "score": [0.5 + 0.01 * i for i in range(20)]}).to_csv(index=False)
for cid, argv, word in OPTS:
    case(cid, {"in/t.csv": GOOD, "in/a.csv": AB_CSV, "in/b.csv": AB_CSV, "in/n.ipynb": _nb()}, argv, 2, word)

# outputs that cannot be written
OUT_CMDS = {
    "score": ["score", "{tmp}/in/t.csv", "--out"],
    "cluster": ["cluster", "{tmp}/in/t.csv", "--backend", "tfidf", "--out"],
    "forecast": ["forecast", "{tmp}/in/t.csv", "--horizon", "2", "--model", "snaive", "--out"],
    "sample": ["sample", "--days", "2", "--out"],
    "export": ["export", "{tmp}/in/n.ipynb", "--to", "html", "--out"],
}
for name, argv in OUT_CMDS.items():
    suffix = {"score": "s.parquet", "cluster": "c.csv", "forecast": "f.csv", "sample": "s", "export": "n.html"}[name]
    if name != "sample":
        case(f"{name}-out-is-folder", {"in/t.csv": GOOD, "in/n.ipynb": _nb(), "out/" + suffix + "/keep": "x"}, [*argv, "{tmp}/out/" + suffix], 2, suffix)
    case(f"{name}-out-under-a-file", {"in/t.csv": GOOD, "in/n.ipynb": _nb(), "out/file": "x"}, [*argv, "{tmp}/out/file/" + suffix], 2, "file")
case("score-out-xlsx", {"in/t.csv": GOOD}, ["score", "{tmp}/in/t.csv", "--out", "{tmp}/out/s.xlsx"], 2, ".xlsx")
case("forecast-out-xlsx", {"in/t.csv": GOOD}, ["forecast", "{tmp}/in/t.csv", "--horizon", "2", "--out", "{tmp}/out/f.xlsx"], 2, ".xlsx")
case("cluster-out-xlsx", {"in/t.csv": GOOD}, ["cluster", "{tmp}/in/t.csv", "--out", "{tmp}/out/c.xlsx"], 2, ".xlsx")

for name, files, out in (
    ("run-out-is-a-file", {"in/n.ipynb": _nb(), "out/r": "x"}, "{tmp}/out/r"),
    ("run-out-under-a-file", {"in/n.ipynb": _nb(), "out/r": "x"}, "{tmp}/out/r/sub"),
):
    case(name, files, ["run", "{tmp}/in/n.ipynb", "--out", out, "--no-pdf"], 2, "file")
case("langsmith-out-is-folder", {"out/r.jsonl/keep": "x"}, ["langsmith", "pull", "--project", "p", "--out", "{tmp}/out/r.jsonl"], 2, "folder")
case("langsmith-no-key", {}, ["langsmith", "pull", "--project", "p", "--out", "{tmp}/out/r.jsonl"], 2, "LANGSMITH_API_KEY")
case("langsmith-push-not-a-log", {"in/t.csv": "a,b\n1,2\n"}, ["langsmith", "push", "{tmp}/in/t.csv", "--key", "quality", "--dry-run"], 2, "t.csv")

# series files for forecast
for name, vals, words in (
    ("inf", [1.0] * 30 + [float("inf")] + [1.0] * 29, ["value", "finite"]),
    ("1e300", [1e300] * 60, ["value"]),
    ("neg-1e300", [-1e300, 1e300] * 30, ["value"]),
):
    case(f"forecast-series-{name}", {"in/s.csv": _series_csv(vals)}, ["forecast", "{tmp}/in/s.csv", "--horizon", "3", "--model", "snaive"], 2, *words)
case("forecast-series-text-value", {"in/s.csv": "timestamp,value\n" + "".join(f"2026-01-01T{h:02d}:00:00Z,=cmd|' /C calc'!A0\n" for h in range(24))},
     ["forecast", "{tmp}/in/s.csv", "--horizon", "3", "--model", "snaive"], 2, "value", "numeric")
case("forecast-series-naive-times", {"in/s.csv": "timestamp,value\n" + "".join(f"2026-01-01 {h:02d}:00:00,{h}\n" for h in range(24))},
     ["forecast", "{tmp}/in/s.csv", "--horizon", "3", "--model", "snaive"], 2, "naive", "--tz")
case("forecast-series-5001-digits", {"in/s.csv": SERIES_OK.replace(",10.0\n", "," + "9" * 5001 + "\n", 1)},
     ["forecast", "{tmp}/in/s.csv", "--horizon", "3", "--model", "snaive"], 2, "value")

# compare
case("paired-json-nested", {"in/a.jsonl": '{"example_id": 1, "score": ' + _nested(100_000) + "}\n", "in/b.csv": AB_CSV},
     ["paired", "{tmp}/in/a.jsonl", "{tmp}/in/b.csv"], 2, "a.jsonl")
case("paired-missing", {}, ["paired", "{tmp}/in/none.csv", "{tmp}/in/none2.csv"], 2, "none.csv")

# abtest on huge values
case("abtest-values-1e300", {"in/u.csv": pd.DataFrame({"variant": ["A", "B"] * 20, "score": [1e300, -1e300, 1e300, 1e300] * 10}).to_csv(index=False)},
     ["abtest", "{tmp}/in/u.csv", "--metrics", "score"], 2, "score")

# notebooks that are not notebooks
for cmd in (["run"], ["export", "--to", "html"], ["batch", "--out", "{tmp}/out/b", "-n"]):
    case(f"{cmd[0]}-notebook-not-json", {"in/n.ipynb": "this is not json\nSECRET-LINE\n"}, [*cmd, "{tmp}/in/n.ipynb"], 2, "n.ipynb")
    case(f"{cmd[0]}-notebook-passwd", {"in/x": "x"}, [*cmd, "{tmp}/in/../../../../../../../etc/passwd"], 2, "passwd")
    case(f"{cmd[0]}-notebook-missing", {}, [*cmd, "{tmp}/in/none.ipynb"], 2, "none.ipynb")

# special files
case("validate-symlink-loop", {"in/loop.csv": "@symlink-loop"}, ["validate", "{tmp}/in/loop.csv"], 2, "symbolic links")
case("validate-fifo", {"in/f.csv": "@fifo"}, ["validate", "{tmp}/in/f.csv"], 2, "not a regular file")
case("score-fifo", {"in/f.csv": "@fifo"}, ["score", "{tmp}/in/f.csv", "--out", "{tmp}/out/s.parquet"], 2, "not a regular file")
case("validate-missing", {}, ["validate", "{tmp}/in/none.csv"], 2, "none.csv")

# batch grids
case("batch-grid-huge", {"in/n.ipynb": _nb(), "in/b.yaml": "notebooks:\n  - notebook: {tmp}/in/n.ipynb\n    grid:\n"
     + "".join(f"      p{i}: [{', '.join(str(v) for v in range(10))}]\n" for i in range(10))},
     ["batch", "{tmp}/in/b.yaml", "--out", "{tmp}/out/b"], 2, "runs")
case("batch-grid-cli-huge", {"in/n.ipynb": _nb()},
     ["batch", "-n", "{tmp}/in/n.ipynb", "--out", "{tmp}/out/b", *sum((["-g", f"p{i}", *map(str, range(10))] for i in range(10)), [])], 2, "runs")

CASES = C


def _materialise(tmp: Path, files: dict) -> None:
    for name, content in files.items():
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if content == "@symlink-loop":
            os.symlink(p.name, p)
            continue
        if content == "@fifo":
            os.mkfifo(p)
            continue
        if callable(content):
            content = content(tmp)
        if isinstance(content, str):
            content = content.replace("{tmp}", str(tmp))
            p.write_text(content, encoding="utf-8")
        else:
            p.write_bytes(content)


def _snapshot(folder: Path) -> dict:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else -1) for p in folder.rglob("*")}


def run_cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("files,argv,code,words", CASES)
def test_hostile_case(tmp_path, capsys, monkeypatch, files, argv, code, words):
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    _materialise(tmp_path, files)
    before = _snapshot(tmp_path / "out")
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    got, out, err = run_cli(args, capsys)
    assert "Traceback" not in out + err
    assert got == code, f"exit {got}; stderr: {err[-2000:]}"
    lines = err.strip().splitlines()
    for w in words:
        assert w.lower() in err.lower(), f"{w!r} not in: {err[-1500:]}"
    # one error line (argparse puts its usage line before it; a log breaking several rules lists
    # them under it)
    assert sum(ln.startswith("error:") or ": error:" in ln for ln in lines) == 1, err
    assert "SECRET-LINE" not in out + err and "root:" not in out + err
    assert _snapshot(tmp_path / "out") == before


def test_case_count():
    assert len(CASES) >= 150


# ---- outputs: complete, atomic, normal permissions, escaped -------------------------------------


def test_outputs_are_complete_with_normal_mode_and_escaped_csv(tmp_path, capsys):
    """A good run writes complete files with mode 0666 & ~umask; CSV cells that a spreadsheet
    would run are escaped, Parquet keeps the text exact."""
    evil = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "ok"] * 2
    src = tmp_path / "in" / "t.csv"
    src.parent.mkdir()
    _turns().assign(user_input=evil, bot_id=["=cmd|' /C calc'!A0"] * 12).to_csv(src, index=False)
    assert main(["score", str(src), "--out", str(tmp_path / "out" / "s.csv")]) == 0
    assert main(["score", str(src), "--out", str(tmp_path / "out" / "s.parquet")]) == 0
    capsys.readouterr()
    mask = os.umask(0o022)
    os.umask(mask)
    for p in (tmp_path / "out").iterdir():
        assert not p.name.startswith("."), f"temporary file left: {p.name}"
        assert p.stat().st_mode & 0o777 == 0o666 & ~mask, oct(p.stat().st_mode)
    raw = pd.read_csv(tmp_path / "out" / "s.csv", dtype=str)
    assert all(not v.startswith(("=", "+", "-", "@", "\t")) for v in raw["user_input"]), raw["user_input"].tolist()
    assert raw["user_input"].iloc[0] == "'=HYPERLINK(\"http://x\")" and raw["bot_id"].iloc[0] == "'=cmd|' /C calc'!A0"
    assert pd.read_parquet(tmp_path / "out" / "s.parquet")["user_input"].tolist() == evil


def test_existing_output_is_kept_when_the_write_fails(tmp_path, monkeypatch):
    """A write that fails half-way (here: the disk 'fills' after 10 bytes) leaves the previous
    file untouched and no temporary file."""
    from toolkit._files import atomic_write_bytes
    from toolkit.errors import OutputError

    target = tmp_path / "f.csv"
    target.write_bytes(b"old,complete\n")
    real_open = open

    class Full(io.RawIOBase):
        def __init__(self, fh):
            self.fh = fh

        def write(self, b):
            self.fh.write(bytes(b[:10]))
            raise OSError(28, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.fh.close()

    monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: Full(real_open(p, mode, *a, **k)) if "w" in mode and ".f.csv." in str(p) else real_open(p, mode, *a, **k))
    with pytest.raises(OutputError, match="No space left"):
        atomic_write_bytes(target, b"new" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old,complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"]


# ---- script injection: data values never run in a report ----------------------------------------

PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def _live_tags(html: str) -> list[str]:
    import re

    return re.findall(r"(?i)<script\b|<img[^>]*\bonerror\s*=|<iframe\b|href\s*=\s*[\"']?\s*javascript:", html)


def test_report_html_has_no_live_tag_from_data(tmp_path):
    """The quality suggestions (a Markdown output built from data), a styled table and an HTML
    output carrying a model named PAYLOAD: the exported HTML shows it as text."""
    import nbformat

    from toolkit.export import export_html
    from toolkit.monitoring import monitoring_report
    from toolkit.quality import score_turns

    log = __import__("toolkit").load(_turns(n_conv=40).assign(model=PAYLOAD))
    report = monitoring_report(log.with_turns(score_turns(log)))
    md = "\n".join(f"- **{s.area}**: {s.finding} _{s.action}_" for s in report.suggestions.itertuples())
    md += f"\n- model {PAYLOAD} [click](javascript:alert(3))"
    import toolkit.notebook  # noqa: F401 - sets the Styler to escape, as in a notebook

    styled = pd.DataFrame({"model": [PAYLOAD], "n": [1]}).style.format(precision=2).to_html()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": md}),
        nbformat.v4.new_output("display_data", data={"text/html": f"<div><b>SRM</b> {PAYLOAD}</div>"}),
        nbformat.v4.new_output("display_data", data={"text/html": styled}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(4)"}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Quality"), cell]
    path = tmp_path / "01_quality.ipynb"
    nbformat.write(nb, str(path))
    html = export_html(path).read_text(encoding="utf-8")
    body = html[html.index("<body"):]
    assert "alert(1)" in body  # the value is shown ...
    assert _live_tags(body) == [], _live_tags(body)  # ... as text
    assert "alert(4)" not in body


def test_suggestions_markdown_escapes_data():
    from nbconvert.filters.markdown import markdown2html

    from toolkit.monitoring import suggestions_markdown

    df = pd.DataFrame({"area": ["model"], "finding": [f"Poor answers concentrate in model={PAYLOAD}"],
                       "action": [f"Inspect model={PAYLOAD} [x](javascript:alert(3))"]})
    md = suggestions_markdown(df)
    html = markdown2html(md)  # what nbconvert and the HTML export render
    assert _live_tags(html) == [] and "alert(1)" in html, html


def test_batch_index_escapes_run_values(tmp_path):
    from toolkit.batch import write_index

    rec = {"name": PAYLOAD, "status": "failed", "notebook": f"/x/{PAYLOAD}.ipynb",
           "parameters": {"model": PAYLOAD}, "error": {"ename": PAYLOAD, "evalue": PAYLOAD}, "files": {"html": f"{PAYLOAD}.html"}}
    html = write_index([rec], tmp_path).read_text(encoding="utf-8")
    assert _live_tags(html) == [] and "&lt;script&gt;" in html


# ---- faults: kill -9, full disk, pool workers ---------------------------------------------------

_WRITER = """
import sys, time
from toolkit._files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "wb") as fh:
        fh.write(b"partial" * 1000)
        fh.flush()
        print("writing", flush=True)
        time.sleep(60)
        fh.write(b"end")
"""


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_kill_9_mid_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.parquet"
    target.write_bytes(b"previous")
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, env=_env())
    assert proc.stdout.readline().strip() == b"writing"
    proc.kill()
    proc.wait(10)
    assert target.read_bytes() == b"previous"  # never a partial file at the final path


def test_sigterm_mid_write_removes_the_temporary_file(tmp_path):
    target = tmp_path / "out.csv"
    code = "import sys; from toolkit.cli import _terminate_cleanly; _terminate_cleanly()\n" + _WRITER
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, env=_env())
    assert proc.stdout.readline().strip() == b"writing"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


_POOL = """
import os, sys, time
from toolkit._pool import process_pool
ex = process_pool(2, method=sys.argv[1])
futs = [ex.submit(os.getpid) for _ in range(4)]
print(" ".join(str(p) for p in sorted({f.result() for f in futs})), flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_pool_workers_die_with_a_killed_parent(method):
    proc = subprocess.Popen([sys.executable, "-c", _POOL, method], stdout=subprocess.PIPE, env=_env())
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert pids
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in pids if _alive(p)]
    assert not alive, f"workers {alive} outlived their parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _tiny_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()[:100]}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_full_disk_keeps_the_previous_output(tmp_path, capsys):
    src = tmp_path / "t.csv"
    _turns(n_conv=600).to_csv(src, index=False)  # ~150 kB of CSV: more than the disk holds
    with _tiny_disk(tmp_path) as disk:
        out = disk / "s.csv"
        out.write_text("previous\n")
        code, _, err = run_cli(["score", str(src), "--out", str(out)], capsys)
        assert code == 2 and "No space left on device" in err and "Traceback" not in err
        assert out.read_text() == "previous\n"
        assert sorted(p.name for p in disk.iterdir()) == ["s.csv"]


# ---- LangSmith: the key never shows; a silent server times out ----------------------------------


class _Echo(http.server.BaseHTTPRequestHandler):
    status = 401

    def _reply(self):
        body = json.dumps({"detail": "denied", "headers": dict(self.headers)}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _reply

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _server(handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("status", [401, 500])
def test_langsmith_key_never_leaks(tmp_path, status):
    handler = type(f"Echo{status}", (_Echo,), {"status": status})
    env = {**_env(), "LANGSMITH_API_KEY": SECRET, "LANGSMITH_LOG_LEVEL": "DEBUG", "PYTHONWARNINGS": "always"}
    with _server(handler) as url:
        res = subprocess.run(
            [sys.executable, "-m", "toolkit", "langsmith", "pull", "--project", "p", "--endpoint", url,
             "--timeout", "5", "--out", str(tmp_path / "runs.jsonl")],
            capture_output=True, text=True, env=env, timeout=90, cwd=tmp_path,
        )
    text = res.stdout + res.stderr
    assert res.returncode != 0 and "error:" in res.stderr, text[-2000:]
    assert "Traceback" not in text
    masked = SECRET[:5] + "*" * (len(SECRET) - 7) + SECRET[-2:]
    assert SECRET not in text and masked not in text and SECRET[8:30] not in text, text[-3000:]
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert SECRET not in p.read_text(errors="replace")


def test_redaction_covers_logs_warnings_and_exceptions(caplog):
    import logging
    import warnings

    from toolkit._secrets import redacting

    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *a, **k: seen.append(str(message))
        with pytest.raises(RuntimeError) as info:
            with redacting(SECRET):
                logging.getLogger("langsmith.client").warning("reply %s", {"x-api-key": SECRET})
                warnings.warn(f"retrying with headers {{'x-api-key': '{SECRET}'}}", UserWarning)
                raise RuntimeError(f"401 with {{'x-api-key': '{SECRET}'}}")
    assert SECRET not in str(info.value) and "***" in str(info.value)
    assert seen and all(SECRET not in m and "***" in m for m in seen), seen
    records = [r for r in caplog.records if r.name == "langsmith.client"]
    assert records and all(SECRET not in r.getMessage() for r in records)
    # an unknown token in a credential header is hidden too
    from toolkit._secrets import redact

    assert redact("Authorization: Bearer tok-zzz") == "Authorization: Bearer ***"


def test_langsmith_silent_server_times_out(tmp_path):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # accepts connections, never answers
    try:
        t0 = time.monotonic()
        res = subprocess.run(
            [sys.executable, "-m", "toolkit", "langsmith", "pull", "--project", "p",
             "--endpoint", f"http://127.0.0.1:{sock.getsockname()[1]}", "--timeout", "1",
             "--out", str(tmp_path / "runs.jsonl")],
            capture_output=True, text=True, env={**_env(), "LANGSMITH_API_KEY": SECRET}, timeout=60,
        )
        took = time.monotonic() - t0
    finally:
        sock.close()
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert took < 30, f"took {took:.0f} s"
    assert not (tmp_path / "runs.jsonl").exists()


def test_resume_needs_the_notebook_and_sidecar_not_only_run_json(tmp_path):
    """A batch killed (or cleaned) after run.json was written: the run counts as done only while
    the executed notebook and the sidecar it recorded are still there."""
    from toolkit.batch.execute import _finished
    from toolkit.runner.run import RUN_RECORD

    nb = tmp_path / "n.ipynb"
    nb.write_text(_nb())
    out = tmp_path / "out" / "n"
    out.mkdir(parents=True)
    (out / RUN_RECORD).write_text(json.dumps({"status": "ok", "notebook": str(nb), "parameters": {},
                                              "files": {"notebook": "n.ipynb", "sidecar": "sidecar.json"}}))
    spec = {"out_dir": str(out), "notebook": str(nb), "parameters": {}}
    assert _finished(spec) is None  # nothing but run.json
    (out / "n.ipynb").write_text(_nb())
    assert _finished(spec) is None  # the sidecar is missing
    (out / "sidecar.json").write_text("{}")
    assert _finished(spec) is not None


def test_naive_series_times_are_localised_with_tz(tmp_path, capsys):
    src = tmp_path / "s.csv"
    src.write_text("timestamp,value\n" + "".join(
        f"{(pd.Timestamp('2026-01-01') + pd.Timedelta(hours=h)):%Y-%m-%d %H:%M:%S},{h % 24}\n" for h in range(72)))
    assert main(["forecast", str(src), "--horizon", "2", "--model", "snaive", "--tz", "Europe/Berlin",
                 "--out", str(tmp_path / "f.csv")]) == 0
    fc = pd.read_csv(tmp_path / "f.csv")
    assert fc["timestamp"].iloc[0].startswith("2026-01-03 23:00:00+00:00"), fc["timestamp"].iloc[0]



_SLOW_NB = json.dumps({
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]},
         "source": "n: int = 0  # 1: wait while the flag file exists\nflag: str = ''  # a file\n"
                   "output_dir: str = '.'  # where the sidecar goes",
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {},
         "source": "import os, time\nwhile n and flag and os.path.exists(flag):\n    time.sleep(0.2)\n"
                   "from toolkit.notebook import write_sidecar\nwrite_sidecar({'n': n}, output_dir)",
         "outputs": [], "execution_count": None},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
})


@pytest.mark.slow
def test_kill_9_mid_batch_then_resume_redoes_only_the_killed_run(tmp_path):
    """kill -9 of a batch (and its kernel) while a run is executing: that run is not counted as
    done (no run.json), no temporary file is left, and --resume executes only the killed run."""
    import psutil

    nb = tmp_path / "slow.ipynb"
    nb.write_text(_SLOW_NB)
    flag = tmp_path / "hold"
    flag.write_text("")
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "toolkit", "batch", "-n", str(nb), "-g", "n", "0", "1", "-p", "flag", str(flag),
            "--workers", "1", "--no-html", "--no-pdf", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        runs, done = [], []
        while time.monotonic() < deadline and proc.poll() is None:
            runs = sorted(p for p in out.iterdir() if p.is_dir()) if out.is_dir() else []
            done = [p for p in runs if (p / "run.json").is_file()]
            if done and len(runs) == 2:
                break
            time.sleep(0.5)
        assert proc.poll() is None and done and len(runs) == 2, "the batch did not reach its second run"
        time.sleep(3)  # the second run's kernel is waiting on the flag file
        family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    killed = next(p for p in runs if p not in done)
    finished = done[0]
    assert not (killed / "run.json").exists()
    assert json.loads((finished / "run.json").read_text())["status"] == "ok"
    assert not [p.name for p in tmp_path.rglob(".*.tmp")], "a temporary file was left behind"
    first = (finished / "run.json").stat().st_mtime_ns
    flag.unlink()  # the killed run, run again, finishes at once
    resumed = subprocess.run(argv + ["--resume"], env=_env(), capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (finished / "run.json").stat().st_mtime_ns == first  # the finished run was skipped
    assert json.loads((killed / "run.json").read_text())["status"] == "ok"
    assert json.loads((killed / "sidecar.json").read_text())["results"]["n"] == 1


def test_exported_markdown_output_shows_escaped_data_once_and_no_entity_spelled_link(tmp_path):
    """A Markdown output built with md_text (``<Response [500]>``, ``AT&T``) reads as itself in
    the exported HTML (it read ``&lt;Response...``), and a link target spelled with entities
    (``&#106;avascript:``, which the Markdown renderer decodes, even from ``&amp;#106;``) is not
    a live link."""
    import nbformat

    from toolkit.export import export_html
    from toolkit.monitoring import suggestions_markdown

    df = pd.DataFrame({"area": ["errors"], "finding": ["most frequent: <Response [500]> at AT&T"],
                       "action": ["retry"]})
    links = ["[a](&#106;avascript:alert(5))", "[b](java&Tab;script:alert(6))",
             "[c](&#x6A;avascript:alert(7))", "[d](javascript&colon;alert(8))",
             "[e][r]\n\n[r]: &#106;avascript:alert(9)", "<a href=x>&#60;script&#62;</a>"]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": md})
                    for md in [suggestions_markdown(df), *links]]
    nb.cells = [cell]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    body = export_html(path).read_text(encoding="utf-8")
    body = body[body.index("<body"):]
    assert "&lt;Response [500]&gt; at AT&amp;T" in body, body[-3000:]
    assert "&amp;lt;" not in body and "&amp;amp;" not in body
    assert _live_tags(body) == [], _live_tags(body)
    import re

    assert not re.findall(r"(?i)href=\"[^\"]*script", body), re.findall(r"(?i)href=\"[^\"]*\"", body)
