"""``toolkit demo [--out reports/]``: every notebook on the bundled sample, as one batch."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import int_range

    p = subparsers.add_parser(
        "demo",
        help="run every notebook in notebooks/ on the bundled sample and write the reports",
        description="Run every notebook in notebooks/ on the bundled sample data as a parallel "
        "batch, and write for each one the executed notebook, figures, sidecar, the stakeholder "
        "report (<name>_report.pdf/.html: no code, findings first) and the full notebook as HTML "
        "and PDF, plus index.html (every notebook's key findings, links to both) and summary.csv "
        "in the output folder. The first run encodes the sample's messages as sentence "
        "embeddings (cached for later runs), which takes most of its time.",
    )
    p.add_argument("--out", default="reports", help="output folder (default: reports/)")
    p.add_argument("--workers", type=int_range("--workers", 1, 256), default=None, help="parallel notebooks (default: the cores)")
    p.add_argument("--notebooks", default=None, help="folder of notebooks (default: ./notebooks)")
    p.add_argument("--resume", action="store_true", help="skip notebooks that already finished")
    p.add_argument("--no-pdf", action="store_true", help="skip PDF exports")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from toolkit.batch import format_report
    from toolkit.demo import run_demo

    res = run_demo(args.out, workers=args.workers, notebooks=args.notebooks, resume=args.resume,
                   pdf=not args.no_pdf, progress=not args.no_progress)
    print(format_report(res))
    reports = [r for r in res.records if (r.get("files") or {}).get("report_pdf")]
    if reports:
        print(f"stakeholder reports (no code, findings first): {len(reports)}, e.g. "
              f"{Path(res.out_dir) / reports[0]['name'] / reports[0]['files']['report_pdf']}")
    print(f"\nReports written to {res.out_dir}: open {res.index_html}")
    return res.exit_code
