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
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "DataMissing", "mirror_dir", "read_dbdc3", "read_conture", "read_dstc7",
           "read_engagement", "read_fed", "read_grade", "read_holistic", "SOURCES", "READERS", "read_all"]

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


def read_conture() -> pd.DataFrame:
    """ConTurE (DSTC9 interactive track, turn-annotated): overall impression 0/1/2 per bot turn.

    Three raters, majority vote (ties broken by an expert) -- only the voted label is released,
    so ``n_raters`` is 3 and ``rating`` is the label. ``failure`` = rated 0 ("I dislike").
    CC BY 4.0 (``DATALICENSE``).
    """
    data = json.loads(_show("alexa/conture", "data/data.json"))
    rows: list[dict] = []
    for dlg in data:
        utts, spks, rat, nr, fail = [], [], [], [], []
        for t in dlg["turns"]:
            u = re.sub(r"^\s*User:\s*", "", str(t.get("user", ""))).strip()
            b = re.sub(r"^\s*Chatbot:\s*", "", str(t.get("chatbot", ""))).strip()
            r = t.get("overall impression")
            utts += [u, b]
            spks += ["U", "S"]
            ok = r is not None and str(r).strip() != ""
            rat += [np.nan, float(r) if ok else np.nan]
            nr += [0, 3]
            fail += [None, (float(r) == 0) if ok else None]
        rows += _rows_from_dialogue("conture", str(dlg["dialog_id"]), utts, spks, rat, nr, fail)
    return _frame(rows)


def read_dstc7() -> pd.DataFrame:
    """DSTC7 task 2 (grounded Reddit responses): 3 judges rate relevance and informativeness 1-5.

    ``rating`` = mean over judges of (relevance + informativeness) / 2, for the 10 systems and
    the human reference on 1,000 contexts. The context is the last Reddit turn only. No next user
    message. Open Use of Data Agreement v1.0 (``evaluation/LICENSE.txt``).
    """
    import tarfile

    blob = _show("mgalley/DSTC7-End-to-End-Conversation-Modeling", "evaluation/dstc7-task2-human_eval.tgz")
    tf = tarfile.open(fileobj=io.BytesIO(blob))

    def tsv(name):
        f = tf.extractfile(f"dstc7-task2-human_eval/{name}")
        return pd.read_csv(f, sep="\t", encoding="utf-8-sig", quoting=3, dtype=str, keep_default_na=False)

    judge = tsv("dstc7-task2-human-eval-per-judge.tsv")
    judge["score"] = (judge["Relevance"].astype(float) + judge["Informativeness"].astype(float)) / 2
    agg = judge.groupby(["InstanceID", "SystemID"])["score"].agg(["mean", "size"]).reset_index()
    ctx = tsv("dstc7-task2-context.tsv").set_index("InstanceID")["Context"]
    resp = tsv("dstc7-task2-system_responses.tsv")
    gold = None
    if "Human" not in set(resp["SystemID"]):
        gold = tsv("dstc7-task2-gold_responses.tsv")
    m = agg.merge(resp, on=["InstanceID", "SystemID"], how="inner")
    rows = []
    for r in m.itertuples(index=False):
        c = str(ctx.get(r.InstanceID, ""))
        rows.append(dict(dataset="dstc7", dialogue_id=r.InstanceID, turn=1, context=[c], user_input=c,
                         response=str(r.Response), next_user=None, rating=float(r.mean),
                         n_raters=int(r.size), failure=None))
    return _frame(rows)


def read_engagement() -> pd.DataFrame:
    """PredictiveEngagement: DailyDialog query/reply pairs (generated and human replies) rated for
    engagement 1-5 by Mechanical Turk workers; ``rating`` = mean over raters. MIT licence."""
    raw = pd.read_csv(io.BytesIO(_show("PlusLabNLP/PredictiveEngagement",
                                       "data/Eng_Scores_queries_gen_gtruth_replies.csv")))
    g = raw.groupby(["query", "response"], sort=False)["human_score"].agg(["mean", "size"]).reset_index()
    rows = []
    for i, r in enumerate(g.itertuples(index=False)):
        q = str(r.query).strip()
        rows.append(dict(dataset="engagement", dialogue_id=f"q{i}", turn=1, context=[q], user_input=q,
                         response=str(r.response).strip(), next_user=None, rating=float(r.mean),
                         n_raters=int(r.size), failure=None))
    df = _frame(rows)
    # a query answered twice (generated and human reply) is one dialogue for the bootstrap
    df["dialogue_id"] = "q" + pd.Series(pd.factorize(df["user_input"])[0]).astype(str)
    return df


