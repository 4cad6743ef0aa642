"""The sample's texts: intents and phrasings (loaded from ``intents.json``) and their templates.

The texts live in ``intents.json`` next to this module (shipped as package data). Each text is
split into segments between slots (``{order}``, ``{product}``, ...) so that thousands of messages
can be assembled at once with pyarrow's vectorised string kernels (:class:`_Templates`).

Examples
--------
>>> from toolkit.sample.texts import INTENTS, TEXTS
>>> len(INTENTS), sorted(INTENTS["login_trouble"])[:3]
(18, ['detail', 'first', 'follow'])
>>> TEXTS["months"][:2]
['Jan', 'Feb']
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["INTENTS", "TEXTS", "DATA_FILE", "load_texts"]

#: the data file with the intents and every other phrasing
DATA_FILE = Path(__file__).with_name("intents.json")


def load_texts(path: str | Path = DATA_FILE) -> dict[str, Any]:
    """Read the texts file: ``{"intents": {...}, "generic_answers": [...], ...}``.

    Pairs (``typos``, ``apostrophes``) come back as tuples. Order matters: the generator picks
    texts by position, so reordering a list changes the generated data.

    Examples
    --------
    >>> load_texts()["typos"][0]
    ('password', 'pasword')
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    data.pop("_comment", None)
    for key in ("typos", "apostrophes"):
        data[key] = [tuple(pair) for pair in data[key]]
    return data


#: everything in the data file except the intents (lists of strings or pairs)
TEXTS: dict[str, Any] = load_texts()
#: intent name -> weight, resolution_offset, topic, first, detail, follow, good
INTENTS: dict[str, dict[str, Any]] = TEXTS.pop("intents")

_SLOTS = ("order", "product", "date", "eta", "amount", "code", "card", "city", "plan", "points",
          "day", "topic")
_SLOT_RE = re.compile(r"\{(" + "|".join(_SLOTS) + r")\}")


# ---- pyarrow string helpers -------------------------------------------------------------------


