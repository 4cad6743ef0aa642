"""Export notebooks to HTML and PDF, offline.

* **HTML** through nbconvert's ``HTMLExporter`` (the ``lab`` template).
* **PDF** through nbconvert's ``webpdf`` path, with a *system* Chromium: :class:`ChromiumPDFExporter`
  is a ``WebPDFExporter`` whose ``executable_path`` trait (default ``$CHROMIUM_PATH``, else
  ``chromium`` on ``PATH``) is handed to Playwright, which otherwise looks for a browser of its own
  that cannot be downloaded offline. The class is registered as the ``nbconvert.exporters`` entry
  point ``chromiumpdf``, so ``jupyter nbconvert --to chromiumpdf nb.ipynb`` and JupyterLab's
  *File > Save and Export Notebook As* menu ("PDF via Chromium") use it too.
* **Figures-only PDF** (:func:`figures_pdf`): matplotlib ``PdfPages``, no browser needed: a title
  page with the sidecar's headline results, then one page per figure PNG. :func:`export_pdf` writes
  it when no browser is found, and then raises :class:`BrowserNotFoundError`, whose message says
  how to install one.
* **Math offline**: when Debian's ``libjs-mathjax`` is installed, exports load MathJax from
  ``file:///usr/share/javascript/mathjax`` instead of a CDN.

Examples
--------
>>> from toolkit.export import export_html, export_pdf
>>> export_html("reports/01_quality/01_quality.ipynb")            # doctest: +SKIP
PosixPath('reports/01_quality/01_quality.html')
>>> export_pdf("reports/01_quality/01_quality.ipynb", no_input=True)  # doctest: +SKIP
PosixPath('reports/01_quality/01_quality.pdf')
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import tempfile
from html import escape as html_escape
from pathlib import Path

from nbconvert.exporters.webpdf import WebPDFExporter
from traitlets import Bool, Unicode, default

__all__ = [
    "ChromiumPDFExporter",
    "BrowserNotFoundError",
    "find_browser",
    "offline_mathjax_url",
    "export",
    "export_html",
    "export_pdf",
    "figures_pdf",
    "report_notebook",
    "tidy_tables",
    "export_report",
    "report_paths",
    "BROWSER_HELP",
    "REPORT_CSS",
]

#: Where Debian's ``libjs-mathjax`` puts MathJax 2.
LOCAL_MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")

BROWSER_HELP = (
    "No Chromium browser found for PDF export (looked at $CHROMIUM_PATH and for `chromium`, "
    "`chromium-browser`, `google-chrome` on PATH). Install one with "
    "`sudo apt-get install chromium` (Debian/Ubuntu), or point CHROMIUM_PATH at a Chrome/Chromium "
    "executable, or run `python -m playwright install chromium` where downloads are allowed."
)


class BrowserNotFoundError(RuntimeError):
    """No browser for the PDF export; ``fallback`` is the figures-only PDF written instead, if any."""

    def __init__(self, message: str = BROWSER_HELP, fallback: Path | None = None):
        super().__init__(message)
        self.fallback = fallback


def find_browser() -> str | None:
    """Path of a Chromium-family browser: ``$CHROMIUM_PATH``, else ``chromium`` (etc.) on PATH.

    Examples
    --------
    >>> find_browser()  # doctest: +SKIP
    '/usr/bin/chromium'
    """
    env = os.environ.get("CHROMIUM_PATH")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def offline_mathjax_url() -> str | None:
    """``file://`` URL of the local MathJax (Debian ``libjs-mathjax``), or None if not installed.

    Examples
    --------
    >>> offline_mathjax_url()  # doctest: +SKIP
    'file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe'
    """
    if LOCAL_MATHJAX.is_file():
        return f"{LOCAL_MATHJAX.as_uri()}?config=TeX-AMS_CHTML-full,Safe"
    return None


#: Print style added to the page before rendering: wrap long code and output lines (at word
#: boundaries when they fit) and let tables shrink and wrap instead of clipping them at the page
#: edge (the stakeholder report, :func:`export_report`, also splits very wide tables).
PRINT_CSS = """<style type="text/css">
@media print {
  .jp-InputArea-editor pre, .jp-OutputArea-output pre, .highlight pre {
    white-space: pre-wrap !important; overflow-wrap: break-word;
  }
  .jp-OutputArea-output, .jp-RenderedHTMLCommon { overflow: visible !important; }
  .jp-RenderedHTMLCommon table { table-layout: auto !important; max-width: 100%; font-size: 8pt; }
  .jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th {
    white-space: normal !important; overflow-wrap: break-word; padding: 2px 4px !important;
  }
}
</style>"""


#: Resolves when MathJax 2 (if the page loaded it) has typeset everything.
MATHJAX_DONE = """() => new Promise(resolve => {
  if (window.MathJax && window.MathJax.Hub && window.MathJax.Hub.Queue) {
    window.MathJax.Hub.Queue(() => resolve(true));
    setTimeout(() => resolve(false), 20000);
  } else { resolve(false); }
})"""


class ChromiumPDFExporter(WebPDFExporter):
    """nbconvert's ``webpdf`` exporter driving a system Chromium (no Playwright download).

    Configurable like any exporter, e.g.
    ``jupyter nbconvert --to chromiumpdf --ChromiumPDFExporter.executable_path=/opt/chrome nb.ipynb``.

    Examples
    --------
    >>> from toolkit.export import ChromiumPDFExporter
    >>> pdf, _ = ChromiumPDFExporter().from_filename("nb.ipynb")  # doctest: +SKIP
    >>> pdf[:5]                                                       # doctest: +SKIP
    b'%PDF-'
    """

    export_from_notebook = "PDF via Chromium"

    executable_path = Unicode(
        help="Chromium/Chrome executable for the PDF rendering. Default: $CHROMIUM_PATH, "
        "else `chromium` on PATH."
    ).tag(config=True)

    prefer_css_page_size = Bool(
        False, help="Let the page's CSS @page rules set the paper size (the stakeholder report "
        "uses A4 pages); default: nbconvert's Letter."
    ).tag(config=True)

    @default("executable_path")
    def _executable_path_default(self):
        return find_browser() or ""

    @default("mathjax_url")
    def _mathjax_url_default(self):
        return offline_mathjax_url() or WebPDFExporter.mathjax_url.default_value

    def _check_browser(self) -> str:
        import importlib.util

        if importlib.util.find_spec("playwright") is None:
            raise BrowserNotFoundError(
                "PDF export drives the browser with the `playwright` Python package, which is not "
                "installed: pip install 'chatbot-toolkit[pdf]' (or pip install playwright). "
                "It also needs a Chromium: `sudo apt-get install chromium` on Debian/Ubuntu."
            )
        path = self.executable_path
        if not path:
            raise BrowserNotFoundError()
        resolved = shutil.which(path) if os.path.sep not in path else path
        if not resolved or not os.path.isfile(resolved) or not os.access(resolved, os.X_OK):
            raise BrowserNotFoundError(
                f"The browser executable {path!r} does not exist or is not executable. "
                + BROWSER_HELP
            )
        return resolved

    def run_playwright(self, html):
        """Render ``html`` to PDF bytes with Playwright driving ``executable_path``."""
        executable = self._check_browser()
        try:
            from playwright.async_api import async_playwright
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "PDF export needs the `playwright` package: pip install 'chatbot-toolkit[pdf]'"
            ) from exc

        args = list(self.browser_args) + ["--disable-gpu", "--disable-dev-shm-usage"]
        if self.disable_sandbox:
            args.append("--no-sandbox")

        async def main(path: str) -> bytes:
            playwright = await async_playwright().start()
            try:
                try:
                    browser = await playwright.chromium.launch(
                        executable_path=executable,
                        handle_sigint=False,
                        handle_sigterm=False,
                        handle_sighup=False,
                        args=args,
                    )
                except Exception as exc:
                    raise RuntimeError(f"Could not start the browser {executable!r}: {exc}") from exc
                try:
                    page = await browser.new_page()

                    async def offline(route):  # never wait on a CDN (require.js, widgets)
                        if route.request.url.startswith(("file:", "data:", "blob:")):
                            await route.continue_()
                        else:
                            await route.abort()

                    await page.route("**/*", offline)
                    await page.emulate_media(media="print")
                    # every request is local (see `offline`), so "load" plus MathJax's own queue
                    # is enough; "networkidle" would add its fixed 500 ms of quiet per export
                    await page.goto(Path(path).as_uri(), wait_until="load")
                    await page.evaluate(MATHJAX_DONE)
                    await page.wait_for_timeout(self.page_render_timeout)
                    params = {"print_background": True,
                              "prefer_css_page_size": bool(self.prefer_css_page_size)}
                    if not self.paginate:
                        dims = await page.evaluate(
                            "() => { const r = document.body.getBoundingClientRect();"
                            " return {width: Math.ceil(r.width) + 1, height: Math.ceil(r.height) + 1}; }"
                        )
                        params.update(
                            width=min(dims["width"], 200 * 72), height=min(dims["height"], 200 * 72)
                        )
                    return await page.pdf(**params)
                finally:
                    await browser.close()
            finally:
                await playwright.stop()

        if "</head>" in html and PRINT_CSS not in html:
            html = html.replace("</head>", PRINT_CSS + "\n</head>", 1)
        fd, tmp = tempfile.mkstemp(suffix=".html")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(html.encode("utf-8"))
            # A fresh thread gets its own event loop (the caller may be running one, e.g. Jupyter).
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                return pool.submit(asyncio.run, main(tmp)).result()
        finally:
            os.unlink(tmp)


def _exporter_kwargs(no_input: bool) -> dict:
    kw = {}
    url = offline_mathjax_url()
    if url:
        kw["mathjax_url"] = url
    if no_input:
        kw.update(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    return kw


def _default_out(notebook: Path, suffix: str, out) -> Path:
    return Path(out) if out is not None else notebook.with_suffix(suffix)


def export_html(notebook, out=None, *, no_input: bool = False) -> Path:
    """Export a notebook to a standalone HTML file (atomically written).

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file (usually an executed one).
    out : path, optional
        Target file; default: next to the notebook with ``.html``.
    no_input : bool
        Hide code cells and prompts (outputs and markdown only).

    Returns
    -------
    Path

    Examples
    --------
    >>> export_html("reports/run/02_ab_testing.ipynb", no_input=True)  # doctest: +SKIP
    PosixPath('reports/run/02_ab_testing.html')
    """
    from nbconvert import HTMLExporter

    from toolkit._files import atomic_write_text

    notebook = Path(notebook)
    body, _ = HTMLExporter(**_exporter_kwargs(no_input)).from_notebook_node(_defused(notebook))
    return atomic_write_text(_default_out(notebook, ".html", out), body)


def _defused(notebook: Path):
    """The notebook with every Markdown and HTML *output* defused (data in them cannot run script).

    Outputs are built from data (a ``model`` named ``<script>...``); markdown cells are the
    notebook author's own text and stay as they are. See :func:`toolkit._escape.defuse_markdown`.
    """
    import nbformat

    from toolkit._escape import defuse_html, defuse_markdown
    from toolkit._files import check_notebook

    nb = nbformat.read(str(check_notebook(notebook)), as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if "text/markdown" in data:
                md = data["text/markdown"]
                data["text/markdown"] = defuse_markdown("".join(md) if isinstance(md, list) else md)
            if "text/html" in data:
                h = data["text/html"]
                data["text/html"] = defuse_html("".join(h) if isinstance(h, list) else h)
            if data.pop("application/javascript", None) is not None and not data:
                data["text/plain"] = "(script output removed from the export)"
    return nb


def export_pdf(
    notebook,
    out=None,
    *,
    no_input: bool = False,
    executable_path: str | None = None,
    fallback: bool = True,
) -> Path:
    """Export a notebook to PDF with a system Chromium; figures-only PDF when there is none.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file.
    out : path, optional
        Target file; default: next to the notebook with ``.pdf``.
    no_input : bool
        Hide code cells and prompts.
    executable_path : str, optional
        The browser; default :func:`find_browser`.
    fallback : bool
        When no browser is found, still write a figures-only PDF (:func:`figures_pdf`) at ``out``.

    Returns
    -------
    Path
        The PDF written by the browser.

    Raises
    ------
    BrowserNotFoundError
        No usable browser; the message says how to install one, and ``.fallback`` is the
        figures-only PDF written instead (``None`` if ``fallback=False``).

    Examples
    --------
    >>> export_pdf("reports/run/01_quality.ipynb")  # doctest: +SKIP
    PosixPath('reports/run/01_quality.pdf')
    """
    from toolkit._files import atomic_write_bytes

    notebook = Path(notebook)
    target = _default_out(notebook, ".pdf", out)
    kw = _exporter_kwargs(no_input)
    if executable_path is not None:
        kw["executable_path"] = executable_path
    exporter = ChromiumPDFExporter(**kw)
    try:
        exporter._check_browser()
    except BrowserNotFoundError as exc:
        if fallback:
            exc.fallback = figures_pdf(notebook, target, note=str(exc))
        raise
    resources = {"metadata": {"name": notebook.stem, "path": str(notebook.parent)}}
    pdf, _ = exporter.from_notebook_node(_split_wide_tables(_defused(notebook)), resources=resources)
    return atomic_write_bytes(target, pdf)


def _split_wide_tables(notebook):
    """The notebook (a path or a read notebook) with its very wide HTML tables split into parts
    that fit a page (numbers unchanged): a PDF page cannot scroll, so a wide table would lose its
    last columns."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if "text/html" in data:
                h = data["text/html"]
                data["text/html"] = tidy_tables("".join(h) if isinstance(h, list) else h, numbers=False)
    return nb


