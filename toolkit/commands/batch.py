"""``toolkit batch CONFIG.yaml [--workers N] [--resume]``: notebooks x parameter grids.

Without a config, a grid from the command line:
``toolkit batch -n notebooks/02_ab_testing.ipynb -g alpha 0.05 0.01 -g correction holm bh``.
"""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import int_range

    p = subparsers.add_parser(
        "batch",
        help="run notebooks x parameter grids from a YAML config, in parallel, with a summary",
        description="Run a batch of notebooks x parameter sets (YAML config: see "
        "batches/example.yaml) with papermill, in parallel: one folder per run, summary.csv/"
        ".parquet joining every run's sidecar, index.html linking every HTML and PDF, and "
        "batch_log.jsonl. Invalid parameters stop the batch before anything runs (exit 2); "
        "failed runs are reported and the exit code is 1.",
    )
    p.add_argument("config", nargs="?", default=None, help="batch config (YAML)")
    p.add_argument("-n", "--notebook", action="append", default=[], metavar="NOTEBOOK",
                   help="without a config: a notebook (or glob) to run; repeatable")
    p.add_argument("-g", "--grid", nargs="+", action="append", default=[], metavar="NAME VALUE",
                   help="without a config: a parameter and its values (-g alpha 0.05 0.01); "
                   "several -g expand to their product")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="without a config: a parameter fixed for every run")
    p.add_argument("--workers", type=int_range("--workers", 1, 256), default=None, help="parallel runs (default: config, else the cores)")
    p.add_argument("--resume", action="store_true", help="skip finished runs; redo only failed or missing ones")
    p.add_argument("--out", default=None, help="output folder (default: the config's 'out', else reports/)")
    p.add_argument("--executor", choices=["thread", "process", "dask"], default=None,
                   help="run papermill in threads (default), processes, or as tasks on Dask workers")
    p.add_argument("--scheduler", default=None,
                   help="with --executor dask: address of a running scheduler (default: a local "
                   "cluster of --workers processes)")
    p.add_argument("--no-html", action="store_true", help="skip HTML exports")
    p.add_argument("--no-pdf", action="store_true", help="skip PDF exports")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the run records as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.batch import format_report, run_batch
    from toolkit.cli import print_json
    from toolkit.errors import UsageError

    if args.config and (args.notebook or args.grid or args.parameter):
        raise UsageError("give either a batch config or --notebook/--grid/--parameter, not both")
    if args.config:
        config = args.config
    else:
        from toolkit.batch import grid_config

        config = grid_config(args.notebook, args.grid, args.parameter)
    res = run_batch(
        config, out=args.out, workers=args.workers, resume=args.resume, executor=args.executor,
        progress=not args.no_progress and not args.json,
        html=False if args.no_html else None, pdf=False if args.no_pdf else None,
        scheduler=args.scheduler,
    )
    if args.json:
        print_json({"out_dir": res.out_dir, "counts": res.counts, "runs": res.records})
    else:
        print(format_report(res))
    return res.exit_code
