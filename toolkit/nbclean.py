"""Keep committed notebooks clean: a git clean filter that strips outputs (an ``nbstripout``-style
filter written with nbformat).

Running a notebook in JupyterLab saves its outputs, execution counts and run metadata into the
``.ipynb``. Two guards, installed once per clone by::

    python -m toolkit.nbclean --install

* a **git clean filter** (``git config filter.nbclean.clean``; the repository's ``.gitattributes``
  applies it to ``notebooks/*.ipynb``): git stores notebooks without outputs, whatever the working
  copy holds, so nothing run-specific is ever committed and ``git diff`` stays empty;
* a **Jupyter server pre-save hook** (:func:`pre_save_hook`, enabled by a config file in
  ``<sys.prefix>/etc/jupyter/jupyter_server_config.d/``): JupyterLab saves the repository's
  ``notebooks/*.ipynb`` without outputs, so the file itself stays as committed and ``git status``
  stays clean (git lists a file whose size changed as modified even when the filter's output is
  unchanged). The outputs stay on screen until the notebook is closed; figures and the sidecar
  of an interactive run go to ``reports/interactive/<notebook>/``.

Other uses::

    python -m toolkit.nbclean notebooks/01_quality.ipynb   # strip outputs in place
    python -m toolkit.nbclean < in.ipynb > out.ipynb       # what git runs (stdin to stdout)

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1", execution_count=3)])
>>> nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"})]
>>> clean = clean_notebook(nb)
>>> clean.cells[0].outputs, clean.cells[0].execution_count
([], None)
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
from pathlib import Path

__all__ = ["clean_notebook", "clean_text", "install_filter", "install_jupyter_hook", "pre_save_hook",
           "main", "FILTER_NAME", "INSTALL_COMMAND", "JUPYTER_CONFIG_NAME"]

FILTER_NAME = "nbclean"
#: the command the README and the test failure messages give
INSTALL_COMMAND = "python -m toolkit.nbclean --install"

#: cell metadata worth keeping (tags drive papermill and the reports); the rest is run state
_CELL_KEYS = {"tags", "jupyter", "slideshow", "editable", "deletable", "raw_mimetype"}
#: notebook metadata worth keeping; ``language_info`` is reduced to its name
_NB_KEYS = {"kernelspec", "language_info", "toolkit", "title", "authors"}
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def clean_notebook(nb):
    """A copy of ``nb`` without outputs, execution counts and run metadata.

    Keeps the sources, cell ids, the cell tags (``parameters`` and the report tags) and the
    notebook's ``kernelspec`` (the standard Python 3 one is written the same way every time),
    ``language_info`` (its name only) and ``toolkit`` metadata.

    Parameters
    ----------
    nb : nbformat.NotebookNode

    Returns
    -------
    nbformat.NotebookNode

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(metadata={"widgets": {}, "language_info": {"name": "python",
    ...                                                                          "version": "3.11.9"}})
    >>> sorted(clean_notebook(nb).metadata), clean_notebook(nb).metadata.language_info
    (['language_info'], {'name': 'python'})
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k in _CELL_KEYS}
        if not meta.get("tags"):
            meta.pop("tags", None)
        cell["metadata"] = meta
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        if "attachments" in cell and not cell["attachments"]:
            del cell["attachments"]
    meta = {k: v for k, v in nb.metadata.items() if k in _NB_KEYS}
    if "language_info" in meta:
        meta["language_info"] = {"name": (meta["language_info"] or {}).get("name", "python")}
    if (meta.get("kernelspec") or {}).get("name") == "python3":
        meta["kernelspec"] = dict(_KERNELSPEC)
    nb.metadata = meta
    return nb


def clean_text(text: str) -> str:
    """Clean a notebook given as JSON text; text that is not a notebook comes back unchanged
    (a filter must never lose a file, e.g. one with merge conflict markers).

    Examples
    --------
    >>> clean_text("<<<<<<< HEAD") == "<<<<<<< HEAD"
    True
    """
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    except Exception:  # not JSON, not a notebook: pass it through
        return text
    return nbformat.writes(clean_notebook(nb)) + "\n"


