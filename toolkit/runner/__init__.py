"""Run one notebook with papermill into its own output folder, with checked parameters.

A run folder holds everything one execution produced::

    <run>/<notebook>.ipynb   the executed notebook (a failed run keeps its partial notebook,
                             with papermill's marker at the failing cell)
    <run>/figures/           PNG (300 dpi) and SVG figures written by the notebook
    <run>/sidecar.json       the notebook's headline results
    <run>/<notebook>.html    HTML export
    <run>/<notebook>.pdf     PDF export (figures-only when no browser is installed)
    <run>/run.json           the run record: parameters, status, timings, error; written last

``run.json`` is written atomically and last, so a folder without it (or with ``"status":
"failed"``) is not a finished run. The notebook's ``output_dir`` parameter is set to the run
folder; every other parameter is checked against the notebook's ``parameters`` cell first
(:func:`check_parameters`): unknown names and wrong types are rejected before anything runs, with
the list of valid parameters as ``papermill --help-notebook`` shows them.

Examples
--------
>>> from toolkit.runner import run_notebook
>>> res = run_notebook("notebooks/02_ab_testing.ipynb", {"alpha": 0.01}, "reports/ab")  # doctest: +SKIP
>>> res.status, res.files["pdf"]                                                       # doctest: +SKIP
('ok', 'reports/ab/02_ab_testing.pdf')

Modules
-------
``parameters`` (reading and checking a notebook's parameters, run names), ``kernel`` (the
kernel manager and client papermill uses) and ``run`` (:func:`run_notebook`,
:func:`execute_run`, :class:`RunResult`). Every public name is importable from ``toolkit.runner``.
"""

from __future__ import annotations

from toolkit.runner.kernel import POLL_SLICE_S
from toolkit.runner.parameters import (
    RESERVED_PARAMETERS,
    ParameterError,
    ParameterSpec,
    check_parameters,
    coerce_cli_value,
    format_parameters,
    inspect_parameters,
    run_name,
)
from toolkit.runner.run import (
    KERNEL_LOG,
    RUN_RECORD,
    RunResult,
    error_text,
    execute_run,
    read_run_record,
    run_notebook,
)

__all__ = [
    "ParameterSpec",
    "ParameterError",
    "RunResult",
    "error_text",
    "inspect_parameters",
    "check_parameters",
    "coerce_cli_value",
    "format_parameters",
    "run_name",
    "run_notebook",
    "execute_run",
    "read_run_record",
    "RUN_RECORD",
    "KERNEL_LOG",
    "RESERVED_PARAMETERS",
]
