"""The stakeholder report: no code, a title page, a summary of findings, then the narrative.

:func:`report_notebook` builds it from an executed notebook and its sidecar; :func:`export_report`
writes it as HTML and PDF (:data:`REPORT_CSS`); :func:`report_paths` says where.

Examples
--------
>>> [p.name for p in report_paths("runs/a/a.ipynb")]
['a_report.html', 'a_report.pdf']
"""

from __future__ import annotations

from pathlib import Path

from toolkit.export.browser import PRINT_CSS, ChromiumPDFExporter
from toolkit.export.html_pdf import _defused, _exporter_kwargs, html_body
from toolkit.export.tables import tidy_tables

__all__ = ["report_notebook", "report_paths", "export_report", "REPORT_CSS"]

#: Style of the stakeholder report (screen and print): A4, tables that wrap instead of being cut,
#: small type for wide tables, split parts for very wide ones.
REPORT_CSS = """<style type="text/css">
@page { size: A4; margin: 14mm 13mm 14mm 13mm; }
body { font-family: "DejaVu Sans", system-ui, sans-serif; }
body.jp-Notebook { padding: 0 !important; }
.jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-OutputArea-child { max-width: 100% !important; }
.jp-OutputArea-output, .jp-RenderedHTMLCommon { overflow: visible !important; }
.jp-RenderedHTMLCommon table, table.dataframe, .report-kv {
  table-layout: auto !important; width: auto; max-width: 100% !important; font-size: 8pt !important;
  margin: 0 0 1em 0 !important; border-collapse: collapse;
}
.jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon td, table.dataframe th, table.dataframe td {
  white-space: normal !important; overflow-wrap: break-word; word-break: normal; max-width: none;
  padding: 2px 5px !important; line-height: 1.25; text-align: right; vertical-align: top;
}
.report-wide table { width: 100% !important; font-size: 6.6pt !important; }
.report-wide th, .report-wide td { padding: 1px 3px !important; }
.report-split + .report-split { margin-top: 2mm; }
.report-part { font-size: 7pt; color: #666; margin: 0 0 1mm 0 !important; }
.jp-RenderedText pre, .jp-OutputArea-output pre, pre {
  white-space: pre-wrap !important; overflow-wrap: break-word; word-break: normal; font-size: 8pt;
}
.jp-RenderedImage img, .jp-OutputArea-output img { max-width: 100% !important; height: auto !important; }
.jp-OutputArea-output { page-break-inside: auto; }
.jp-RenderedImage { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
.report-title { break-after: page; padding-top: 30mm; }
.report-title h1 { font-size: 26pt; margin-bottom: 6mm; }
.report-title .lead { font-size: 12pt; color: #333; margin-bottom: 10mm; }
.report-kv th { text-align: left !important; color: #555; font-weight: normal; padding-right: 12px !important; }
.report-kv td { text-align: left !important; }
.report-summary { break-after: page; }
.report-summary h2 { font-size: 18pt; }
.findings-headline { display: grid !important; grid-template-columns: repeat(auto-fill, minmax(42mm, 1fr)); gap: 2mm 4mm; margin: 0 0 4mm 0; }
.findings-headline div { border-left: 3px solid #4a78b5; padding-left: 2mm; }
.findings-headline dt { font-size: 8pt; color: #555; float: none !important; width: auto !important; display: block !important; font-weight: normal !important; margin: 0 !important; }
.findings-headline dd { margin: 0 !important; padding: 0 !important; font-size: 12pt; font-weight: 600; display: block !important; }
.findings-block h3 { font-size: 11pt; margin: 4mm 0 1mm 0; }
ul.findings { margin: 0; padding-left: 5mm; font-size: 9pt; } ul.findings li { margin: 0.8mm 0; }
ul.findings .detail { color: #333; margin: 0.3mm 0 0 0; }
li.sev-high .badge { background: #c62828; } li.sev-medium .badge { background: #ef8f00; } li.sev-low .badge { background: #777; }
.badge { color: #fff; border-radius: 3px; padding: 0 4px; font-size: 7.5pt; text-transform: uppercase; }
li.sev-good { color: #1a5e20; } li.sev-bad { color: #9a1b1b; }
</style>"""

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_DROP_TAGS = {"parameters", "injected-parameters", "remove_cell", "remove-cell", "report-skip", "report_skip"}


