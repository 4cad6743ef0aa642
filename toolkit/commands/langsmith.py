"""``toolkit langsmith``: pull a project's runs into a log, push per-turn scores back as feedback.

The API key is read from ``LANGSMITH_API_KEY`` only; it is never printed, logged or written.

Examples
--------
::

    export LANGSMITH_API_KEY=...           # never passed on the command line
    toolkit langsmith pull --project support-bot --since 7d --out runs.jsonl --log pulled/
    toolkit langsmith push pulled/ --key quality --dry-run
    toolkit langsmith push pulled/ --key quality
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import positive_float

    p = subparsers.add_parser(
        "langsmith",
        help="pull LangSmith runs into a conversation log; push scores back as feedback",
        description="Pull a LangSmith project's runs (saved as JSONL and mapped to a conversation log) "
        "or push a per-turn score column back as feedback. The API key comes from LANGSMITH_API_KEY.",
    )
    sub = p.add_subparsers(dest="langsmith_command", metavar="ACTION")

    pull = sub.add_parser("pull", help="fetch runs of a project, save them as JSONL, map them to a log")
    pull.add_argument("--project", required=True, help="project (tracing session) name")
    pull.add_argument("--since", help="start of the window: ISO time or a duration like 7d, 12h")
    pull.add_argument("--until", help="end of the window (ISO time or duration ago); default now")
    pull.add_argument("--runs", choices=["root", "llm", "all"], default="root", help="root runs (default), LLM runs or all runs")
    pull.add_argument("--run-type", help="only runs of this type (chain, llm, ...)")
    pull.add_argument("--filter", help='LangSmith filter expression, e.g. \'has(tags, "production")\'')
    pull.add_argument("--limit", type=int, help="stop after this many runs")
    pull.add_argument("--endpoint", help="API URL (default: LANGSMITH_ENDPOINT, then the client's default)")
    pull.add_argument("--backend", choices=["auto", "v1", "v2"], default="auto", help="runs query API (default: auto)")
    pull.add_argument("--timeout", type=positive_float("--timeout", high=3600), default=30.0,
                      help="seconds to wait for the server to answer each request (default 30; connect 5)")
    pull.add_argument("--out", required=True, help="where to save the runs (JSON Lines)")
    pull.add_argument("--log", help="also save the mapped conversation log here (folder or .parquet/.csv/.jsonl file)")
    pull.add_argument("--input-key", action="append", help="traceable chains: input argument holding the user text (repeatable)")
    pull.add_argument("--output-key", action="append", help="traceable chains: output key holding the bot text (repeatable)")
    pull.add_argument("--prices", help="price table (CSV or JSON) for runs without a server-side cost")
    pull.add_argument("--json", action="store_true", help="print the summary as JSON")
    pull.set_defaults(func=run)

    push = sub.add_parser("push", help="write a per-turn score column back as feedback on the runs")
    push.add_argument("path", help="a conversation log with run_id (file or folder), or saved runs (JSONL)")
    push.add_argument("--key", required=True, help="feedback key, e.g. quality")
    push.add_argument("--column", help="column holding the score (default: the key; quality scores are computed when absent)")
    push.add_argument("--comment-column", help="column whose text becomes the feedback comment")
    push.add_argument("--project", help="project name (for its id, when the log has no project_id column)")
    push.add_argument("--endpoint", help="API URL (default: LANGSMITH_ENDPOINT, then the client's default)")
    push.add_argument("--timeout", type=positive_float("--timeout", high=3600), default=30.0,
                      help="seconds to wait for the server to answer each request (default 30)")
    push.add_argument("--batch-size", type=int, default=100, help="runs per batch (default 100)")
    push.add_argument("--dry-run", action="store_true", help="plan only: create and update nothing")
    push.add_argument("--no-update", action="store_true", help="leave feedback this toolkit pushed earlier even if the score changed")
    push.add_argument("--plan", help="write the per-run plan/result table here (CSV)")
    push.add_argument("--json", action="store_true", help="print the summary as JSON")
    push.set_defaults(func=run)

    def _help(args):
        p.print_help()
        return 2

    p.set_defaults(func=_help)


def _score_column(turns, key: str):
    """The turns with quality scores added (toolkit.quality) when ``key`` is one of its columns."""
    try:
        from toolkit import quality
    except ImportError:
        return None
    if key not in (*getattr(quality, "SCORE_COLUMNS", ()), "reaction"):
        return None
    return quality.score_turns(turns)


def run(args: argparse.Namespace) -> int:
    from toolkit.cli import print_json
    from toolkit.sources import langsmith as ls

    from toolkit._secrets import redacting

    action = args.langsmith_command
    with redacting(ls._api_key()):
        return _run(args, action, ls, print_json)


def _run(args, action, ls, print_json) -> int:
    from toolkit.errors import UsageError

    try:
        if action == "pull":
            return _pull(args, ls, print_json)
        if action == "push":
            return _push(args, ls, print_json)
    except ls.LangSmithNotConfigured as exc:
        raise UsageError(str(exc)) from None
    except (ValueError, TypeError) as exc:
        from toolkit.validation import LogValidationError

        if isinstance(exc, LogValidationError):
            raise
        raise UsageError(ls.redact(exc)) from None
    except RuntimeError as exc:
        print(f"error: {ls.redact(exc)}", file=sys.stderr)
        return 1
    raise UsageError("choose an action: toolkit langsmith pull ... | toolkit langsmith push ...")


def _pull(args, ls, print_json) -> int:
    from toolkit._files import check_output_file

    check_output_file(args.out)
    runs = ls.pull_runs(
        args.project,
        endpoint=args.endpoint,
        since=args.since,
        until=args.until,
        runs=args.runs,
        run_type=args.run_type,
        filter=args.filter,
        limit=args.limit,
        backend=args.backend,
        timeout=args.timeout,
    )
    path = ls.save_runs(runs, args.out)
    summary = {"project": args.project, "runs": len(runs), "out": str(path)}
    if runs:
        mapped = ls.runs_to_log(runs, input_key=args.input_key, output_key=args.output_key, bot_id=args.project, prices=args.prices)
        summary["mapping"] = mapped.report.to_dict()
        if args.log:
            from toolkit.io import save

            summary["log"] = str(save(mapped.log, args.log))
        report_text = str(mapped.report)
    else:
        report_text = "no runs in the window"
    if args.json:
        print_json(summary)
    else:
        print(f"pulled {len(runs)} runs of {args.project!r} -> {path}")
        print(f"mapping: {report_text}")
        if summary.get("log"):
            print(f"log: {summary['log']}")
    return 0


def _push(args, ls, print_json) -> int:
    from toolkit.errors import UsageError

    if args.batch_size < 1:
        raise UsageError("--batch-size must be >= 1")
    if ls.is_runs_file(args.path):
        turns = ls.runs_to_log(args.path).log.turns
    else:
        from toolkit.io import load

        turns = load(args.path).turns
    column = args.column or args.key
    if column not in turns.columns:
        scored = _score_column(turns, column)
        if scored is None:
            raise UsageError(f"{args.path}: turns.{column} is missing (the score to push); add it or pass --column")
        turns = scored
    report = ls.push_feedback(
        turns,
        args.key,
        column=column,
        comment_column=args.comment_column,
        endpoint=args.endpoint,
        project=args.project,
        batch_size=args.batch_size,
        dry_run=args.dry_run,
        update=not args.no_update,
        timeout=args.timeout,
    )
    if args.plan:
        from toolkit._files import write_csv

        write_csv(report.plan, args.plan)
    if args.json:
        print_json(report.to_dict())
    else:
        print(str(report))
        if args.dry_run and not report.checked_existing:
            print("(offline dry run: LANGSMITH_API_KEY is not set, existing feedback was not checked)")
    return 1 if report.n_failed else 0
