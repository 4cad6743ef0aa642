"""Prompt-experiment runner: its overhead per call, the disk cache, and concurrency.

* Overhead: 2 variants x 200 sample messages x 3 repetitions (1,200 calls) to an instant Python
  bot, against calling the bot 1,200 times in a plain loop (the baseline).
* Cache: the same run writing every call to the disk cache (one fsync'ed file each), then the
  rerun answered wholly from it; the ratio is rerun time / first-run time.
* Concurrency: 80 calls to the loopback fake OpenAI-compatible server (tests/fake_openai.py)
  answering after 50 ms, with 8 calls in flight against 1 (the baseline).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import median_time  # noqa: E402


def run(quick: bool) -> list[dict]:
    import toolkit
    from toolkit.experiments import Variant, read_test_set, run_experiment

    n = 60 if quick else 200
    repeats = 2 if quick else 3
    tests = read_test_set(toolkit.load_sample(), n=n, seed=0)
    variants = [Variant("A"), Variant("B", "Please answer briefly: {input}", system="Be brief.", temperature=0.7)]

    def bot(example, variant):
        return f"{variant.name}: {example['input']}"

    calls = len(variants) * n * 3
    rows = []
    examples = tests.to_dict(orient="records")

    def plain_loop():
        for v in variants:
            for ex in examples:
                for r in range(3):
                    bot({**ex, "repetition": r}, v)

    t_plain = median_time(plain_loop, repeats=repeats)
    t_run = median_time(lambda: run_experiment(tests, variants, repetitions=3, target=bot, progress=False),
                        repeats=repeats)
    rows.append({"benchmark": "experiment_runner.run_experiment", "metric": f"ms per call ({calls} calls, callable)",
                 "value": 1000 * t_run / calls, "unit": "ms", "baseline": 1000 * t_plain / calls,
                 "ratio": t_run / t_plain,
                 "note": "baseline = the bot called in a plain loop; the runner adds a thread per call "
                         "(the timeout), the cache key and the log"})

    firsts, reruns = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run_experiment(tests, variants, repetitions=3, target=bot, cache_dir=tmp, progress=False)
            firsts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            again = run_experiment(tests, variants, repetitions=3, target=bot, cache_dir=tmp, progress=False)
            reruns.append(time.perf_counter() - t0)
            assert again.calls.cached == calls
    first, rerun = sorted(firsts)[len(firsts) // 2], sorted(reruns)[len(reruns) // 2]
    rows.append({"benchmark": "experiment_runner.cache", "metric": f"rerun from the cache ({calls} calls)",
                 "value": rerun, "unit": "s", "baseline": first, "ratio": rerun / first,
                 "note": "baseline = the first run writing every call to the cache (fsync'ed file per call)"})

    try:
        import openai  # noqa: F401
    except ImportError:
        return rows
    from tests.fake_openai import FakeOpenAI, Reply, chat

    def slow(req):
        return Reply(200, chat("ok " + req["messages"][-1]["content"]).body, delay=0.05)

    small = tests.iloc[: 20 if quick else 40]
    n_small = 2 * len(small)
    with FakeOpenAI(slow) as srv:
        endpoint = {"base_url": srv.base_url, "model": "m"}
        t1 = median_time(lambda: run_experiment(small, variants, repetitions=1, endpoint=endpoint, concurrency=1,
                                                progress=False), repeats=1, warmup=0)
        t8 = median_time(lambda: run_experiment(small, variants, repetitions=1, endpoint=endpoint, concurrency=8,
                                                progress=False), repeats=1, warmup=0)
    rows.append({"benchmark": "experiment_runner.endpoint", "metric": f"calls/s, 8 in flight ({n_small} calls, 50 ms replies)",
                 "value": n_small / t8, "unit": "calls/s", "baseline": n_small / t1, "ratio": t1 / t8,
                 "note": "loopback fake server (tests/fake_openai.py); baseline = 1 in flight; ratio = speed-up"})
    return rows
