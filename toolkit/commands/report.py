"""``toolkit report PATH [--thresholds FILE] [--json]``: KPIs, alerts and suggestions of a log."""

from __future__ import annotations

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
    p.add_argument("--freq", default="D", help="period of the over-time table: D (default), h, W")
    p.add_argument("--tz", type=timezone, default=None, help="time zone of naive timestamps")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.commands.score import read_settings
    from toolkit.io import load
    from toolkit.monitoring import Thresholds, monitoring_report
    from toolkit.quality import QualityConfig

    try:
        th = Thresholds.from_dict(read_settings(args.thresholds, "thresholds")) if args.thresholds else Thresholds()
    except (TypeError, ValueError) as exc:
        raise UsageError(f"thresholds: {exc}") from None
    try:
        config = QualityConfig.from_dict(read_settings(args.config, "quality config")) if args.config else QualityConfig()
    except (TypeError, ValueError) as exc:
        raise UsageError(f"quality config: {exc}") from None
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
    print(f"alerts ({len(report.alerts)}):")
    for a in report.alerts.itertuples(index=False):
        print(f"  [{a.severity}] {a.scope}: {a.rule} (value {a.value:.4f})")
        print(f"      {a.recommendation}")
    if not len(report.alerts):
        print("  none")
    print(f"suggestions ({len(report.suggestions)}):")
    for s in report.suggestions.itertuples(index=False):
        print(f"  - {s.finding}")
        print(f"      {s.action}")
    return 0
