"""The README's tour runs as written, and its commands match what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_tour_runs():
    tour = README.split("## A tour", 1)[1]
    code = re.search(r"```python\n(.*?)```", tour, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md (A tour)", "exec"), namespace)
    assert {"log", "scored", "report", "res", "y"} <= set(namespace)
    assert namespace["scored"]["quality"].between(0, 1).all()


def test_ci_runs_the_readme_commands():
    commands = re.search(r"## Two commands(.*?)\n## ", README, re.S).group(1)
    blocks = re.findall(r"```bash\n(.*?)\n```", commands, re.S)
    assert len(blocks) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    for block in blocks:
        assert block.strip() in ci
