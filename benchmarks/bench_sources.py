"""Source adapters: mapping saved LangSmith runs and OTLP spans to the log, planning a push.

Inputs are the test fixtures (all three LangSmith run shapes plus malformed runs; old and new
GenAI span naming) replicated to N records with fresh ids and conversation ids. The baseline is
reading the same file with ``json.loads`` per line, so the ratio says how much the mapping costs
on top of parsing.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import median_time  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures"


def _runs(n: int) -> list[dict]:
    base = [json.loads(line) for line in (FIXTURES / "langsmith_runs.jsonl").read_text().splitlines() if line.strip()]
    out = []
    for i in range(n):
        r = json.loads(json.dumps(base[i % len(base)]))
        k = i // len(base)
        new_id = f"{k:08x}-0000-4000-8000-{i:012d}"
        old_id = r["id"]
        r["id"] = new_id
        r["trace_id"] = new_id if r["trace_id"] == old_id else f"{k:08x}-0000-4000-8000-{i - 1:012d}"
        if r.get("parent_run_id"):
            r["parent_run_id"] = r["trace_id"]
        meta = (r.get("extra") or {}).get("metadata") or {}
        for key in ("thread_id", "session_id", "conversation_id"):
            if key in meta:
                meta[key] = f"{meta[key]}-{k % 500}"
        out.append(r)
    return out


def run(quick: bool) -> list[dict]:
    from toolkit.sources.langsmith import push_feedback, read_runs, runs_to_log, save_runs
    from toolkit.sources.otel import spans_to_log

    n = 2_000 if quick else 10_000
    repeats = 2 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = save_runs(_runs(n), Path(tmp) / "runs.jsonl")
        t_parse = median_time(lambda: [json.loads(x) for x in path.read_text().splitlines()], repeats=repeats)
        t_read = median_time(lambda: read_runs(path), repeats=repeats)
        runs = read_runs(path)
        t_map = median_time(lambda: runs_to_log(runs), repeats=repeats)
        mapped = runs_to_log(runs)
        rows.append({"benchmark": "langsmith.runs_to_log", "metric": f"runs/s ({n} runs)", "value": n / t_map, "unit": "runs/s",
                     "baseline": n / t_parse, "ratio": t_map / t_parse,
                     "note": f"{mapped.report.n_turns} turns; baseline = json.loads per line; ratio = map time / parse time"})  # fmt: skip
        rows.append({"benchmark": "langsmith.read_runs", "metric": f"runs/s ({n} runs)", "value": n / t_read, "unit": "runs/s",
                     "baseline": n / t_parse, "ratio": t_read / t_parse, "note": "ratio = read time / plain json.loads"})  # fmt: skip
        turns = mapped.log.turns.assign(score=mapped.log.turns["response_time_s"] / 10)
        import os

        key = os.environ.pop("LANGSMITH_API_KEY", None)
        try:
            t_plan = median_time(lambda: push_feedback(turns, "quality", column="score", dry_run=True), repeats=repeats)
        finally:
            if key is not None:
                os.environ["LANGSMITH_API_KEY"] = key
        rows.append({"benchmark": "langsmith.push_feedback", "metric": f"offline dry-run plan ({len(turns)} turns)", "value": t_plan,
                     "unit": "s", "note": "deterministic feedback ids and actions, no server"})  # fmt: skip

        lines = (FIXTURES / "otlp_genai.jsonl").read_text().splitlines()
        reps = max(1, n // 4 // len(lines))
        otlp = Path(tmp) / "spans.jsonl"
        with open(otlp, "w") as fh:
            for i in range(reps):
                for line in lines:
                    fh.write(line.replace('"traceId": "', f'"traceId": "{i:08x}') + "\n")
        n_spans = reps * 4
        t_otel = median_time(lambda: spans_to_log(otlp), repeats=repeats)
        t_otel_parse = median_time(lambda: [json.loads(x) for x in otlp.read_text().splitlines()], repeats=repeats)
        rows.append({"benchmark": "otel.spans_to_log", "metric": f"spans/s ({n_spans} spans)", "value": n_spans / t_otel, "unit": "spans/s",
                     "baseline": n_spans / t_otel_parse, "ratio": t_otel / t_otel_parse, "note": "ratio = map time / parse time"})  # fmt: skip
    return rows
