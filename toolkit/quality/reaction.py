"""The user's reaction to each answer, read from the user's next message in the conversation.

In a real log the next user message says whether an answer worked: "thanks, that worked" after a
good answer; "that's not what I asked", "human please", the same request again, or "what?" after
a bad one. :func:`reaction` turns that into a per-turn column in [0, 1] (higher = the user seems
satisfied), NaN for the last turn of a conversation (no next message). Everything is computed
locally, with no model, vectorised over the whole log: the cues are evaluated once per distinct
next-message text and the similarities with hashed term counts (:class:`toolkit.text.HashedTfidf`).

Cues (:func:`reaction_cues` returns them per turn)
--------------------------------------------------
sentiment
    VADER compound of the next user message (:func:`toolkit.sentiment.vader_compound`), -1..1.
complaint
    1 when the next message complains or shows frustration: "that's not what I asked",
    "doesn't answer my question", "useless", "wrong", "still not working", "I already told you",
    "you're not listening", a request for a human/agent ("human please", "talk to a real
    person"), shouting (two or more words in capitals) or "?!"/"!!!". The phrases are fixed
    English patterns (:data:`COMPLAINT_PATTERN`, :data:`ESCALATION_PATTERN`), not fitted.
escalation
    1 when the next message asks for a human/agent (:data:`ESCALATION_PATTERN`; also a complaint).
confusion
    1 when the next message asks what the answer meant: "what?", "huh?", "what do you mean",
    "I don't understand", "that makes no sense" (:data:`CONFUSION_PATTERN`).
short_question
    1 when the next message is a question of at most four words ("Who is?", "why?", "so?").
thanks
    1 when the next message thanks or confirms ("thanks", "great, that worked", "perfect",
    "got it", "it's sorted now") and is not a complaint (:data:`THANKS_PATTERN`).
repeat
    Cosine of the term counts (hashed tokens, stop words dropped) of the next user message and
    the current one: the user repeating or rephrasing the same request.
follows
    The same cosine between the next user message and the answer: the user takes up what the
    bot said.
declines
    1 when the next message starts with a refusal or objection: "no", "nope", "nah", "not",
    "wait", "but" (:data:`DECLINE_PATTERN`).
correction
    1 when the user corrects or restates: "I meant", "I said", "actually", "instead", "should
    be", "not the", "my mistake", "sorry, but" (:data:`CORRECTION_PATTERN`).
retry
    1 when the user asks to try again: "try again", "check again", "again" (:data:`RETRY_PATTERN`).
bye_no_thanks
    1 when the user leaves ("bye", "that's all", "nothing else") without thanks (:data:`BYE_PATTERN`).
moves_on
    1 when the user moves on to a further need: "also", "as well", "one more thing"
    (:data:`MOVES_ON_PATTERN`).

Combination
-----------
``reaction = 1 / (1 + exp(-(b + sum_k w_k * cue_k)))`` with the weights of
:data:`REACTION_WEIGHTS`: a logistic fit of "the raters did not mark the answer as a failure"
around a prior, the hand-set weights of :data:`REACTION_PRIOR` (set from each cue's meaning),
each slope held to the sign of its meaning, each data set weighted equally with balanced classes
and worth 10 observations against a unit-variance prior (so a cue the data rarely show, such as
a request for a human, keeps about its prior weight; 10 is the largest of 1000/300/100/30/10/3
for which the hand-written service cases of ``tests/test_reaction.py`` still hold). The
intercept is the prior's (0.5: a follow-up without any cue scores 0.62); it sets the level, not
the ranking. Fitted on the sets whose licences allow it (``python benchmarks/bench_reaction.py
--fit``):

* DBDC3 English (``dbd-challenge/dbdc3``, MIT): breakdown = majority label X of ~30 raters;
* ConTurE (``alexa/conture``, CC BY 4.0): overall impression 0 of 0-2.

Validated, never fitted, on the User Satisfaction Simulation data of Sun et al. 2021
(``sunnweiwei/user-satisfaction-simulation``; its repository states no licence, so it serves for
validation only): MultiWOZ, SGD, ReDial and CCPE user turns rated 1-5 for satisfaction with the
system turn before them; failure = the most frequent rating is 1 or 2. Figures in the README,
section "User reaction and human labels".

Pass ``weights=`` to use your own (e.g. :data:`REACTION_PRIOR`).

Per conversation (:func:`conversation_reaction`): the mean of the turns' reactions, where a
conversation that ends right after an answer and is marked not resolved (``resolved == False``)
counts that last answer as a reaction of 0 (abandonment).

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"conversation_id": ["a", "a", "a", "b", "b"], "turn": [0, 1, 2, 0, 1],
...                   "user_input": ["where is my order?", "that's not what I asked",
...                                  "ok thanks, that worked!", "reset my password", "reset my password!!"],
...                   "bot_response": ["We open at 9.", "It ships today.", "You're welcome.",
...                                    "Try again later.", "Use the reset link."]})
>>> reaction(t).round(2).tolist()
[0.06, 0.95, nan, 0.23, nan]
"""

