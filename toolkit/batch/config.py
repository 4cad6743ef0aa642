"""Batch configs: parse and check a YAML config or a command-line grid, expand it into run specs.

Relative paths in a config resolve against the config file's folder; every run's parameters are
checked against its notebook before anything runs (:func:`expand_runs`).
"""

from __future__ import annotations

import dataclasses
import glob
import itertools
import os
from pathlib import Path

from toolkit.errors import UsageError
from toolkit.runner.parameters import ParameterError, _canonical, check_parameters, inspect_parameters, run_name

__all__ = ["BatchConfig", "load_config", "expand_runs", "grid_config"]

_TOP_KEYS = {"out", "workers", "timeout", "export", "parameters", "notebooks", "name", "kernel", "executor"}
_ENTRY_KEYS = {"notebook", "parameters", "grid", "runs"}
_EXPORT_KEYS = {"html", "pdf", "no_input", "report"}


@dataclasses.dataclass
class BatchConfig:
    """A parsed batch: where to write, how to run, and the notebook entries.

    Attributes
    ----------
    base_dir : Path
        Folder relative paths resolve against (the config file's folder).
    out : Path or None
    workers : int or None
    timeout : float or None
    html, pdf, no_input : bool
    report : bool
        Also write each run's stakeholder report (``<stem>_report.html`` / ``.pdf``).
    parameters : dict
        Defaults for every run.
    entries : list of dict
        Each with ``notebook`` (a resolved Path), ``parameters``, ``grid`` (list of dicts of
        lists) and ``runs`` (list of dicts).
    name : str
    executor : str
        ``"thread"`` or ``"process"``.
    from_cli : bool
        Parameter values are command-line strings, converted to the declared types.

    Examples
    --------
    >>> cfg = BatchConfig.from_dict({"notebooks": ["notebooks/*.ipynb"]}, base_dir=".")  # doctest: +SKIP
    >>> cfg.entries[0]["notebook"].name                                              # doctest: +SKIP
    '00_overview.ipynb'
    """

    base_dir: Path
    entries: list
    out: Path | None = None
    workers: int | None = None
    timeout: float | None = None
    html: bool = True
    pdf: bool = True
    no_input: bool = False
    report: bool = True
    parameters: dict = dataclasses.field(default_factory=dict)
    name: str = "batch"
    kernel: str = "python3"
    executor: str = "thread"
    from_cli: bool = False

    @classmethod
    def from_dict(cls, doc: dict, base_dir: str | os.PathLike = ".", source: str = "config") -> "BatchConfig":
        """Validate a config mapping (as loaded from YAML) and resolve its paths."""
        base = Path(base_dir).resolve()
        if not isinstance(doc, dict):
            raise UsageError(f"{source}: expected a mapping with a 'notebooks' list, got {type(doc).__name__}")
        unknown = set(doc) - _TOP_KEYS
        if unknown:
            raise UsageError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
        notebooks = doc.get("notebooks")
        if not isinstance(notebooks, list) or not notebooks:
            raise UsageError(f"{source}: 'notebooks' must be a non-empty list of entries")
        export = doc.get("export") or {}
        if not isinstance(export, dict) or set(export) - _EXPORT_KEYS:
            raise UsageError(f"{source}: 'export' must be a mapping with keys {sorted(_EXPORT_KEYS)}")
        defaults = doc.get("parameters") or {}
        if not isinstance(defaults, dict):
            raise UsageError(f"{source}: 'parameters' must be a mapping of name to value")
        executor = doc.get("executor", "thread")
        if executor not in ("thread", "process", "dask"):
            raise UsageError(f"{source}: 'executor' must be 'thread', 'process' or 'dask', got {executor!r}")
        entries = []
        for i, item in enumerate(notebooks):
            entries += _parse_entry(item, f"{source}: notebooks[{i}]", base)
        out = doc.get("out")
        workers = doc.get("workers")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256):
            raise UsageError(f"{source}: 'workers' must be a whole number from 1 to 256, got {workers!r}")
        return cls(
            base_dir=base,
            entries=entries,
            out=(base / out).resolve() if out else None,
            workers=workers,
            timeout=doc.get("timeout"),
            html=bool(export.get("html", True)),
            pdf=bool(export.get("pdf", True)),
            no_input=bool(export.get("no_input", False)),
            report=bool(export.get("report", True)),
            parameters=dict(defaults),
            name=str(doc.get("name") or "batch"),
            kernel=str(doc.get("kernel") or "python3"),
            executor=executor,
        )


