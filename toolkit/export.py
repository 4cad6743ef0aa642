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
import shutil
import tempfile
from pathlib import Path

from nbconvert.exporters.webpdf import WebPDFExporter
from traitlets import Unicode, default

__all__ = [
    "ChromiumPDFExporter",
    "BrowserNotFoundError",
    "find_browser",
    "offline_mathjax_url",
    "export",
    "export_html",
    "export_pdf",
    "figures_pdf",
    "BROWSER_HELP",
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


#: Print style added to the page before rendering: wrap long code and output lines instead of
#: clipping them at the page edge.
PRINT_CSS = """<style type="text/css">
@media print {
  .jp-InputArea-editor pre, .jp-OutputArea-output pre, .highlight pre {
    white-space: pre-wrap !important; overflow-wrap: anywhere;
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
                    params = {"print_background": True}
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

        if "</head>" in html:
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
    pdf, _ = exporter.from_notebook_node(_defused(notebook))
    return atomic_write_bytes(target, pdf)


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
