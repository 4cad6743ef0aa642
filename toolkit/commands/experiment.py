"""``toolkit experiment run SPEC.yaml``: run a prompt experiment (test set x variants x repetitions).

The command has sub-commands; each is one ``add_parser`` in :func:`register` and one
``_run_<name>`` function here (or in the module that owns it).
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]

_SPEC_EXAMPLE = """\
spec (YAML; relative paths are relative to the spec file):
  name: tone-test                 # bot_id of the log
  test_set: tests.csv             # CSV/JSONL with input (example_id, reference optional), a
                                  # LangSmith dataset export, or a conversation log (data/sample)
  n: 50                           # optional: draw this many examples (seeded)
  repetitions: 3                  # calls per (variant, example)
  endpoint:                       # an OpenAI-compatible server ...
    base_url: http://127.0.0.1:8000/v1
    model: llama3
    api_key_env: OPENAI_API_KEY   # the NAME of the variable holding the key (never the key)
  # target: mybot.module:answer   # ... or a Python function target(example, variant) -> str
  variants:
    - {name: baseline}
    - {name: friendly, system: "You are warm and concise.", temperature: 0.7}
  out: runs/tone.parquet          # the log (+ runs/tone.experiment.json)
  cache_dir: runs/cache           # finished calls; a rerun or a resumed run sends only what is missing
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "experiment",
        help="prompt experiments: run a test set x variants x repetitions against a bot",
        description="Prompt experiments against a real bot (an OpenAI-compatible endpoint or a\n"
        "Python function). 'run' sends every call once, caches each finished call, and writes\n"
        "an ordinary conversation log (variant, example_id, repetition columns) that every\n"
        "other command and notebook reads. 'analyze' compares the variants of such a log with\n"
        "examples as the unit; 'plan' says how many examples and repetitions a lift needs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="experiment_command", metavar="COMMAND", required=True)
    _register_run(sub)
    from toolkit.commands._experiment_analysis import register_analyze, register_plan

    register_analyze(sub)
    register_plan(sub)
    p.set_defaults(func=run)


def _register_run(sub) -> None:
    from toolkit.commands._types import int_range

    p = sub.add_parser(
        "run",
        help="run the experiment a YAML spec describes and write its log",
        description="Run every (variant, example, repetition) call of SPEC once, CONCURRENCY at a\n"
        "time, with a timeout per call and retries with backoff on 429/5xx/timeouts. Errors are\n"
        "recorded per call. Finished calls are cached on disk the moment they finish: a rerun\n"
        "sends nothing, a killed run started again sends only what is missing.",
        epilog=_SPEC_EXAMPLE + "\nexamples:\n  toolkit experiment run spec.yaml --dry-run\n"
        "  toolkit experiment run spec.yaml --out runs/tone.parquet\n"
        "  toolkit score runs/tone.parquet --out runs/tone_scored.parquet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", help="the experiment spec (YAML)")
    p.add_argument("--out", default=None,
                   help="output log (.parquet/.csv/.jsonl file or a folder); default: the spec's out")
    p.add_argument("--cache-dir", default=None,
                   help="cache of finished calls (default: the spec's cache_dir, else the toolkit cache "
                        "folder, experiments/)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--concurrency", type=int_range("--concurrency", 1, 64, hard=True), default=None,
                   help="calls in flight (default: the spec's, else 4)")
    p.add_argument("--dry-run", action="store_true",
                   help="send nothing: print the first prompt, the calls, cache hits and the estimated cost")
    p.add_argument("--max-cost", type=float, default=5.0, metavar="USD",
                   help="refuse to start when the estimated cost of the calls not yet cached is above USD "
                        "(default 5); a remote endpoint whose model has no known price is refused unless "
                        "the spec gives endpoint.prices; -1 turns the check off")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(experiment_func=_run_run)


def run(args) -> int:
    return args.experiment_func(args)


