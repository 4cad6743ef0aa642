"""Whole human-bot conversations rated as a whole, for the conversation-level ``reaction``.

The turn-level readers live in ``benchmarks/human_data.py``; this file reads one more part of a
set it knows: the dialogue-level half of FED (Mehri & Eskenazi 2020; copy in
``DSincerity/FED_Replication``, ``fed_data.json``): 125 conversations of people with Meena,
Mitsuku or another person, each rated "Overall" 1-5 by five annotators. No licence is stated, so
it is used for validation only (nothing is fitted on it). Read from the snapshot under
``$TOOLKIT_HUMAN_DATA_DIR`` (default ``/work/.mirror``) like the other readers.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from benchmarks.human_data import DataMissing, _show

__all__ = ["read_fed_dialogues", "read_uss", "USS_FILES"]


def read_fed_dialogues() -> tuple[pd.DataFrame, pd.DataFrame]:
    """FED dialogue level as ``(turns, ratings)``.

    ``turns``: a conversation log's columns conversation_id, turn, user_input, bot_response (one
    row per system utterance, the user message before it; a leading system greeting gets an empty
    user message). ``ratings``: conversation_id, system (Meena / Mitsuku / Human), rating (mean
    "Overall" over the annotators), n_raters.
    """
    data = json.loads(_show("DSincerity/FED_Replication", "fed_data.json"))
    rows, rates = [], []
    k = 0
    for x in data:
        if "response" in x:  # the turn-level half
            continue
        cid = f"fed-d{k}"
        k += 1
        user, turn = "", 0
        for line in str(x["context"]).split("\n"):
            m = re.match(r"^\s*(User|System):\s?(.*)$", line)
            if not m:
                continue
            who, text = m.group(1), m.group(2).strip()
            if who == "User":
                user = f"{user} {text}".strip() if user else text
            else:
                rows.append({"conversation_id": cid, "turn": turn, "user_input": user, "bot_response": text})
                turn += 1
                user = ""
        if user:  # the user spoke last: a final turn with no answer keeps the user's last words
            rows.append({"conversation_id": cid, "turn": turn, "user_input": user, "bot_response": ""})
        ov = [float(v) for v in x["annotations"]["Overall"] if isinstance(v, (int, float))]
        rates.append({"conversation_id": cid, "system": x.get("system"), "rating": float(np.mean(ov)),
                      "n_raters": len(ov)})
    return pd.DataFrame(rows), pd.DataFrame(rates)


#: the English sets of the User Satisfaction Simulation data (Sun et al. 2021, SIGIR), file per set
USS_FILES = {"uss_mwoz": "dataset/MWOZ.txt", "uss_sgd": "dataset/SGD.txt", "uss_redial": "dataset/ReDial.txt",
             "uss_ccpe": "dataset/CCPE.txt"}
USS_REPO = "sunnweiwei/user-satisfaction-simulation"


def _mode_low(scores: list[int]) -> int:
    """The most frequent rating, ties to the lower one (the data set's own ``get_main_score``)."""
    counts = np.bincount(np.asarray(scores, dtype=int), minlength=6)
    return int(np.argmax(counts))


def read_uss(name: str) -> pd.DataFrame:
    """One English set of the User Satisfaction Simulation data as the rows of ``human_data.COLUMNS``.

    Task-oriented dialogues (MultiWOZ 2.1, SGD, ReDial, CCPE) whose every USER utterance was rated
    1-5 for the user's satisfaction by 3-5 annotators (``sunnweiwei/user-satisfaction-simulation``,
    ``dataset/*.txt``: role, text, action, ratings separated by commas; dialogues separated by
    blank lines; a final ``USER OVERALL`` line rates the whole dialogue and is not used here).
    The rating on a user utterance is the user's satisfaction with the SYSTEM turn just before it,
    so each row is one system answer (consecutive system utterances joined) whose ``next_user``
    is the block of user utterances that follows it (consecutive ones joined, as a conversation
    log holds them) and whose label is the rating of the FIRST user utterance of that block:
    ``rating`` = the annotators' mean, ``rating_mode`` = their most frequent rating (ties to the
    lower, as the data set's own code does), ``failure`` = ``rating_mode <= 2``. The opening user
    turn (no answer before it) and a final system turn (no reaction after it) are not rows.

    Licence: the repository states none (the annotations are used for validation and for the
    reaction weights, named as such in ``toolkit/quality/reaction.py``); the underlying dialogues
    are MultiWOZ (MIT), SGD (CC BY-SA 4.0), ReDial (CC BY 4.0) and CCPE (CC BY-SA 4.0).
    """
    if name not in USS_FILES:
        raise KeyError(f"unknown USS set {name!r}; one of {sorted(USS_FILES)}")
    text = _show(USS_REPO, USS_FILES[name]).decode("utf-8", errors="replace")
    rows = []
    for d, block in enumerate(re.split(r"\n\s*\n", text.strip())):
        utts = []  # (role, text, ratings) with consecutive same-role utterances merged
        for line in block.split("\n"):
            parts = line.rstrip("\r").split("\t")
            if len(parts) < 2 or parts[0] not in ("USER", "SYSTEM"):
                continue
            role, txt = parts[0], parts[1].strip()
            if role == "USER" and txt == "OVERALL":
                continue
            sat = [int(v) for v in (parts[3] if len(parts) > 3 else "").split(",") if v.strip().isdigit()]
            if utts and utts[-1][0] == role:
                utts[-1] = (role, f"{utts[-1][1]} {txt}".strip(), utts[-1][2])
            else:
                utts.append((role, txt, sat))
        turn = 0
        for i, (role, txt, _) in enumerate(utts):
            if role != "SYSTEM" or i + 1 >= len(utts):
                continue
            nxt_text, sat = utts[i + 1][1], utts[i + 1][2]
            if not sat:
                continue
            user = utts[i - 1][1] if i > 0 and utts[i - 1][0] == "USER" else ""
            rows.append({"dataset": name, "dialogue_id": f"{name}-{d}", "turn": turn,
                         "context": [u[1] for u in utts[:i]], "user_input": user, "response": txt,
                         "next_user": nxt_text, "rating": float(np.mean(sat)), "n_raters": len(sat),
                         "rating_mode": _mode_low(sat), "failure": _mode_low(sat) <= 2})
            turn += 1
    if not rows:
        raise DataMissing(f"{USS_REPO}: no rated turns in {USS_FILES[name]}")
    return pd.DataFrame(rows)