def install_filter(repo: str | Path = ".") -> str:
    """Configure the ``nbclean`` git filter in the repository at ``repo`` (``git config``).

    The filter runs this interpreter (``sys.executable -m toolkit.nbclean``); the repository's
    ``.gitattributes`` applies it to ``notebooks/*.ipynb``.

    Returns
    -------
    str
        The clean command configured.

    Examples
    --------
    >>> install_filter("/path/to/clone")  # doctest: +SKIP
    '/usr/bin/python3 -m toolkit.nbclean'
    """
    command = f"'{sys.executable}' -m toolkit.nbclean"
    for key, value in ((f"filter.{FILTER_NAME}.clean", command),
                       (f"filter.{FILTER_NAME}.smudge", "cat")):
        subprocess.run(["git", "-C", str(repo), "config", key, value], check=True, timeout=30)
    return command


#: the Jupyter server config file that enables :func:`pre_save_hook`
JUPYTER_CONFIG_NAME = "toolkit-nbclean.json"


def _guarded(os_path: Path) -> bool:
    """A notebook in a ``notebooks/`` folder whose repository applies the nbclean filter."""
    if os_path.suffix != ".ipynb" or os_path.parent.name != "notebooks":
        return False
    attrs = os_path.parent.parent / ".gitattributes"
    try:
        return f"filter={FILTER_NAME}" in attrs.read_text(encoding="utf-8")
    except OSError:
        return False


def pre_save_hook(model, path, contents_manager=None, **kwargs):
    """Jupyter server pre-save hook: save this repository's notebooks without outputs.

    Applies to ``notebooks/*.ipynb`` of a repository whose ``.gitattributes`` names the
    ``nbclean`` filter; any other notebook is saved as it is.

    Examples
    --------
    >>> model = {"type": "notebook", "content": {"cells": [{"cell_type": "code", "source": "1",
    ...          "outputs": [{"output_type": "stream"}], "execution_count": 1, "metadata": {}}],
    ...          "metadata": {}}}
    >>> pre_save_hook(model, "elsewhere/x.ipynb", None)  # not a guarded notebook: unchanged
    >>> model["content"]["cells"][0]["execution_count"]
    1
    """
    if not isinstance(model, dict) or model.get("type") != "notebook" or not model.get("content"):
        return
    root = getattr(contents_manager, "root_dir", None) or "."
    if not _guarded(Path(root) / str(path).lstrip("/")):
        return
    import nbformat

    nb = clean_notebook(nbformat.from_dict(model["content"]))
    model["content"] = nb


def install_jupyter_hook(prefix: str | Path | None = None) -> Path:
    """Enable :func:`pre_save_hook` for Jupyter servers of this environment (a JSON config in
    ``<prefix>/etc/jupyter/jupyter_server_config.d/``; default prefix ``sys.prefix``).

    Examples
    --------
    >>> install_jupyter_hook(getfixture("tmp_path")).name
    'toolkit-nbclean.json'
    """
    import json

    from toolkit._files import atomic_write_text

    folder = Path(prefix or sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d"
    doc = {"FileContentsManager": {"pre_save_hook": "toolkit.nbclean.pre_save_hook"}}
    return atomic_write_text(folder / JUPYTER_CONFIG_NAME, json.dumps(doc, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    """``python -m toolkit.nbclean [--install] [NOTEBOOK ...]``; without arguments, stdin to stdout.

    Examples
    --------
    >>> main(["--help"])  # doctest: +SKIP
    """
    from toolkit._files import atomic_write_text

    parser = argparse.ArgumentParser(prog="python -m toolkit.nbclean", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to strip in place; none: stdin to stdout")
    parser.add_argument("--install", action="store_true",
                        help="configure the git filter in the current repository and the Jupyter "
                        "pre-save hook in this environment (once per clone)")
    args = parser.parse_args(argv)
    if args.install:
        command = install_filter(".")
        print(f"git filter '{FILTER_NAME}' installed: clean = {command}; .gitattributes applies it to "
              "notebooks/*.ipynb, so saved outputs never reach git", file=sys.stderr)
        hook = install_jupyter_hook()
        print(f"Jupyter pre-save hook enabled ({hook}): JupyterLab saves notebooks/*.ipynb without "
              "outputs; restart a running JupyterLab to pick it up", file=sys.stderr)
        return 0
    if not args.notebooks:
        sys.stdout.write(clean_text(sys.stdin.read()))
        return 0
    for name in args.notebooks:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        cleaned = clean_text(text)
        if cleaned != text:
            atomic_write_text(path, cleaned)
            print(f"stripped {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