def _run_run(args) -> int:
    import math

    from toolkit._files import cache_dir as default_cache_dir
    from toolkit._files import check_output_file
    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.experiments.calls import preview_experiment
    from toolkit.experiments.runner import run_experiment
    from toolkit.experiments.spec import load_spec
    from toolkit.experiments.testset import read_test_set

    spec = load_spec(args.spec)
    out = args.out or spec.out
    if out is None and not args.dry_run:
        raise UsageError("--out is required (or out: in the spec, or --dry-run to see the calls and the cost)")
    if out is not None and not args.dry_run:
        from pathlib import Path

        if Path(out).suffix:
            check_output_file(out, suffixes=(".parquet", ".csv", ".jsonl"), option="--out")
    cache = None if args.no_cache else (args.cache_dir or spec.cache_dir or default_cache_dir("experiments"))
    target = spec.load_target()
    tests = read_test_set(spec.test_set, n=spec.n, seed=spec.seed)
    kwargs = spec.run_kwargs()
    kwargs["cache_dir"] = cache
    if args.concurrency is not None:
        kwargs["concurrency"] = args.concurrency
    preview = preview_experiment(tests, spec.variants, repetitions=spec.repetitions, target=target,
                                 endpoint=spec.endpoint, cache_dir=cache, seed=spec.seed, max_calls=spec.max_calls)
    if args.dry_run:
        if args.json:
            print_json({"dry_run": True, **preview.to_dict(), "spec": spec.to_dict()})
            return 0
        print("dry run: nothing was sent")
        print("first prompt:\n" + preview.first_prompt)
        print(preview.message())
        return 0
    remote = spec.endpoint is not None and not spec.endpoint.is_local
    if remote and args.max_cost >= 0 and preview.to_send:
        if math.isnan(preview.cost_usd):
            raise UsageError(f"no price is known for the model of {spec.endpoint.to_dict()['base_url']}, so the cost "
                             "of the run cannot be bounded: give endpoint.prices in the spec, or --max-cost -1")
        if preview.cost_usd > args.max_cost:
            raise UsageError(f"the {preview.to_send:,} calls not yet cached would cost about ${preview.cost_usd:.2f}, "
                             f"more than --max-cost {args.max_cost:g}; raise --max-cost or draw fewer examples (n:)")
    result = run_experiment(tests, spec.variants, target=target, progress=not args.no_progress, **kwargs)
    path = result.write(out)
    calls = result.calls
    if args.json:
        import sys

        print(f"experiment: {calls.total:,} calls ({calls.cached:,} cached, {calls.ok:,} answered, {calls.failed:,} "
              f"failed, {calls.skipped:,} not sent); wrote {path}", file=sys.stderr)
        print_json({"out": str(path), "calls": calls.to_dict(),
                    "summary": result.summary_table().to_dict(orient="records"), "settings": result.settings})
    else:
        print(f"wrote {path}: {calls.total:,} calls ({len(result.variants)} variants x {len(result.test_set):,} "
              f"examples x {result.repetitions} repetitions)")
        print(f"  cached {calls.cached:,}, answered {calls.ok:,}, failed {calls.failed:,}, not sent {calls.skipped:,}; "
              f"{calls.attempts:,} requests ({calls.retried:,} retries)")
        cost = calls.to_dict()["cost_usd"]
        tokens = (f"tokens {calls.prompt_tokens:,} in / {calls.completion_tokens:,} out"
                  if calls.prompt_tokens or calls.completion_tokens else "no token counts")
        print(f"  {tokens}; cost of this run "
              + ("unknown (no price for the model)" if cost is None else f"${cost:.4f}"))
        print(_compact(result.summary_table()))
        errors = result.log.turns["error"].dropna()
        if len(errors):
            print("most frequent errors:")
            for text, count in errors.value_counts().head(3).items():
                # a server's text: no control characters (terminal escapes) reach the terminal
                text = "".join(c if c.isprintable() else "?" for c in " ".join(str(text).split()))
                print(f"  {count:>6,} x {text if len(text) <= 88 else text[:87] + '~'}")
    return 1 if calls.skipped else 0


def _compact(table) -> str:
    """The per-variant summary in at most 100 columns (variant names cut at 24 characters)."""
    import pandas as pd

    t = table.copy()
    t["variant"] = t["variant"].map(lambda v: v if len(v) <= 24 else v[:23] + "~")
    t = t.rename(columns={"mean_response_time_s": "mean_s", "p95_response_time_s": "p95_s",
                          "prompt_tokens": "tokens_in", "completion_tokens": "tokens_out"})
    for c in ("tokens_in", "tokens_out"):
        t[c] = [("-" if v is None or v is pd.NA else f"{int(v):,}") for v in t[c].astype(object)]
    cols = ["variant", "calls", "errors", "cached", "mean_s", "p95_s", "tokens_in", "tokens_out", "cost_usd"]
    return t[cols].to_string(index=False, float_format=lambda x: f"{x:.3g}", na_rep="-")
