"""pytest set-up for the docstring examples (``--doctest-modules`` runs them as tests).

Examples that write files call ``tempfile.mkdtemp()``, as a user would. While an example runs,
``tempfile`` creates its folders inside the test's own ``tmp_path``, which pytest cleans up, so
the examples leave nothing behind in the system's temporary folder.
"""

from __future__ import annotations

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _examples_write_under_tmp_path(request):
    if type(request.node).__name__ != "DoctestItem":
        yield
        return
    import multiprocessing.util

    # multiprocessing makes one temporary folder per process, on first use, for its sockets:
    # make it now, in the system's folder, not in this example's tmp_path
    multiprocessing.util.get_temp_dir()
    folder = str(request.getfixturevalue("tmp_path"))
    before, tempfile.tempdir = tempfile.tempdir, folder
    try:
        yield
    finally:
        tempfile.tempdir = before