def read_fed() -> pd.DataFrame:
    """FED turn level (Mehri & Eskenazi 2020; copy in DSincerity/FED_Replication): 375 Meena,
    Mitsuku and human responses, "Overall" rated 1-5 by 5 raters. No licence stated: used for
    validation only, never for the shipped weights."""
    data = json.loads(_show("DSincerity/FED_Replication", "fed_data.json"))
    rows = []
    for i, x in enumerate(data):
        if "response" not in x:
            continue
        lines = [ln for ln in str(x["context"]).split("\n") if ln.strip()]
        ctx = [re.sub(r"^(User|System):\s*", "", ln).strip() for ln in lines]
        users = [re.sub(r"^User:\s*", "", ln).strip() for ln in lines if ln.startswith("User:")]
        ov = [float(v) for v in x["annotations"]["Overall"] if v is not None]
        rows.append(dict(dataset="fed", dialogue_id=str(x["context"])[:200], turn=len(ctx), context=ctx,
                         user_input=users[-1] if users else "",
                         response=re.sub(r"^System:\s*", "", str(x["response"])).strip(), next_user=None,
                         rating=float(np.mean(ov)), n_raters=len(ov), failure=None))
    df = _frame(rows)
    df["dialogue_id"] = "fed" + pd.Series(pd.factorize(df["dialogue_id"])[0]).astype(str)
    return df


def read_grade() -> pd.DataFrame:
    """GRADE human judgements (Huang et al. 2020): 1,200 responses of 6 models on ConvAI2,
    DailyDialog and EmpatheticDialogues rated for coherence 1-5 by 10 raters. No licence stated:
    validation only."""
    data = json.loads(_show("li3cmz/GRADE", "evaluation/human_score/human_judgement.json"))
    rows = []
    for x in data:
        ctx = [c.strip() for c in str(x["Context"]).split("|||")]
        sc = [float(v) for v in json.loads(x["HumanScores"])]
        rows.append(dict(dataset="grade", dialogue_id=f"{x['Dataset']}/{x['ID']}", turn=len(ctx),
                         context=ctx, user_input=ctx[-1], response=str(x["Response"]).strip(),
                         next_user=None, rating=float(np.mean(sc)), n_raters=len(sc), failure=None))
    return _frame(rows)


def read_holistic() -> pd.DataFrame:
    """Pang et al. 2020 (alexzhou907/dialogue_evaluation, ``context_data_release.csv``):
    DailyDialog single-turn contexts and generated responses, context coherence rated 1-5 by
    10 raters. No licence stated: validation only."""
    raw = pd.read_csv(io.BytesIO(_show("alexzhou907/dialogue_evaluation", "context_data_release.csv")),
                      header=None, dtype=str, keep_default_na=False)
    rows = []
    for r in raw.itertuples(index=False):
        vals = [float(v) for v in r[3:] if str(v).strip() != ""]
        q = str(r[1]).strip()
        rows.append(dict(dataset="holistic", dialogue_id=str(r[0]), turn=1, context=[q], user_input=q,
                         response=str(r[2]).strip(), next_user=None, rating=float(np.mean(vals)),
                         n_raters=len(vals), failure=None))
    return _frame(rows)


#: name -> (reader, licence, use): "fit" sets may enter the shipped weights; "validate" sets
#: (no licence stated) are only scored.
SOURCES = {
    "dbdc3": (read_dbdc3, "MIT", "fit", "dbd-challenge/dbdc3"),
    "conture": (read_conture, "CC BY 4.0", "fit", "alexa/conture"),
    "dstc7": (read_dstc7, "O-UDA 1.0", "fit", "mgalley/DSTC7-End-to-End-Conversation-Modeling"),
    "engagement": (read_engagement, "MIT", "fit", "PlusLabNLP/PredictiveEngagement"),
    "fed": (read_fed, "none stated", "validate", "DSincerity/FED_Replication"),
    "grade": (read_grade, "none stated", "validate", "li3cmz/GRADE"),
    "holistic": (read_holistic, "none stated", "validate", "alexzhou907/dialogue_evaluation"),
}
READERS = {k: v[0] for k, v in SOURCES.items()}


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


def to_turns(df: pd.DataFrame, history: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Conversation turns to score for every rated row, and the position of each rated turn.

    Each rated row becomes its own conversation: up to ``history`` earlier exchanges (user
    messages taken from the context going back from ``user_input``, each with the utterance that
    followed it) and then ``(user_input, response)``. Returns the turns frame (columns
    ``conversation_id``, ``turn``, ``user_input``, ``bot_response``) and the index of the rated
    row's last turn in it, in ``df``'s order.
    """
    conv, turn, ui, br, last = [], [], [], [], []
    pos = 0
    for i, (ctx, u, r) in enumerate(zip(df["context"], df["user_input"], df["response"])):
        ctx = list(ctx)
        # the context alternates speakers and ends with the user's message (when there is one)
        if ctx and ctx[-1] == u:
            ctx = ctx[:-1]
        pairs = []
        j = len(ctx) - 1  # ctx[j] is the bot's utterance before the current user message
        while j >= 1 and len(pairs) < history:
            pairs.append((ctx[j - 1], ctx[j]))
            j -= 2
        pairs = pairs[::-1] + [(u, r)]
        for k, (a, b) in enumerate(pairs):
            conv.append(f"r{i}")
            turn.append(k)
            ui.append(a)
            br.append(b)
        pos += len(pairs)
        last.append(pos - 1)
    t = pd.DataFrame({"conversation_id": conv, "turn": turn, "user_input": ui, "bot_response": br})
    return t, np.asarray(last, dtype=np.int64)
