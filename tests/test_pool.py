"""Worker pools: fork only when nothing else runs; otherwise workers from a clean fork server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

from toolkit._pool import process_pool, start_method

from . import _locks


def test_a_lock_held_by_another_thread_does_not_reach_the_workers():
    # Under a plain fork the workers would inherit LOCK held and wait for it forever: the hang
    # that a pool started from a pytest-xdist worker or a Jupyter kernel can run into.
    held, release = threading.Event(), threading.Event()

    def hold():
        with _locks.LOCK:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        assert start_method() in ("forkserver", "spawn")
        with process_pool(2) as ex:
            assert list(ex.map(_locks.double_under_lock, [1, 2, 3], timeout=120)) == [2, 4, 6]
    finally:
        release.set()
        holder.join()


def test_a_plain_script_forks_and_needs_no_main_guard(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent("""
        import math
        from toolkit._pool import process_pool, start_method
        print(start_method())
        with process_pool(2) as ex:
            print(list(ex.map(math.sqrt, [4.0, 9.0])))
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["fork", "[2.0, 3.0]"]


def test_forked_workers_exist_before_the_caller_starts_a_thread():
    # the decision (no other thread) and the fork happen together, inside process_pool
    script = textwrap.dedent("""
        import multiprocessing as mp, threading
        from toolkit._pool import process_pool
        ex = process_pool(2)
        n = len(mp.active_children())
        threading.Thread(target=lambda: None).start()
        print(n, ex.submit(pow, 2, 5).result())
        ex.shutdown()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "32"]
