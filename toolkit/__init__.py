"""Chatbot experimentation toolkit: quality scoring, A/B analysis, clustering and forecasting
of conversation logs, for Jupyter notebooks and papermill batches.

The top-level namespace is lazy: ``import toolkit`` is cheap, and the heavy scientific stack is
imported only when a function that needs it is called.

Examples
--------
>>> import toolkit
>>> log = toolkit.load_sample()          # the bundled sample conversation log
>>> log.turns.shape[1] >= 14
True
>>> scored = toolkit.score_turns(log)          # quality scores as added columns (a copy)
>>> bool(scored["quality"].between(0, 1).all())
True

Subpackages: :mod:`toolkit.ab` (A/B planning and analysis), :mod:`toolkit.sources` (LangSmith,
OpenTelemetry, Prometheus); modules :mod:`toolkit.forecasting` and :mod:`toolkit.series`
(forecasts and anomalies), :mod:`toolkit.batch`, :mod:`toolkit.runner` and :mod:`toolkit.export`
(papermill batches, HTML and PDF).
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

__version__ = "0.1.0"

# name -> module that defines it; resolved on first attribute access (PEP 562).
_LAZY = {
    "ConversationLog": "toolkit.log",
    "LogValidationError": "toolkit.validation",
    "validate": "toolkit.log",
    "conversation_metrics": "toolkit.log",
    "load": "toolkit.io",
    "save": "toolkit.io",
    "load_sample": "toolkit.sample",
    "generate_sample": "toolkit.sample",
    "score_turns": "toolkit.quality",
    "QualityConfig": "toolkit.quality",
    "monitoring_report": "toolkit.monitoring",
    "Thresholds": "toolkit.monitoring",
    "cluster_log": "toolkit.clustering",
}

__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), ("__version__",))
