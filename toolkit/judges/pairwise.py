"""Pairwise judge: which of two responses to the same message is better (ties allowed), with
the order shown randomised by a seed (or both orders), and the judge's position bias.

Examples
--------
>>> import pandas as pd
>>> pairs = pd.DataFrame({"user_input": ["Refund?"], "response_a": ["Yes, within 5 days."],
...                       "response_b": ["Maybe."]})
>>> judge_pairs(pairs, model="m", dry_run=True, cache=False, both_orders=True).n_requests
2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.judges.pointwise import make_client
from toolkit.judges.rubrics import pairwise_messages, parse_winner, parse_with_retry
from toolkit.llm import CostEstimate, LLMClient

__all__ = ["PositionBias", "judge_pairs", "position_bias"]

_MAX_PAIRS = 50_000


def judge_pairs(pairs: pd.DataFrame, rubric: str = "helpfulness", *, a_col: str = "response_a",
                b_col: str = "response_b", prompt_col: str = "user_input", both_orders: bool = False,
                seed: int = 0, model: str | None = None, client: LLMClient | None = None,
                dry_run: bool = False, progress: bool = True,
                **client_kwargs: Any) -> pd.DataFrame | CostEstimate:
    """Ask an LLM which response of each pair is better on ``rubric``.

    Parameters
    ----------
    pairs : DataFrame
        One row per comparison with the user's message and the two responses (A and B).
    rubric : str
        A rubric of :data:`toolkit.judges.RUBRICS`.
    both_orders : bool
        Show every pair twice (A first, then B first); the verdict is the agreement of the two
        (a tie when they disagree). Otherwise one order per pair, drawn with ``seed``.
    model, client, **client_kwargs, dry_run, progress
        As in :func:`toolkit.judges.judge_turns`.

    Returns
    -------
    DataFrame
        A copy of ``pairs`` with ``judge_winner`` (``"A"``, ``"B"``, ``"tie"`` or <NA> when the
        judge gave no usable answer), ``judge_reason``, and per order shown ``order1_first``
        (``"A"`` or ``"B"``, the response shown first), ``order1_winner`` and ``order1_reason``
        (and ``order2_*`` with both orders), which :func:`position_bias` reads.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"user_input": ["q"], "response_a": ["a"], "response_b": ["b"]})
    >>> judge_pairs(p, model="m", dry_run=True, cache=False).examples[0].count("[Response")
    2
    """
    for c in (prompt_col, a_col, b_col):
        if c not in pairs.columns:
            raise ToolkitError(f"judge_pairs needs the column {c!r}; the pairs have {list(pairs.columns)}")
    if len(pairs) > _MAX_PAIRS:
        raise ToolkitError(f"{len(pairs):,} pairs exceed the limit of {_MAX_PAIRS:,} per call")
    n = len(pairs)
    a_first = np.random.default_rng(seed).random(n) < 0.5
    orders = [a_first] if not both_orders else [np.ones(n, bool), np.zeros(n, bool)]
    q, a, b = (pairs[c].astype("string").fillna("").to_numpy() for c in (prompt_col, a_col, b_col))
    batch = []
    for first_is_a in orders:
        for i in range(n):
            one, two = (a[i], b[i]) if first_is_a[i] else (b[i], a[i])
            batch.append(pairwise_messages(rubric, q[i], one, two))
    cl = make_client(client, model, **client_kwargs)
    if dry_run:
        return cl.estimate(batch, completion_tokens=60)
    results = cl.complete_many(batch, progress=progress, desc=f"pairwise ({rubric})",
                               then=lambda k, comp: parse_with_retry(cl, batch[k], comp, parse_winner)[:2])
    out = pairs.copy()
    verdicts = []
    for o, first_is_a in enumerate(orders, 1):
        res = results[(o - 1) * n:o * n]
        shown = np.where(first_is_a, "A", "B")
        win = []
        for i, (w, _reason) in enumerate(res):
            if w is None:
                win.append(None)
            elif w == "tie":
                win.append("tie")
            else:
                win.append(shown[i] if w == "1" else ("B" if shown[i] == "A" else "A"))
        out[f"order{o}_first"] = pd.array(shown, dtype="string")
        out[f"order{o}_winner"] = pd.array(win, dtype="string")
        out[f"order{o}_reason"] = pd.array([r for _w, r in res], dtype="string")
        verdicts.append(win)
    if both_orders:
        final = [w1 if w1 == w2 else (None if w1 is None or w2 is None else "tie")
                 for w1, w2 in zip(*verdicts)]
    else:
        final = verdicts[0]
    out["judge_winner"] = pd.array(final, dtype="string")
    out["judge_reason"] = out["order1_reason"]
    out.attrs["judge_usage"] = {**cl.usage.to_dict(), "model": cl.model, "rubric": rubric,
                                "both_orders": both_orders}
    return out


@dataclass(frozen=True)
class PositionBias:
    """How often the response shown first wins (ties and missing left out), with a Wilson CI;
    with both orders, how often the two orders agree."""

    n_decided: int
    n_ties: int
    n_missing: int
    first_wins: float
    ci_low: float
    ci_high: float
    consistency: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary_table(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def position_bias(judged: pd.DataFrame, alpha: float = 0.05) -> PositionBias:
    """The share of decided comparisons won by the response shown first (0.5 = no bias).

    Counts every order shown (``order1_*`` and, with both orders, ``order2_*``).

    Examples
    --------
    >>> import pandas as pd
    >>> j = pd.DataFrame({"order1_first": ["A", "B", "A", "B"], "order1_winner": ["A", "B", "tie", "A"]})
    >>> pb = position_bias(j)
    >>> pb.n_decided, round(pb.first_wins, 3), pb.n_ties
    (3, 0.667, 1)
    """
    firsts, winners = [], []
    o = 1
    while f"order{o}_first" in judged.columns:
        firsts.append(judged[f"order{o}_first"].astype("string"))
        winners.append(judged[f"order{o}_winner"].astype("string"))
        o += 1
    if not firsts:
        raise ToolkitError("position_bias needs the order1_first / order1_winner columns of judge_pairs")
    first = pd.concat(firsts, ignore_index=True)
    win = pd.concat(winners, ignore_index=True)
    missing = int(win.isna().sum())
    ties = int((win == "tie").sum())
    decided = win.notna() & (win != "tie")
    k = int((win[decided] == first[decided]).sum())
    n = int(decided.sum())
    if n:
        from statsmodels.stats.proportion import proportion_confint

        p = k / n
        lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    else:
        p = lo = hi = float("nan")
    consistency = None
    if len(firsts) == 2:
        w1, w2 = winners
        both = w1.notna() & w2.notna()
        consistency = float((w1[both] == w2[both]).mean()) if both.any() else float("nan")
    return PositionBias(n, ties, missing, float(p), float(lo), float(hi), consistency)