def _title_and_intro(nb) -> tuple[str | None, str]:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            if lines and lines[0].startswith("# "):
                return lines[0][2:].strip(), "\n".join(lines[1:]).strip()
            return None, cell.source
    return None, ""


def _html_output(html: str):
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html})]
    cell.metadata["tags"] = ["report-generated"]
    return cell


def _title_page(findings, title: str, nb_name: str) -> str:
    import html as _h

    from toolkit import __version__
    from toolkit.findings import format_value

    esc = _h.escape
    rows = []
    data = findings.data_range_text()
    if data:
        rows.append(("Data", data))
    rows.append(("Notebook", nb_name))
    if findings.written_at:
        rows.append(("Results written", findings.written_at.replace("T", " ")))
    rows.append(("Toolkit", __version__))
    params = []
    for k, v in findings.parameters.items():
        text = "(default)" if v in ("", None) else format_value(k, v) if not isinstance(v, str) else v
        params.append((k, text))
    kv = lambda pairs: '<table class="report-kv">' + "".join(  # noqa: E731
        f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in pairs) + "</table>"
    out = f'<div class="report-title"><h1>{esc(title)}</h1>' + kv(rows)
    if params:
        out += "<h2>Parameters of this run</h2>" + kv(params)
    return out + "</div>"


def report_notebook(notebook, sidecar=None):
    """The stakeholder version of an executed notebook, as a notebook node (nothing written).

    A title page (title, data range, parameters) and a summary of the findings from the run's
    sidecar (:func:`toolkit.findings.read_findings`) come first; then the narrative and the
    outputs, without the parameter cells, the sidecar section, widget outputs (a widget cannot
    print), stderr (warnings) and cells tagged ``remove_cell`` or ``report-skip``; tables are
    tidied by :func:`tidy_tables`. Code is hidden by the export, not here.

    Parameters
    ----------
    notebook : path
        The executed notebook (its folder holds ``sidecar.json``).
    sidecar : dict or path, optional
        Default: ``sidecar.json`` next to the notebook (a report without a summary if absent).

    Returns
    -------
    nbformat.NotebookNode

    Examples
    --------
    >>> nb = report_notebook("reports/02_ab_testing/02_ab_testing.ipynb")  # doctest: +SKIP
    >>> nb.cells[0].metadata.tags                                          # doctest: +SKIP
    ['report-generated']
    """
    import copy
    import html as _h

    from toolkit.errors import InputFileError
    from toolkit.findings import Findings, read_findings
    from toolkit.notebook import SIDECAR_NAME

    notebook = Path(notebook)
    nb = _defused(notebook)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if code and not any(c.get("outputs") for c in code):
        raise InputFileError(f"{notebook} has not been run (no code cell has an output), so its report "
                             "would be empty; run it first: toolkit run " + notebook.name)
    side = sidecar if sidecar is not None else notebook.parent / SIDECAR_NAME
    try:
        findings = read_findings(side) if isinstance(side, dict) or Path(side).is_file() else None
    except (OSError, ValueError):
        findings = None
    title, intro = _title_and_intro(nb)
    title = title or notebook.stem
    if findings is None:
        params = (nb.metadata.get("papermill") or {}).get("parameters") or {}
        findings = Findings(notebook=notebook.stem, title=title, parameters=dict(params),
                            data_range=None, headline=[], items=[])
    params = dict(findings.parameters)
    params.pop("output_dir", None)
    findings.parameters = params

    cells = [_html_output(_title_page(findings, title, notebook.stem)),
             _html_output('<div class="report-summary"><h2>Summary of findings</h2>'
                          + findings.to_html() + "</div>")]
    first_md = True
    pending_md = None  # a markdown cell waiting to see whether its section prints anything
    skip_section = False
    body = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & _DROP_TAGS:
            continue
        if cell.cell_type == "markdown":
            text = cell.source
            if first_md:
                first_md = False
                if intro:
                    c = copy.deepcopy(cell)
                    c.source = intro
                    body.append(c)
                continue
            heading = text.lstrip().splitlines()[0] if text.strip() else ""
            skip_section = heading.startswith("#") and "sidecar" in heading.lower()
            if not skip_section:
                body.append(copy.deepcopy(cell))
            continue
        if cell.cell_type != "code" or skip_section or "write_sidecar(" in cell.source:
            continue
        c = copy.deepcopy(cell)
        kept = []
        for out in c.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if out.get("output_type") in ("display_data", "execute_result"):
                data = out.get("data", {})
                if _WIDGET_MIME in data:
                    visual = {k: v for k, v in data.items() if k.startswith(("image/", "text/html"))}
                    if not visual:
                        continue
                    out["data"] = visual
                if "text/html" in out.get("data", {}):
                    h = out["data"]["text/html"]
                    out["data"]["text/html"] = tidy_tables("".join(h) if isinstance(h, list) else h)
            kept.append(out)
        if not kept:
            continue
        c.outputs = kept
        body.append(c)
    # a heading whose section printed nothing (a widget-only section) goes too
    final = []
    for i, c in enumerate(body):
        if c.cell_type == "markdown" and c.source.lstrip().startswith("#"):
            nxt = body[i + 1] if i + 1 < len(body) else None
            if nxt is None or (nxt.cell_type == "markdown" and nxt.source.lstrip().startswith("#")
                               and nxt.source.lstrip().split(" ")[0] <= c.source.lstrip().split(" ")[0]):
                continue
        final.append(c)
    nb.cells = cells + final
    nb.metadata["title"] = _h.escape(title)
    return nb


