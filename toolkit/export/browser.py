"""The system Chromium behind the PDF exports, and offline MathJax.

:class:`ChromiumPDFExporter` is nbconvert's ``WebPDFExporter`` with its ``executable_path`` trait
(default ``$CHROMIUM_PATH``, else ``chromium`` on ``PATH``) handed to Playwright, which otherwise
looks for a browser of its own that cannot be downloaded offline. It is registered as the
``nbconvert.exporters`` entry point ``chromiumpdf`` (``toolkit.export:ChromiumPDFExporter``).
When Debian's ``libjs-mathjax`` is installed, exports load MathJax from ``file://``
(:func:`offline_mathjax_url`) instead of a CDN.

Examples
--------
>>> BrowserNotFoundError().fallback is None
True
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import tempfile
from pathlib import Path

from nbconvert.exporters.webpdf import WebPDFExporter
from traitlets import Bool, Unicode, default

__all__ = ["ChromiumPDFExporter", "BrowserNotFoundError", "find_browser", "offline_mathjax_url",
           "BROWSER_HELP", "PRINT_CSS", "LOCAL_MATHJAX"]

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
        executable = self._check_browser()  # also says how to install playwright when it is missing
        from playwright.async_api import async_playwright

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
