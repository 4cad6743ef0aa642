"""``toolkit sample``: write a generated sample log (turns, conversations, truth) to a folder."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``sample`` subcommand."""
    p = subparsers.add_parser(
        "sample",
        help="generate a realistic sample conversation log with its planted truth",
        description="Generate a deterministic customer-service conversation log and write "
        "turns.parquet, conversations.parquet and truth.json (intent per conversation, answer "
        "kind per turn, planted A/B effects, incident windows) into DIR.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--days", type=int, default=60, help="length of the range in days (default 60)")
    p.add_argument(
        "--conversations", type=int, default=None, metavar="N",
        help="exact number of conversations (default: drawn from the traffic model, ~210/day)",
    )
    p.add_argument("--start", default="2026-09-01", help="first day, UTC (default 2026-09-01)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write the sample; print a one-line summary."""
    from toolkit.errors import UsageError

    if args.days < 1:
        raise UsageError(f"--days must be >= 1, got {args.days}")
    if args.conversations is not None and args.conversations < 1:
        raise UsageError(f"--conversations must be >= 1, got {args.conversations}")
    import pandas as pd

    try:
        pd.Timestamp(args.start)
    except ValueError as exc:
        raise UsageError(f"--start must be a date such as 2026-09-01, got {args.start!r}") from exc

    from toolkit.sample import generate_sample, write_sample

    sample = generate_sample(seed=args.seed, days=args.days, conversations=args.conversations, start=args.start)
    out = write_sample(args.out, sample=sample)
    t = sample.truth
    print(
        f"wrote {out}: {t['n_turns']} turns, {t['n_conversations']} conversations, "
        f"{len(t['intents'])} intents, {t['start'][:10]} .. {t['end'][:10]}, seed {t['seed']}"
    )
    return 0
