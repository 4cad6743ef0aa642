"""Public intent-classification sets for the topics benchmark (read, never committed).

Each reader returns ``(texts, intents)`` as two lists. The data are public GitHub repositories
brought onto the machine as bare git mirrors (``<root>/<owner>+<name>/repo``) or as plain
checkouts (``<root>/<owner>+<name>/<path>``); ``root`` is ``$TOOLKIT_INTENT_DATA`` or
``/work/.mirror``. A missing set raises :class:`MissingData` naming the repository, so the
benchmark can skip it with that reason.

Sets (licence; what is read):

- ``banking77``: PolyAI-LDN/task-specific-datasets, ``banking_data/test.csv`` (CC BY 4.0):
  3,080 online-banking queries, 77 intents.
- ``hwu64``: xliuhw/NLU-Evaluation-Data, the test sets of cross-validation folds 1-3 (CC BY 4.0):
  home-assistant commands, 64 intents (``scenario_intent``).
- ``clinc150``: clinc/oos-eval, ``data/data_full.json``, the in-scope test split (CC BY 3.0):
  4,500 queries, 150 intents.
- ``stackoverflow``: jacoxu/StackOverflow, ``rawText/title_StackOverflow.txt`` and
  ``label_StackOverflow.txt`` (from a Kaggle challenge; the repository states no licence, so it
  is only read here): 20,000 question titles, 20 tags, of which a seeded stratified subsample
  of 5,000 (250 per tag) is used to keep the embedding time down on a shared machine.

The split was fixed before any result was seen: ``DEVELOPMENT`` sets were used to design the
automatic granularity, ``HELD_OUT`` sets only to report it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

__all__ = ["SETS", "DEVELOPMENT", "HELD_OUT", "MissingData", "load_set", "data_root"]

DEVELOPMENT = ("banking77", "hwu64")
HELD_OUT = ("clinc150", "stackoverflow")

_REPOS = {
    "banking77": ("PolyAI-LDN+task-specific-datasets", "CC BY 4.0"),
    "hwu64": ("xliuhw+NLU-Evaluation-Data", "CC BY 4.0"),
    "clinc150": ("clinc+oos-eval", "CC BY 3.0"),
    "stackoverflow": ("jacoxu+StackOverflow", "no licence stated (Kaggle data)"),
}
SETS = {name: {"repo": repo.replace("+", "/"), "licence": lic} for name, (repo, lic) in _REPOS.items()}

_HWU = "CrossValidation/autoGeneFromRealAnno/autoGene_2018_03_22-13_01_25_169/CrossValidation"


class MissingData(RuntimeError):
    """A data set is not on this machine."""


def data_root() -> Path:
    return Path(os.environ.get("TOOLKIT_INTENT_DATA", "/work/.mirror"))


class _Repo:
    def __init__(self, name: str):
        self.dir = data_root() / name
        self.git = self.dir / "repo"
        if not self.dir.exists():
            raise MissingData(f"{name.replace('+', '/')} not found under {data_root()} "
                              f"(set TOOLKIT_INTENT_DATA to the folder holding it)")

    def _git(self, *args: str) -> bytes:
        return subprocess.run(["git", f"--git-dir={self.git}", *args], check=True,
                              capture_output=True, timeout=120).stdout

    def read(self, path: str) -> str:
        plain = self.dir / path
        if plain.is_file():
            return plain.read_text(encoding="utf-8")
        return self._git("show", f"HEAD:{path}").decode("utf-8")

    def list(self, under: str) -> list[str]:
        plain = self.dir / under
        if plain.is_dir():
            return sorted(str(p.relative_to(self.dir)) for p in plain.rglob("*") if p.is_file())
        return sorted(self._git("ls-tree", "-r", "--name-only", "HEAD", under).decode().split())


def _banking77():
    r = _Repo("PolyAI-LDN+task-specific-datasets")
    rows = list(csv.DictReader(io.StringIO(r.read("banking_data/test.csv"))))
    return [x["text"] for x in rows], [x["category"] for x in rows]


def _hwu64(folds=(1, 2, 3)):
    r = _Repo("xliuhw+NLU-Evaluation-Data")
    texts, intents = [], []
    for f in folds:
        for path in r.list(f"{_HWU}/KFold_{f}/testset/csv"):
            rows = csv.DictReader(io.StringIO(r.read(path)), delimiter=";")
            for x in rows:
                texts.append(x["answer_from_anno"])
                intents.append(f"{x['scenario']}_{x['intent']}")
    return texts, intents


def _clinc150():
    r = _Repo("clinc+oos-eval")
    data = json.loads(r.read("data/data_full.json"))
    return [t for t, _ in data["test"]], [i for _, i in data["test"]]


def _stackoverflow(per_tag: int = 250, seed: int = 0):
    import numpy as np

    r = _Repo("jacoxu+StackOverflow")
    texts = r.read("rawText/title_StackOverflow.txt").splitlines()
    labels = r.read("rawText/label_StackOverflow.txt").split()
    if len(texts) != len(labels):
        raise MissingData(f"stackoverflow: {len(texts)} titles but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    lab = np.array(labels)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(lab == t), size=per_tag, replace=False)
                                   for t in sorted(set(labels))]))
    return [texts[i] for i in keep], [labels[i] for i in keep]


_READERS = {"banking77": _banking77, "hwu64": _hwu64, "clinc150": _clinc150,
            "stackoverflow": _stackoverflow}


def load_set(name: str) -> tuple[list[str], list[str]]:
    """``(texts, intents)`` of one set (see the module docstring)."""
    try:
        return _READERS[name]()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise MissingData(f"{name}: could not read {SETS[name]['repo']} ({exc})") from exc


if __name__ == "__main__":
    for name in _READERS:
        t, y = load_set(name)
        print(name, len(t), len(set(y)), SETS[name]["licence"])
