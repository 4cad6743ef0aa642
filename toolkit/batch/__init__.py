"""Papermill batches: notebooks x parameter grids, in parallel, with a summary and an index.

A batch config (YAML)::

    out: ../reports/example            # output folder (relative to this file); --out overrides
    workers: 2                         # optional; default: the number of cores
    timeout: 600                       # optional: seconds allowed per cell
    export: {html: true, pdf: true, no_input: false}
    parameters: {data_path: ""}        # defaults for every run (optional)
    notebooks:
      - notebook: ../notebooks/02_ab_testing.ipynb
        parameters: {alpha: 0.05}      # fixed for this entry
        grid:                          # lists expand to their product: 2 x 3 = 6 runs
          variant: [A, B]
          week: [1, 2, 3]
        runs:                          # explicit extra parameter sets
          - {alpha: 0.01}
      - notebook: ../notebooks/*.ipynb # a glob: one entry per notebook, default parameters

Relative paths in a config (notebooks, ``out``, and the kernels' working folder, hence relative
``data_path`` values) are relative to the config file's folder.

Every run gets a folder ``<out>/<run name>/`` (see :func:`toolkit.runner.run_name`) holding the
executed notebook, figures, sidecar, HTML, PDF and ``run.json``. The batch writes, atomically:

* ``summary.csv`` and ``summary.parquet``: one row per run: status, error (with the failing
  cell), timings, ``param.<name>`` columns, and the sidecar's ``results`` flattened into columns;
* ``index.html``: links to every run's HTML, PDF, notebook and sidecar;
* ``batch_log.jsonl``: a structured log, one JSON object per line (``batch_start``, one ``run``
  event per run with start, end, duration, status, parameters and error, ``batch_end``).

A failing run does not stop the others; the batch reports it and :func:`run_batch` returns a
result whose ``exit_code`` is 1. ``resume=True`` skips runs whose ``run.json`` says they finished
with the same parameters, and redoes only the failed or missing ones.

Examples
--------
>>> from toolkit.batch import run_batch
>>> res = run_batch("batches/example.yaml", workers=2)  # doctest: +SKIP
>>> res.counts, res.exit_code                           # doctest: +SKIP
({'ok': 6, 'failed': 0, 'skipped': 0}, 0)

Modules
-------
``config`` (:class:`BatchConfig`, :func:`load_config`, :func:`grid_config`,
:func:`expand_runs`), ``execute`` (:func:`run_batch`) and ``summary`` (:class:`BatchResult`,
the summary table, the index page, :func:`format_report`). Every public name is importable from
``toolkit.batch``.
"""

from __future__ import annotations

from toolkit.batch.config import BatchConfig, expand_runs, grid_config, load_config
from toolkit.batch.execute import run_batch
from toolkit.batch.summary import (
    BATCH_LOG,
    INDEX_HTML,
    SUMMARY_CSV,
    SUMMARY_PARQUET,
    BatchResult,
    format_report,
    summary_frame,
    write_index,
    write_summary,
)

__all__ = [
    "BatchConfig",
    "BatchResult",
    "load_config",
    "expand_runs",
    "grid_config",
    "run_batch",
    "summary_frame",
    "write_summary",
    "write_index",
    "format_report",
    "SUMMARY_CSV",
    "SUMMARY_PARQUET",
    "INDEX_HTML",
    "BATCH_LOG",
]
