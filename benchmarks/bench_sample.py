"""Sample generation: a million turns (the issue's budget is 60 s), and the bundled default sample."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from common import median_time

BUDGET_S = 60.0  # issue 2: "the generator makes 1,000,000 turns in under 60 s on this machine"


def run(quick: bool = False) -> list[dict]:
    import toolkit.log as log_module
    from toolkit.sample import generate_sample, write_sample

    rows = []
    target = 250_000 if quick else 1_000_000
    repeats = 1 if quick else 3
    conversations = int(target / 3.02)  # mean conversation length is ~3.02 turns

    # time the whole generator, and the share spent in validate() (the lead's one validation)
    original = log_module.validate
    spent: list[float] = []

    def timed_validate(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    totals, n_turns = [], 0
    log_module.validate = timed_validate
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            s = generate_sample(seed=1, days=120, conversations=conversations)
            totals.append(time.perf_counter() - start)
            n_turns = s.truth["n_turns"]
            del s
    finally:
        log_module.validate = original
    total = statistics.median(totals)
    in_validate = statistics.median(spent)
    budget = BUDGET_S * n_turns / 1_000_000
    rows.append({"metric": f"generate_sample, {n_turns:,} turns", "value": total, "unit": "s",
                 "target": budget, "ratio": total / budget,
                 "note": f"median of {repeats}; target = the budget (60 s per 1M turns); ratio = share used"})
    rows.append({"metric": "generation throughput", "value": n_turns / total, "unit": "turns/s",
                 "note": f"incl. validate(); without it {n_turns / (total - in_validate):,.0f} turns/s"})
    rows.append({"metric": "of which toolkit.log.validate()", "value": in_validate, "unit": "s",
                 "baseline": total, "ratio": in_validate / total, "note": "ratio = share of the generation time"})

    # the bundled default sample: generate + write (parquet + truth.json), and its size
    t_gen = median_time(lambda: generate_sample(), repeats=2 if quick else 5, warmup=0 if quick else 1)
    with tempfile.TemporaryDirectory() as tmp:
        t_write = median_time(lambda: write_sample(Path(tmp), seed=0), repeats=1 if quick else 3, warmup=0)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    rows.append({"metric": "generate default sample (seed 0, 60 days)", "value": t_gen, "unit": "s",
                 "note": "~37k turns"})
    rows.append({"metric": "write_sample default (generate + 3 files)", "value": t_write, "unit": "s",
                 "baseline": t_gen, "ratio": t_write / t_gen, "note": f"{size / 1e6:.2f} MB on disk"})
    return rows
