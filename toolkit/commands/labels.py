"""``toolkit labels LABELS --log LOG``: how the scores agree with human labels."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "labels",
        help="agreement of the scores with human labels (Spearman, AUC, inter-rater)",
        description="Read human ratings (CSV/TSV/Parquet/JSONL with conversation_id, turn, rating[, rater]; "
        "an empty turn labels the whole conversation) and report how every score of the log agrees with "
        "them: Spearman with a bootstrap CI over conversations, AUC for pass/fail labels, and the "
        "agreement between raters when a rater column is present. A log without scores is scored first.",
    )
    p.add_argument("labels", help="labels file (.csv/.tsv/.parquet/.jsonl)")
    p.add_argument("--log", required=True, help="the conversation log the labels refer to (file or folder; "
                                                "scored or not)")
    p.add_argument("--scores", nargs="+", default=None, metavar="COLUMN",
                   help="score columns to compare (default: quality, reaction, components, judge_*)")
    p.add_argument("--threshold", type=float, default=None,
                   help="ratings >= THRESHOLD pass (for the AUC); binary labels need none")
    p.add_argument("--scale", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="the rating scale: ratings outside [LO, HI] are an error")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of conversations (0-20000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--tz", default=None, help="time zone of naive timestamps in the log")
    p.add_argument("--plot", default=None, metavar="FILE", help="also save the calibration plot (.png/.svg/.pdf)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.io import load
    from toolkit.labels import agreement, read_labels
    from toolkit.quality import score_turns

    log = load(args.log, tz=args.tz)
    labels = read_labels(args.labels, log=log.turns, scale=tuple(args.scale) if args.scale else None)
    turns = log.turns
    if "quality" not in turns.columns or "reaction" not in turns.columns:
        turns = score_turns(log)
    scored = log.with_turns(turns)
    rep = agreement(scored, labels, scores=args.scores, threshold=args.threshold, n_boot=args.n_boot,
                    seed=args.seed)
    if args.plot:
        _save(rep.plot_calibration(), args.plot)
    if args.json:
        print_json(rep.to_dict())
        return 0
    print(f"{len(labels):,} labels ({rep.table['n'].max() if len(rep.table) else 0:,} matched items, "
          f"{rep.unmatched} without a score); bootstrap {rep.n_boot} x conversations, seed {rep.seed}")
    print(_text_table(rep.summary_table()))
    ir = rep.inter_rater
    if ir is not None:
        import textwrap

        print("\n" + textwrap.fill(f"inter-rater: Krippendorff's alpha (interval) {ir.alpha:.3f} over "
                                   f"{ir.n_items:,} items rated twice or more, {ir.n_raters} raters; most "
                                   "disagreeing first:", 100))
        print(ir.summary_table().round(3).head(10).to_string(index=False))
    return 0


def _text_table(table) -> str:
    """The per-score table in at most 100 columns: each statistic with its interval in one
    column ("0.514 [0.411, 0.602]"); --json has every number."""
    import pandas as pd

    def with_ci(row, name):
        v, lo, hi = row.get(name), row.get(f"{name}_low"), row.get(f"{name}_high")
        if v is None or pd.isna(v):
            return "-"
        return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if pd.notna(lo) and pd.notna(hi) else f"{v:.3f}"

    out = pd.DataFrame({
        "score": table["score"], "level": table["level"], "n": table["n"],
        "conversations": table["conversations"],
        "spearman [95% CI]": [with_ci(r, "spearman") for r in table.to_dict("records")],
        "AUC [95% CI]": [with_ci(r, "auc") for r in table.to_dict("records")],
        "n_fail": table["n_fail"],
    }) if {"score", "level", "n", "conversations", "n_fail"} <= set(table.columns) else table
    return out.to_string(index=False)


def _save(fig, path) -> None:
    import io
    from pathlib import Path

    from toolkit._files import atomic_write_bytes
    from toolkit.errors import UsageError

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in ("png", "svg", "pdf"):
        raise UsageError(f"--plot must end in .png, .svg or .pdf, got {path!r}")
    buf = io.BytesIO()
    fig.savefig(buf, format=suffix, dpi=120)
    atomic_write_bytes(path, buf.getvalue())
