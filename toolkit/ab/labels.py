"""A/B analysis with human labels: the PPI++ lift on the labelled score beside the usual result.

:func:`analyze_with_labels` runs :func:`toolkit.ab.analyze` unchanged and adds the table of
:func:`toolkit.ppi.ppi_lift`: the mean human rating per arm and the lift, estimated three ways
(PPI++ from the score on every unit and the labels on a few, labels alone, the score alone), with
the number of labels used and the effective number of labels PPI's variance corresponds to.

Examples
--------
>>> from toolkit.ab import labels
>>> labels.__all__
['LabelledABResult', 'analyze_with_labels']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from toolkit.errors import ToolkitError

__all__ = ["LabelledABResult", "analyze_with_labels"]


@dataclass(frozen=True)
class LabelledABResult:
    """The A/B result (``result``) and the PPI lift table on the labelled score (``ppi``)."""

    result: Any
    ppi: Any

    def summary_table(self) -> pd.DataFrame:
        """The PPI / label-only / naive lifts (the A/B table is ``result.summary_table()``)."""
        return self.ppi.summary_table()

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "ppi": self.ppi.to_dict()}


def analyze_with_labels(log, labels, metrics=None, *, score: str = "quality", variant_col: str = "variant",
                        control: str | None = None, alpha: float = 0.05, clip: bool = False,
                        **analyze_kwargs: Any) -> LabelledABResult:
    """:func:`toolkit.ab.analyze` on ``log`` plus the PPI++ lift of ``score`` calibrated by ``labels``.

    Parameters
    ----------
    log : ConversationLog
        The log; its turns carry ``score`` (``quality`` is computed when missing).
    labels : DataFrame or path
        Human labels (:func:`toolkit.labels.read_labels` checks a path or raw frame against the log).
    metrics, control, alpha, **analyze_kwargs
        As in :func:`toolkit.ab.analyze`.
    score : str
        The automatic score the labels calibrate (``quality``, ``reaction``, ``judge_*``).
    clip : bool
        Clip PPI's lambda to [0, 1] (see :mod:`toolkit.ppi`).

    Returns
    -------
    LabelledABResult

    Examples
    --------
    >>> import toolkit
    >>> from toolkit.judges import simulate_judge_and_labels
    >>> sim = simulate_judge_and_labels(toolkit.load_sample(), n_labels=300)
    >>> log = toolkit.load_sample().with_turns(sim.turns)
    >>> res = analyze_with_labels(log, sim.labels, score="judge_sim", metrics="resolved:binary",
    ...                           sequential=False, bayes=False)
    >>> res.ppi.lifts["estimator"].tolist()
    ['ppi', 'label_only', 'naive']
    """
    from toolkit.ab.analysis import analyze
    from toolkit.labels import read_labels
    from toolkit.log import ConversationLog
    from toolkit.ppi import ppi_lift

    if not isinstance(log, ConversationLog):
        raise ToolkitError("analyze_with_labels needs a conversation log (labels are keyed by "
                           "conversation_id and turn)")
    if score not in log.turns.columns:
        if score != "quality":
            raise ToolkitError(f"the log has no {score!r} column to calibrate with the labels")
        from toolkit.ab.units import with_quality

        log, note = with_quality(log)
        if note:
            raise ToolkitError(note)
    if not isinstance(labels, pd.DataFrame) or list(labels.columns[:3]) != ["conversation_id", "turn", "rating"]:
        labels = read_labels(labels, log=log)
    result = analyze(log, metrics, variant_col=variant_col, control=control, alpha=alpha, **analyze_kwargs)
    ppi = ppi_lift(log.turns, labels, score=score, variant_col=variant_col,
                   control=control or result.control, alpha=alpha, clip=clip)
    return LabelledABResult(result, ppi)
