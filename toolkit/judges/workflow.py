"""Notebook 06's steps as functions: what to calibrate (scores and labels), a real judge's trial,
and the PPI lift's headline.

:func:`judge_inputs` gives the scored turns and the human labels: simulated on the bundled sample
(a biased judge, labels from hidden true ratings, and the truth to check against), or a labels
file for a log. :func:`try_judge` runs an LLM judge on a configured endpoint (or only estimates
its cost). :func:`lift_headline` flattens a :class:`toolkit.ppi.PPILift` for the sidecar.

Examples
--------
>>> import toolkit
>>> inp = judge_inputs(toolkit.load_sample().select(end="2026-09-08"), n_labels=100, seed=0)
>>> inp.simulated, inp.score, len(inp.labels)
(True, 'judge_sim', 100)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from toolkit._escape import md_text
from toolkit.errors import ToolkitError

__all__ = ["JudgeInputs", "JudgeTrial", "judge_inputs", "try_judge", "lift_headline"]

#: the truth of a simulation the sidecar records
_TRUTH_KEYS = ("mean_rating", "lift", "judge_mean", "corr_judge_label", "note")


@dataclass
class JudgeInputs:
    """Scored turns (``quality``, ``reaction`` and any ``judge_*`` columns), the labels, the score
    the labels calibrate, and for a simulation its ``truth``."""

    scored: pd.DataFrame
    labels: pd.DataFrame
    score: str
    simulated: bool
    truth: dict | None = None
    seed: int = 0

    def describe(self) -> str:
        """One Markdown paragraph on what was loaded or simulated (the score's name escaped).

        Examples
        --------
        >>> JudgeInputs(pd.DataFrame({"x": [1]}), pd.DataFrame(), "<b>judge_x</b>", False).describe()
        '1 turns, 0 labels; the labels calibrate &lt;b&gt;judge\\\\_x&lt;/b&gt;.'
        """
        text = f"{len(self.scored):,} turns, {len(self.labels):,} labels; the labels calibrate {md_text(self.score)}."
        if self.simulated:
            text = (f"**Simulated** judge and labels (seed {self.seed}): the judge's correlation with the hidden "
                    f"ratings is {self.truth['corr_judge_label']:.2f}. " + text)
        return text

    def to_dict(self) -> dict[str, Any]:
        """Sizes, the score, and the simulation's truth (for the sidecar)."""
        out = {"simulated": bool(self.simulated), "score": self.score, "n_turns": int(len(self.scored)),
               "n_labels": int(len(self.labels))}
        if self.truth:
            out["truth"] = {k: self.truth[k] for k in _TRUTH_KEYS}
        return out

    def summary_table(self) -> pd.DataFrame:
        """:meth:`to_dict` without the truth, as a ``value`` table."""
        return pd.Series({k: v for k, v in self.to_dict().items() if k != "truth"}, name="value").to_frame()


def judge_inputs(log, labels_path: str = "", *, simulate: bool | None = None, label_scale: str = "", score: str = "",
                 n_labels: int = 400, seed: int = 0, judge_bias: float = 0.0, variant_bias: dict | None = None) -> JudgeInputs:
    """Scored turns and labels to calibrate: a labels file for ``log``, or (without one, on the
    bundled sample) a simulated judge and labels.

    Parameters
    ----------
    log : ConversationLog
    labels_path : str
        A labels file (:func:`toolkit.labels.read_labels`).
    simulate : bool, optional
        Simulate the judge and the labels (:func:`toolkit.judges.simulate_judge_and_labels`);
        default: when there is no ``labels_path``. Without either, a ToolkitError.
    label_scale : str
        ``"LO,HI"``: ratings outside are an error; empty: unchecked.
    score : str
        The score the labels calibrate; default ``judge_sim`` when simulated, else ``quality``.
    n_labels, seed, judge_bias, variant_bias
        For the simulation.

    Returns
    -------
    JudgeInputs
        The turns scored by :func:`toolkit.quality.score_turns` unless they already carry
        ``quality`` and ``reaction`` (``judge_*`` columns kept).

    Examples
    --------
    >>> import toolkit
    >>> judge_inputs(toolkit.load_sample(), label_scale="1")
    Traceback (most recent call last):
    ...
    toolkit.errors.ToolkitError: label_scale='1' must be LO,HI (two numbers), e.g. 1,5
    """
    from toolkit.quality import score_turns

    try:
        scale = tuple(float(x) for x in label_scale.split(",")) if label_scale else None
    except ValueError:
        scale = ()
    if scale is not None and len(scale) != 2:
        raise ToolkitError(f"label_scale={label_scale!r} must be LO,HI (two numbers), e.g. 1,5")
    truth = None
    if simulate is None:
        simulate = not labels_path
    if not simulate and not labels_path:
        raise ToolkitError("labels_path is needed to calibrate the scores of this log (only the bundled sample "
                           "comes with simulated labels)")
    if simulate:
        from toolkit.judges.simulate import simulate_judge_and_labels

        sim = simulate_judge_and_labels(log, n_labels=n_labels, seed=seed, judge_bias=judge_bias,
                                        variant_bias=variant_bias)
        turns, labels, truth, score = sim.turns, sim.labels, sim.truth, score or "judge_sim"
    else:
        from toolkit.labels import read_labels

        turns, labels, score = log.turns, read_labels(labels_path, log=log, scale=scale), score or "quality"
    scored = turns if {"quality", "reaction"} <= set(turns.columns) else score_turns(turns).assign(
        **{c: turns[c] for c in turns.columns if c.startswith("judge_")})
    return JudgeInputs(scored, labels, score, truth is not None, truth, seed)


@dataclass
class JudgeTrial:
    """A real judge's run on some turns (``judged``: the turns it rated, ``usage``: requests,
    tokens, cost), or with ``dry_run`` only its cost estimate (``estimate``)."""

    rubric: str
    judged: pd.DataFrame | None = None
    usage: dict = field(default_factory=dict)
    estimate: Any = None

    def text(self) -> str:
        """A dry run's first prompt and its estimate; empty for a real run."""
        return f"{self.estimate.examples[0]}\n{self.estimate.message()}" if self.estimate is not None else ""

    def summary_table(self) -> pd.DataFrame:
        """The rated turns with their rating and reason (empty for a dry run)."""
        if self.judged is None:
            return pd.DataFrame()
        col = f"judge_{self.rubric}"
        return self.judged[["conversation_id", "turn", "user_input", "bot_response", col, col + "_reason"]]

    def to_dict(self) -> dict[str, Any]:
        """``dry_run`` and the estimate, or ``judged``, the ``mean`` rating and the usage."""
        if self.estimate is not None:
            return {"dry_run": True, **{k: v for k, v in self.estimate.to_dict().items() if k != "examples"}}
        col = self.judged[f"judge_{self.rubric}"]
        return {"judged": int(len(self.judged)), "mean": float(col.mean()) if col.notna().any() else None, **self.usage}


def try_judge(scored: pd.DataFrame, rubric: str, *, model: str, base_url: str | None = None, limit: int | None = None,
              seed: int = 0, dry_run: bool = False) -> JudgeTrial:
    """Run :func:`toolkit.judges.judge_turns` with ``rubric`` on up to ``limit`` turns (or, with
    ``dry_run``, only estimate the requests and the cost: nothing is sent).

    Examples
    --------
    >>> t = pd.DataFrame({"conversation_id": ["c"], "turn": [0], "user_input": ["hi"], "bot_response": ["hello"]})
    >>> trial = try_judge(t, "helpfulness", model="m", dry_run=True)
    >>> trial.to_dict()["dry_run"], trial.summary_table().empty
    (True, True)
    """
    from toolkit.judges.pointwise import judge_turns

    kw = dict(model=model, base_url=base_url, limit=limit, seed=seed, progress=False)
    if dry_run:
        return JudgeTrial(rubric, estimate=judge_turns(scored, rubric, dry_run=True, **kw))
    judged = judge_turns(scored, rubric, **kw)
    col = f"judge_{rubric}"
    done = judged[judged[col].notna() | judged[col + "_reason"].notna()]
    return JudgeTrial(rubric, done, dict(judged.attrs["judge_usage"]))


def lift_headline(lift) -> dict[str, Any]:
    """The control arm, the first treatment's lift with its CI by each estimator, and the PPI's
    effective labels, flat (``lift_ppi``, ``lift_ppi_ci_low``, ..., ``lift_naive_ci_high``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> rows = pd.DataFrame({"estimator": ["ppi", "naive"], "lift": [0.2, 0.5], "ci_low": [0.1, 0.4],
    ...                      "ci_high": [0.3, 0.6], "effective_labels": [900.0, None]})
    >>> lift_headline(SimpleNamespace(control="A", lifts=rows))["lift_naive_ci_high"]
    0.6
    """
    rows = lift.lifts.drop_duplicates("estimator").set_index("estimator")
    out: dict[str, Any] = {"control": lift.control}
    for est in rows.index:
        out.update({f"lift_{est}": float(rows.loc[est, "lift"]), f"lift_{est}_ci_low": float(rows.loc[est, "ci_low"]),
                    f"lift_{est}_ci_high": float(rows.loc[est, "ci_high"])})
    out["effective_labels"] = float(rows.loc["ppi", "effective_labels"])
    return out
