"""``toolkit score PATH --out FILE``: add quality scores to a conversation log."""

from __future__ import annotations

from toolkit.commands._dask_options import add_engine_arguments, engine_session

__all__ = ["register", "run", "read_settings"]


def register(subparsers) -> None:
    from toolkit.commands._types import int_range, timezone

    p = subparsers.add_parser(
        "score",
        help="score every response (relevance, sentiment, coherence, length_fit, quality, level)",
        description="Score every bot response of a conversation log and write the log with the "
        "columns relevance, sentiment, coherence, length_fit, quality and level added. The output "
        "format follows the --out suffix (.parquet, .csv, .jsonl; a folder gets turns.parquet and "
        "conversations.parquet).",
    )
    p.add_argument("path", help="file (.csv/.jsonl/.parquet/.db) or folder with turns.* [conversations.*]")
    p.add_argument("--out", required=True, help="output file (.parquet/.csv/.jsonl) or folder")
    p.add_argument("--config", default=None,
                   help="JSON or YAML file of quality settings (weights, cutoffs, context_decay, "
                        "relevance_saturation, length, ...)")
    p.add_argument("--fitted", action="store_true",
                   help="quality from the model fitted on public human-rated dialogues (the default; "
                        "kept for scripts that name it)")
    p.add_argument("--fast", action="store_true",
                   help="the fast fitted model: no sentence model, about 10x less CPU, agrees less with "
                        "people (for logs of millions of turns)")
    p.add_argument("--composite", action="store_true",
                   help="the earlier hand-weighted composite instead of the fitted model")
    p.add_argument("--quality-model", default=None, metavar="FILE",
                   help="a quality model written by `toolkit quality calibrate` instead of the shipped one")
    p.add_argument("--tz", type=timezone, default=None, help="time zone of naive timestamps (they are rejected without it)")
    p.add_argument("--jobs", type=int_range("--jobs", 1, 256), default=None, help="worker processes (default: 2 for large logs)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_engine_arguments(p)
    p.set_defaults(func=run)


def read_settings(path, what: str) -> dict:
    """Read a JSON or YAML mapping from ``path``; a clear UsageError when it is not one."""
    import json
    from pathlib import Path

    from toolkit.errors import UsageError

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{what} file not found: {path}")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - reported to the user with the file name
        raise UsageError(f"{what} file {path} is not valid {'YAML' if p.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{what} file {path} must hold a mapping of settings, got {type(data).__name__}")
    return data


def run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.io import load, save
    from toolkit.quality import QualityConfig, level_counts, score_turns

    try:
        settings = read_settings(args.config, "quality config") if args.config else {}
        if getattr(args, "composite", False):
            if getattr(args, "fitted", False) or getattr(args, "fast", False) or getattr(args, "quality_model", None):
                raise UsageError("--composite cannot go with --fitted, --fast or --quality-model")
            settings["model"] = "composite"
        if getattr(args, "fitted", False) or getattr(args, "fast", False):
            settings["model"] = "fitted"
        if getattr(args, "fast", False):
            settings["mode"] = "fast"
        if getattr(args, "quality_model", None):
            from pathlib import Path

            from toolkit.quality import load_model

            if not Path(args.quality_model).is_file():
                raise UsageError(f"--quality-model file not found: {args.quality_model}")
            settings["quality_model"] = load_model(args.quality_model)
        config = QualityConfig.from_dict(settings)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"quality config: {exc}") from None
    _check_out(args.out)
    with engine_session(args):
        if args.engine == "dask":
            summary = _run_dask(args, config)
        else:
            log = load(args.path, tz=args.tz)
            scored = score_turns(log, config, n_jobs=args.jobs)
            out = save(log.with_turns(scored), args.out)
            levels = level_counts(scored["level"])
            summary = {
                "scored_turns": int(len(scored)),
                "out": str(out),
                "mean_quality": float(scored["quality"].mean()) if len(scored) else None,
                "levels": dict(zip(levels["level"], levels["count"].astype(int))),
            }
    out = summary["out"]
    if args.json:
        import sys

        mean = summary["mean_quality"]
        print(f"score: {summary['scored_turns']:,} responses scored"
              + (f", mean quality {mean:.3f}" if mean is not None else "") + f"; wrote {out}",
              file=sys.stderr)
        print_json(summary)
        return 0
    print(f"scored {summary['scored_turns']:,} responses -> {out}")
    if summary["mean_quality"] is not None:
        print(f"  mean quality {summary['mean_quality']:.4f}")
    for level, count in summary["levels"].items():
        print(f"  {level:<13} {count:>8,}")
    return 0


def _check_out(out) -> None:
    """Refuse an --out that ``save`` would misread (``s.xlsx`` is not a folder) or cannot write."""
    from pathlib import Path

    from toolkit._files import check_output_file
    from toolkit.errors import OutputError
    from toolkit.io import FORMATS

    p = Path(out)
    if p.suffix and p.suffix.lower() not in FORMATS and not p.is_dir():
        raise OutputError(f"--out {out}: unknown format {p.suffix!r}; use .parquet, .csv, .jsonl or a folder name without a suffix")
    if p.suffix.lower() in FORMATS:
        check_output_file(p, suffixes=tuple(FORMATS))
    elif p.exists() and not p.is_dir():
        raise OutputError(f"--out {out} is a file; give a folder (or a .parquet/.csv/.jsonl file name)")
    else:
        check_output_file(p / "turns.parquet")


def _run_dask(args, config) -> dict:
    """Score a partitioned log on Dask and write ``--out`` as a folder of Parquet files."""
    from toolkit.errors import UsageError
    from toolkit.quality import score_turns
    from toolkit.dask_engine.read import read_log
    from toolkit.dask_engine.score import write_scored

    if args.jobs is not None:
        raise UsageError("--jobs is for the pandas engine; with --engine dask use --workers")
    dlog = read_log(args.path, tz=args.tz)
    return write_scored(dlog, score_turns(dlog, config, engine="dask"), args.out)  # EngineError: exit 2