def export(notebook, to: str, out=None, *, no_input: bool = False) -> Path:
    """Export ``notebook`` to ``"html"`` or ``"pdf"``; see :func:`export_html`, :func:`export_pdf`.

    Examples
    --------
    >>> export("nb.ipynb", "html")  # doctest: +SKIP
    PosixPath('nb.html')
    """
    if to == "html":
        return export_html(notebook, out, no_input=no_input)
    if to == "pdf":
        return export_pdf(notebook, out, no_input=no_input)
    raise ValueError(f"unknown export format {to!r}: expected 'html' or 'pdf'")


# ---------------------------------------------------------------------------------------------
# Figures-only PDF (no browser)


def _headline(results: dict, limit: int = 30) -> list[tuple[str, str]]:
    """Flat scalar results as (name, formatted value) pairs, nested dicts dotted."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, float):
            rows.append((prefix, f"{value:.4g}"))
        elif isinstance(value, (int, str, bool)) or value is None:
            text = "—" if value is None else '""' if value == "" else str(value)
            rows.append((prefix, text if len(text) <= 60 else text[:57] + "..."))

    walk("", results or {})
    return rows[:limit]


def _figure_pngs(source: Path) -> list[tuple[str, bytes]]:
    """PNGs of a run: ``figures/*.png`` next to the notebook, else PNG outputs inside it."""
    import base64

    folder = source if source.is_dir() else source.parent
    pngs = sorted((folder / "figures").glob("*.png"))
    if pngs:
        return [(p.stem, p.read_bytes()) for p in pngs]
    if source.is_file() and source.suffix == ".ipynb":
        nb = json.loads(source.read_text(encoding="utf-8"))
        found = []
        for i, cell in enumerate(nb.get("cells", [])):
            for out in cell.get("outputs", []):
                data = out.get("data", {}).get("image/png")
                if data:
                    text = "".join(data) if isinstance(data, list) else data
                    found.append((f"cell {i}", base64.b64decode(text)))
        return found
    return []


def figures_pdf(source, out=None, *, title: str | None = None, note: str | None = None) -> Path:
    """Write a figures-only PDF with matplotlib ``PdfPages`` (no browser needed).

    Page 1 shows the title, the run's parameters and the headline results from ``sidecar.json``;
    then one page per figure: ``figures/*.png`` next to the notebook (or in the folder), else the
    PNG outputs embedded in the notebook.

    Parameters
    ----------
    source : path
        A run folder, or a notebook inside one.
    out : path, optional
        Target PDF; default ``<notebook>.pdf`` (or ``<folder>/figures.pdf``).
    title : str, optional
        Title; default the sidecar's notebook name or the file stem.
    note : str, optional
        A line printed on the title page (e.g. why this is not the full PDF).

    Returns
    -------
    Path

    Examples
    --------
    >>> figures_pdf("reports/01_quality")  # doctest: +SKIP
    PosixPath('reports/01_quality/figures.pdf')
    """
    import io
    import textwrap

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    from toolkit._files import atomic_write_bytes
    from toolkit.notebook import SIDECAR_NAME

    source = Path(source)
    folder = source if source.is_dir() else source.parent
    if out is None:
        out = folder / "figures.pdf" if source.is_dir() else source.with_suffix(".pdf")
    sidecar = {}
    if (folder / SIDECAR_NAME).is_file():
        try:
            sidecar = json.loads((folder / SIDECAR_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            sidecar = {}
    title = title or sidecar.get("notebook") or (source.stem if source.is_file() else folder.name)
    figures = _figure_pngs(source)

    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": f"{title} (figures)", "Creator": "toolkit"}) as pdf:
        page = Figure(figsize=(8.27, 11.69))
        page.text(0.08, 0.94, str(title), fontsize=20, weight="bold", va="top")
        y = 0.90
        lines = [f"Figures-only report: {len(figures)} figure(s)."]
        if sidecar.get("written_at"):
            lines.append(f"Results written at {sidecar['written_at']}")
        if note:
            lines += textwrap.wrap(f"Note: {note}", 95)
        for line in lines:
            page.text(0.08, y, line, fontsize=9, va="top", color="0.3")
            y -= 0.02
        for heading, rows in (
            ("Headline results", _headline(sidecar.get("results", {}))),
            ("Parameters", _headline(sidecar.get("parameters", {}), limit=12)),
        ):
            if not rows:
                continue
            y -= 0.02
            page.text(0.08, y, heading, fontsize=13, weight="bold", va="top")
            y -= 0.03
            for name, value in rows:
                if y < 0.05:
                    break
                page.text(0.10, y, name, fontsize=9, va="top", family="monospace")
                page.text(0.60, y, value, fontsize=9, va="top", family="monospace")
                y -= 0.021
        pdf.savefig(page)
        for name, data in figures:
            img = imread(io.BytesIO(data), format="png")
            h, w = img.shape[:2]
            width = 8.27
            height = min(max(width * h / w + 0.6, 3.0), 11.69)
            fig = Figure(figsize=(width, height))
            ax = fig.add_axes((0.03, 0.03, 0.94, 1 - 0.5 / height - 0.03))
            ax.imshow(img, interpolation="none")
            ax.set_axis_off()
            fig.text(0.5, 1 - 0.15 / height, name, ha="center", va="top", fontsize=11)
            pdf.savefig(fig)
    return atomic_write_bytes(out, buf.getvalue())


# ---------------------------------------------------------------------------------------------
# The stakeholder report: no code, a title page, a summary of findings, then the narrative

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

_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?|nan|inf)\s*$", re.I)
_CELL_RE = re.compile(r"(<t([hd])(?:\s[^>]*)?>)(.*?)(</t[hd]>)", re.S | re.I)
_TABLE_RE = re.compile(r"<table\b.*?</table>", re.S | re.I)
#: columns above which a table is set in small type, and above which it is split into parts
#: (each repeating the row labels) that fit a portrait page
WIDE_COLUMNS, SPLIT_COLUMNS = 7, 11


def _format_cell(header: str, text: str) -> str:
    """A plain number in a table cell, formatted by its column's kind; anything else unchanged."""
    from toolkit.findings import _number, format_value, value_kind

    if not _NUMBER_RE.match(text):
        return text
    raw = text.strip()
    v = float(raw)
    if v != v:  # nan
        return "—"
    is_int = re.fullmatch(r"[-+]?\d+", raw) is not None
    kind = value_kind(header)
    if is_int:
        return f"{int(raw):,}" if abs(v) >= 10_000 else raw
    if kind == "p":
        return format_value("p", v)
    if kind == "percent" and -0.0001 <= v <= 1.0001:
        return format_value("share", v)
    if kind == "signed_percent" and abs(v) < 10:
        return format_value("rel_lift", v)
    if kind in ("seconds", "usd"):
        return format_value(header, v)
    return _number(v)


def _tidy_table(table: str, numbers: bool = True) -> str:
    rows = re.findall(r"<tr\b[^>]*>.*?</tr>", table, re.S | re.I)
    if not rows:
        return table
    head_end = table.lower().find("</thead>")
    cells = [list(_CELL_RE.finditer(r)) for r in rows]
    ncols = max(len(c) for c in cells)
    names = [""] * ncols
    for row, cs in zip(rows, cells):
        in_head = head_end >= 0 and table.find(row) < head_end
        if in_head and len(cs) == ncols:
            for j, m in enumerate(cs):
                text = re.sub(r"<[^>]+>", "", m.group(3)).strip()
                if text:
                    names[j] = text

    def fix_row(row: str, in_head: bool) -> str:
        cs = list(_CELL_RE.finditer(row))
        if len(cs) != ncols and not in_head:
            return row
        out, pos = [], 0
        for j, m in enumerate(cs):
            content = m.group(3)
            if in_head or m.group(2).lower() == "h":
                if "<" not in content:  # let long snake_case headers break after "_"
                    content = re.sub(r"_(?=\w)", "_<wbr>", content)
            elif "<" not in content:
                new = _format_cell(names[j], content) if numbers else content
                if new != content:
                    content = html_escape(new)
            out.append(row[pos:m.start()] + m.group(1) + content + m.group(4))
            pos = m.end()
        out.append(row[pos:])
        return "".join(out)

    out, pos = [], 0
    for row in rows:
        i = table.find(row, pos)
        in_head = head_end >= 0 and i < head_end
        out.append(table[pos:i] + fix_row(row, in_head))
        pos = i + len(row)
    out.append(table[pos:])
    new = "".join(out)
    if ncols > SPLIT_COLUMNS:
        parts = _split_columns(new, ncols)
        if parts:
            return "".join(f'<div class="report-wide report-split">{p}</div>' for p in parts)
    if ncols > WIDE_COLUMNS:
        return f'<div class="report-wide">{new}</div>'
    return new


def _split_columns(table: str, ncols: int) -> list[str] | None:
    """A very wide table as several tables of at most :data:`SPLIT_COLUMNS` columns each, every
    part repeating the row labels (the index and the first column); None when its rows are not
    a plain grid (merged cells)."""
    rows = re.findall(r"<tr\b[^>]*>.*?</tr>", table, re.S | re.I)
    grid = [list(_CELL_RE.finditer(r)) for r in rows]
    if any(len(cs) != ncols for cs in grid):
        return None
    body = [cs for r, cs in zip(rows, grid) if table.find(r) > table.lower().find("</thead>")]
    lead = 0
    while lead < ncols and body and all(cs[lead].group(2).lower() == "h" for cs in body):
        lead += 1
    keep = list(range(min(lead + 1, ncols)))  # the index cells and the first data column
    rest = [j for j in range(ncols) if j not in keep]
    width = max(SPLIT_COLUMNS - len(keep), 3)
    n_parts = -(-len(rest) // width)
    size = -(-len(rest) // n_parts)  # parts of even width
    start = re.match(r"\s*(<style.*?</style>\s*)?<table\b[^>]*>", table, re.S | re.I)
    opening = start.group(0) if start else "<table>"
    head_end = table.lower().find("</thead>")
    parts = []
    for k in range(n_parts):
        cols = keep + rest[k * size:(k + 1) * size]
        head, tbody = [], []
        for r, cs in zip(rows, grid):
            tr = re.match(r"<tr\b[^>]*>", r).group(0)
            cells = "".join(cs[j].group(0) for j in cols)
            (head if head_end >= 0 and table.find(r) < head_end else tbody).append(f"{tr}{cells}</tr>")
        label = f'<p class="report-part">columns {k + 1} of {n_parts}</p>' if n_parts > 1 else ""
        parts.append(f"{label}{opening}<thead>{''.join(head)}</thead><tbody>{''.join(tbody)}</tbody></table>")
    return parts


def tidy_tables(html: str, *, numbers: bool = True) -> str:
    """Make the HTML tables of an output fit a page: numbers formatted by their column's kind
    (p-values, percent, seconds, dollars, counts with separators), long ``snake_case`` headers
    allowed to break, wide tables set in small type (``report-wide``) and very wide ones split
    into parts of at most :data:`SPLIT_COLUMNS` columns that repeat the row labels. Only the
    markup and plain numbers change: cell text is kept as it is (it is already escaped by
    whoever wrote the table). ``numbers=False`` keeps the numbers as they are (the full
    notebook's PDF).

    Examples
    --------
    >>> t = ("<table><thead><tr><th></th><th>p_value</th><th>share</th><th>fit_seconds</th></tr></thead>"
    ...      "<tbody><tr><th>0</th><td>2.2e-08</td><td>0.4975</td><td>9.696e-01</td></tr></tbody></table>")
    >>> print(tidy_tables(t))  # doctest: +NORMALIZE_WHITESPACE
    <table><thead><tr><th></th><th>p_<wbr>value</th><th>share</th><th>fit_<wbr>seconds</th></tr></thead><tbody><tr><th>0</th><td>&lt; 0.001</td><td>49.8 %</td><td>0.97 s</td></tr></tbody></table>
    """
    return _TABLE_RE.sub(lambda m: _tidy_table(m.group(0), numbers), html)


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

    import nbformat

    from toolkit.findings import Findings, read_findings
    from toolkit.notebook import SIDECAR_NAME

    notebook = Path(notebook)
    nb = _defused(notebook)
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
    from nbconvert import HTMLExporter

    from toolkit._files import atomic_write_bytes, atomic_write_text

    notebook = Path(notebook)
    default_html, default_pdf = report_paths(notebook)
    nb = report_notebook(notebook)
    kw = _exporter_kwargs(no_input=True)
    body, _ = HTMLExporter(**kw).from_notebook_node(nb)
    # the print style first, the report's after it (the PDF step then adds nothing)
    body = body.replace("</head>", PRINT_CSS + "\n" + REPORT_CSS + "\n</head>", 1)
    written: dict = {"html": None, "pdf": None}
    if html:
        written["html"] = atomic_write_text(Path(html_out) if html_out else default_html, body)
    if pdf:
        pkw = {k: v for k, v in kw.items() if k == "mathjax_url"}
        if executable_path is not None:
            pkw["executable_path"] = executable_path
        exporter = ChromiumPDFExporter(prefer_css_page_size=True, **pkw)
        exporter._check_browser()
        data = exporter.run_playwright(body)
        written["pdf"] = atomic_write_bytes(Path(pdf_out) if pdf_out else default_pdf, data)
    return written
