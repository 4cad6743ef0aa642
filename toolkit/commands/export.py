"""``toolkit export NOTEBOOK --to html|pdf [--no-input]``: HTML or PDF of a notebook."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a notebook to HTML or PDF (PDF through a system Chromium)",
        description="Export a notebook to HTML (nbconvert) or PDF (nbconvert's webpdf with a "
        "system Chromium: $CHROMIUM_PATH, else `chromium` on PATH). Without a browser the "
        "command says how to install one, still writes a figures-only PDF, and exits 1.",
    )
    p.add_argument("notebook", help="the .ipynb file (usually an executed one)")
    p.add_argument("--to", choices=["html", "pdf"], required=True, help="output format")
    p.add_argument("--no-input", action="store_true", help="hide code cells and prompts")
    p.add_argument("--out", default=None, help="output file (default: next to the notebook)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from toolkit.export import BrowserNotFoundError, export

    from toolkit._files import check_notebook, check_output_file

    check_notebook(args.notebook)
    if args.out:
        check_output_file(args.out, suffixes=(f".{args.to}",))
    try:
        path = export(args.notebook, args.to, args.out, no_input=args.no_input)
    except BrowserNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.fallback:
            print(f"wrote a figures-only PDF instead: {exc.fallback}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # the browser failed to start or to render
        print(f"error: PDF export failed: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
