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

from benchmarks.human_data import _show

__all__ = ["read_fed_dialogues"]


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
