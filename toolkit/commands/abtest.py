"""``toolkit abtest PATH``: analyse an A/B test from a conversation log or a per-unit table."""

from __future__ import annotations

__all__ = ["register", "run"]

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "abtest",
        help="analyse an A/B test: lifts, CIs, tests, SRM, multiple testing, verdicts",
        description="Compare every treatment arm with control on every metric. PATH is a "
        "conversation log (folder, file or SQLite database; conversations are the units) or a "
        "per-unit table (CSV/Parquet/JSONL, one row per unit with a variant column).",
        epilog="examples:\n  toolkit abtest data/sample --json\n"
        "  toolkit abtest units.csv --control A --metrics resolved:binary,latency:continuous:lower\n"
        "  toolkit abtest units.parquet --metrics rt:ratio:total_rt/n_turns:lower --bootstrap 2000",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="conversation log or per-unit table")
    p.add_argument("--variant-col", default="variant", help="column naming the arm (default variant)")
    p.add_argument("--control", default=None,
                   help="control arm (default 'control' if present, else the first in sorted order)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated name:kind[:num/den][:lower][:mde=X]; kinds binary, "
                   "continuous, ratio (default: resolved, satisfaction, quality, response time "
                   "per turn and cost for a log; numeric columns for a table)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--correction", choices=["holm", "bh", "bonferroni", "none"], default="holm",
                   help="multiple-testing correction that decides significance (default holm)")
    p.add_argument("--allocation", default=None,
                   help="planned split for the SRM check, e.g. A=0.5,B=0.5 (default equal)")
    p.add_argument("--bootstrap", type=int, default=0,
                   help="bootstrap resamples for percentile/BCa CIs (default 0: none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--nan-policy", choices=["drop", "raise"], default="drop",
                   help="missing metric values: drop and count (default) or reject")
    p.add_argument("--time-col", default="start_time",
                   help="arrival time column for the sequential analysis (default start_time)")
    p.add_argument("--no-sequential", action="store_true",
                   help="skip the always-valid confidence sequences")
    p.add_argument("--mde-relative", type=float, default=0.10,
                   help="planned MDE relative to control, for the power in verdicts (default 0.10)")
    p.add_argument("--unit", choices=["conversation", "user"], default="conversation",
                   help="randomisation unit when PATH is a log (default conversation)")
    p.add_argument("--score-quality", action="store_true",
                   help="score response quality (toolkit.quality) when a log has no quality "
                   "column, to compare mean quality per conversation")
    p.add_argument("--tz", default=None, help="time zone of naive timestamps in a log")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from toolkit.ab.analysis import ABInputError, analyze, parse_allocation
    from toolkit.cli import print_json
    from toolkit.errors import UsageError

    from toolkit.ab.units import read_ab_input

    data, is_log = read_ab_input(args.path, tz=args.tz)
    quality_note = None
    if is_log and args.score_quality:
        from toolkit.ab.units import with_quality

        data, quality_note = with_quality(data)
    try:
        res = analyze(
            data, args.metrics, variant_col=args.variant_col, control=args.control,
            alpha=args.alpha, correction=args.correction,
            planned_allocation=parse_allocation(args.allocation), bootstrap=args.bootstrap,
            seed=args.seed, nan_policy=args.nan_policy, sequential=not args.no_sequential,
            time_col=args.time_col, default_mde_relative=args.mde_relative, unit=args.unit,
        )
    except (ABInputError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        out = {"source": str(args.path), "input": "log" if is_log else "units", **res.to_dict()}
        if quality_note:
            out["notes"] = out["notes"] + [quality_note]
        print_json(out)
        return 0
    print(res.srm.message)
    print()
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        print(res.summary_table().to_string(index=False))
    print()
    for v in res.verdicts:
        print(f"- {v}")
    for n in res.notes + ([quality_note] if quality_note else []):
        print(f"note: {n}")
    return 0
