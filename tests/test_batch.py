"""Batches: expansion, checks before running, isolated failures, summary, index, log, resume."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from tests.test_runner import work_notebook
from toolkit.batch import (
    BATCH_LOG,
    BatchConfig,
    expand_runs,
    load_config,
    run_batch,
    summary_frame,
    write_summary,
)
from toolkit.cli import main
from toolkit.errors import UsageError
from toolkit.runner import ParameterError

ROOT = Path(__file__).resolve().parents[1]


def write_config(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / BATCH_LOG).read_text(encoding="utf-8").splitlines()]


def last_batch(events: list[dict]) -> list[dict]:
    start = max(i for i, e in enumerate(events) if e["event"] == "batch_start")
    return events[start:]


# ---------------------------------------------------------------------------------------------
# Config and expansion (no kernel)


def test_grid_expands_to_product_plus_explicit_runs_with_stable_names(tmp_path):
    work_notebook(tmp_path / "nb")
    work_notebook(tmp_path / "nb", "other.ipynb")
    cfg = BatchConfig.from_dict({
        "parameters": {"scale": 2.0},
        "notebooks": [
            {"notebook": "nb/work.ipynb", "parameters": {"flag": True},
             "grid": {"n": [1, 2], "label": ["x", "y"]}, "runs": [{"n": 9}]},
            {"notebook": "nb/o*.ipynb"},
        ],
    }, base_dir=tmp_path)
    runs = expand_runs(cfg, tmp_path / "out")
    names = [r["name"] for r in runs]
    assert names == [
        "work__flag=true__label=x__n=1", "work__flag=true__label=y__n=1",
        "work__flag=true__label=x__n=2", "work__flag=true__label=y__n=2",
        "work__flag=true__n=9", "other",
    ]
    assert runs[0]["parameters"] == {"scale": 2.0, "flag": True, "n": 1, "label": "x"}
    assert runs[-1]["parameters"] == {"scale": 2.0}
    assert all(r["out_dir"] == str((tmp_path / "out" / r["name"]).resolve()) for r in runs)
    assert {r["cwd"] for r in runs} == {str(tmp_path.resolve())}
    # same expansion, same names (stable across invocations)
    assert [r["name"] for r in expand_runs(cfg, tmp_path / "out")] == names


def test_same_name_different_runs_get_hashes_and_duplicates_are_refused(tmp_path):
    work_notebook(tmp_path)
    work_notebook(tmp_path / "sub")
    cfg = BatchConfig.from_dict({"notebooks": ["work.ipynb", "sub/work.ipynb"]}, base_dir=tmp_path)
    names = [r["name"] for r in expand_runs(cfg, tmp_path / "o")]
    assert len(set(names)) == 2 and all(re.fullmatch(r"work-[0-9a-f]{8}", n) for n in names)
    cfg = BatchConfig.from_dict({"notebooks": [{"notebook": "work.ipynb", "runs": [{"n": 1}, {"n": 1}]}]},
                                base_dir=tmp_path)
    with pytest.raises(UsageError, match="same run twice"):
        expand_runs(cfg, tmp_path / "o")


def test_command_line_grid_converts_values_to_declared_types(tmp_path, monkeypatch):
    from toolkit.batch import grid_config

    work_notebook(tmp_path)
    monkeypatch.chdir(tmp_path)
    cfg = grid_config(["work.ipynb"], [["n", "1", "2"], ["flag", "true", "no"]], [["scale", "0.5"]])
    runs = expand_runs(cfg, "out")
    assert [r["parameters"] for r in runs] == [
        {"scale": 0.5, "n": 1, "flag": True}, {"scale": 0.5, "n": 1, "flag": False},
        {"scale": 0.5, "n": 2, "flag": True}, {"scale": 0.5, "n": 2, "flag": False}]
    assert runs[0]["name"] == "work__flag=true__n=1"  # like a config's top-level parameters
    with pytest.raises(ParameterError, match="'n' expects int, got str 'x'"):
        expand_runs(grid_config(["work.ipynb"], [["n", "x"]]), "out")
    assert main(["batch", "-n", "work.ipynb", "-g", "nope", "1"]) == 2
    assert main(["batch"]) == 2 and not (tmp_path / "reports").exists()


def test_invalid_batch_is_rejected_before_anything_runs(tmp_path, capsys):
    work_notebook(tmp_path)
    out = tmp_path / "out"
    cfg = write_config(tmp_path / "b.yaml", {"out": "out", "notebooks": [
        {"notebook": "work.ipynb", "grid": {"n": [1, 2, "three"]}, "runs": [{"bogus": 1}]}]})
    with pytest.raises(ParameterError) as err:
        run_batch(cfg)
    msg = str(err.value)
    assert "nothing was run" in msg and "'n' expects int, got str 'three'" in msg
    assert "unknown parameter 'bogus'" in msg and "Valid parameters of work.ipynb" in msg
    assert "divisor: int (default 1)" in msg
    assert not out.exists()
    assert main(["batch", str(cfg)]) == 2 and "unknown parameter 'bogus'" in capsys.readouterr().err
    assert not out.exists()
    for doc, pattern in [
        ({"notebooks": [{"notebook": "work.ipynb", "grids": {}}]}, r"unknown key\(s\) \['grids'\]"),
        ({"notebook": "work.ipynb"}, r"unknown key\(s\) \['notebook'\]"),
        ({"notebooks": [{"notebook": "missing.ipynb"}]}, "notebook not found: missing.ipynb"),
        ({"notebooks": [{"notebook": "work.ipynb", "grid": {"n": []}}]}, "empty list"),
        ({"notebooks": ["*.nope"]}, "no notebook matches"),
    ]:
        with pytest.raises(UsageError, match=pattern):
            load_config(write_config(tmp_path / "bad.yaml", doc))


def test_summary_handles_mixed_result_types_for_parquet(tmp_path):
    import pandas as pd

    for i, value in enumerate([1.5, "n/a", {"a": 1}, [1, 2]]):
        d = tmp_path / f"r{i}"
        d.mkdir()
        (d / "sidecar.json").write_text(json.dumps({"results": {"x": value, "status": "clash"}}))
    records = [{"name": f"r{i}", "notebook": "nb.ipynb", "status": "ok", "out_dir": str(tmp_path / f"r{i}"),
                "parameters": {"k": i}} for i in range(4)]
    df = summary_frame(records)
    assert list(df["x"])[:2] == [1.5, "n/a"] and list(df["x.a"])[2] == 1 and list(df["x"])[3] == "[1, 2]"
    assert (df["result.status"] == "clash").all() and (df["status"] == "ok").all()
    csv, pq = write_summary(records, tmp_path)
    back = pd.read_parquet(pq)
    assert len(back) == 4 and list(back["param.k"]) == [0, 1, 2, 3]
    assert list(back["x"])[:2] == ["1.5", "n/a"]


# ---------------------------------------------------------------------------------------------
# Real batches (kernels)


def test_batch_isolates_a_failure_and_resume_redoes_only_it(tmp_path, capsys):
    work_notebook(tmp_path / "src")
    doc = {"out": "out", "workers": 2, "export": {"pdf": False},
           "parameters": {"scale": 2.0},
           "notebooks": [{"notebook": "src/work.ipynb", "grid": {"n": [1, 2, 3, 4, 5]},
                          "runs": [{"n": 6, "divisor": 0}]}]}
    cfg = write_config(tmp_path / "batch.yaml", doc)
    out = tmp_path / "out"

    assert main(["batch", str(cfg), "--no-progress"]) == 1
    report = capsys.readouterr().out
    failing = "work__divisor=0__n=6"
    assert "6 run(s): 5 ok, 1 failed" in report
    assert f"FAILED {failing}: ZeroDivisionError: division by zero (cell 3, In [3])" in report

    import pandas as pd

    for df in (pd.read_csv(out / "summary.csv"), pd.read_parquet(out / "summary.parquet")):
        assert len(df) == 6
        df = df.set_index("run")
        assert df.loc[failing, "status"] == "failed"
        assert df.loc[failing, "error"].startswith("ZeroDivisionError: division by zero")
        assert df.loc[failing, "failed_cell"] == "In [3]" and df.loc[failing, "cell_index"] == 3
        ok = df[df["status"] == "ok"]
        assert len(ok) == 5
        assert sorted(ok["n"]) == [1, 2, 3, 4, 5] and (ok["value"] == 2 * ok["n"]).all()
        assert (ok["stats.mean"] == ok["n"] / 2).all() and (ok["param.scale"] == 2.0).all()
    # the failed run keeps its partial notebook with papermill's marker at the failing cell
    executed = json.loads((out / failing / "work.ipynb").read_text())
    assert any("papermill-error-cell-tag" in c["metadata"].get("tags", []) for c in executed["cells"])
    # every run's HTML is linked from the index and exists
    index = (out / "index.html").read_text()
    hrefs = re.findall(r'href="([^"]+\.html)"', index)
    full = {h for h in hrefs if h.endswith("/work.html")}
    assert len(full) == 6 and all((out / unquote(h)).is_file() for h in hrefs)
    # the finished runs' stakeholder reports too (run cards and the table link them)
    assert len({h for h in hrefs if h.endswith("/work_report.html")}) == 5
    # the structured log: start, end, duration, status, parameters for every run
    events = read_log(out)
    runs = [e for e in events if e["event"] == "run"]
    assert len(runs) == 6 and events[0]["event"] == "batch_start" and events[-1]["event"] == "batch_end"
    for e in runs:
        assert e["started"] < e["ended"] and e["duration_s"] > 0 and e["parameters"]["scale"] == 2.0
    assert {e["status"] for e in runs} == {"ok", "failed"}
    assert events[-1]["ok"] == 5 and events[-1]["failed"] == 1
    finished = {n: (out / n / "run.json").stat().st_mtime_ns for n in ok.index}

    # fix the parameter: --resume runs only that one
    doc["notebooks"][0]["runs"] = [{"n": 6, "divisor": 3}]
    write_config(cfg, doc)
    assert main(["batch", str(cfg), "--resume", "--no-progress"]) == 0
    assert "6 run(s): 1 ok, 0 failed, 5 skipped" in capsys.readouterr().out
    batch = last_batch(read_log(out))
    assert batch[0]["todo"] == 1 and batch[0]["skipped"] == 5
    executed = [e["name"] for e in batch if e["event"] == "run" and e["status"] != "skipped"]
    assert executed == ["work__divisor=3__n=6"]
    assert {n: (out / n / "run.json").stat().st_mtime_ns for n in finished} == finished
    df = pd.read_csv(out / "summary.csv")
    assert len(df) == 6 and (df["status"] == "ok").all() and failing not in set(df["run"])

    # a run killed half-way (no run.json, a partial notebook left) is redone by --resume
    victim = out / "work__n=2"
    (victim / "run.json").unlink()
    (victim / ".work.running.ipynb").write_text("{")
    res = run_batch(cfg, resume=True, progress=False)
    assert res.executed == ["work__n=2"] and res.exit_code == 0
    assert not (victim / ".work.running.ipynb").exists()


def test_resume_redoes_a_failed_run_in_place_process_then_thread_workers(tmp_path):
    """The kernels run in the config's folder, so relative paths in parameters are relative to it."""
    work_notebook(tmp_path / "src")
    cfg = write_config(tmp_path / "b.yaml", {
        "out": "out", "export": {"pdf": False, "html": False},
        "notebooks": [{"notebook": "src/work.ipynb", "runs": [{"require": "flag.txt"}, {"n": 2}]}]})
    res = run_batch(cfg, workers=2, executor="process", progress=False)
    assert res.exit_code == 1 and [r["status"] for r in res.records] == ["failed", "ok"]
    assert "required file missing: flag.txt" in res.records[0]["error"]["evalue"]
    (tmp_path / "flag.txt").write_text("here")
    res = run_batch(cfg, workers=2, executor="thread", resume=True, progress=False)
    assert res.exit_code == 0 and res.executed == ["work__require=flag.txt"]
    side = json.loads((tmp_path / "out" / "work__require=flag.txt" / "sidecar.json").read_text())
    assert side["results"]["cwd"] == str(tmp_path.resolve())


