"""The Dask engine on a real distributed.LocalCluster (2 worker processes): equal to the pandas engine.

One cluster per module (processes, 1 GB per worker); the data is the first 5 days of the generated
sample (~1,000 conversations) written as hive-partitioned Parquet, one file per day for the turns
and for the conversations, so conversations that run past midnight straddle two files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

from toolkit.validation import LogValidationError  # noqa: E402
from toolkit.dask_engine.client import EngineError, dask_client  # noqa: E402
from toolkit.dask_engine.read import read_log  # noqa: E402


def write_partitioned(log, folder: Path, *, by_turn_parity: bool = False) -> Path:
    """Turns under ``turns/date=.../``, conversations under ``conversations/date=.../``."""
    t, c = log.turns, log.conversations
    key = t["timestamp"].dt.strftime("%Y-%m-%d")
    for day, part in t.groupby(key):
        groups = part.groupby(part["turn"] % 2) if by_turn_parity else [(0, part)]
        for i, p in groups:
            d = folder / "turns" / f"date={day}"
            d.mkdir(parents=True, exist_ok=True)
            p.to_parquet(d / f"part-{i}.parquet", index=False)
    for day, part in c.groupby(c["start_time"].dt.strftime("%Y-%m-%d")):
        d = folder / "conversations" / f"date={day}"
        d.mkdir(parents=True, exist_ok=True)
        part.to_parquet(d / "part-0.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def parted(small_log, tmp_path_factory):
    return write_partitioned(small_log, tmp_path_factory.mktemp("parted"))


@pytest.fixture(scope="module", params=[None, True], ids=["checked", "shuffled"])
def dlog(parted, client, request):
    """The same files read both ways: partitions = files when the check allows, and shuffled."""
    d = read_log(parted, npartitions=2, shuffle=request.param)
    assert d.layout == ("shuffled" if request.param else "files")
    return d


def test_read_gives_the_pandas_log(dlog, small_log):
    back = dlog.compute()
    pd.testing.assert_frame_equal(back.turns, small_log.turns)
    pd.testing.assert_frame_equal(back.conversations, small_log.conversations)
    assert dlog.files_count == small_log.turns["timestamp"].dt.date.nunique()


def test_scores_equal_the_pandas_engine_exactly(dlog, small_log):
    from toolkit.quality import fit_relevance_idf, score_turns

    ref = score_turns(small_log)
    got = score_turns(dlog, engine="dask").compute()
    got = got.sort_values(["conversation_id", "turn"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    # the pandas engine with the model the Dask engine fits: the same scores again
    again = score_turns(small_log, idf=fit_relevance_idf(small_log))
    np.testing.assert_array_equal(again["relevance"].to_numpy(), ref["relevance"].to_numpy())


def test_conversations_split_across_files_are_scored_whole(sample_log, tmp_path, client):
    from toolkit.quality import score_turns

    small = sample_log.select(end="2026-09-03")
    folder = write_partitioned(small, tmp_path / "split", by_turn_parity=True)  # turn 0 and 1 apart
    d = read_log(folder, npartitions=2)
    got = score_turns(d, engine="dask").compute().sort_values(["conversation_id", "turn"])
    ref = score_turns(small)
    np.testing.assert_array_equal(got["relevance"].to_numpy(), ref["relevance"].to_numpy())
    assert (ref.groupby("conversation_id")["turn"].transform("size") > 1).any()


def test_the_layout_check_shuffles_only_when_a_conversation_straddles_files(sample_log, tmp_path, client):
    from toolkit.quality import score_turns
    from toolkit.sample import write_partitioned as write_sample

    small = sample_log.select(end="2026-09-03")
    split = read_log(write_partitioned(small, tmp_path / "split", by_turn_parity=True))
    assert split.layout == "shuffled"  # turns 0 and 1 of a conversation in two files
    one = tmp_path / "one_conversations_file"
    write_partitioned(small, one)
    for f in (one / "conversations").rglob("*.parquet"):
        f.unlink()
    small.conversations.to_parquet(one / "conversations" / "all.parquet", index=False)
    assert read_log(one).layout == "shuffled"  # conversations files do not pair with turns files
    gen = write_sample(tmp_path / "generated", 400, seed=3, days=3)
    d = read_log(gen)
    assert d.layout == "files" and d.npartitions == d.files_count and "(files)" in repr(d)
    got = score_turns(d, engine="dask").compute().sort_values(["conversation_id", "turn"])
    ref = score_turns(read_log(gen, shuffle=True).compute())
    np.testing.assert_array_equal(got["quality"].to_numpy(), ref["quality"].to_numpy())
    assert len(got) == len(ref) > 400


def test_ab_equals_the_pandas_engine(dlog, small_log):
    from toolkit import ab

    ref = ab.analyze(small_log, nonparametric=False, sequential=False)
    got = ab.analyze(dlog, engine="dask")
    assert list(got.table.columns) == list(ref.table.columns)
    assert got.n_units == ref.n_units and got.control == ref.control
    for col in ref.table.columns:
        a, b = ref.table[col], got.table[col]
        if pd.api.types.is_float_dtype(a):
            np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-9, atol=1e-12, err_msg=col)
        else:
            assert a.tolist() == b.tolist(), col
    assert any("Mann-Whitney" in n for n in got.notes)
    with pytest.raises(ab.ABInputError, match="bootstrap=200 is not available with engine='dask'"):
        ab.analyze(dlog, engine="dask", bootstrap=200)


def test_series_equal_the_pandas_engine(dlog, small_log):
    from toolkit.series import metric_series

    for metric, freq, by in [("volume", "h", None), ("response_time_mean", "h", "variant"),
                             ("response_time_p95", "d", None), ("resolution", "d", "variant")]:
        ref = metric_series(small_log, metric, freq, by=by)
        got = metric_series(dlog, metric, freq, by=by, engine="dask")
        if by is None:
            pd.testing.assert_series_equal(got, ref, check_exact=False, rtol=1e-12)
        else:
            pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12)
        assert got.attrs == ref.attrs, metric


def test_forecast_many_runs_one_task_per_series_on_the_cluster(sample_log, client):
    from toolkit.forecasting import forecast_many
    from toolkit.series import metric_series

    y = metric_series(sample_log, "response_time_mean", "d", by="variant")
    series = {c: y[c] for c in y.columns}
    ref, _ = forecast_many(series, 3, "snaive", n_jobs=1, progress=False)
    got, summary = forecast_many(series, 3, "snaive", progress=False, engine="dask")
    pd.testing.assert_frame_equal(got, ref)
    assert summary["error"].isna().all() and len(summary) == 2


# ---- clear errors ------------------------------------------------------------------------------


def test_bad_path_and_a_folder_without_parquet(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        read_log(tmp_path / "nope")
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(LogValidationError, match="holds no Parquet files of turns"):
        read_log(tmp_path)
    fake = tmp_path / "turns" / "date=2026-09-01" / "part-0.parquet"
    fake.parent.mkdir(parents=True)
    fake.write_text("conversation_id,turn\n")
    with pytest.raises(LogValidationError, match=r"part-0.parquet\): file has a Parquet extension but does not"):
        read_log(tmp_path)


def test_load_with_the_dask_engine_is_lazy(parted):
    import toolkit
    from toolkit.dask_engine.read import DaskLog

    d = toolkit.load(parted, engine="dask")
    assert isinstance(d, DaskLog) and d.files_count == 5 and d.raw_conversations is not None


def test_unreachable_scheduler_fails_fast():
    t0 = time.perf_counter()
    with pytest.raises(EngineError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        with dask_client("tcp://127.0.0.1:9", connect_timeout=1, quiet=True):
            pass
    assert time.perf_counter() - t0 < 15


def test_a_partition_with_a_broken_schema_is_named(sample_log, tmp_path, client):
    small = sample_log.select(end="2026-09-03")
    folder = write_partitioned(small, tmp_path / "broken")
    files = sorted((folder / "turns").rglob("*.parquet"))
    bad = files[-1]
    t = pd.read_parquet(bad)
    t["response_time_s"] = t["response_time_s"].astype(str)
    t.loc[t.index[1], "response_time_s"] = "fast"
    t.to_parquet(bad, index=False)
    d = read_log(folder)  # the first file is fine: the broken one is found when it is read
    with pytest.raises(LogValidationError) as err:
        d.compute()
    msg = str(err.value)
    assert str(bad) in msg and "turns.response_time_s must be numeric (1 row): row 1 (" in msg
    # another file lacks a column: the first-file check names it at once
    t2 = pd.read_parquet(files[0]).drop(columns="bot_response")
    t2.to_parquet(files[0], index=False)
    with pytest.raises(LogValidationError, match="turns.bot_response is a required column and is missing"):
        read_log(folder)


def test_a_turn_repeated_in_two_files_is_caught_after_the_shuffle(sample_log, tmp_path, client):
    small = sample_log.select(end="2026-09-02")
    folder = write_partitioned(small, tmp_path / "dup")
    small.turns.head(3).to_parquet(next((folder / "turns").rglob("*.parquet")).parent / "again.parquet", index=False)
    with pytest.raises(LogValidationError, match="must be unique within a conversation"):
        read_log(folder, npartitions=2).compute()


def test_import_toolkit_does_not_import_dask():
    code = ("import sys, toolkit, toolkit.dask_engine, toolkit.dask_engine.client, toolkit.dask_engine.read, toolkit.quality, "
            "toolkit.ab, toolkit.series; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- a scheduler and a worker started as separate processes -------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_on_a_separately_started_scheduler(small_log, tmp_path):
    import json

    from toolkit import ab

    small_log = small_log.select(end="2026-09-03")
    parted = write_partitioned(small_log, tmp_path / "log")

    dask_exe = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    worker_exe = [sys.executable, "-m", "distributed.cli.dask_worker"]
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    procs = []
    try:
        procs.append(subprocess.Popen([*dask_exe, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        procs.append(subprocess.Popen([*worker_exe, addr, "--nworkers", "1", "--nthreads", "1",
                                       "--memory-limit", "1GB", "--no-dashboard", "--host", "127.0.0.1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        from distributed import Client

        with Client(addr, timeout=60, set_as_default=False) as c:
            c.wait_for_workers(1, timeout=60)
        out = subprocess.run([sys.executable, "-m", "toolkit", "abtest", str(parted), "--engine", "dask",
                              "--scheduler", addr, "--json"], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        assert f"dask: connected to {addr}" in out.stderr
        doc = json.loads(out.stdout)
        ref = ab.analyze(small_log, nonparametric=False, sequential=False).table
        got = pd.DataFrame(doc["metrics"])
        np.testing.assert_allclose(got["p_value"].to_numpy(dtype=float), ref["p_value"].to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(got["abs_lift"].to_numpy(dtype=float), ref["abs_lift"].to_numpy(), rtol=1e-9)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_batch_runs_each_notebook_as_a_task_on_a_dask_worker(tmp_path, client):
    import json

    import yaml

    from tests.test_runner import work_notebook
    from toolkit.batch import run_batch

    work_notebook(tmp_path / "src")
    cfg = tmp_path / "b.yaml"
    cfg.write_text(yaml.safe_dump({"out": "out", "export": {"pdf": False, "html": False},
                                   "notebooks": [{"notebook": "src/work.ipynb", "runs": [{"n": 1}, {"n": 2}]}]}))
    res = run_batch(cfg, executor="dask", progress=False)  # the module's LocalCluster runs them
    assert res.exit_code == 0 and sorted(res.executed) == ["work__n=1", "work__n=2"]
    side = json.loads((tmp_path / "out" / "work__n=2" / "sidecar.json").read_text())
    assert side["parameters"]["n"] == 2
    res = run_batch(cfg, executor="dask", resume=True, progress=False)
    assert res.executed == [] and res.exit_code == 0


def test_cli_score_and_forecast_with_the_dask_engine(parted, small_log, tmp_path, client, capsys):
    import json

    from toolkit.cli import main
    from toolkit.quality import score_turns

    out = tmp_path / "scored"
    assert main(["score", str(parted), "--engine", "dask", "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr()
    summary = json.loads(printed.out)  # stdout holds the JSON alone: the progress bar is on stderr
    assert "scoring:" in printed.err and "task" in printed.err
    ref = score_turns(small_log)
    assert summary["scored_turns"] == len(ref)
    assert summary["mean_quality"] == pytest.approx(float(ref["quality"].mean()), rel=1e-12)
    back = read_log(out).compute()  # the output is a partitioned log again, with the scores
    np.testing.assert_array_equal(back.turns["quality"].to_numpy(), ref["quality"].to_numpy())
    pd.testing.assert_frame_equal(back.conversations, small_log.conversations)
    assert main(["score", str(parted), "--engine", "dask", "--out", str(out)]) == 2  # not empty
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert main(["forecast", str(parted), "--engine", "dask", "--metric", "volume", "--horizon", "3",
                 "--model", "snaive", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_series"] == 1 and len(doc["forecast"]) == 3
    assert main(["abtest", str(parted), "--workers", "2"]) == 2
    assert "--scheduler and --workers need --engine dask" in capsys.readouterr().err
