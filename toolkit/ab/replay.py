"""An offline paired experiment replayed from a log whose answer kinds are known (the sample).

The bundled sample is an online A/B test: each conversation saw one variant. To show what a
paired offline experiment gains, :func:`replay_experiment` builds one from it, with the sample's
own generative model: a test set of first user messages drawn from the log, and for **each**
variant an answer to **every** message -- its kind (good, generic, off-topic, garbled) drawn
with that variant's planted probabilities from the truth, its text a logged first answer of the
same intent and kind. Both answers are then scored with :func:`toolkit.quality.score_texts`
against the same message. This is a simulation from the sample, not data from a real offline
run: it keeps what makes pairing work (the same query behind both answers: a query worded far
from every answer scores low for both), and the planted difference between the variants.

Examples
--------
>>> t = replay_experiment(n_examples=200, seed=1)
>>> sorted(t["variant"].unique()), int(t.groupby("variant").size().min())
(['A', 'B'], 200)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError

__all__ = ["replay_experiment"]


def _first_turns(log, truth: dict) -> pd.DataFrame:
    t = log.turns
    first = t[t["turn"] == 0][["conversation_id", "user_input", "bot_response"]]
    conv = truth.get("conversations") or {}
    missing = ~first["conversation_id"].isin(list(conv))
    if missing.all():
        raise ABInputError("the truth describes none of the log's conversations")
    first = first[~missing].copy()
    first["intent"] = [conv[c]["intent"] for c in first["conversation_id"]]
    first["kind"] = [conv[c]["answer_kinds"][0] for c in first["conversation_id"]]
    return first.reset_index(drop=True)


def replay_experiment(log=None, truth: dict | None = None, *, n_examples: int = 2000,
                      seed: int = 0) -> pd.DataFrame:
    """Replay a paired offline experiment: every variant answers the same test messages.

    Parameters
    ----------
    log : ConversationLog, optional
        Default: the bundled sample.
    truth : dict, optional
        Its truth (answer kind of every turn, planted good-answer rates); default the sample's.
    n_examples : int
        Size of the test set (first messages drawn without replacement).
    seed : int

    Returns
    -------
    DataFrame
        Long table: ``example_id, variant, intent, answer_kind, good (0/1), quality,
        relevance, user_input, bot_response``.

    Examples
    --------
    >>> t = replay_experiment(n_examples=100, seed=2)
    >>> t.groupby("variant")["example_id"].nunique().to_dict()
    {'A': 100, 'B': 100}
    """
    from toolkit.quality import score_texts

    if log is None or truth is None:
        from toolkit.sample import load_sample, load_sample_truth

        log, truth = (log or load_sample()), (truth or load_sample_truth())
    first = _first_turns(log, truth)
    if not 1 <= n_examples <= len(first):
        raise ABInputError(f"n_examples must be in [1, {len(first)}], got {n_examples}")
    probs = truth["answer_kind_probabilities"]
    kinds_other = ["generic", "off_topic", "garbled"]
    split = np.asarray(probs["generic_off_topic_garbled_split"], dtype=float)
    rng = np.random.default_rng(seed)
    test = first.iloc[np.sort(rng.choice(len(first), n_examples, replace=False))]
    pools = {key: grp["bot_response"].to_numpy() for key, grp in first.groupby(["intent", "kind"])}
    by_kind = {k: grp["bot_response"].to_numpy() for k, grp in first.groupby("kind")}
    v = truth["variants"]
    parts = []
    for arm in [v["control"], *v["treatment"]]:
        good = rng.random(n_examples) < float(probs["good"][arm])
        other = np.asarray(kinds_other)[rng.choice(3, n_examples, p=split / split.sum())]
        kind = np.where(good, "good", other)
        pick = rng.random(n_examples)
        answers = []
        for it, k, u in zip(test["intent"], kind, pick):
            pool = pools.get((it, k))
            pool = pool if pool is not None and len(pool) else by_kind[k]
            answers.append(pool[int(u * len(pool))])
        parts.append(pd.DataFrame({
            "example_id": test["conversation_id"].to_numpy(), "variant": arm,
            "intent": test["intent"].to_numpy(), "answer_kind": kind,
            "good": good.astype(int), "user_input": test["user_input"].to_numpy(),
            "bot_response": answers}))
    table = pd.concat(parts, ignore_index=True)
    scores = score_texts(table["user_input"], table["bot_response"])
    table["quality"] = scores["quality"].to_numpy()
    table["relevance"] = scores["relevance"].to_numpy()
    return table
