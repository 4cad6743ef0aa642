"""Export notebooks to HTML and PDF, offline.

* **HTML** through nbconvert's ``HTMLExporter`` (the ``lab`` template).
* **PDF** through nbconvert's ``webpdf`` path, with a *system* Chromium
  (:class:`ChromiumPDFExporter`, see :mod:`toolkit.export.browser`), so ``jupyter nbconvert --to
  chromiumpdf nb.ipynb`` and JupyterLab's *File > Save and Export Notebook As* menu ("PDF via
  Chromium") use it too.
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

Modules
-------
``browser`` (the Chromium exporter, MathJax offline), ``html_pdf`` (:func:`export_html`,
:func:`export_pdf`, :func:`export`), ``figures`` (:func:`figures_pdf`), ``tables``
(:func:`tidy_tables`), ``stakeholder`` (:func:`report_notebook`, :func:`export_report`).
"""

from __future__ import annotations

from toolkit.export.browser import BROWSER_HELP, BrowserNotFoundError, ChromiumPDFExporter, find_browser, offline_mathjax_url
from toolkit.export.figures import figures_pdf
from toolkit.export.html_pdf import export, export_html, export_pdf
from toolkit.export.stakeholder import REPORT_CSS, export_report, report_notebook, report_paths
from toolkit.export.tables import tidy_tables

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
