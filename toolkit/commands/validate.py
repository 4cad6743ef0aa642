"""``toolkit validate PATH``: check a conversation log and print its summary."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import positive_float, timezone

    p = subparsers.add_parser(
        "validate",
        help="check a conversation log and print a summary (exit 2 when invalid)",
        description="Check a conversation log (file, folder or SQLite database) against the "
        "log's rules and print a summary: rows, conversations, date range, variants. An invalid "
        "log prints every broken rule with its column and offending rows, and exits with 2.",
    )
    p.add_argument("path", help="file (.csv/.jsonl/.parquet/.db) or folder with turns.* [conversations.*]")
    p.add_argument("--tz", type=timezone, default=None, help="time zone of naive timestamps (they are rejected without it)")
    p.add_argument("--satisfaction-scale", type=positive_float("--satisfaction-scale"), default=None, help="SQLite: divide satisfaction by this (e.g. 5)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.io import load

    log = load(args.path, tz=args.tz, satisfaction_scale=args.satisfaction_scale)
    summary = log.summary()
    if args.json:
        print_json({"valid": True, **summary})
        return 0
    print(f"valid conversation log: {args.path}")
    width = max(map(len, summary))
    for key, value in summary.items():
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        elif isinstance(value, float):
            value = f"{value:.4f}"
        print(f"  {key:<{width}}  {value}")
    return 0
