"""Human labels: ratings of turns or whole conversations, and how the automatic scores agree.

Labels are a third table beside ``turns`` and ``conversations``, keyed by ``conversation_id``
and ``turn`` (a missing turn labels the whole conversation):

=============== ======= =========================================================
column          dtype   notes
=============== ======= =========================================================
conversation_id string  required
turn            Int64   0-based position of the rated response; <NA> = the whole conversation
rating          float64 required, finite, inside ``scale`` when one is given
rater           string  optional; one rating per (conversation_id, turn, rater)
=============== ======= =========================================================

Modules: ``read`` (:func:`read_labels`, :func:`label_means`, :class:`LabelsError`) and
``report`` (:func:`agreement`, :class:`AgreementReport`: Spearman with bootstrap CIs over
conversations, AUC for pass/fail labels, calibration plot, inter-rater agreement).

Examples
--------
>>> import pandas as pd
>>> from toolkit.labels import label_means, read_labels
>>> labels = read_labels(pd.DataFrame({"conversation_id": ["a", "a", "b"], "turn": [0, 0, None],
...                                    "rating": [4, 2, 5], "rater": ["r1", "r2", "r1"]}))
>>> label_means(labels)[["conversation_id", "turn", "rating", "n_raters"]].to_dict("records")
[{'conversation_id': 'a', 'turn': 0, 'rating': 3.0, 'n_raters': 2}, {'conversation_id': 'b', 'turn': None, 'rating': 5.0, 'n_raters': 1}]
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

_LAZY = {
    "read_labels": "toolkit.labels.read",
    "label_means": "toolkit.labels.read",
    "LabelsError": "toolkit.labels.read",
    "LABEL_COLUMNS": "toolkit.labels.read",
    "agreement": "toolkit.labels.report",
    "AgreementReport": "toolkit.labels.report",
    "inter_rater": "toolkit.labels.report",
    "InterRater": "toolkit.labels.report",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