def _num(x: np.ndarray, width: int = 0) -> "Any":
    """Integers as a pyarrow string array, zero-padded to ``width``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.cast(pa.array(np.asarray(x).astype(np.int64)), pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def _take(values: list[str], idx: np.ndarray) -> "Any":
    import pyarrow as pa

    return pa.array(values, type=pa.string()).take(np.asarray(idx, dtype=np.int64))


def _join(*parts) -> "Any":
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, "")


def _str(values) -> "Any":
    """A pandas ``string`` array straight from a pyarrow array (no per-element Python work)."""
    import pandas as pd

    return pd.arrays.ArrowStringArray(values)


# ---- templates --------------------------------------------------------------------------------


class _Templates:
    """All texts as segments between slots, so they can be assembled with vectorised concat."""

    def __init__(self) -> None:
        self.texts: list[list[str]] = []   # segments
        self.types: list[list[int]] = []   # slot type per gap
        self.groups: dict[tuple[str, int], tuple[int, int]] = {}

    def add(self, name: str, intent: int, texts: list[str], literal: bool = False) -> None:
        start = len(self.texts)
        for text in texts:
            if literal:
                segs, types = [text], []
            else:
                parts = _SLOT_RE.split(text)
                segs, types = parts[0::2], [_SLOTS.index(p) for p in parts[1::2]]
            self.texts.append(segs)
            self.types.append(types)
        self.groups[(name, intent)] = (start, len(texts))

    def freeze(self) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        n_slots = max(len(t) for t in self.types)
        self.n_slots = n_slots
        segs = [[""] * len(self.texts) for _ in range(n_slots + 1)]
        types = np.full((len(self.texts), max(n_slots, 1)), -1, dtype=np.int64)
        for i, (s, t) in enumerate(zip(self.texts, self.types)):
            for j, seg in enumerate(s):
                segs[j][i] = seg
            types[i, : len(t)] = t
        self.segs = [pa.array(x, type=pa.string()) for x in segs]
        self.type_arr = types
        self.base_len = sum(pc.utf8_length(x).to_numpy().astype(np.int64) for x in self.segs)

    def table(self, name: str, n_intents: int) -> tuple[np.ndarray, np.ndarray]:
        """(offset, count) arrays indexed by intent (a shared group repeats for every intent)."""
        off = np.empty(n_intents, dtype=np.int64)
        cnt = np.empty(n_intents, dtype=np.int64)
        for i in range(n_intents):
            o, c = self.groups.get((name, i), self.groups.get((name, -1), (0, 0)))
            off[i], cnt[i] = o, c
        return off, cnt

    def pick(self, name: str, intent: np.ndarray, u: np.ndarray, n_intents: int) -> np.ndarray:
        off, cnt = self.table(name, n_intents)
        return off[intent] + np.minimum((u * cnt[intent]).astype(np.int64), cnt[intent] - 1)

    def lengths(self, tid: np.ndarray, conv: np.ndarray, slot_len: np.ndarray) -> np.ndarray:
        """Exact length (characters) of the rendered texts, without rendering them."""
        out = self.base_len[tid].copy()
        for j in range(self.n_slots):
            ty = self.type_arr[tid, j]
            has = ty >= 0
            out[has] += slot_len[ty[has], conv[has]]
        return out

    def render(self, tid: np.ndarray, conv: np.ndarray, slots: "Any", n_conv: int) -> "Any":
        """Texts of templates ``tid`` filled with the slot values of conversations ``conv``.

        ``slots`` is one pyarrow string array: slot type k of conversation c at k * n_conv + c,
        and an empty string at the end.
        """
        import pyarrow.compute as pc

        parts = [self.segs[0].take(tid)]
        empty = len(slots) - 1
        for j in range(self.n_slots):
            ty = self.type_arr[tid, j]
            parts.append(slots.take(np.where(ty >= 0, ty * n_conv + conv, empty)))
            parts.append(self.segs[j + 1].take(tid))
        return pc.binary_join_element_wise(*parts, "")


def _garbled_pool(rng: np.random.Generator, intent: dict, size: int = 16) -> list[str]:
    """Incoherent answers: shuffled, truncated, stuttering or spliced fragments of good answers."""
    fills = {"order": "#4417203", "product": intent.get("_product", "item"), "date": "Sep 3",
             "eta": "Sep 9", "amount": "$39.90", "code": "SAVE10", "card": "4821",
             "city": "Denver", "plan": "Premium", "points": "1200", "day": "Sunday",
             "topic": "the issue"}
    goods = [_SLOT_RE.sub(lambda m: fills[m.group(1)], g) for g in intent["good"]]
    out = []
    for i in range(size):
        words = goods[int(rng.integers(len(goods)))].split()
        style = i % 4
        if style == 0:  # shuffled and truncated
            perm = rng.permutation(len(words))[: max(4, int(len(words) * rng.uniform(0.4, 0.7)))]
            text = " ".join(words[p] for p in perm).lower()
        elif style == 1:  # cut off mid-sentence, mid-word
            text = " ".join(words)
            cut = int(len(text) * rng.uniform(0.15, 0.45))
            text = text[:cut].rstrip()
        elif style == 2:  # stuttering repetition
            k = int(rng.integers(2, 5))
            head = words[:k]
            text = " ".join(w for w in head for _ in range(int(rng.integers(2, 4)))) + " " + " ".join(words[k:k + 3])
        else:  # two fragments spliced, the middle lost
            a, b = int(len(words) * 0.3), int(len(words) * 0.7)
            text = " ".join(words[:a] + ["..."] + words[b:][::-1])
        out.append(text)
    return out + TEXTS["leaked_templates"][:2]


def _build_templates(rng: np.random.Generator) -> _Templates:
    """Every text of the data file as templates; the garbled answers are drawn from ``rng``."""
    names = list(INTENTS)
    tpl = _Templates()
    for i, name in enumerate(names):
        spec = INTENTS[name]
        tpl.add("first", i, spec["first"])
        tpl.add("follow", i, spec["follow"] + spec["detail"])
        tpl.add("detail", i, spec["detail"])
        tpl.add("good", i, spec["good"])
        tpl.add("garbled", i, _garbled_pool(rng, spec), literal=True)
    tpl.add("follow_neutral", -1, TEXTS["follow_neutral"])
    tpl.add("follow_confused", -1, TEXTS["follow_confused"])
    tpl.add("close_res_user", -1, TEXTS["close_resolved_user"])
    tpl.add("close_unres_user", -1, TEXTS["close_unresolved_user"])
    tpl.add("close_res_bot", -1, TEXTS["close_resolved_bot"])
    tpl.add("close_unres_bot", -1, TEXTS["close_unresolved_bot"])
    tpl.add("generic", -1, TEXTS["generic_answers"])
    tpl.add("error", -1, TEXTS["error_answers"])
    tpl.add("leaked", -1, TEXTS["leaked_templates"][2:], literal=True)
    tpl.freeze()
    return tpl


def _add_noise(rng: np.random.Generator, text: "Any", first: np.ndarray) -> "Any":
    """Light, realistic noise on user messages: greetings, typos, case, punctuation, "pls"."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    u = rng.random((6, n))
    pick = rng.integers(0, 1 << 30, (3, n))

    def apply(arr, mask: np.ndarray, fn):
        if not mask.any():
            return arr
        m = pa.array(mask)
        return pc.replace_with_mask(arr, m, fn(arr.filter(m), mask))

    def apostrophes(x, _):
        for a, b in TEXTS["apostrophes"]:
            x = pc.replace_substring(x, a, b)
        return x

    out = apply(text, u[0] < 0.15, apostrophes)  # "cant", "im"
    typo_mask = u[1] < 0.12
    which = (pick[0] % len(TEXTS["typos"]))[typo_mask]

    def typos(x, _):  # one typo per message, pairs applied within the (small) subset
        for i, (a, b) in enumerate(TEXTS["typos"]):
            x = apply(x, which == i, lambda y, _, a=a, b=b: pc.replace_substring(y, a, b, max_replacements=1))
        return x

    out = apply(out, typo_mask, typos)

    def greet(x, mask):  # "Hi, where is my order?"
        g_idx = pick[1][mask] % len(TEXTS["greetings"])
        lower = np.array([g.endswith(", ") or g.endswith("hi ") for g in TEXTS["greetings"]])[g_idx]
        lowered = _join(pc.utf8_lower(pc.utf8_slice_codeunits(x, 0, 1)), pc.utf8_slice_codeunits(x, 1))
        return _join(_take(TEXTS["greetings"], g_idx), pc.if_else(pa.array(lower), lowered, x))

    out = apply(out, first & (u[2] < 0.35), greet)
    out = apply(out, u[3] < 0.3, lambda x, _: pc.utf8_rtrim(x, characters=".!?"))
    out = apply(out, u[4] < 0.1, lambda x, mask: _join(x, _take(TEXTS["suffixes"], pick[2][mask] % len(TEXTS["suffixes"]))))
    out = apply(out, u[5] < 0.25, lambda x, _: pc.utf8_lower(x))
    return out
