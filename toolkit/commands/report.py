"""``toolkit report PATH [--thresholds FILE] [--fast | --composite] [--json]``: KPIs, alerts and
suggestions of a log."""

from __future__ import annotations

import textwrap

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import timezone

    p = subparsers.add_parser(
        "report",
        help="monitoring report: KPIs, threshold alerts and suggestions",
        description="Score the log (unless it already has score columns) and print the monitoring "
        "report: response times, errors, tokens and cost, conversation length, resolution, "
        "satisfaction and quality overall, by bot, by variant, by model and over time; alerts "
        "against the thresholds; suggestions derived from the data.",
    )
    p.add_argument("path", help="file (.csv/.jsonl/.parquet/.db) or folder with turns.* [conversations.*]")
    p.add_argument("--thresholds", default=None,
                   help="JSON or YAML file of alert thresholds (quality_high, quality_medium, "
                        "response_time_high, response_time_medium, high_quality_share_medium, "
                        "error_rate_high, error_rate_medium, min_turns)")
    p.add_argument("--config", default=None, help="JSON or YAML file of quality settings")
    p.add_argument("--fast", action="store_true",
                   help="the log was (or is to be) scored with `toolkit score --fast`: its quality "
                        "scale and default alert thresholds (0.5 / 0.3 instead of 0.6 / 0.45)")
    p.add_argument("--composite", action="store_true",
                   help="the log was (or is to be) scored with `toolkit score --composite`: its cut-offs "
                        "and default alert thresholds (0.7 / 0.6)")
    p.add_argument("--freq", default="D", help="period of the over-time table: D (default), h, W")
    p.add_argument("--tz", type=timezone, default=None, help="time zone of naive timestamps")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.commands.score import read_settings
    from toolkit.io import load
    from toolkit.monitoring import monitoring_report
    from toolkit.monitoring.thresholds import _thresholds
    from toolkit.quality import QualityConfig

    given = read_settings(args.thresholds, "thresholds") if args.thresholds else None
    if args.fast and args.composite:
        raise UsageError("--fast and --composite are two different quality models: give one")
    try:
        settings = read_settings(args.config, "quality config") if args.config else {}
        if args.fast:
            settings.update(model="fitted", mode="fast")
        if args.composite:
            settings["model"] = "composite"
        config = QualityConfig.from_dict(settings)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"quality config: {exc}") from None
    try:  # the quality thresholds not in the file are those of the quality model in the config
        th = _thresholds(given, config)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"thresholds: {exc}") from None
    if args.freq not in ("h", "D", "W", "M", "min"):
        raise UsageError(f"--freq must be one of h, D, W, M, got {args.freq!r}")
    log = load(args.path, tz=args.tz)
    report = monitoring_report(log, th, config=config, freq=args.freq)
    if args.json:
        print_json(report.to_dict())
        return 0
    k = report.kpis
    print(f"monitoring report: {args.path}")
    for key in ("n_turns", "n_conversations", "mean_quality", "high_quality_share", "mean_response_time_s",
                "p95_response_time_s", "p99_response_time_s", "error_rate", "cost_usd", "resolution_rate",
                "mean_satisfaction", "mean_turns_per_conversation"):
        v = k.get(key)
        if v is None:
            continue
        print(f"  {key:<28} {v:,.4f}" if isinstance(v, float) else f"  {key:<28} {v:,}")
    for title, frame in (("by bot", report.by_bot), ("by variant", report.by_variant),
                         ("by model", report.by_model)):
        if frame is not None and len(frame):
            print(f"{title}:")
            print(_table(frame))
    if report.over_time is not None and len(report.over_time):
        ot = report.over_time
        shown = ot.tail(OVER_TIME_ROWS)
        more = f", the last {len(shown)} of {len(ot)}; --json for all" if len(shown) < len(ot) else ""
        print(f"over time (per {dict(h='hour', D='day', W='week', M='month').get(args.freq, args.freq)}{more}):")
        print(_table(shown))
    print(f"alerts ({len(report.alerts)}):")
    actions: list[str] = []
    for a in report.alerts.itertuples(index=False):
        print(f"  [{a.severity}] {a.scope}: {a.rule} (value {a.value:.4g})")
        finding, action = _split_recommendation(str(a.recommendation))
        if finding:
            print(textwrap.fill(finding, WIDTH, initial_indent="      ", subsequent_indent="      "))
        if action and action not in actions:
            actions.append(action)
    for action in actions:  # said once, however many scopes share it
        print(textwrap.fill(f"what to do: {action}", WIDTH, initial_indent="  ", subsequent_indent="    "))
    if not len(report.alerts):
        print("  none")
    print(f"suggestions ({len(report.suggestions)}):")
    for s in report.suggestions.itertuples(index=False):
        print(textwrap.fill(f"- {s.finding}", WIDTH, initial_indent="  ", subsequent_indent="    "))
        if _split_recommendation(str(s.action))[1] in actions:  # the alerts' advice, said above
            print("      what to do: see the alerts above")
            continue
        print(textwrap.fill(str(s.action), WIDTH, initial_indent="      ", subsequent_indent="      "))
    return 0


#: width of the text report; the per-group tables show these columns (--json has them all)
WIDTH = 100
TABLE_COLUMNS = ["group", "n_turns", "mean_quality", "high_quality_share", "mean_response_time_s",
                 "p95_response_time_s", "error_rate", "cost_usd", "resolution_rate"]
_HEADERS = {"n_turns": "turns", "mean_quality": "quality", "high_quality_share": "good+",
            "mean_response_time_s": "mean rt", "p95_response_time_s": "p95 rt",
            "error_rate": "errors", "cost_usd": "cost", "resolution_rate": "resolved"}
OVER_TIME_ROWS = 14


def _table(frame) -> str:
    """The key columns of a KPI table, formatted by kind, at most :data:`WIDTH` columns wide."""
    from toolkit.findings import format_value

    cols = [c for c in TABLE_COLUMNS if c in frame.columns]
    rows = [[_HEADERS.get(c, c) for c in cols]]
    for rec in frame[cols].to_dict(orient="records"):
        cells = []
        for c in cols:
            v = rec[c]
            if c == "group" and hasattr(v, "strftime"):  # a period of the over-time table
                text = v.strftime("%Y-%m-%d %H:%M" if (v.hour or v.minute) else "%Y-%m-%d")
            else:
                text = format_value(c, v) if c != "group" else str(v)
            cells.append(text.replace(" %", "%").replace(" s", "s"))
        rows.append(cells)
    rows = [[r[0][:24]] + r[1:] for r in rows]
    widths = [max(len(r[j]) for r in rows) for j in range(len(cols))]
    lines = ["  " + "  ".join(cell.ljust(w) if j == 0 else cell.rjust(w)
                               for j, (cell, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(line[:WIDTH] for line in lines)


def _split_recommendation(text: str) -> tuple[str, str]:
    """``(what was found in this scope, what to do)``: the action follows the last ``": "``."""
    head, sep, tail = text.rpartition(": ")
    if not sep or len(tail) < 15:
        return text, ""
    return head + ".", tail[0].upper() + tail[1:]
