"""SIMULATED judge scores and human labels for offline examples and tests (never real data).

The bundled sample records what kind of answer every turn is (good, generic, off-topic,
garbled). From that truth this module draws, with a seed:

* a hidden human rating for every turn, 1-5: ``round(mean_of_kind + N(0, label_noise))``;
* human labels: the hidden ratings of ``n_labels`` turns drawn uniformly at random (what a team
  would get by rating a random sample);
* a simulated LLM judge, 1-5, that is lenient (``+judge_bias``), noisier than people, and
  favours some variants (``variant_bias``, e.g. longer prompts): ``round(mean_of_kind +
  judge_bias + variant_bias + N(0, judge_noise))``.

The truth it returns is the mean hidden rating over *all* turns (per variant, the lift, per
week), so an example can show that the judge-only estimate is biased and that PPI covers it.

Examples
--------
>>> import toolkit
>>> sim = simulate_judge_and_labels(toolkit.load_sample(), n_labels=200, seed=1)
>>> len(sim.labels), bool(sim.turns["judge_sim"].between(1, 5).all())
(200, True)
>>> sim.truth["simulated"]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = ["KIND_MEANS", "SimulatedJudge", "simulate_judge_and_labels"]

#: Mean hidden human rating (1-5) of each kind of answer in the sample.
KIND_MEANS = {"good": 4.3, "generic": 2.9, "off_topic": 1.9, "garbled": 1.5}


@dataclass(frozen=True)
class SimulatedJudge:
    """Turns with a ``judge_sim`` column, a labels table (``read_labels`` format) and the truth."""

    turns: pd.DataFrame
    labels: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"n_turns": len(self.turns), "n_labels": len(self.labels), "truth": self.truth}

    def summary_table(self) -> pd.DataFrame:
        t = self.truth
        rows = [{"variant": v, "true_mean_rating": m, "judge_mean": t["judge_mean"].get(v)}
                for v, m in t["mean_rating"].items()]
        return pd.DataFrame(rows)


def simulate_judge_and_labels(log=None, truth: Mapping | None = None, *, n_labels: int = 300,
                              seed: int = 0, label_noise: float = 0.6, judge_bias: float = 0.6,
                              judge_noise: float = 0.9,
                              variant_bias: Mapping[str, float] | None = None) -> SimulatedJudge:
    """Draw a SIMULATED biased judge and simulated human labels for a sample log (seeded).

    Parameters
    ----------
    log : ConversationLog, optional
        The bundled sample by default; another log needs its generator's ``truth``.
    truth : mapping, optional
        The sample's truth (``toolkit.sample.load_sample_truth()`` by default).
    n_labels : int
        Turns with a simulated human label, drawn uniformly at random (1 to the number of turns).
    seed : int
        Seed of every draw.
    label_noise, judge_noise : float
        SD of the people's and the judge's noise around the answer kind's mean.
    judge_bias : float
        The judge's leniency, added to every score before rounding.
    variant_bias : mapping, optional
        Extra leniency per variant (default ``{"B": 0.3}``: the judge favours B).

    Returns
    -------
    SimulatedJudge
        ``turns`` (a copy with ``judge_sim``), ``labels`` (conversation_id, turn, rating, rater)
        and ``truth``: the realised mean hidden rating over all turns per variant and per ISO
        week, the lift of each variant over the first, the judge's means and the settings.

    Examples
    --------
    >>> import toolkit
    >>> sim = simulate_judge_and_labels(toolkit.load_sample(), n_labels=50)
    >>> sorted(sim.truth["mean_rating"])
    ['A', 'B']
    """
    if log is None:
        from toolkit.sample import load_sample

        log = load_sample()
    if truth is None:
        from toolkit.sample import load_sample_truth

        truth = load_sample_truth()
    turns = log.turns if hasattr(log, "turns") else log
    n = len(turns)
    if not 1 <= int(n_labels) <= n:
        raise ToolkitError(f"n_labels={n_labels} must be between 1 and the {n:,} turns")
    for name, v in (("label_noise", label_noise), ("judge_noise", judge_noise)):
        if not 0 <= v <= 10:
            raise ToolkitError(f"{name}={v} is outside [0, 10]")
    vb = {"B": 0.3} if variant_bias is None else dict(variant_bias)
    from toolkit.sample import answer_kinds

    kinds = answer_kinds(turns, truth)
    mu = np.array([KIND_MEANS[k] for k in kinds])
    rng = np.random.default_rng(seed)
    hidden = np.clip(np.rint(mu + rng.normal(0, label_noise, n)), 1, 5)
    variant = (turns["variant"].astype("string").fillna("(none)").to_numpy()
               if "variant" in turns.columns else np.full(n, "(none)", dtype=object))
    shift = np.array([vb.get(str(v), 0.0) for v in variant])
    judge = np.clip(np.rint(mu + judge_bias + shift + rng.normal(0, judge_noise, n)), 1, 5)
    out = turns.copy()
    out["judge_sim"] = judge
    pick = np.sort(rng.choice(n, size=int(n_labels), replace=False))
    labels = pd.DataFrame({
        "conversation_id": turns["conversation_id"].astype("string").to_numpy()[pick],
        "turn": pd.array(turns["turn"].to_numpy()[pick], dtype="Int64"),
        "rating": hidden[pick].astype(float),
        "rater": pd.array(["simulated"] * len(pick), dtype="string"),
    })
    frame = pd.DataFrame({"variant": variant, "hidden": hidden, "judge": judge})
    means = frame.groupby("variant")["hidden"].mean()
    jmeans = frame.groupby("variant")["judge"].mean()
    first = means.index[0]
    result = {
        "simulated": True,
        "note": "simulated judge and human labels drawn from the sample's answer kinds; not real ratings",
        "seed": int(seed), "n_labels": int(n_labels), "kind_means": dict(KIND_MEANS),
        "label_noise": label_noise, "judge_bias": judge_bias, "judge_noise": judge_noise,
        "variant_bias": vb,
        "mean_rating_all": float(hidden.mean()),
        "mean_rating": {str(k): float(v) for k, v in means.items()},
        "judge_mean": {str(k): float(v) for k, v in jmeans.items()},
        "lift": {str(k): float(means[k] - means[first]) for k in means.index if k != first},
        "control": str(first),
        "corr_judge_label": float(np.corrcoef(judge, hidden)[0, 1]),
    }
    if "timestamp" in turns.columns:
        from toolkit.ppi import period_labels

        week = period_labels(turns["timestamp"], "W")
        result["weekly_mean"] = {str(k): float(v) for k, v in
                                 pd.Series(hidden).groupby(week).mean().items()}
    return SimulatedJudge(out, labels, result)