def _parse_entry(item, where: str, base: Path) -> list[dict]:
    """One ``notebooks`` entry checked: one dict per notebook it names (a glob may name several)."""
    if isinstance(item, str):
        item = {"notebook": item}
    if not isinstance(item, dict) or "notebook" not in item:
        raise UsageError(f"{where}: expected a mapping with a 'notebook' path")
    bad = set(item) - _ENTRY_KEYS
    if bad:
        raise UsageError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {sorted(_ENTRY_KEYS)}")
    params = item.get("parameters") or {}
    if not isinstance(params, dict):
        raise UsageError(f"{where}: 'parameters' must be a mapping")
    grid = item.get("grid") or []
    grids = grid if isinstance(grid, list) else [grid]
    for g in grids:
        if not isinstance(g, dict) or not g:
            raise UsageError(f"{where}: 'grid' must be a mapping of name to a list of values")
        for k, v in g.items():
            if isinstance(v, list) and not v:
                raise UsageError(f"{where}: grid '{k}' is an empty list (no runs)")
    runs = item.get("runs") or []
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise UsageError(f"{where}: 'runs' must be a list of parameter mappings")
    return [{"notebook": path.resolve(), "parameters": dict(params),
             "grid": [dict(g) for g in grids], "runs": [dict(r) for r in runs]}
            for path in _notebook_paths(str(item["notebook"]), where, base)]


def _notebook_paths(pattern: str, where: str, base: Path) -> list[Path]:
    """The notebooks a path or glob names (relative to ``base``); none found is an error."""
    full = pattern if os.path.isabs(pattern) else str(base / pattern)
    if glob.has_magic(pattern):
        paths = sorted(Path(p) for p in glob.glob(full) if p.endswith(".ipynb"))
        if not paths:
            raise UsageError(f"{where}: no notebook matches {pattern!r} (relative to {base})")
    else:
        paths = [Path(full)]
        if not paths[0].is_file():
            raise UsageError(f"{where}: notebook not found: {pattern} (relative to {base})")
    return paths


