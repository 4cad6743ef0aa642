"""``toolkit export NOTEBOOK --to html|pdf [--no-input] [--report]``: HTML or PDF of a notebook."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a notebook to HTML or PDF, or its stakeholder report (--report)",
        description="Export a notebook to HTML (nbconvert) or PDF (nbconvert's webpdf with a "
        "system Chromium: $CHROMIUM_PATH, else `chromium` on PATH). Without a browser the "
        "command says how to install one, still writes a figures-only PDF, and exits 1. "
        "--report writes the stakeholder report of an executed notebook instead: no code; a "
        "title page (title, parameters, data range), a one-page summary of the findings in the "
        "run's sidecar.json, then the narrative, figures and tables that fit the page "
        "(<stem>_report.html and <stem>_report.pdf next to the notebook).",
    )
    p.add_argument("notebook", help="the .ipynb file (usually an executed one)")
    p.add_argument("--to", choices=["html", "pdf"], default=None,
                   help="output format (required without --report; with it, default both)")
    p.add_argument("--no-input", action="store_true", help="hide code cells and prompts")
    p.add_argument("--report", action="store_true",
                   help="the stakeholder report (no code, findings first) instead of the notebook")
    p.add_argument("--out", default=None, help="output file (default: next to the notebook)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from toolkit.errors import UsageError
    from toolkit.export import BrowserNotFoundError, export, export_report

    from toolkit._files import check_notebook, check_output_file

    check_notebook(args.notebook)
    if args.to is None and not args.report:
        raise UsageError("--to html or --to pdf is required (or --report for the stakeholder report)")
    if args.report and args.out and args.to is None:
        raise UsageError("--out with --report names one file: give --to html or --to pdf too")
    if args.out and args.to:
        check_output_file(args.out, suffixes=(f".{args.to}",))
    try:
        if args.report:
            kinds = [args.to] if args.to else ["html", "pdf"]
            out = {"html_out": args.out} if args.to == "html" else {"pdf_out": args.out} if args.to else {}
            written = export_report(args.notebook, html="html" in kinds, pdf="pdf" in kinds, **out)
            paths = [str(p) for p in written.values() if p is not None]
        else:
            paths = [str(export(args.notebook, args.to, args.out, no_input=args.no_input))]
    except BrowserNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.fallback:
            print(f"wrote a figures-only PDF instead: {exc.fallback}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # the browser failed to start or to render
        print(f"error: PDF export failed: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    what = "stakeholder report" if args.report else "export"
    print(f"export: wrote the {what} {', '.join(paths)}", file=sys.stderr)
    return 0