from __future__ import annotations

import re
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "reaction",
    "reaction_cues",
    "reaction_from_cues",
    "conversation_reaction",
    "next_user_messages",
    "CUES",
    "REACTION_WEIGHTS",
    "REACTION_PRIOR",
    "COMPLAINT_PATTERN",
    "ESCALATION_PATTERN",
    "CONFUSION_PATTERN",
    "THANKS_PATTERN",
    "DECLINE_PATTERN",
    "CORRECTION_PATTERN",
    "RETRY_PATTERN",
    "BYE_PATTERN",
    "MOVES_ON_PATTERN",
]

#: the cues, in the order of the weights
CUES = ("sentiment", "complaint", "escalation", "confusion", "short_question", "thanks", "repeat", "follows",
        "declines", "correction", "retry", "bye_no_thanks", "moves_on")

#: the prior: weights set by hand from each cue's meaning (the first release's, plus the service cues)
REACTION_PRIOR: dict[str, float] = {
    "intercept": 0.5,
    "sentiment": 1.0,
    "complaint": -2.0,
    "escalation": -2.0,
    "confusion": -1.5,
    "short_question": -0.5,
    "thanks": 2.0,
    "repeat": -2.0,
    "follows": 0.5,
    "declines": -1.0,
    "correction": -1.5,
    "retry": -1.0,
    "bye_no_thanks": -0.5,
    "moves_on": 0.5,
}

#: the shipped weights: a MAP logistic fit of "not a failure" around :data:`REACTION_PRIOR` on the two
#: licensed public human-rated sets, DBDC3 (MIT) and ConTurE (CC BY 4.0) (see the module docstring;
#: refit with ``python benchmarks/bench_reaction.py --fit``); the intercept is the prior's (level only)
REACTION_WEIGHTS: dict[str, float] = {
    "intercept": 0.5,
    "sentiment": 0.759,
    "complaint": -1.771,
    "escalation": -1.998,
    "confusion": -1.461,
    "short_question": -0.431,
    "thanks": 1.858,
    "repeat": -1.7,
    "follows": 0.44,
    "declines": -0.828,
    "correction": -1.438,
    "retry": -1.0,
    "bye_no_thanks": -0.475,
    "moves_on": 0.474,
}