def load_config(path: str | os.PathLike) -> BatchConfig:
    """Read and validate a batch config YAML file.

    Examples
    --------
    >>> cfg = load_config("batches/example.yaml")  # doctest: +SKIP
    >>> len(expand_runs(cfg))                       # doctest: +SKIP
    8
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"batch config not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid YAML: {exc}") from exc
    cfg = BatchConfig.from_dict(doc, base_dir=path.parent, source=str(path))
    if doc and "name" not in doc:
        cfg.name = path.stem
    return cfg


def grid_config(
    notebooks: list[str],
    grid: list[list[str]] | None = None,
    parameters: list[list[str]] | None = None,
    *,
    base_dir: str | os.PathLike = ".",
) -> BatchConfig:
    """A batch from the command line: notebooks x a grid of string values.

    Parameters
    ----------
    notebooks : list of str
        Notebook paths or globs.
    grid : list of [name, value, value, ...]
        Each name with its values; the lists expand to their product.
    parameters : list of [name, value]
        Fixed parameters of every run.
    base_dir : path
        Folder relative paths resolve against (the current one).

    Returns
    -------
    BatchConfig
        With ``from_cli=True``: values are converted to each notebook's declared types.

    Examples
    --------
    >>> cfg = grid_config(["notebooks/02_ab_testing.ipynb"], [["alpha", "0.05", "0.01"]])  # doctest: +SKIP
    >>> [r["parameters"] for r in expand_runs(cfg, "reports")]                              # doctest: +SKIP
    [{'alpha': 0.05}, {'alpha': 0.01}]
    """
    g: dict = {}
    for item in grid or []:
        if len(item) < 2:
            raise UsageError(f"--grid needs a name and at least one value, got {item}")
        if item[0] in g:
            raise UsageError(f"--grid {item[0]!r} given twice")
        g[item[0]] = list(item[1:])
    fixed: dict = {}
    for name, value in parameters or []:
        if name in fixed or name in g:
            raise UsageError(f"parameter {name!r} given twice")
        fixed[name] = value
    if not notebooks:
        raise UsageError("give a batch config, or --notebook NOTEBOOK (repeatable) with --grid")
    entries = [{"notebook": nb, **({"grid": g} if g else {})} for nb in notebooks]
    cfg = BatchConfig.from_dict({"name": "grid", "parameters": fixed, "notebooks": entries},
                                base_dir=base_dir, source="command line")
    cfg.from_cli = True
    return cfg


#: the most runs a batch may expand to; ``TOOLKIT_MAX_RUNS=N`` changes it
MAX_RUNS = 1000


def check_run_count(config: BatchConfig) -> int:
    """The number of runs ``config`` expands to, counted without expanding; a UsageError above
    the limit (``MAX_RUNS``, or ``TOOLKIT_MAX_RUNS`` from the environment).

    Examples
    --------
    >>> cfg = BatchConfig.from_dict({"notebooks": [{"notebook": "nb.ipynb",
    ...     "grid": {"n": [1, 2], "s": ["a", "b"]}}]})           # doctest: +SKIP
    >>> check_run_count(cfg)                                    # doctest: +SKIP
    4
    """
    import math

    total = 0
    for entry in config.entries:
        n = sum(math.prod(len(v) if isinstance(v, list) else 1 for v in g.values()) for g in entry["grid"])
        total += max(n + len(entry["runs"]), 1)
    raw = os.environ.get("TOOLKIT_MAX_RUNS", "").strip()
    try:
        limit = int(raw) if raw else MAX_RUNS
    except ValueError:
        raise UsageError(f"TOOLKIT_MAX_RUNS must be a whole number, got {raw!r}") from None
    if total > limit:
        raise UsageError(
            f"the batch expands to {total:,} runs, more than the limit of {limit:,}; use fewer grid "
            "values or split the batch (or set TOOLKIT_MAX_RUNS=N to raise the limit)"
        )
    return total


def _product(grid: dict) -> list[dict]:
    keys = list(grid)
    values = [v if isinstance(v, list) else [v] for v in grid.values()]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def expand_runs(config: BatchConfig, out: str | os.PathLike | None = None) -> list[dict]:
    """Expand a config into run specs (for :func:`toolkit.runner.execute_run`), checking all.

    Every parameter set is checked against its notebook before anything runs; all problems are
    reported together.

    Returns
    -------
    list of dict
        Run specs with ``name``, ``notebook``, ``out_dir``, ``parameters`` and run options.

    Raises
    ------
    ParameterError
        Unknown or mistyped parameters, listing each run's problems and valid parameters.
    UsageError
        Two identical runs.

    Examples
    --------
    >>> cfg = BatchConfig.from_dict({"notebooks": [{"notebook": "nb.ipynb",
    ...     "grid": {"n": [1, 2], "s": ["a", "b"]}}]})           # doctest: +SKIP
    >>> [r["name"] for r in expand_runs(cfg, "out")]            # doctest: +SKIP
    ['nb__n=1__s=a', 'nb__n=1__s=b', 'nb__n=2__s=a', 'nb__n=2__s=b']
    """
    check_run_count(config)
    out_dir = Path(out).resolve() if out is not None else (config.out or Path("reports").resolve())
    specs_cache: dict[Path, dict] = {}
    runs, problems = [], []
    valid: dict[str, str] = {}
    for entry in config.entries:
        nb = entry["notebook"]
        if nb not in specs_cache:
            specs_cache[nb] = inspect_parameters(nb)
        specs = specs_cache[nb]
        sets = [s for g in entry["grid"] for s in _product(g)] + entry["runs"]
        if not sets:
            sets = [{}]
        for varying in sets:
            named = {**entry["parameters"], **varying}
            params = {**config.parameters, **named}
            try:
                params = check_parameters(nb, params, specs=specs, from_cli=config.from_cli,
                                          base_dir=config.base_dir)
            except ParameterError as exc:
                problems.append(f"{nb.name} {_canonical(named)}: " + "; ".join(exc.problems))
                valid.setdefault(nb.name, exc.valid)
                continue
            runs.append({
                "name": run_name(nb, {k: params[k] for k in named}),
                "notebook": str(nb),
                "parameters": params,
                "set_output_dir": "output_dir" in specs,
                "html": config.html,
                "pdf": config.pdf,
                "report": config.report,
                "no_input": config.no_input,
                "kernel_name": config.kernel,
                "timeout": config.timeout,
                "cwd": str(config.base_dir),
            })
    if problems:
        listing = "".join(f"\nValid parameters of {name}:\n{text}" for name, text in valid.items())
        raise ParameterError("invalid batch, nothing was run:\n  " + "\n  ".join(problems) + listing,
                             problems=problems, valid=listing)
    _disambiguate(runs)
    for r in runs:
        r["out_dir"] = str(out_dir / r["name"])
    return runs


def _disambiguate(runs: list[dict]) -> None:
    """Identical runs are an error; different runs with the same name get a hash suffix."""
    import hashlib

    seen: dict[str, list[dict]] = {}
    for r in runs:
        seen.setdefault(r["name"], []).append(r)
    for name, group in seen.items():
        if len(group) < 2:
            continue
        keys = [_canonical([g["notebook"], g["parameters"]]) for g in group]
        if len(set(keys)) < len(keys):
            raise UsageError(f"the batch lists the same run twice: {name} ({group[0]['parameters']})")
        for g, key in zip(group, keys):
            g["name"] = f"{name}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"
