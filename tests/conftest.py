"""Shared fixtures: a small generated sample log, and a notebook runner (toolkit.runner)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="session")
def sample():
    """A small deterministic sample (14 days) with its truth: ``sample.log``, ``sample.truth``."""
    from toolkit.sample import generate_sample

    return generate_sample(seed=7, days=14)


@pytest.fixture(scope="session")
def sample_log(sample):
    """The small sample's ConversationLog."""
    return sample.log


@pytest.fixture(scope="session")
def bundled():
    """The bundled default sample (``data/sample``), loaded once per session."""
    from toolkit.sample import load_sample

    return load_sample()


@pytest.fixture(scope="module")
def client():
    """A real Dask LocalCluster of 2 worker processes (1 GB each) for one test module."""
    pytest.importorskip("distributed")
    from toolkit.dask_engine.client import dask_client

    with dask_client(workers=2, memory_limit="1GB", quiet=True) as c:
        yield c


@pytest.fixture(scope="module")
def small_log(sample_log):
    """The small sample's first five days (the Dask tests' log)."""
    return sample_log.select(end="2026-09-06")


class NotebookFailed(AssertionError):
    """A notebook run by the ``run_notebook`` fixture failed; the message has the error."""


@pytest.fixture
def run_notebook(tmp_path):
    """Run a notebook the way ``toolkit run`` does; return its parsed sidecar.

    ``run_notebook("01_quality", alpha=0.1)`` runs ``notebooks/01_quality.ipynb`` through
    :func:`toolkit.runner.run_notebook` (parameters checked against the notebook, ``output_dir``
    set to a fresh folder, 300 s per cell, no HTML or PDF). The returned dict also carries
    ``_output_dir`` and ``_executed`` (the executed notebook). A failed run raises
    :class:`NotebookFailed` with the error and the failing cell.
    """
    from toolkit.runner import error_text
    from toolkit.runner import run_notebook as run_nb

    def run(name: str | os.PathLike, **parameters):
        path = Path(name)
        if not path.suffix:
            path = NOTEBOOKS / f"{name}.ipynb"
        elif not path.is_absolute() and not path.exists():
            path = NOTEBOOKS / path
        out_dir = tmp_path / path.stem
        res = run_nb(path, parameters, out_dir, html=False, pdf=False, cwd=ROOT, timeout=300)
        if not res.ok:
            raise NotebookFailed(f"{path.name}: {error_text(res.error)}\n{(res.error or {}).get('message', '')}")
        sidecar = json.loads((out_dir / "sidecar.json").read_text(encoding="utf-8"))
        sidecar["_output_dir"] = str(out_dir)
        sidecar["_executed"] = str(out_dir / f"{path.stem}.ipynb")
        return sidecar

    return run