_NT = r"(?:n'?t|n’t| not)"
COMPLAINT_PATTERN = (
    r"\bdid you (?:even )?(?:read|listen|understand)\b|\bnot what i (?:asked|meant|wanted|said|need(?:ed)?)\b"
    r"|\b(?:that|this|it)(?:'?s| is| was)? (?:not|wrong|incorrect)\b(?! (?:bad|a problem|an issue))"
    rf"|\b(?:does|did|do|is|was|are){_NT} (?:answer|help|work|solve|fix|understand|listen)"
    r"|\b(?:doesnt|didnt|dont|isnt|wasnt) (?:answer|help|work|solve|fix|understand|listen)"
    r"|\b(?:answer|read) (?:my|the) (?:question|message)\b"
    r"|\b(?:useless|pointless|worthless|unhelpful|not helpful|waste of (?:my )?time|wrong|incorrect"
    r"|stupid|dumb|idiot\w*|ridiculous|nonsense|rubbish|garbage|terrible|awful|horrible|pathetic"
    r"|frustrat\w*|annoy\w*|disappoint\w*|wtf|ugh+|argh+|seriously\?|irrelevant|non-?sequitur|off topic)\b"
    rf"|\bstill (?:not|no|doesn'?t|isn'?t|can'?t|won'?t|broken|nothing|the same|waiting|having|{_NT})"
    r"|\bi (?:already|just) (?:said|told|asked|tried|did|gave)\b"
    r"|\bi (?:said|told you|asked you)\b"
    r"|\byou(?:'re| are|r) (?:not (?:listening|helping|making sense|understanding)|wrong|useless|confus\w*)"
    r"|\bare you (?:even )?(?:listening|reading|serious|kidding|a bot|a robot)\b"
    r"|\bwhat are you (?:talking|on) about\b|\bthanks for nothing\b|\bnever ?mind\b|\bforget it\b"
)
ESCALATION_PATTERN = (
    r"\b(?:talk|speak|chat|connect|transfer|put) (?:me )?(?:to|with|through to) "
    r"(?:a |an |the |your |some )?(?:real |live |actual )?(?:human|agent|person|representative|operator"
    r"|supervisor|manager|someone|somebody)\b"
    r"|\b(?:real|live|actual) (?:person|human|agent)\b"
    r"|\b(?:human|agent|representative|operator|supervisor)\W{0,3}(?:please|pls|plz|now)\b"
    r"|^\W*(?:human|agent|representative|operator)\W*$"
)
CONFUSION_PATTERN = (
    r"^\W*(?:what|wha+t|huh|hm+|eh|pardon|sorry|excuse me|come again|meaning|uh+|um+|what\?+)\W*$"
    r"|\bwhat do you mean\b|\bwhat does (?:that|this|it) mean\b"
    rf"|\bi do{_NT} (?:understand|get (?:it|that|you)|follow)\b|\bi dont (?:understand|get it|follow)\b"
    r"|\b(?:makes?|making) no sense\b|\b(?:does|did|do){_NT} make (?:any )?sense\b|\bdoesnt make sense\b"
    r"|\bconfus\w*"
)
THANKS_PATTERN = (
    r"\b(?:thanks?|thank (?:you|u)|thx|ty|cheers|appreciate\w*|grateful)\b"
    r"|\b(?:that|it|this)(?:'?s| is| has)? (?:worked|works|helped|helps|fixed|solved|sorted|did it|did the trick)\b"
    r"|\b(?:problem|issue|it|that)(?:'?s| is| was| has been)? (?:solved|fixed|resolved|sorted)\b"
    r"|\b(?:got it|sounds good|makes sense|that'?s (?:great|perfect|helpful|right|correct)|exactly"
    r"|perfect|awesome|brilliant|excellent|wonderful|fantastic|great|much better|have a (?:nice|good|great) day)\b"
)
DECLINE_PATTERN = r"^\W*(?:no|nope|nah|not|never|wait|hold on|but)\b"
CORRECTION_PATTERN = (
    r"\b(?:i meant|i mean|i said|i asked (?:for|about)|i wanted|instead|rather than|should be|not the"
    r"|that'?s not|mistake\w*|mistaken|typo|correction|i'?m sorry,? but|sorry,? i|i apologi[sz]e|my bad"
    r"|actually|change (?:it|that|the)|let me (?:clarify|rephrase))\b"
)
RETRY_PATTERN = (
    r"\b(?:try (?:again|once more|another|something else|a different|it again)|check again|search again"
    r"|look again|one more time|again)\b"
)
BYE_PATTERN = r"\b(?:bye|goodbye|good bye|that'?s all|that is all|nothing else|i'?m done|no more)\b"
MOVES_ON_PATTERN = r"\b(?:also|as well|another thing|one more thing|in addition|next i)\b"
_SHOUT = re.compile(r"\b[A-Z]{3,}\b")
_EMPHASIS = re.compile(r"\?!|!\?|!!!|\?\?\?")
_WORD = re.compile(r"\w+")


