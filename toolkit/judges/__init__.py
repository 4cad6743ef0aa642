"""LLM judges over any OpenAI-compatible endpoint, their agreement with people, and simulated
judges for offline examples.

Modules: ``rubrics`` (G-Eval style prompts and strict JSON parsing), ``pointwise``
(:func:`judge_turns`: ``judge_<rubric>`` 1-5 columns with reasons), ``pairwise``
(:func:`judge_pairs`, :func:`position_bias`), ``agreement`` (:func:`judge_agreement`,
:func:`weighted_kappa`) and ``simulate`` (:func:`simulate_judge_and_labels`: a seeded, biased
judge and human labels made from the sample's truth; simulated, never presented as real). The
client (endpoint, key, retries, cache, costs) is :mod:`toolkit.llm`; it needs the optional
extra ``pip install 'chatbot-toolkit[judge]'`` only when a request is really sent.

Examples
--------
>>> from toolkit import judges
>>> sorted(judges.RUBRICS)
['correctness', 'helpfulness', 'relevance', 'tone']
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

_LAZY = {
    "RUBRICS": "toolkit.judges.rubrics",
    "Rubric": "toolkit.judges.rubrics",
    "MalformedOutput": "toolkit.judges.rubrics",
    "pointwise_messages": "toolkit.judges.rubrics",
    "pairwise_messages": "toolkit.judges.rubrics",
    "judge_turns": "toolkit.judges.pointwise",
    "judge_pairs": "toolkit.judges.pairwise",
    "position_bias": "toolkit.judges.pairwise",
    "PositionBias": "toolkit.judges.pairwise",
    "weighted_kappa": "toolkit.judges.agreement",
    "judge_agreement": "toolkit.judges.agreement",
    "JudgeAgreement": "toolkit.judges.agreement",
    "simulate_judge_and_labels": "toolkit.judges.simulate",
    "SimulatedJudge": "toolkit.judges.simulate",
    "estimates_figure": "toolkit.judges.plots",
    "period_figure": "toolkit.judges.plots",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
