"""``toolkit run NOTEBOOK [-p NAME VALUE ...] [--out DIR]``: execute one notebook into a folder."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import positive_float

    p = subparsers.add_parser(
        "run",
        help="execute one notebook with papermill into its own folder (notebook, figures, "
        "sidecar, HTML, PDF)",
        description="Execute a notebook with papermill into its own output folder: the executed "
        "notebook, its figures (PNG + SVG), its sidecar.json, an HTML and a PDF export, and "
        "run.json. Parameters are checked against the notebook's 'parameters' cell first: unknown "
        "names and wrong types are rejected (exit 2) with the list of valid ones. A failing "
        "notebook keeps its partial executed notebook and exits 1.",
    )
    p.add_argument("notebook", help="the .ipynb file")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="set a parameter (repeatable); the value is converted to the declared type")
    p.add_argument("--out", default=None, help="output folder (default: reports/<run name>)")
    p.add_argument("--no-html", action="store_true", help="skip the HTML export")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF export")
    p.add_argument("--no-report", action="store_true",
                   help="skip the stakeholder report (<name>_report.html/.pdf: no code, findings first)")
    p.add_argument("--no-input", action="store_true", help="hide code cells in the exports")
    p.add_argument("--timeout", type=positive_float("--timeout"), default=None, help="seconds allowed per cell")
    p.add_argument("--help-params", action="store_true",
                   help="list the notebook's parameters (name, type, default, help) and exit")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.runner import format_parameters, inspect_parameters, run_notebook

    if args.help_params:
        print(f"Parameters of {args.notebook}:")
        print(format_parameters(inspect_parameters(args.notebook)))
        return 0
    from toolkit._files import check_notebook, check_output_file

    from pathlib import Path

    check_notebook(args.notebook)
    if args.out:
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise UsageError(f"--out {args.out} is a file; give a folder for the run's outputs")
        check_output_file(Path(args.out) / "run.json")
    params = {}
    for name, value in args.parameter:
        if name in params:
            raise UsageError(f"parameter {name!r} given twice")
        params[name] = value
    res = run_notebook(
        args.notebook, params, args.out, html=not args.no_html, pdf=not args.no_pdf,
        report=not args.no_report, no_input=args.no_input, from_cli=True, timeout=args.timeout,
    )
    if args.json:
        print_json(res.to_dict())
        return 0 if res.ok else 1
    print(f"{res.status}: {res.name} in {res.duration_s:.1f} s -> {res.out_dir}")
    if res.error:
        print(f"  error: {res.error_text()}")
        if res.error.get("cell_source"):
            print("  failing cell:\n" + "\n".join(f"    | {l}" for l in res.error["cell_source"].splitlines()))
    for key, label in (("report_pdf", "report"), ("report_html", "report"), ("notebook", "notebook"),
                       ("html", "html"), ("pdf", "pdf"), ("sidecar", "sidecar")):
        if key in res.files:
            note = " (figures only)" if key == "pdf" and res.pdf_kind == "figures-only" else ""
            print(f"  {label:<8} {res.files[key]}{note}")
    if res.files.get("figures"):
        print(f"  figures  {len(res.files['figures'])} file(s) in figures/")
    for w in res.warnings:
        print(f"  warning: {w}")
    return 0 if res.ok else 1