def next_user_messages(turns: pd.DataFrame) -> pd.Series:
    """The user message that follows each turn in its conversation (``<NA>`` for the last turn).

    Turns are ordered by ``turn`` inside each ``conversation_id`` (without those columns each row
    is its own conversation); the result is aligned with ``turns``' index.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a", "b", "a"], "turn": [1, 0, 0],
    ...                   "user_input": ["thanks", "hi", "where is my order?"]})
    >>> next_user_messages(t).tolist()
    [<NA>, <NA>, 'thanks']
    """
    n = len(turns)
    out = np.full(n, None, dtype=object)
    if n and {"conversation_id", "turn"} <= set(turns.columns):
        order = np.lexsort((turns["turn"].to_numpy(), turns["conversation_id"].astype(str).to_numpy()))
        cid = turns["conversation_id"].astype(str).to_numpy()[order]
        text = turns["user_input"].to_numpy(dtype=object)[order]
        same = np.zeros(n, dtype=bool)
        same[:-1] = cid[1:] == cid[:-1]
        nxt = np.full(n, None, dtype=object)
        nxt[:-1] = text[1:]
        nxt[~same] = None
        out[order] = nxt
    res = pd.Series(out, index=turns.index, dtype="string")
    return res


def _flags(texts: pd.Series) -> pd.DataFrame:
    """The lexical cues of distinct message texts (a string Series without missing values)."""
    low = texts.str.lower().str.replace("’", "'", regex=False)
    escalation = low.str.contains(ESCALATION_PATTERN, regex=True)
    complaint = low.str.contains(COMPLAINT_PATTERN, regex=True) | escalation
    shout = texts.map(lambda s: len(_SHOUT.findall(s)) >= 2).astype(bool)
    complaint = complaint | shout | texts.str.contains(_EMPHASIS, regex=True)
    confusion = low.str.contains(CONFUSION_PATTERN, regex=True)
    words = low.map(lambda s: len(_WORD.findall(s)))
    short_q = low.str.rstrip().str.endswith("?") & (words <= 4)
    thanks = low.str.contains(THANKS_PATTERN, regex=True) & ~complaint & ~confusion
    out = {"complaint": complaint, "escalation": escalation, "confusion": confusion, "short_question": short_q,
           "thanks": thanks,
           "declines": low.str.contains(DECLINE_PATTERN, regex=True),
           "correction": low.str.contains(CORRECTION_PATTERN, regex=True),
           "retry": low.str.contains(RETRY_PATTERN, regex=True),
           "bye_no_thanks": low.str.contains(BYE_PATTERN, regex=True) & ~thanks,
           "moves_on": low.str.contains(MOVES_ON_PATTERN, regex=True)}
    return pd.DataFrame({k: v.to_numpy(bool) for k, v in out.items()})


