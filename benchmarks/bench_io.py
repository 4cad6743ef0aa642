"""Loading and validating logs: the default sample from Parquet vs CSV, and validate() at scale."""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import median_time


def run(quick: bool = False) -> list[dict]:
    from toolkit.io import load, save
    from toolkit.log import validate
    from toolkit.sample import default_sample_path, generate_sample, load_sample

    rows = []
    repeats = 3 if quick else 7
    path = default_sample_path()
    log = load_sample()
    n = len(log.turns)
    t_parquet = median_time(lambda: load(path), repeats=repeats)
    with tempfile.TemporaryDirectory() as tmp:
        csv_dir = save(log, Path(tmp) / "csv", format="csv")
        t_csv = median_time(lambda: load(csv_dir), repeats=max(2, repeats // 2))
    rows.append({"metric": f"load default sample, Parquet ({n:,} turns)", "value": t_parquet, "unit": "s",
                 "baseline": t_csv, "ratio": t_csv / t_parquet, "note": "baseline: the same log as CSV; ratio = speed-up"})

    size = 100_000 if quick else 1_000_000
    big = generate_sample(seed=1, conversations=size // 4).log
    typed = median_time(lambda: validate(big.turns, big.conversations), repeats=3 if quick else 5)
    as_text = big.turns.assign(timestamp=big.turns["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    text = median_time(lambda: validate(as_text, big.conversations), repeats=2 if quick else 3)
    m = len(big.turns)
    rows.append({"metric": f"validate {m:,} typed turns", "value": m / typed, "unit": "turns/s",
                 "note": f"median {typed:.2f} s"})
    rows.append({"metric": f"validate {m:,} turns, ISO text timestamps", "value": m / text, "unit": "turns/s",
                 "baseline": m / typed, "ratio": typed / text, "note": f"median {text:.2f} s; ratio = typed speed share"})
    return rows
