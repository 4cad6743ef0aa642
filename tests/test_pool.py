"""Worker pools: fork only when nothing else runs; otherwise workers from a clean fork server.

Each check runs in a fresh interpreter: under pytest other threads always run (pytest-timeout's
timer, xdist's I/O), so only a subprocess shows what a plain script gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_script(tmp_path, body: str) -> list[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split("\n")


def test_a_lock_held_by_another_thread_does_not_reach_the_workers(tmp_path):
    # Under a plain fork the workers would inherit LOCK held and wait for it forever: the hang
    # that a pool started from a pytest-xdist worker or a Jupyter kernel can run into.
    lines = run_script(tmp_path, """
        import threading
        from tests import _locks
        from toolkit._pool import process_pool, start_method

        if __name__ == "__main__":
            print(start_method())
            held, release = threading.Event(), threading.Event()

            def hold():
                with _locks.LOCK:
                    held.set()
                    release.wait()

            holder = threading.Thread(target=hold)
            holder.start()
            held.wait()
            print(start_method())
            with process_pool(2) as ex:
                print(list(ex.map(_locks.double_under_lock, [1, 2, 3], timeout=120)))
            release.set()
            holder.join()
    """)
    assert lines[:3] == ["fork", "forkserver", "[2, 4, 6]"]


def test_a_plain_script_forks_and_needs_no_main_guard(tmp_path):
    # no __main__ guard: workers started any other way would re-run this script and fail;
    # forecast_many twice, so its progress bar must not leave a thread behind
    lines = run_script(tmp_path, """
        import math, threading
        import numpy as np, pandas as pd
        from toolkit._pool import process_pool, start_method
        from toolkit.forecasting import forecast_many
        print(start_method())
        with process_pool(2) as ex:
            print(list(ex.map(math.sqrt, [4.0, 9.0])))
        idx = pd.date_range("2026-01-01", periods=40, freq="D")
        d = {"a": pd.Series(np.arange(40.0), index=idx), "b": pd.Series(np.ones(40), index=idx)}
        for _ in range(2):
            fc, summary = forecast_many(d, 5, "snaive", n_jobs=2, progress=True)
            print(len(fc), summary.error.isna().all(), threading.active_count())
    """)
    assert lines[:4] == ["fork", "[2.0, 3.0]", "10 True 1", "10 True 1"]


def test_forked_workers_exist_before_the_caller_starts_a_thread(tmp_path):
    # the decision (no other thread) and the fork happen together, inside process_pool
    lines = run_script(tmp_path, """
        import multiprocessing as mp, threading
        from toolkit._pool import process_pool
        ex = process_pool(2)
        n = len(mp.active_children())
        threading.Thread(target=lambda: None).start()
        print(n, ex.submit(pow, 2, 5).result())
        ex.shutdown()
    """)
    assert lines[0] == "2 32"
