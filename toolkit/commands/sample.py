"""``toolkit sample``: write a generated sample log (turns, conversations, truth) to a folder.

``--partitioned`` writes hive-partitioned Parquet in chunks instead (millions of conversations).
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``sample`` subcommand."""
    from toolkit.commands._types import int_range
    p = subparsers.add_parser(
        "sample",
        help="generate a realistic sample conversation log with its planted truth",
        description="Generate a deterministic customer-service conversation log and write "
        "turns.parquet, conversations.parquet and truth.json (intent per conversation, answer "
        "kind per turn, planted A/B effects, incident windows) into DIR.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--seed", type=int_range("--seed", 0, 2**32 - 1, hard=True), default=0, help="random seed (default 0)")
    p.add_argument("--days", type=int, default=60, help="length of the range in days (default 60)")
    p.add_argument(
        "--conversations", type=int, default=None, metavar="N",
        help="exact number of conversations (default: drawn from the traffic model, ~210/day)",
    )
    p.add_argument("--start", default="2026-09-01", help="first day, UTC (default 2026-09-01)")
    p.add_argument(
        "--partitioned", action="store_true",
        help="write hive-partitioned Parquet (turns/date=YYYY-MM-DD/part-*.parquet, conversations/..., "
        "conversation_truth/..., truth.json), generated in chunks with bounded memory: for millions of "
        "conversations (see toolkit.sample.write_partitioned)",
    )
    p.add_argument(
        "--chunk-conversations", type=int, default=100_000, metavar="N",
        help="with --partitioned: conversations generated and written at a time (default 100000; "
        "memory, not the data, depends on it)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write the sample; print a one-line summary."""
    from toolkit.errors import UsageError

    if not 1 <= args.days <= 36_600:
        raise UsageError(f"--days must be >= 1 and <= 36600, got {args.days}")
    _check_conversations(args.conversations, partitioned=args.partitioned)
    from pathlib import Path

    import pandas as pd

    try:
        start = pd.Timestamp(args.start)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"--start must be a date such as 2026-09-01, got {args.start!r}") from exc
    last = pd.Timestamp("2262-04-10") - pd.Timedelta(days=args.days + 1)
    if not (pd.Timestamp("1970-01-01") <= start.tz_localize(None) <= last):
        raise UsageError(f"--start must be between 1970-01-01 and {last.date()} for --days {args.days} "
                         f"(timestamps end at 2262-04-11), got {args.start!r}")
    from toolkit._files import check_output_file

    check_output_file(Path(args.out) / "turns.parquet", option="--out")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder")

    if args.partitioned:
        return _run_partitioned(args)
    from toolkit.sample import generate_sample, write_sample

    sample = generate_sample(seed=args.seed, days=args.days, conversations=args.conversations, start=args.start)
    out = write_sample(args.out, sample=sample)
    t = sample.truth
    print(
        f"wrote {out}: {t['n_turns']} turns, {t['n_conversations']} conversations, "
        f"{len(t['intents'])} intents, {t['start'][:10]} .. {t['end'][:10]}, seed {t['seed']}"
    )
    return 0


def _run_partitioned(args: argparse.Namespace) -> int:
    import json

    from toolkit.errors import UsageError
    from toolkit.sample import write_partitioned

    if args.chunk_conversations < 1:
        raise UsageError(f"--chunk-conversations must be >= 1, got {args.chunk_conversations}")
    out = write_partitioned(args.out, args.conversations, args.seed, days=args.days, start=args.start,
                            chunk_conversations=args.chunk_conversations)
    t = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    n_files = sum(1 for _ in (out / "turns").rglob("*.parquet"))
    print(
        f"wrote {out} (partitioned): {t['n_turns']} turns, {t['n_conversations']} conversations in "
        f"{n_files} turns files by date, {t['start'][:10]} .. {t['end'][:10]}, seed {t['seed']}"
    )
    return 0


#: the most conversations generated in memory (about 3 GB at peak: 1.0 GB measured for 330,000)
#: and written with --partitioned (memory bounded; about 1.5 min and 0.7 GB of files a million)
MAX_CONVERSATIONS = 1_000_000
MAX_CONVERSATIONS_PARTITIONED = 100_000_000


def _check_conversations(n: int | None, *, partitioned: bool) -> None:
    """``--conversations`` >= 1 and within the safety limit of the chosen writer."""
    from toolkit.commands._types import LIMIT_OVERRIDE_ENV, _limits_lifted
    from toolkit.errors import UsageError

    if n is None:
        return
    if n < 1:
        raise UsageError(f"--conversations must be >= 1, got {n}")
    high = MAX_CONVERSATIONS_PARTITIONED if partitioned else MAX_CONVERSATIONS
    if n > high and not _limits_lifted():
        more = "" if partitioned else "; --partitioned writes more in chunks with bounded memory"
        raise UsageError(f"--conversations must be <= {high:,}{' with --partitioned' if partitioned else ' in memory'}, "
                         f"got {n:,}{more} (a safety limit: set {LIMIT_OVERRIDE_ENV}=1 to lift it)")
