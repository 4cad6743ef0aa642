"""``toolkit paired A [B] --key example_id``: a paired offline experiment (the same examples
answered by two variants)."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import MAX_BOOTSTRAP, int_range, open_unit

    p = subparsers.add_parser(
        "paired",
        help="paired comparison of two variants on the same examples (offline experiment)",
        description="Compare two variants that answered the same test set: paired t, Wilcoxon "
        "signed-rank, sign test, McNemar (pass/fail scores) and a paired bootstrap CI per score "
        "column. A and B are two tables or LangSmith runs files (JSONL) with a key column; or "
        "give one long table with a variant column.",
        epilog="examples:\n  toolkit paired runs_a.jsonl runs_b.jsonl --key example_id\n"
        "  toolkit paired scores.csv --variant-col variant --arms v1,v2 --json",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("a", help="baseline variant's results (or one long table)")
    p.add_argument("b", nargs="?", default=None, help="candidate variant's results")
    p.add_argument("--key", default="example_id", help="column naming the example "
                   "(default example_id; runs files: reference_example_id)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated score columns (default: numeric columns on both sides)")
    p.add_argument("--variant-col", default="variant",
                   help="variant column of a single long table (default variant)")
    p.add_argument("--arms", default=None, help="the two variants of a long table, baseline "
                   "first, e.g. v1,v2 (default: its two values, sorted)")
    p.add_argument("--alpha", type=open_unit("--alpha"), default=0.05, help="significance level (default 0.05)")
    p.add_argument("--correction", choices=["holm", "bh", "bonferroni", "none"], default="holm",
                   help="multiple-testing correction across the score columns (default holm)")
    p.add_argument("--bootstrap", type=int_range("--bootstrap", 0, MAX_BOOTSTRAP), default=2000,
                   help="paired bootstrap resamples (default 2000; 0 = none)")
    p.add_argument("--seed", type=int_range("--seed", 0, 2**32 - 1, hard=True), default=0, help="bootstrap seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    import pandas as pd

    from toolkit.ab.paired import analyze_paired
    from toolkit.cli import print_json
    from toolkit.errors import UsageError

    for path in (args.a, args.b):
        if path is not None and not Path(path).exists():
            raise UsageError(f"no such file: {path}")
    arms = [s.strip() for s in args.arms.split(",")] if args.arms else None
    if args.b is not None and arms is None:
        arms = [Path(args.a).stem, Path(args.b).stem]
        if arms[0] == arms[1]:
            arms = ["A", "B"]
    metrics = [s.strip() for s in args.metrics.split(",")] if args.metrics else None
    res = analyze_paired(args.a, args.b, key=args.key, metrics=metrics,
                         variant_col=args.variant_col, arms=arms, alpha=args.alpha,
                         correction=args.correction, bootstrap=args.bootstrap, seed=args.seed)
    if args.json:
        print_json({"a": str(args.a), "b": None if args.b is None else str(args.b),
                    **res.to_dict()})
        return 0
    print(f"{res.n_pairs:,} examples on both sides (by {res.key!r}); "
          f"{res.n_only_a:,} only in {res.arms[0]}, {res.n_only_b:,} only in {res.arms[1]}")
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        print(res.summary_table().to_string(index=False))
    for n in res.notes:
        print(f"note: {n}")
    return 0
