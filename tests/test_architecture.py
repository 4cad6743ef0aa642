"""The package's layers (ARCHITECTURE.md): a lower layer never imports a higher one, no cycles.

Every ``import``/``from ... import`` of a toolkit module counts, also the lazy ones inside
functions (they are dependencies all the same); docstring examples do not (they are text).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "toolkit"

LAYERS = ("base", "data", "analyses", "running", "interfaces")

# module or package prefix -> layer; the longest matching prefix decides.
LAYER_OF = {
    "toolkit": "base",  # the root package only maps names lazily (PEP 562)
    "toolkit._lazy": "base",
    "toolkit._pool": "base",
    "toolkit._progress": "base",
    "toolkit._files": "base",
    "toolkit._secrets": "base",
    "toolkit._escape": "base",
    "toolkit.errors": "base",
    # the OpenAI-compatible client (issue 25): infrastructure like the worker pools
    "toolkit.llm": "data",
    "toolkit.log": "data",
    "toolkit.validation": "data",
    "toolkit.io": "data",
    "toolkit.sample": "data",
    "toolkit.series": "data",
    "toolkit.sources": "data",
    # the Dask engine (issue 13): the client is base; reading and the reductions over partitions
    # are data; the TF-IDF fit needs toolkit.text; the engine comparison runs the analyses
    "toolkit.dask_engine": "base",
    "toolkit.dask_engine.read": "data",
    "toolkit.dask_engine.ab": "data",
    "toolkit.dask_engine.series": "data",
    "toolkit.dask_engine.topics": "data",
    "toolkit.dask_engine.score": "analyses",
    "toolkit.dask_engine.benchmark": "running",
    # LangSmith evaluators are quality scoring offered to LangSmith's evaluate()
    "toolkit.sources.evaluators": "analyses",
    "toolkit.text": "analyses",
    "toolkit.embeddings": "analyses",
    "toolkit.sentiment": "analyses",
    "toolkit.quality": "analyses",
    "toolkit.labels": "analyses",
    "toolkit.monitoring": "analyses",
    "toolkit.overview": "analyses",
    "toolkit.ab": "analyses",
    "toolkit.clustering": "analyses",
    "toolkit.forecasting": "analyses",
    "toolkit.judges": "analyses",
    "toolkit.ppi": "analyses",  # uses toolkit.labels (analyses)
    # prompt experiments (issue 26): the runner sends through toolkit.llm, reads test sets with
    # toolkit.io; the repetition-aware analysis sits beside it
    "toolkit.experiments": "analyses",
    "toolkit.runner": "running",
    "toolkit.batch": "running",
    "toolkit.export": "running",
    "toolkit.findings": "running",
    "toolkit.nbclean": "running",
    "toolkit.demo": "running",
    "toolkit.notebook": "running",
    "toolkit.cli": "interfaces",
    "toolkit.__main__": "interfaces",
    "toolkit.commands": "interfaces",
    "toolkit._widgets": "interfaces",
    "toolkit.quality_widgets": "interfaces",
    "toolkit.ab.widgets": "interfaces",
    "toolkit.experiments.widgets": "interfaces",
}

# pytest's doctest configuration, not part of the package's code
IGNORED = {"toolkit.conftest"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {_module_name(p): p for p in ROOT.rglob("*.py")}
    return {m: p for m, p in found.items() if m not in IGNORED}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Toolkit modules that ``name`` imports anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # "from toolkit import quality" imports the submodule toolkit.quality
            targets = [module] + [f"{module}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # toolkit.ab.power.x -> toolkit.ab.power
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    # a package's own submodules import their package's __init__ implicitly, not upward
    return {t for t in out if not name.startswith(t + ".")}


def _layer(module: str) -> str:
    best = max((p for p in LAYER_OF if module == p or module.startswith(p + ".")), key=len, default=None)
    if best is None:
        raise AssertionError(f"{module} has no layer: add it to LAYER_OF in {__file__} and ARCHITECTURE.md")
    return LAYER_OF[best]


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, set(mods)) for m, p in mods.items()}


def test_every_module_has_a_layer():
    missing = [m for m in _modules() if not any(m == p or m.startswith(p + ".") for p in LAYER_OF)]
    assert not missing, f"modules without a layer (add them to LAYER_OF and ARCHITECTURE.md): {missing}"


def test_no_upward_imports():
    upward = []
    for module, deps in sorted(_graph().items()):
        for dep in sorted(deps):
            if LAYERS.index(_layer(dep)) > LAYERS.index(_layer(module)):
                upward.append(f"{module} ({_layer(module)}) imports {dep} ({_layer(dep)})")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("source, expected", [
    ("from toolkit.quality import score_turns\n", {"toolkit.quality"}),
    ("def f():\n    from toolkit import cli\n", {"toolkit.cli"}),
    ("from . import power\n", {"toolkit.ab.power"}),
])
def test_the_checker_sees_imports(tmp_path, source, expected):
    """The graph sees plain, lazy (inside a function) and relative imports."""
    pkg = tmp_path / "toolkit" / "ab"
    pkg.mkdir(parents=True)
    path = pkg / "analysis.py"
    path.write_text(source)
    known = {"toolkit", "toolkit.quality", "toolkit.cli", "toolkit.ab", "toolkit.ab.power", "toolkit.ab.analysis"}
    global ROOT
    saved, ROOT = ROOT, tmp_path / "toolkit"
    try:
        assert _imports(_module_name(path), path, known) == expected
    finally:
        ROOT = saved


def test_a_planted_upward_import_is_caught():
    assert LAYERS.index(_layer("toolkit.cli")) > LAYERS.index(_layer("toolkit.log"))
    assert _layer("toolkit.ab.widgets") == "interfaces" and _layer("toolkit.ab.power") == "analyses"


#: the longest a module of the package may be (issue 21): past it, split it by concern
MAX_MODULE_LINES = 700


def _too_long(root: Path, limit: int = MAX_MODULE_LINES) -> dict[str, int]:
    lengths = {_module_name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")}
    return {m: n for m, n in sorted(lengths.items()) if n > limit and m not in IGNORED}


def test_no_module_is_longer_than_700_lines():
    assert _too_long(ROOT) == {}, f"split these modules by concern (at most {MAX_MODULE_LINES} lines each)"


def test_the_length_check_sees_a_long_module(tmp_path):
    pkg = tmp_path / "toolkit"
    pkg.mkdir()
    (pkg / "short.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    (pkg / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    global ROOT
    saved, ROOT = ROOT, pkg
    try:
        assert _too_long(pkg) == {"toolkit.long": MAX_MODULE_LINES + 1}
    finally:
        ROOT = saved
