"""The figures-only PDF (matplotlib ``PdfPages``, no browser): a title page with the sidecar's
headline results and parameters, then one page per figure PNG.

Examples
--------
>>> _headline({"a": 1.23456, "b": {"c": "x"}})
[('a', '1.235'), ('b.c', 'x')]
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["figures_pdf"]


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

