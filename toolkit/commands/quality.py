"""``toolkit quality calibrate LABELS --log LOG --out FILE``: refit the quality model on your labels.

Examples
--------
>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers()
>>> register(sub)
"""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "quality",
        help="the quality model: refit it on your own labels (calibrate)",
        description="Work with the fitted quality model.",
    )
    sub = p.add_subparsers(dest="quality_command", metavar="COMMAND")
    sub.required = True
    c = sub.add_parser(
        "calibrate",
        help="refit the quality model on human labels with cross-validation over conversations",
        description="Refit the quality model's weights on your labels (columns conversation_id, turn, "
        "rating[, rater]; CSV/TSV/Parquet/JSONL) with k-fold cross-validation over conversations, "
        "print the cross-validated Spearman of the refit beside the shipped model's on the same "
        "turns, and write the refit as JSON for `toolkit score --quality-model FILE`.",
    )
    c.add_argument("labels", help="labels file (conversation_id, turn, rating[, rater])")
    c.add_argument("--log", required=True, help="the conversation log the labels refer to")
    c.add_argument("--out", required=True, help="where to write the refit model (.json)")
    c.add_argument("--fast", action="store_true", help="refit the fast model (no sentence model)")
    c.add_argument("--vectors", action="store_true",
                   help="refit a head on the sentence model's vectors (768 weights; worth it with "
                        "thousands of labels: the README gives the figures)")
    c.add_argument("--group-column", default=None, metavar="COLUMN",
                   help="a log column (e.g. user_id) whose conversations stay in one fold and bootstrap "
                        "resample")
    c.add_argument("--folds", type=int, default=5, help="cross-validation folds over conversations (2-20)")
    c.add_argument("--alpha", type=float, default=10.0, help="ridge penalty (>= 0)")
    c.add_argument("--n-boot", type=int, default=500, help="bootstrap resamples for the intervals (0-10000)")
    c.add_argument("--seed", type=int, default=0, help="seed of the folds and the bootstrap")
    c.add_argument("--tz", default=None, help="time zone of naive timestamps in the log")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    import textwrap

    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.io import load
    from toolkit.quality.calibrate import calibrate

    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise UsageError(f"--out must be a .json file, got {args.out}")
    if not Path(args.labels).is_file():
        raise UsageError(f"labels file not found: {args.labels}")
    log = load(args.log, tz=args.tz)
    res = calibrate(log, args.labels, mode="fast" if args.fast else "full", folds=args.folds,
                    alpha=args.alpha, n_boot=args.n_boot, seed=args.seed, vectors=args.vectors,
                    group_column=args.group_column)
    res.save(out)
    if args.json:
        print_json({**res.to_dict(), "out": str(out)})
        return 0
    print(f"calibrated on {res.n_labels:,} labelled turns in {res.n_conversations:,} conversations "
          f"({res.folds}-fold cross-validation over conversations)")
    t = res.summary_table()
    print(t.to_string(index=False))
    for note in res.notes:
        print(textwrap.fill(f"note: {note}", 100, initial_indent="  ", subsequent_indent="    "))
    print(textwrap.fill(res.verdict(), 100))  # 100 columns, as every text report
    print(f"wrote {out}")
    return 0
