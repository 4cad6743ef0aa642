"""The demo: every notebook in ``notebooks/`` on the bundled sample, run as one batch.

``toolkit demo`` is the main job: it executes each analysis notebook with its default parameters
(the bundled sample log), in parallel, and writes for each one its executed notebook, figures
(PNG and SVG), sidecar, its stakeholder report (``<name>_report.pdf`` and ``.html``: no code, a
title page and the findings first; :func:`toolkit.export.export_report`) and the full notebook as
HTML and PDF, plus the batch's ``index.html`` (every notebook's key findings, with links to both)
and summary table.

Examples
--------
>>> from toolkit.demo import run_demo
>>> res = run_demo("reports", workers=2)  # doctest: +SKIP
>>> res.index_html                         # doctest: +SKIP
PosixPath('/work/main/reports/index.html')
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from toolkit.errors import UsageError

__all__ = ["find_notebooks_dir", "missing_requirements", "demo_config", "run_demo"]


def find_notebooks_dir(notebooks: str | os.PathLike | None = None) -> Path:
    """The folder of analysis notebooks: ``notebooks`` if given, else ``./notebooks``, else the
    ``notebooks/`` folder next to the installed package (a source checkout).

    Examples
    --------
    >>> find_notebooks_dir().name  # doctest: +SKIP
    'notebooks'
    """
    if notebooks is not None:
        path = Path(notebooks)
        if not path.is_dir():
            raise UsageError(f"notebooks folder not found: {path}")
        return path.resolve()
    for candidate in (Path.cwd() / "notebooks", Path(__file__).resolve().parents[1] / "notebooks"):
        if candidate.is_dir() and any(candidate.glob("*.ipynb")):
            return candidate.resolve()
    raise UsageError(
        "no notebooks/ folder with .ipynb files found (looked in the current folder and next to "
        "the toolkit package); pass --notebooks DIR"
    )


CELL_TIMEOUT_S = 600


def missing_requirements(notebook: str | os.PathLike) -> str | None:
    """Why ``notebook`` cannot run here, or None: the modules that its metadata
    ``toolkit.requires`` names and that are not installed, with the extra that brings them.

    Examples
    --------
    >>> import json
    >>> nb = Path(getfixture("tmp_path")) / "x.ipynb"
    >>> _ = nb.write_text(json.dumps({"metadata": {"toolkit": {"requires": ["no_such_mod"], "extra": "dask"}}}))
    >>> missing_requirements(nb)
    "needs no_such_mod: pip install 'chatbot-toolkit[dask]'"
    """
    import importlib.util
    import json

    meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {}).get("toolkit", {})
    missing = [m for m in meta.get("requires", []) if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    extra = meta.get("extra")
    how = f": pip install 'chatbot-toolkit[{extra}]'" if extra else ""
    return f"needs {', '.join(missing)}{how}"


def demo_config(notebooks: str | os.PathLike | None = None, *, pdf: bool = True):
    """A :class:`toolkit.batch.BatchConfig` running every ``*.ipynb`` with default parameters.

    Examples
    --------
    >>> cfg = demo_config()                            # doctest: +SKIP
    >>> [e["notebook"].name for e in cfg.entries][:1]  # doctest: +SKIP
    ['00_overview.ipynb']
    """
    from toolkit.batch import BatchConfig

    folder = find_notebooks_dir(notebooks)
    paths = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise UsageError(f"no notebooks in {folder}")
    skipped = {p: why for p in paths if (why := missing_requirements(p))}
    for path, why in skipped.items():
        print(f"demo: skipping {path.name}: {why}", file=sys.stderr)
    paths = [p for p in paths if p not in skipped]
    return BatchConfig.from_dict(
        # a cell on the bundled sample takes seconds: a stuck kernel fails its run, not the demo
        {"name": "demo", "notebooks": [str(p) for p in paths], "export": {"pdf": pdf},
         "timeout": CELL_TIMEOUT_S},
        base_dir=folder.parent,
        source="demo",
    )


def run_demo(
    out: str | os.PathLike = "reports",
    *,
    workers: int | None = None,
    notebooks: str | os.PathLike | None = None,
    resume: bool = False,
    pdf: bool = True,
    progress: bool = True,
):
    """Run every notebook on the bundled sample as a batch into ``out``; see :mod:`toolkit.batch`.

    Parameters
    ----------
    out : path
        Report folder (one sub-folder per notebook, ``index.html``, ``summary.csv``, ...).
    workers : int, optional
        Parallel notebooks; default the number of cores.
    notebooks : path, optional
        Folder of notebooks; default :func:`find_notebooks_dir`.
    resume : bool
        Skip notebooks that already finished in ``out``.
    pdf : bool
        Export PDFs (needs Chromium; figures-only PDFs without it).
    progress : bool
        Show a progress bar.

    Returns
    -------
    toolkit.batch.BatchResult

    Examples
    --------
    >>> run_demo("reports").exit_code  # doctest: +SKIP
    0
    """
    from toolkit.batch import run_batch

    cfg = demo_config(notebooks, pdf=pdf)
    return run_batch(cfg, out=out, workers=workers, resume=resume, progress=progress)
