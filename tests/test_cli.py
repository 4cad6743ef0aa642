"""The ``toolkit`` command line: validate, and the sample -> validate round trip."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from toolkit.cli import main
from tests.test_log import make_turns


def toolkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True, text=True)


def test_sample_then_validate(tmp_path):
    out = tmp_path / "s"
    res = toolkit("sample", "--out", str(out), "--seed", "1", "--days", "3")
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} >= {"turns.parquet", "conversations.parquet", "truth.json"}
    res = toolkit("validate", str(out))
    assert res.returncode == 0, res.stderr
    assert "valid conversation log" in res.stdout and "variants" in res.stdout
    n = len(pd.read_parquet(out / "turns.parquet"))
    assert f"turns          {n}" in res.stdout.replace("  ", "  ") or str(n) in res.stdout


def test_validate_json_summary(tmp_path, capsys):
    path = tmp_path / "turns.csv"
    make_turns().to_csv(path, index=False)
    assert main(["validate", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["valid"] is True and summary["turns"] == 4 and summary["variants"] == ["A", "B"]


def test_validate_missing_column_exits_2_naming_it(tmp_path):
    path = tmp_path / "turns.csv"
    make_turns().drop(columns="user_input").to_csv(path, index=False)
    res = toolkit("validate", str(path))
    assert res.returncode == 2
    assert "turns.user_input is a required column and is missing" in res.stderr
    assert res.stdout == ""


def test_validate_naive_timestamps_and_tz_option(tmp_path):
    path = tmp_path / "turns.csv"
    make_turns(timestamp=["2026-01-01 10:00:00"] * 4).to_csv(path, index=False)
    assert toolkit("validate", str(path)).returncode == 2
    assert main(["validate", str(path), "--tz", "UTC"]) == 0


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_closed_stdout_pipe_is_not_a_traceback():
    """`toolkit report ... | head` closes the pipe early: no traceback, no 'Exception ignored'."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes anything
    try:
        res = subprocess.run(
            [sys.executable, "-m", "toolkit", "power", "--metric", "proportion", "--baseline", "0.3",
             "--mde", "0.02", "--json"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, res.stderr
    assert res.stderr == ""
    assert res.returncode == 141  # 128 + SIGPIPE, as a C tool killed by the signal reports in a shell


def test_out_of_memory_is_one_line_not_a_traceback(monkeypatch, capsys):
    """A log too large for the machine: numpy's MemoryError ('Unable to allocate 74.5 GiB ...')
    reached the user as a traceback."""
    import toolkit.commands.validate as validate_cmd

    def boom(args):
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (10000000000,)")

    monkeypatch.setattr(validate_cmd, "run", boom)
    monkeypatch.setattr(validate_cmd, "register", _registering(validate_cmd, boom))
    assert main(["validate", "x.csv"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory in `toolkit validate` (Unable to allocate 74.5 GiB") and err.count("\n") == 1


def _registering(module, func):
    real = module.register

    def register(subparsers):
        real(subparsers)
        subparsers.choices["validate"].set_defaults(func=func)

    return register


def test_power_text_fits_100_columns(capsys):
    """`toolkit power` printed its plan as one line of 200+ characters."""
    assert main(["power", "--metric", "proportion", "--baseline", "0.30", "--mde", "0.02",
                 "--daily-traffic", "2000"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("n per arm: 8,394") and "9 days at 2,000 units/day" in text
    assert max(len(line) for line in text.splitlines()) <= 100, text
