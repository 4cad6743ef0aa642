"""``toolkit forecast``: logs, timestamp,value files and long files; output and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.cli import main

COLUMNS = ["series_id", "timestamp", "yhat", "lo80", "hi80", "lo95", "hi95"]


def _daily(n=70, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                         "value": 100 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, n)})


def test_two_column_file_to_csv(tmp_path):
    src = tmp_path / "visits.csv"
    _daily().to_csv(src, index=False)
    out = tmp_path / "fc.csv"
    assert main(["forecast", str(src), "--horizon", "14", "--model", "combo", "--out", str(out)]) == 0
    fc = pd.read_csv(out)
    assert fc.columns.tolist() == COLUMNS and len(fc) == 14 and set(fc.series_id) == {"visits"}
    assert fc.timestamp.iloc[0].startswith("2026-03-12")
    assert (fc.lo95 <= fc.lo80).all() and (fc.hi80 <= fc.hi95).all()


def test_long_file_in_parallel_with_a_bad_series(tmp_path, capsys):
    parts = []
    for sid in ("a", "b", "c"):
        d = _daily(seed=ord(sid))
        d.insert(0, "series_id", sid)
        parts.append(d)
    bad = _daily(10)
    bad.insert(0, "series_id", "short")
    long = pd.concat(parts + [bad])
    src = tmp_path / "long.csv"
    long.to_csv(src, index=False)
    out = tmp_path / "fc.parquet"
    code = main(["forecast", str(src), "--horizon", "7", "--model", "auto", "--origins", "2",
                 "--jobs", "2", "--out", str(out), "--json", "--no-progress"])
    assert code == 1                                     # one series failed, the rest written
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_series"] == 4 and doc["n_failed"] == 1
    errs = {s["series_id"]: s["error"] for s in doc["series"]}
    assert "too few points for the season" in errs["short"]
    fc = pd.read_parquet(out)
    assert sorted(fc.series_id.unique()) == ["a", "b", "c"] and len(fc) == 21
    assert all(s["backtest_mase"] <= s["backtest_mase_snaive"] for s in doc["series"] if s["error"] is None)


def test_conversation_log_by_variant_json(tmp_path, capsys):
    from toolkit.io import save
    from toolkit.sample import generate_sample

    log = generate_sample(seed=3, days=10).log
    folder = tmp_path / "log"
    save(log, folder)
    assert main(["forecast", str(folder), "--metric", "turns", "--by", "variant", "--horizon", "24",
                 "--model", "snaive", "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["input"] == "log" and doc["n_series"] == 2
    fc = pd.DataFrame(doc["forecast"])
    assert fc.columns.tolist() == COLUMNS and len(fc) == 48
    assert (fc.lo95 >= 0).all()                          # counts are clipped at zero


@pytest.mark.parametrize(
    "text, args, message",
    [
        ("timestamp,value\n2026-01-01,1\n2026-01-01,2\n2026-01-02,3\n", [], "must be unique"),
        ("timestamp,value\n" + "".join(f"2026-01-{d:02d},{d}\n" for d in range(1, 11)), [], "too few points for the season: 10 < 2 seasons of 7"),
        ("timestamp,value\n" + "".join(f"2026-01-{d:02d},{-d}\n" for d in range(1, 29)), ["--counts"], "counts must be >= 0; negative at 2026-01-01"),
    ],
)
def test_bad_input_exits_2_with_the_rule(tmp_path, capsys, text, args, message):
    src = tmp_path / "s.csv"
    src.write_text(text)
    assert main(["forecast", str(src), "--horizon", "3", "--model", "snaive", *args]) == 2
    assert message in capsys.readouterr().err


def test_csv_on_stdout(tmp_path, capsys):
    src = tmp_path / "v.csv"
    _daily().to_csv(src, index=False)
    assert main(["forecast", str(src), "--horizon", "2", "--model", "snaive"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 3


def test_the_command_says_which_model_ran_and_what_it_wrote(tmp_path, capsys):
    """Issue 23: stderr names the model and the file; stdout stays empty (or pure JSON)."""
    src = tmp_path / "visits.csv"
    _daily().to_csv(src, index=False)
    out = tmp_path / "fc.csv"
    assert main(["forecast", str(src), "--horizon", "7", "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert cap.out == ""
    assert "model combo" in cap.err and f"wrote {out}" in cap.err and len(cap.err.splitlines()) <= 2
    assert main(["forecast", str(src), "--horizon", "7", "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["model"] == "combo" and "forecast: 1 series" in cap.err
