"""Readers for public human-rated dialogue data sets (for fitting and validating ``quality``).

Nothing here is committed data: each reader reads a repository snapshot that the ``fetch`` tool
(or ``git clone --bare``) put under a mirror directory, by default ``/work/.mirror``, overridable
with the environment variable ``TOOLKIT_HUMAN_DATA_DIR``. The layout is
``<dir>/<owner>+<name>/repo`` (a bare git directory, or ``repo/.git``); files are read with
``git show HEAD:path``. A reader raises :class:`DataMissing` when its snapshot is absent, so the
benchmark and the refit script can skip with a message.

Every reader returns one tidy frame with the columns of :data:`COLUMNS`:

``dataset``, ``dialogue_id``, ``turn`` (position of the rated response in its dialogue),
``context`` (list of the earlier utterances, oldest first), ``user_input`` (the last user message
before the response, "" if none), ``response``, ``next_user`` (the following user message, or
None), ``rating`` (float, higher = better, raters averaged), ``n_raters`` and ``failure``
(boolean where the set defines one, else missing).

Sources and licences (checked in the snapshots):

* ``dbd-challenge/dbdc3`` -- DBDC3 breakdown detection, English part (revised annotations),
  ~30 raters per system turn labelling O (no breakdown), T (possible breakdown), X (breakdown).
  ``rating`` = mean of O=1, T=0.5, X=0; ``failure`` = X is the most frequent label (the DBDC
  gold label). MIT licence (``DBDC3/LICENSE.txt`` in ``docs/data/DBDC3.zip``).

Example::

    python -c "from benchmarks.human_data import read_dbdc3; print(read_dbdc3().head())"
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "DataMissing", "mirror_dir", "read_dbdc3", "READERS", "read_all"]

COLUMNS = ["dataset", "dialogue_id", "turn", "context", "user_input", "response", "next_user",
           "rating", "n_raters", "failure"]

ENV_VAR = "TOOLKIT_HUMAN_DATA_DIR"
DEFAULT_DIR = "/work/.mirror"


class DataMissing(RuntimeError):
    """A data set's snapshot is not on this machine."""


def mirror_dir() -> Path:
    """The directory holding the fetched repository snapshots (``$TOOLKIT_HUMAN_DATA_DIR``)."""
    return Path(os.environ.get(ENV_VAR, DEFAULT_DIR))


def _git_dir(repo: str) -> Path:
    base = mirror_dir() / repo.replace("/", "+") / "repo"
    for cand in (base / ".git", base):
        if (cand / "HEAD").exists() and (cand / "objects").exists():
            return cand
    raise DataMissing(f"{repo}: no snapshot under {base} (fetch github:{repo}, or set {ENV_VAR})")


def _show(repo: str, path: str) -> bytes:
    """The bytes of ``path`` at HEAD of the snapshot of ``repo``."""
    gd = _git_dir(repo)
    try:
        return subprocess.run(["git", "--git-dir", str(gd), "show", f"HEAD:{path}"],
                              check=True, capture_output=True, timeout=120).stdout
    except subprocess.CalledProcessError as exc:  # pragma: no cover - depends on the snapshot
        raise DataMissing(f"{repo}: cannot read {path}: {exc.stderr.decode(errors='replace')[:200]}")


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["turn"] = df["turn"].astype(int)
    df["rating"] = df["rating"].astype(float)
    df["n_raters"] = df["n_raters"].astype(int)
    df["failure"] = df["failure"].astype("boolean")
    return df.reset_index(drop=True)


def _rows_from_dialogue(dataset, dialogue_id, utterances, speakers, ratings, n_raters, failures):
    """Rows for every rated system utterance of one dialogue.

    ``utterances``/``speakers`` ('U' or 'S') list the whole dialogue; ``ratings`` is aligned with it
    (NaN where not rated).
    """
    rows = []
    for i, (utt, spk) in enumerate(zip(utterances, speakers)):
        if spk != "S" or not np.isfinite(ratings[i]):
            continue
        prev_user = next((utterances[j] for j in range(i - 1, -1, -1) if speakers[j] == "U"), "")
        nxt = next((utterances[j] for j in range(i + 1, len(utterances)) if speakers[j] == "U"), None)
        rows.append(dict(dataset=dataset, dialogue_id=dialogue_id, turn=i,
                         context=list(utterances[:i]), user_input=prev_user, response=utt,
                         next_user=nxt, rating=float(ratings[i]), n_raters=int(n_raters[i]),
                         failure=failures[i]))
    return rows


def read_dbdc3(revised: bool = True) -> pd.DataFrame:
    """DBDC3 English dialogues, one row per system utterance with breakdown annotations.

    The first system utterance (a greeting before any user message, not annotated) is skipped.
    """
    blob = _show("dbd-challenge/dbdc3", "docs/data/DBDC3.zip")
    zf = zipfile.ZipFile(io.BytesIO(blob))
    root = "DBDC3/dbdc3_revised/en/" if revised else "DBDC3/dbdc3/en/"
    names = sorted(n for n in zf.namelist() if n.startswith(root) and n.endswith(".log.json"))
    score = {"O": 1.0, "T": 0.5, "X": 0.0}
    rows: list[dict] = []
    for name in names:
        d = json.loads(zf.read(name))
        sub = name[len(root):].split("/")[1]  # e.g. CIC_115
        did = f"{sub}/{Path(name).name.removesuffix('.log.json')}"
        utts, spks, rat, nr, fail = [], [], [], [], []
        for t in d["turns"]:
            utts.append(str(t.get("utterance", "")).strip())
            spks.append("S" if t.get("speaker") == "S" else "U")
            labels = [a.get("breakdown") for a in t.get("annotations", []) if a.get("breakdown") in score]
            if labels:
                vals = [score[x] for x in labels]
                counts = {k: labels.count(k) for k in "OTX"}
                rat.append(float(np.mean(vals)))
                nr.append(len(labels))
                fail.append(counts["X"] > max(counts["O"], counts["T"]))
            else:
                rat.append(np.nan)
                nr.append(0)
                fail.append(None)
        rows += _rows_from_dialogue("dbdc3", did, utts, spks, rat, nr, fail)
    return _frame(rows)


READERS = {"dbdc3": read_dbdc3}


def read_all(names=None, skip_missing: bool = True) -> dict[str, pd.DataFrame]:
    """Every available data set as ``{name: frame}``; absent ones are skipped with a message."""
    out = {}
    for name, reader in READERS.items():
        if names is not None and name not in names:
            continue
        try:
            out[name] = reader()
        except DataMissing as exc:
            if not skip_missing:
                raise
            print(f"skip {name}: {exc}")
    return out