def test_demo_runs_every_notebook_of_a_folder(tmp_path, capsys):
    nbs = tmp_path / "notebooks"
    work_notebook(nbs, "01_a.ipynb")
    work_notebook(nbs, "02_b.ipynb")
    code = main(["demo", "--notebooks", str(nbs), "--out", str(tmp_path / "reports"), "--no-pdf",
                 "--no-progress", "--workers", "2"])
    out = capsys.readouterr().out
    assert code == 0 and "2 run(s): 2 ok" in out and str(tmp_path / "reports" / "index.html") in out
    for name in ("01_a", "02_b"):
        run = tmp_path / "reports" / name
        assert (run / f"{name}.ipynb").is_file() and (run / "sidecar.json").is_file()
        assert (run / f"{name}.html").is_file()


def test_example_batch_config_is_valid():
    cfg = load_config(ROOT / "batches" / "example.yaml")
    runs = expand_runs(cfg, "/tmp/never-written")
    assert len(runs) >= 6 and len({r["name"] for r in runs}) == len(runs)


@pytest.mark.parametrize("bad", [0, -1, 257, 2.0, True])
def test_run_batch_refuses_a_worker_count_out_of_range_before_writing(tmp_path, bad):
    """workers=0 or -1 fell back to the default quietly; the CLI and the config already refuse them."""
    work_notebook(tmp_path / "nb")
    cfg = BatchConfig.from_dict({"notebooks": [{"notebook": "nb/work.ipynb"}]}, base_dir=tmp_path)
    with pytest.raises(UsageError, match="workers must be a whole number from 1 to 256"):
        run_batch(cfg, out=tmp_path / "out", workers=bad, progress=False)
    assert not (tmp_path / "out").exists()
    with pytest.raises(UsageError, match="'workers' must be a whole number from 1 to 256"):
        BatchConfig.from_dict({"workers": 1000, "notebooks": [{"notebook": "nb/work.ipynb"}]}, base_dir=tmp_path)