def reaction_cues(turns, *, idf=None) -> pd.DataFrame:
    """The cues of :func:`reaction` per turn (see the module docstring), NaN for the last turns.

    Parameters
    ----------
    turns : DataFrame or ConversationLog
        ``conversation_id``, ``turn``, ``user_input``, ``bot_response``.
    idf : toolkit.text.HashedTfidf, optional
        A fitted TF-IDF for ``repeat`` and ``follows``; default: every term weighs 1 (cosine of
        term counts, stop words dropped), so a turn's cues depend only on its own texts and the
        Dask engine's partitions give the same values.

    Returns
    -------
    DataFrame
        ``next_user`` and one float column per cue in :data:`CUES`, aligned with the turns.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a", "a"], "turn": [0, 1],
    ...                   "user_input": ["cancel my plan", "HUMAN PLEASE, cancel my plan"],
    ...                   "bot_response": ["Our plans start at $5.", "Done."]})
    >>> reaction_cues(t).iloc[0][["complaint", "thanks", "repeat"]].astype(float).round(2).tolist()
    [1.0, 0.0, 0.82]
    """
    from toolkit.sentiment import vader_compound
    from toolkit.text import STOP_WORDS, as_text_list

    turns = getattr(turns, "turns", turns)
    for col in ("user_input", "bot_response"):
        if col not in turns.columns:
            raise KeyError(f"reaction needs a {col!r} column")
    nxt = next_user_messages(turns)
    has = nxt.notna().to_numpy()
    out = pd.DataFrame(np.nan, index=turns.index, columns=list(CUES))
    out.insert(0, "next_user", nxt)
    if not has.any():
        return out
    texts = nxt[has].astype(str)
    codes, uniq = pd.factorize(texts)
    uniq = pd.Series(np.asarray(uniq, dtype=object)).astype(str)
    flags = _flags(uniq)
    sent = np.asarray(vader_compound(list(uniq)), dtype=float)
    for c in flags.columns:
        out.loc[has, c] = flags[c].to_numpy(float)[codes]
    out.loc[has, "sentiment"] = sent[codes]
    user = pd.Series(as_text_list(turns["user_input"], "turns.user_input"), dtype=object)
    resp = pd.Series(as_text_list(turns["bot_response"], "turns.bot_response"), dtype=object)
    ucode, utexts = pd.factorize(user)
    rcode, rtexts = pd.factorize(resp)
    utexts, rtexts = list(utexts), list(rtexts)
    idx = np.flatnonzero(has)
    nxt_code = pd.Index(utexts).get_indexer(texts.to_numpy(dtype=object))
    if idf is None:  # cosine of term counts: a turn's cues depend on its own texts only
        vec = _count_vectors(utexts + rtexts, STOP_WORDS)
        uvec, rvec = vec[: len(utexts)], vec[len(utexts):]
    for cue, other, otexts, ovec in (("repeat", ucode, utexts, None if idf else uvec),
                                     ("follows", rcode, rtexts, None if idf else rvec)):
        key = nxt_code.astype(np.int64) * max(1, len(otexts)) + other[idx].astype(np.int64)
        pcode, ukeys = pd.factorize(key)
        ia, ib = ukeys // max(1, len(otexts)), ukeys % max(1, len(otexts))
        if idf is not None:
            sims = idf.rowwise_cosine([utexts[i] for i in ia], [otexts[j] for j in ib])
        else:
            sims = np.asarray(uvec[ia].multiply(ovec[ib]).sum(axis=1)).ravel()
        out.loc[has, cue] = np.clip(sims, 0.0, 1.0)[pcode]
    return out


def _count_vectors(texts: list[str], stop_words, chunk: int = 20_000):
    """L2-normalised term-count vectors (hashed tokens, stop words dropped) as a CSR matrix."""
    from scipy.sparse import csr_matrix

    from toolkit.text import hash_string, hash_tokens

    stop = np.sort(np.array([hash_string(w) for w in stop_words], dtype=np.uint64))
    docs, hashes = [], []
    for i in range(0, len(texts), chunk):
        ht = hash_tokens(texts[i:i + chunk])
        pos = np.minimum(np.searchsorted(stop, ht.hash), len(stop) - 1)
        keep = stop[pos] != ht.hash  # drop stop words (a binary search, cheaper than np.isin here)
        docs.append(ht.doc[keep] + i)
        hashes.append(ht.hash[keep])
    doc = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
    # columns in hash order: every row's sums run over its terms in the same order whatever other
    # texts are present, so a turn's cues are bit-identical on any partition of the log
    col, vocab = pd.factorize(np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64), sort=True)
    m = csr_matrix((np.ones(len(doc)), (doc, col)), shape=(len(texts), max(1, len(vocab))))
    m.sum_duplicates()  # also sorts the column indices of each row
    norm = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m = m.multiply(1.0 / np.where(norm > 0, norm, 1.0)[:, None]).tocsr()
    return m


