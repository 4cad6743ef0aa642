"""Committed notebooks stay clean: the nbclean git filter strips what JupyterLab saves."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from toolkit.nbclean import clean_text, install_filter

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _executed_like_jupyterlab(text: str) -> str:
    """The notebook as JupyterLab saves it after a run: outputs, counts, timing metadata."""
    nb = nbformat.reads(text, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
            cell.metadata["execution"] = {"iopub.status.busy": "2026-12-07T04:00:00Z"}
            cell.metadata["scrolled"] = True
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.9", "mimetype": "text/x-python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nbformat.writes(nb) + "\n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebooks_are_what_the_filter_writes(path):
    """Otherwise git would show a notebook as modified as soon as it is saved unchanged."""
    text = path.read_text(encoding="utf-8")
    if json.loads(text)["cells"] and any(c.get("outputs") for c in json.loads(text)["cells"]):
        pytest.skip("working copy has outputs (see test_packaging for how to restore it)")
    rel = path.relative_to(ROOT).as_posix()
    assert clean_text(text) == text, (
        f"{rel} is not in the form the nbclean filter writes; normalise it with "
        f"`python -m toolkit.nbclean {rel}` and commit")
    assert clean_text(_executed_like_jupyterlab(text)) == text


def test_gitattributes_names_the_filter_for_the_notebooks():
    attrs = (ROOT / ".gitattributes").read_text()
    assert "notebooks/*.ipynb filter=nbclean" in attrs


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_outputs_saved_without_the_hook_never_reach_git(tmp_path, monkeypatch):
    """A clone with the filter: a notebook saved with outputs (an editor without the Jupyter
    hook) shows no diff, and adding it stages nothing."""
    repo = tmp_path / "clone"
    (repo / "notebooks").mkdir(parents=True)
    src = NOTEBOOKS[0].read_text(encoding="utf-8")
    nb = repo / "notebooks" / NOTEBOOKS[0].name
    nb.write_text(clean_text(src), encoding="utf-8")
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True, timeout=60).stdout

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the filter imports this checkout's toolkit
    command = install_filter(repo)
    assert "toolkit.nbclean" in command and sys.executable in command
    git("add", "-A")
    git("commit", "-qm", "clean notebooks")
    nb.write_text(_executed_like_jupyterlab(src), encoding="utf-8")  # an editor's autosave
    assert git("diff", "--stat") == ""
    git("add", "-A")
    assert git("status", "--porcelain") == ""
    assert "ran" in nb.read_text()  # the working copy keeps its outputs to look at
    committed = git("show", f"HEAD:notebooks/{nb.name}")
    assert '"outputs": []' in committed and "ran\\n" not in committed


def test_jupyter_pre_save_hook_strips_only_the_repository_notebooks(tmp_path):
    """JupyterLab's save goes through the hook: the file on disk stays as committed."""
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from traitlets.config import Config

    from toolkit.nbclean import install_jupyter_hook

    config_file = install_jupyter_hook(tmp_path / "prefix")
    conf = json.loads(config_file.read_text())
    repo = tmp_path / "clone"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "other").mkdir()
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    cm = FileContentsManager(root_dir=str(repo), config=Config(conf))
    src = NOTEBOOKS[0].read_text(encoding="utf-8")
    run = nbformat.reads(_executed_like_jupyterlab(src), as_version=4)
    for where in ("notebooks/x.ipynb", "other/x.ipynb"):
        cm.save({"type": "notebook", "format": "json", "content": run}, where)
    assert (repo / "notebooks" / "x.ipynb").read_text() == clean_text(src)  # as committed
    assert "ran" in (repo / "other" / "x.ipynb").read_text()  # not ours: saved as it is
