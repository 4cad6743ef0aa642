"""The full notebook as HTML (nbconvert's ``lab`` template) or PDF (a system Chromium).

Data-derived Markdown and HTML outputs are defused first (:func:`toolkit._escape.defuse_markdown`);
very wide tables are split for the PDF page. Without a browser, :func:`export_pdf` writes the
figures-only PDF (:func:`toolkit.export.figures_pdf`) and raises :class:`BrowserNotFoundError`.

Examples
--------
>>> _default_out(Path("runs/a.ipynb"), ".html", None).name
'a.html'
"""

from __future__ import annotations

from pathlib import Path

from toolkit.export.browser import BrowserNotFoundError, ChromiumPDFExporter, offline_mathjax_url
from toolkit.export.figures import figures_pdf
from toolkit.export.tables import tidy_tables

__all__ = ["export", "export_html", "export_pdf", "html_body"]


def _exporter_kwargs(no_input: bool) -> dict:
    kw = {}
    url = offline_mathjax_url()
    if url:
        kw["mathjax_url"] = url
    if no_input:
        kw.update(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    return kw


def html_body(nb, no_input: bool) -> str:
    """The notebook node ``nb`` as standalone HTML (nbconvert's ``lab`` template), offline.

    The template always loads require.js from cdnjs, which only ipywidgets' widget manager uses
    (and that loads from a CDN itself); without saved widget state the tag goes, so that opening
    the file reaches no network (math comes from :func:`offline_mathjax_url` when installed).

    Examples
    --------
    >>> import nbformat
    >>> html = html_body(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi")]), False)
    >>> "Hi" in html, "require" in html
    (True, False)
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(**_exporter_kwargs(no_input))
    body, _ = exporter.from_notebook_node(nb)
    if "widgets" not in nb.metadata:
        body = body.replace(f'<script src="{exporter.require_js_url}"></script>', "", 1)
    return body


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
    from toolkit._files import atomic_write_text

    notebook = Path(notebook)
    return atomic_write_text(_default_out(notebook, ".html", out), html_body(_defused(notebook), no_input))


def _defused(notebook: Path):
    """The notebook with every Markdown and HTML *output* defused (data in them cannot run script):
    a Markdown output is rendered to HTML here and cleaned like an HTML output.

    Outputs are built from data (a ``model`` named ``<script>...``); markdown cells are the
    notebook author's own text and stay as they are. See :func:`toolkit._escape.defuse_markdown`.
    """
    import nbformat

    from nbconvert.filters.markdown import markdown2html

    from toolkit._escape import defuse_html, defuse_markdown
    from toolkit._files import check_notebook

    nb = nbformat.read(str(check_notebook(notebook)), as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if "text/markdown" in data:
                md = data["text/markdown"]
                data["text/markdown"] = defuse_markdown("".join(md) if isinstance(md, list) else md)
                if "text/html" not in data:
                    # rendered here and cleaned as HTML: the renderer decodes entities in link
                    # targets ("&#106;avascript:"), which no Markdown-level rule can see
                    data["text/html"] = markdown2html(data["text/markdown"])
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

