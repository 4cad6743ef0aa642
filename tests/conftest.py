"""Shared fixtures: a small generated sample log, and a papermill runner for notebooks."""

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


@pytest.fixture
def run_notebook(tmp_path):
    """Run a notebook with papermill into a temporary folder; return its parsed sidecar.

    ``run_notebook("01_quality", alpha=0.1)`` runs ``notebooks/01_quality.ipynb`` with
    ``output_dir`` set to a fresh folder. The executed notebook is kept there as
    ``executed.ipynb``; the returned dict also carries ``_output_dir``.
    """
    import papermill as pm

    def run(name: str | os.PathLike, **parameters):
        path = Path(name)
        if not path.suffix:
            path = NOTEBOOKS / f"{name}.ipynb"
        elif not path.is_absolute() and not path.exists():
            path = NOTEBOOKS / path
        out_dir = tmp_path / path.stem
        out_dir.mkdir(parents=True, exist_ok=True)
        parameters.setdefault("output_dir", str(out_dir))
        pm.execute_notebook(
            str(path),
            str(out_dir / "executed.ipynb"),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(ROOT),
            progress_bar=False,
        )
        sidecar = json.loads((Path(parameters["output_dir"]) / "sidecar.json").read_text(encoding="utf-8"))
        sidecar["_output_dir"] = str(parameters["output_dir"])
        return sidecar

    return run