def reaction_from_cues(cues: pd.DataFrame | Mapping, weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Combine cues into the reaction in [0, 1] with the logistic weights (default: shipped).

    Examples
    --------
    >>> reaction_from_cues({k: [0.0] for k in CUES}).round(3).tolist()   # no cue at all
    [0.622]
    """
    w = dict(REACTION_WEIGHTS if weights is None else weights)
    z = np.full(len(np.asarray(cues[CUES[0]])), float(w.get("intercept", 0.0)))
    for k in CUES:
        z = z + float(w.get(k, 0.0)) * np.asarray(cues[k], dtype=float)
    return 1.0 / (1.0 + np.exp(-z))


def reaction(turns, *, weights: Mapping[str, float] | None = None, idf=None) -> np.ndarray:
    """Per-turn user reaction in [0, 1] from the next user message; NaN for each last turn.

    Parameters
    ----------
    turns : DataFrame or ConversationLog
        ``conversation_id``, ``turn``, ``user_input``, ``bot_response``.
    weights : dict, optional
        Logistic weights by cue plus ``intercept`` (default :data:`REACTION_WEIGHTS`).
    idf : toolkit.text.HashedTfidf, optional
        TF-IDF for the similarity cues (default: term counts, see :func:`reaction_cues`).

    Returns
    -------
    numpy.ndarray
        float64, aligned with the turns' rows.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a", "a"], "turn": [0, 1],
    ...                   "user_input": ["opening hours?", "Perfect, thanks!"],
    ...                   "bot_response": ["We open 9-17.", "You're welcome."]})
    >>> reaction(t).round(2).tolist()
    [0.95, nan]
    """
    cues = reaction_cues(turns, idf=idf)
    r = reaction_from_cues(cues, weights)
    r[cues["sentiment"].isna().to_numpy()] = np.nan
    return r


def conversation_reaction(turns, conversations: pd.DataFrame | None = None) -> pd.Series:
    """Mean reaction per conversation, an unresolved abandoned ending counting as 0.

    Parameters
    ----------
    turns : DataFrame or ConversationLog
        With a ``reaction`` column (:func:`reaction`) and ``conversation_id``.
    conversations : DataFrame, optional
        With ``conversation_id`` and ``resolved``; taken from the log when ``turns`` is one.
        A conversation with ``resolved == False`` adds a reaction of 0 for its last answer (the
        user left after it without a resolution); resolved or unknown adds nothing.

    Returns
    -------
    Series
        Indexed by ``conversation_id``, named ``reaction``; NaN when there is nothing to average.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a", "a", "b"], "reaction": [0.9, float("nan"), float("nan")]})
    >>> c = pd.DataFrame({"conversation_id": ["a", "b"], "resolved": [False, True]})
    >>> conversation_reaction(t, c).round(2).to_dict()
    {'a': 0.45, 'b': nan}
    """
    if conversations is None and hasattr(turns, "conversations"):
        conversations = turns.conversations
    turns = getattr(turns, "turns", turns)
    if "reaction" not in turns.columns:
        raise KeyError("conversation_reaction needs a 'reaction' column (score_turns adds it)")
    cid = turns["conversation_id"].astype(str)
    r = turns["reaction"].astype(float)
    g = pd.DataFrame({"cid": cid.to_numpy(), "r": r.to_numpy()}).groupby("cid", sort=True)["r"]
    total, count = g.sum(min_count=0), g.count()
    if conversations is not None and "resolved" in conversations.columns:
        res = conversations.set_index(conversations["conversation_id"].astype(str))["resolved"]
        abandoned = (res.astype("boolean") == False).fillna(False)  # noqa: E712 - nullable boolean
        count = count.add(abandoned.reindex(count.index).fillna(False).astype(int), fill_value=0)
    out = (total / count.replace(0, np.nan)).astype(float)
    out.index.name = "conversation_id"
    return out.rename("reaction")