def report_paths(notebook) -> tuple[Path, Path]:
    """Where the report of ``notebook`` goes: ``<stem>_report.html`` and ``<stem>_report.pdf``.

    Examples
    --------
    >>> [p.name for p in report_paths("runs/01_quality/01_quality.ipynb")]
    ['01_quality_report.html', '01_quality_report.pdf']
    """
    notebook = Path(notebook)
    base = notebook.with_name(f"{notebook.stem}_report")
    return base.with_suffix(".html"), base.with_suffix(".pdf")


def export_report(
    notebook,
    html_out=None,
    pdf_out=None,
    *,
    html: bool = True,
    pdf: bool = True,
    executable_path: str | None = None,
) -> dict:
    """Write the stakeholder report of an executed notebook: HTML and PDF, no code.

    Title page (notebook title, the run's parameters, data range), a one-page summary of the
    findings in the run's sidecar (verdicts with CIs, alerts with recommendations, worst topics,
    anomalies, forecasts), then the narrative, figures and tables; tables wrap and shrink to
    the page, the widest are split into parts that repeat the row labels (see :func:`report_notebook`, :data:`REPORT_CSS`).
    The full notebook export (:func:`export_html`, :func:`export_pdf`) stays available.

    Parameters
    ----------
    notebook : path
        The executed notebook, with ``sidecar.json`` beside it.
    html_out, pdf_out : path, optional
        Targets; default :func:`report_paths`.
    html, pdf : bool
        Which to write.
    executable_path : str, optional
        The browser for the PDF; default :func:`find_browser`.

    Returns
    -------
    dict
        ``{"html": Path or None, "pdf": Path or None}``.

    Raises
    ------
    BrowserNotFoundError
        ``pdf=True`` and no usable browser (the HTML is written first).

    Examples
    --------
    >>> export_report("reports/02_ab_testing/02_ab_testing.ipynb")  # doctest: +SKIP
    {'html': PosixPath('reports/02_ab_testing/02_ab_testing_report.html'), 'pdf': PosixPath(...)}
    """
    from toolkit._files import atomic_write_bytes, atomic_write_text

    notebook = Path(notebook)
    default_html, default_pdf = report_paths(notebook)
    nb = report_notebook(notebook)
    body = html_body(nb, no_input=True)
    # the print style first, the report's after it (the PDF step then adds nothing)
    body = body.replace("</head>", PRINT_CSS + "\n" + REPORT_CSS + "\n</head>", 1)
    written: dict = {"html": None, "pdf": None}
    if html:
        written["html"] = atomic_write_text(Path(html_out) if html_out else default_html, body)
    if pdf:
        pkw = {k: v for k, v in _exporter_kwargs(no_input=True).items() if k == "mathjax_url"}
        if executable_path is not None:
            pkw["executable_path"] = executable_path
        exporter = ChromiumPDFExporter(prefer_css_page_size=True, **pkw)
        exporter._check_browser()
        data = exporter.run_playwright(body)
        written["pdf"] = atomic_write_bytes(Path(pdf_out) if pdf_out else default_pdf, data)
    return written
