"""Project conventions: one dependency list, lazy imports, notebooks without outputs, docs."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_installs_the_package_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    # conda provides only the interpreter and pip; everything else comes from pyproject.toml
    assert sorted(re.split(r"[=<>]", d)[0] for d in conda) == ["pip", "python"]
    python = next(d for d in conda if d.startswith("python"))
    assert python.split("=")[1] >= PYPROJECT["project"]["requires-python"].lstrip(">=")
    assert len(pip) == 1
    m = re.fullmatch(r"-e \.\[(.*)\]", pip[0])
    assert m, pip
    extras = set(m.group(1).split(","))
    assert extras <= set(PYPROJECT["project"]["optional-dependencies"])


def test_core_packages_are_declared():
    declared = {re.split(r"[<>=\[ ;]", d)[0].lower() for d in PYPROJECT["project"]["dependencies"]}
    for name in ["jupyterlab", "ipywidgets", "pandas", "matplotlib", "seaborn", "scikit-learn",
                 "nltk", "scipy", "statsmodels", "langsmith", "papermill"]:
        assert name in declared


def test_import_toolkit_is_light():
    code = "import sys, toolkit; print(sorted(m for m in ('pandas','numpy','sklearn','statsmodels','matplotlib','nltk','langsmith') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "toolkit", "--help"], capture_output=True, text=True, check=True)
    from toolkit import commands

    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    assert "validate" in names
    for name in names:
        assert name in out.stdout


def _public_modules():
    import toolkit

    for info in pkgutil.walk_packages(toolkit.__path__, prefix="toolkit."):
        if ".commands." in info.name or info.name.endswith(("__main__", ".conftest")):  # conftest: pytest's
            continue
        yield info.name


@pytest.mark.parametrize("name", sorted(_public_modules()))
def test_modules_define_all_and_document_public_functions(name):
    module = importlib.import_module(name)
    if name.count(".") >= 1 and not hasattr(module, "__all__") and inspect.getsourcefile(module).endswith("__init__.py"):
        return  # a plain package marker
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = []
    for attr in module.__all__:
        obj = getattr(module, attr)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == name:
            doc = inspect.getdoc(obj) or ""
            if not doc:
                missing.append(f"{attr}: no docstring")
            elif inspect.isfunction(obj) and not ("plot" in attr or "figure" in attr) and "Examples" not in doc:
                missing.append(f"{attr}: no Examples section")
    assert not missing, f"{name}: {missing}"


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _filter_installed() -> bool:
    """The nbclean git filter is configured in this clone (git then stores notebooks stripped)."""
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "filter.nbclean.clean"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "toolkit.nbclean" in out.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_committed_clean_with_documented_parameters(path):
    doc = json.loads(path.read_text())
    cells = doc["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).lstrip().startswith("#")
    code = [c for c in cells if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    if dirty and not _filter_installed():
        rel = path.relative_to(ROOT).as_posix()
        pytest.fail(
            f"{rel} has saved outputs in cells {dirty[:8]} (JupyterLab saves them when the notebook is "
            f"run). Restore the committed notebook with `git checkout -- {rel}`, or keep your edits and "
            f"strip the outputs with `python -m toolkit.nbclean {rel}`. To keep notebooks clean "
            f"automatically, install the git filter once: `python -m toolkit.nbclean --install`.")
    # with the filter installed, git stores the notebook stripped: check what git would store
    if dirty:
        from toolkit.nbclean import clean_text

        doc = json.loads(clean_text(path.read_text()))
        cells = doc["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    lines = [ln for ln in "".join(params[0]["source"]).splitlines() if ln.strip() and not ln.strip().startswith("#")]
    names = set()
    for ln in lines:
        m = re.match(r"^(\w+): (\w+(?:\[[\w, ]+\])?|str \| None|float \| None|int \| None) = .+  # .+", ln)
        assert m, f"parameter line needs a type, a default and a comment: {ln!r}"
        names.add(m.group(1))
    assert {"data_path", "output_dir"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_papermill_documents_every_parameter(path):
    import papermill

    params = papermill.inspect_notebook(str(path))
    undocumented = [name for name, p in params.items() if not p["help"] or p["inferred_type_name"] == "None"]
    assert not undocumented, f"papermill --help-notebook shows no type or help for {undocumented}"


# a notebook may rebind a parameter on purpose; each such case is listed here with its reason
REBOUND_ON_PURPOSE: set[tuple[str, str]] = set()


def _module_level_bindings(tree):
    """Names bound by statements at module level (not inside functions, classes or comprehensions)."""
    import ast

    out, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
        for t in targets:
            out += [(n.id, node.lineno) for n in ast.walk(t) if isinstance(n, ast.Name)]
        for field in ("body", "orelse", "finalbody", "handlers"):
            todo += getattr(node, field, [])
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_code_does_not_overwrite_its_parameters(path):
    # e.g. a timer named `start` would silently replace the `start` parameter in the sidecar
    import ast

    code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    pcell = next(c for c in code if "parameters" in c.get("metadata", {}).get("tags", []))
    params = {n.target.id for n in ast.parse("".join(pcell["source"])).body if isinstance(n, ast.AnnAssign)}
    clashes = []
    for i, cell in enumerate(code):
        if cell is pcell:
            continue
        lines = "".join(cell["source"]).splitlines()
        src = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)
        for name, line in _module_level_bindings(ast.parse(src)):
            if name in params and (path.name, name) not in REBOUND_ON_PURPOSE:
                clashes.append(f"code cell {i}, line {line}: {name}")
    assert not clashes, f"{path.name} overwrites parameters: {clashes}"


#: the longest a notebook code cell may be, counting lines that are neither blank nor comments (the
#: parameters cell aside: one typed, commented line per parameter); longer logic belongs in the
#: package, where it is tested (issue 21: notebooks only orchestrate)
MAX_CELL_LINES = 12


def _long_cells(cells: list, limit: int = MAX_CELL_LINES) -> dict[int, int]:
    """Code cells over ``limit`` counted lines: {cell index: lines}."""
    out = {}
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        n = sum(1 for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#"))
        if n > limit:
            out[i] = n
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_code_cells_are_short(path):
    long = _long_cells(json.loads(path.read_text())["cells"])
    assert not long, (f"{path.name}: code cells over {MAX_CELL_LINES} lines {long} (cell: lines); "
                      "move the logic into toolkit and call it")


def test_the_cell_length_check_counts_code_lines_only():
    code = {"cell_type": "code", "metadata": {}, "source": "x = 1\n" * 12 + "\n# a comment\n\n"}
    longer = {"cell_type": "code", "metadata": {}, "source": ["x = 1\n"] * 13}
    params = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "a: int = 1  # a\n" * 30}
    text = {"cell_type": "markdown", "metadata": {}, "source": "text\n" * 30}
    assert _long_cells([code, longer, params, text]) == {1: 13}


#: public dataclasses that are not results (data, settings, models, parts of a result), with why
NOT_RESULTS = {
    "toolkit.log.ConversationLog": "the data model itself",
    "toolkit.dask_engine.read.DaskLog": "a lazy log (data)",
    "toolkit.sample.generator.Sample": "generated data and its truth",
    "toolkit.validation.Problem": "one broken rule, inside LogValidationError",
    "toolkit.llm.Completion": "one API response",
    "toolkit.experiments.targets.Outcome": "one call's answer, a row of the experiment's log",
    "toolkit.findings.Finding": "one item of Findings, which renders them",
    "toolkit.judges.rubrics.Rubric": "a prompt definition",
    "toolkit.runner.parameters.ParameterSpec": "a parameter declaration",
    "toolkit.batch.config.BatchConfig": "settings",
    "toolkit.quality.config.QualityConfig": "settings",
    "toolkit.quality.config.LengthFit": "settings",
    "toolkit.monitoring.thresholds.Thresholds": "settings",
    "toolkit.forecasting.anomalies.AnomalyOptions": "settings",
    "toolkit.clustering.texts.ClusterOptions": "settings",
    "toolkit.ab.options.AnalysisOptions": "settings",
    "toolkit.ab.bayes.Prior": "settings",
    "toolkit.ab.metrics.Metric": "a metric definition",
    "toolkit.clustering._base.Vectors": "vectors (data)",
    "toolkit.clustering.model.ClusterModel": "a fitted model",
    "toolkit.text.HashedTfidf": "a fitted model",
    "toolkit.text.HashedTokens": "intermediate data",
    "toolkit.text.PairBatch": "intermediate data",
    "toolkit.text.TermPairs": "intermediate data",
    "toolkit.forecasting.checks.Prepared": "a series prepared for the models (data)",
    "toolkit.ab.moments.MetricSums": "additive per-arm sums of a partition (the input of ArmStats)",
    "toolkit.ab.cuped.CupedFit": "a step inside the CUPED analysis",
    "toolkit.ab.cuped.RegressionFit": "a step inside the CUPED analysis",
}


def _public_dataclasses():
    import dataclasses

    found = {}
    for name in _public_modules():
        if name.rpartition(".")[2].startswith("_"):
            continue  # a private module: what it offers is found through its package's __all__
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr, None)
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__module__.startswith("toolkit"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_public_result_has_summary_table_and_to_dict():
    classes = _public_dataclasses()
    assert "toolkit.forecasting.forecasts.Forecast" in classes  # the walk sees the package
    assert set(NOT_RESULTS) <= set(classes), f"not public (any more): {sorted(set(NOT_RESULTS) - set(classes))}"
    missing = {name: [m for m in ("summary_table", "to_dict") if not callable(getattr(cls, m, None))]
               for name, cls in classes.items() if name not in NOT_RESULTS}
    assert not {k: v for k, v in missing.items() if v}, "results need summary_table() and to_dict()"
