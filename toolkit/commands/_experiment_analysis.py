"""``toolkit experiment analyze LOG`` and ``toolkit experiment plan``: the repetition-aware reading
of a prompt experiment and the planner of examples x repetitions.

The ``experiment`` command (:mod:`toolkit.commands.experiment`) adds these two sub-commands with
:func:`register_analyze` and :func:`register_plan`; this module is private (the CLI does not
register it on its own).

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> sub = p.add_subparsers()
>>> register_plan(sub)
>>> args = p.parse_args(["plan", "--mde", "0.1", "--var-between-diff", "0.01", "--var-within", "0.04"])
>>> args.mde, args.max_repetitions
(0.1, 5)
"""

from __future__ import annotations

import argparse

__all__ = ["register_analyze", "register_plan", "run_analyze", "run_plan"]


def register_analyze(sub) -> None:
    """Add ``analyze`` to the ``experiment`` sub-commands."""
    from toolkit.commands._types import MAX_BOOTSTRAP, float_range, int_range, open_unit

    p = sub.add_parser(
        "analyze",
        help="compare the variants of a run log with examples as the unit (repetitions nested)",
        description="Read a prompt experiment's log (variant, example_id, repetition and a score):\n"
        "the lift of each variant over the control with a paired t CI on the per-example means\n"
        "(and a cluster bootstrap), the variance split into between-example and run-to-run parts,\n"
        "the flaky examples, and the naive analysis (repetitions counted as examples) beside it.",
        epilog="examples:\n  toolkit experiment analyze runs/tone.parquet --metric quality\n"
        "  toolkit experiment analyze runs/tone_scored.parquet --metric passed --control baseline --json\n"
        "  toolkit experiment analyze runs/tone.parquet --plan-mde 0.05",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("log", help="the run log (.parquet/.csv/.jsonl file or folder) of 'toolkit experiment run'")
    p.add_argument("--metric", default="quality",
                   help="score or pass/fail column (default quality; computed with the local quality "
                        "score when the log has no such column)")
    p.add_argument("--control", default=None, help="baseline variant (default: the run's first variant, from "
                   "the experiment.json beside the log, else the first in the log)")
    p.add_argument("--alpha", type=open_unit("--alpha"), default=0.05, help="significance level (default 0.05)")
    p.add_argument("--flaky-alpha", type=open_unit("--flaky-alpha"), default=0.05,
                   help="score metrics: chance of flagging any example when none is flaky (default 0.05)")
    p.add_argument("--bootstrap", type=int_range("--bootstrap", 0, MAX_BOOTSTRAP), default=2000,
                   help="cluster-bootstrap resamples (default 2000; 0 = none)")
    p.add_argument("--seed", type=int_range("--seed", 0, 2**32 - 1, hard=True), default=0,
                   help="bootstrap seed (default 0)")
    p.add_argument("--plan-mde", type=float_range("--plan-mde", 0, low_open=True), default=None, metavar="MDE",
                   help="also plan examples x repetitions for this lift with the measured variances")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(experiment_func=run_analyze)


def register_plan(sub) -> None:
    """Add ``plan`` to the ``experiment`` sub-commands."""
    from toolkit.commands._types import float_range, int_range, open_unit

    p = sub.add_parser(
        "plan",
        help="examples and repetitions a target lift needs, from measured or given variances",
        description="var(lift) = sigma_bd^2 / n + (sigma_wc^2 + sigma_wt^2) / (n r): the examples n\n"
        "needed for MDE at ALPHA/POWER for every number of repetitions r, the calls and the cost.\n"
        "Give the variance components, or a pilot run log to measure them (--from).",
        epilog="examples:\n  toolkit experiment plan --mde 0.05 --var-between-diff 0.01 --var-within 0.04\n"
        "  toolkit experiment plan --mde 0.05 --from runs/pilot.parquet --metric passed "
        "--cost-per-call 0.002 --cost-per-example 0.5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--mde", type=float_range("--mde", 0, low_open=True), required=True,
                   help="the lift to detect, in the metric's units")
    p.add_argument("--from", dest="source", default=None, metavar="LOG",
                   help="a pilot run log to measure the variance components in")
    p.add_argument("--metric", default="quality", help="with --from: the score column (default quality)")
    p.add_argument("--control", default=None, help="with --from: the baseline variant")
    p.add_argument("--treatment", default=None, help="with --from: the variant to plan for (default the first other)")
    p.add_argument("--var-between-diff", type=float_range("--var-between-diff", 0), default=None,
                   help="between-example variance of the true difference (sigma_bd^2)")
    p.add_argument("--var-within", type=float_range("--var-within", 0), default=None,
                   help="run-to-run variance of one call's score (sigma_w^2), both variants")
    p.add_argument("--alpha", type=open_unit("--alpha"), default=0.05, help="significance level (default 0.05)")
    p.add_argument("--power", type=open_unit("--power"), default=0.8, help="target power (default 0.8)")
    p.add_argument("--max-repetitions", type=int_range("--max-repetitions", 1, 100, hard=True), default=5,
                   help="rows of the table (default 5)")
    p.add_argument("--n-available", type=int_range("--n-available", 2, 10_000_000, hard=True), default=None,
                   help="examples in the test set: adds the power each design reaches with them")
    p.add_argument("--cost-per-call", type=float_range("--cost-per-call", 0), default=None,
                   help="price of one call: the plan then minimises cost instead of calls")
    p.add_argument("--cost-per-example", type=float_range("--cost-per-example", 0), default=0.0,
                   help="price of adding one example to the test set (default 0)")
    p.add_argument("--variants", type=int_range("--variants", 2, 1000, hard=True), default=None,
                   help="variants answering every example (default 2, or the log's)")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(experiment_func=run_plan)


def _load_scored(path: str, metric: str):
    from pathlib import Path

    from toolkit.errors import UsageError
    from toolkit.io import load

    if not Path(path).exists():
        raise UsageError(f"no such file or folder: {path}")
    turns = load(path).turns
    if metric not in turns.columns:
        if metric != "quality":
            raise UsageError(f"the log {path} has no column {metric!r} (have {list(turns.columns)[:20]})")
        from toolkit.quality import score_turns

        turns = score_turns(turns)
    return turns


def _variant_order(path: str) -> list[str] | None:
    """The variants in the order the run defined them, from the ``experiment.json`` that
    ``toolkit experiment run`` writes beside its log (None when there is none or it is unreadable)."""
    import json
    from pathlib import Path

    p = Path(path)
    meta = p / "experiment.json" if p.is_dir() else p.with_name(f"{p.stem}.experiment.json")
    try:
        if not meta.is_file() or meta.stat().st_size > 10_000_000:
            return None
        names = [str(v["name"]) for v in json.loads(meta.read_text(encoding="utf-8"))["variants"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return names or None


def _order_kwargs(path: str, control: str | None, turns) -> dict:
    """``control`` and ``treatments`` for the analysis: as given, else in the run's own order."""
    order = _variant_order(path)
    if not order:
        return {"control": control}
    present = set(turns["variant"].dropna().astype(str))
    order = [v for v in order if v in present]
    ctrl = control or (order[0] if order else None)
    rest = [v for v in order if v != ctrl]
    return {"control": ctrl, "treatments": rest or None}


def _say(text: str) -> None:
    import textwrap

    print(textwrap.fill(text, width=100))


def _print_table(df) -> None:
    import pandas as pd

    with pd.option_context("display.width", 100, "display.max_columns", 30,
                           "display.float_format", "{:.4g}".format):
        print(df.to_string(index=False))


def run_analyze(args) -> int:
    """Run ``toolkit experiment analyze``."""
    from toolkit.cli import print_json
    from toolkit.experiments.analysis import analyze_repeated

    turns = _load_scored(args.log, args.metric)
    res = analyze_repeated(turns, args.metric, **_order_kwargs(args.log, args.control, turns), alpha=args.alpha,
                           flaky_alpha=args.flaky_alpha, n_boot=args.bootstrap, seed=args.seed)
    plan = res.plan(args.plan_mde, alpha=args.alpha) if args.plan_mde is not None else None
    if args.json:
        print_json({"log": str(args.log), **res.to_dict(), "plan": plan.to_dict() if plan else None})
        return 0
    print(f"{args.metric}: control {res.control!r}; examples are the unit, repetitions nested")
    _print_table(res.summary_table())
    print("\nvariance split per variant:")
    _print_table(res.variance[["variant", "examples", "mean_repetitions", "mean", "var_between",
                               "var_within", "icc", "share_run_to_run"]])
    flaky = res.flaky_examples
    print(f"\nflaky examples: {len(flaky)} (variant x example; {flaky['rule'].iloc[0] if len(flaky) else 'none'})")
    if len(flaky):
        _print_table(flaky[["variant", "example_id", "n", "mean", "sd", "ratio"]].head(20))
    for n in res.notes:
        _say(f"note: {n}")
    if plan is not None:
        print("\nplan:")
        _print_table(plan.summary_table())
        _say(plan.message())
    return 0


def run_plan(args) -> int:
    """Run ``toolkit experiment plan``."""
    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.experiments.planner import plan_from_result, plan_repetitions

    kw = dict(alpha=args.alpha, power=args.power, max_repetitions=args.max_repetitions,
              n_available=args.n_available, cost_per_call=args.cost_per_call,
              cost_per_example=args.cost_per_example)
    if args.variants is not None:
        kw["variants"] = args.variants
    if args.source is not None:
        if args.var_between_diff is not None or args.var_within is not None:
            raise UsageError("give either --from LOG or --var-between-diff and --var-within, not both")
        from toolkit.experiments.analysis import analyze_repeated

        turns = _load_scored(args.source, args.metric)
        order = _order_kwargs(args.source, args.control, turns)
        if args.treatment:
            order["treatments"] = [args.treatment]
        res = analyze_repeated(turns, args.metric, **order, n_boot=0)
        plan = plan_from_result(res, args.mde, treatment=args.treatment, **kw)
    else:
        if args.var_between_diff is None or args.var_within is None:
            raise UsageError("give --var-between-diff and --var-within (or --from LOG to measure them)")
        plan = plan_repetitions(args.mde, var_between_diff=args.var_between_diff, var_within=args.var_within, **kw)
    if args.json:
        print_json(plan.to_dict())
        return 0
    _say(plan.formula)
    _print_table(plan.summary_table())
    _say(plan.message())
    return 0
