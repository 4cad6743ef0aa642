"""Run the benchmarks and print a table of figures.

Usage::

    python benchmarks/run.py              # every benchmarks/bench_*.py
    python benchmarks/run.py io sample    # only bench_io.py and bench_sample.py
    python benchmarks/run.py --quick      # smaller sizes, fewer repeats (a smoke run)
    python benchmarks/run.py --json out.json

Each ``bench_<name>.py`` defines ``run(quick: bool) -> list[dict]``; a row has ``benchmark``,
``metric``, ``value``, ``unit`` and optionally ``baseline`` (the same metric for a baseline run
in the same process), ``target`` (a goal set by an issue or a budget, not a measurement),
``ratio`` (value / baseline or value / target, or the speed-up) and ``note``. Timings are
medians of repeats; the machines are shared and noisy, so compare ratios, not absolute seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("MPLBACKEND", "Agg")


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmark names (bench_<name>.py); default all")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    files = sorted(HERE.glob("bench_*.py"))
    if args.names:
        wanted = {f"bench_{n}.py" for n in args.names}
        unknown = wanted - {f.name for f in files}
        if unknown:
            parser.error(f"unknown benchmark(s) {sorted(unknown)}; have {[f.stem[6:] for f in files]}")
        files = [f for f in files if f.name in wanted]

    print(f"# benchmarks on {platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"
          f"{' [quick]' if args.quick else ''}", flush=True)
    rows, failed = [], []
    for path in files:
        name = path.stem[6:]
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        start = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            got = module.run(quick=args.quick)
        except Exception:  # noqa: BLE001 - report and go on with the others
            traceback.print_exc()
            failed.append(name)
            continue
        for row in got:
            row.setdefault("benchmark", name)
        rows.extend(got)
        print(f"  {name}: {len(got)} figures in {time.perf_counter() - start:.1f} s", flush=True)

    cols = ["benchmark", "metric", "value", "unit", "baseline", "target", "ratio", "note"]
    table = [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(t[i]) for t in table]) for i, c in enumerate(cols)]
    print()
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for t in table:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths)).rstrip())
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
