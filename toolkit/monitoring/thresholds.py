"""Alert thresholds (:class:`Thresholds`, the reference design's defaults).

Examples
--------
>>> Thresholds(quality_high=0.5).to_dict()["quality_high"]
0.5
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import numpy as np

__all__ = ["Thresholds"]


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds. Defaults are the reference design's.

    Parameters
    ----------
    quality_high, quality_medium : float
        Mean quality below ``quality_high`` raises a high alert, below ``quality_medium`` a
        medium one (0.45 and 0.6, for the default fitted quality; 0.3 and 0.5 for its fast mode;
        0.6 and 0.7 for the hand-weighted composite: with ``QualityConfig(mode="fast")`` or
        ``model="composite"`` the alerts use those when no thresholds are given). Each was carried
        over from the composite's on the bundled sample: a threshold keeps its distance from the
        sample's mean quality in units of the spread of the daily means (0.7 sat 3.4 daily standard
        deviations below the composite's mean of 0.754 and 0.6 sat 9.8 below; the fitted score's
        daily means have mean 0.715 and deviation 0.027, giving 0.62 and 0.45, used as 0.6 and 0.45;
        the fast mode's 0.612 and 0.033 give 0.50 and 0.29, used as 0.5 and 0.3). The sample's two
        incident days (0.58 under the fitted score, 0.45 under its fast mode) are the only days
        below the medium threshold, as they were below 0.7 under the composite.
    response_time_high, response_time_medium : float
        Mean response time (s) above ``response_time_high`` raises a high alert, above
        ``response_time_medium`` a medium one (5 and 3).
    high_quality_share_medium : float
        Share of responses at level ``good`` or better below this raises a medium alert (0.5).
    error_rate_high, error_rate_medium : float, optional
        Error-rate thresholds; ``None`` (the default, as in the reference) disables them.
    reaction_medium : float
        Mean user reaction (:mod:`toolkit.quality.reaction`, turns with a next user message)
        below this raises a medium alert (0.45: the users' next messages read clearly worse
        on average than a follow-up without any cue, which scores 0.62).
    min_turns : int
        A bot or variant with fewer turns is not checked (its mean is too noisy); the overall
        scope is always checked.

    Examples
    --------
    >>> Thresholds().quality_medium
    0.6
    >>> Thresholds.from_dict({"quality_high": 0.5}).quality_high
    0.5
    """

    quality_high: float = 0.45
    quality_medium: float = 0.6
    response_time_high: float = 5.0
    response_time_medium: float = 3.0
    high_quality_share_medium: float = 0.5
    error_rate_high: float | None = None
    error_rate_medium: float | None = None
    reaction_medium: float = 0.45
    min_turns: int = 30

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None and f.name.startswith("error_rate"):
                continue
            if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool) or not math.isfinite(v):
                raise ValueError(f"Thresholds.{f.name} must be a finite number, got {v!r}")
            if v < 0:
                raise ValueError(f"Thresholds.{f.name} must be >= 0, got {v!r}")
        for name in ("quality_high", "quality_medium", "high_quality_share_medium", "reaction_medium"):
            if getattr(self, name) > 1:
                raise ValueError(f"Thresholds.{name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.quality_high > self.quality_medium:
            raise ValueError(
                f"Thresholds: quality_high ({self.quality_high}) must be <= quality_medium "
                f"({self.quality_medium}): a high alert fires below the lower threshold"
            )
        if self.response_time_high < self.response_time_medium:
            raise ValueError(
                f"Thresholds: response_time_high ({self.response_time_high}) must be >= "
                f"response_time_medium ({self.response_time_medium})"
            )
        if (self.error_rate_high is not None and self.error_rate_medium is not None
                and self.error_rate_high < self.error_rate_medium):
            raise ValueError("Thresholds: error_rate_high must be >= error_rate_medium")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Thresholds":
        """Build from a dict (e.g. a JSON file); unknown keys are an error naming them."""
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"Thresholds: unknown setting(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    @classmethod
    def for_config(cls, config: Any = None, **given: Any) -> "Thresholds":
        """The thresholds ``given`` (a None value: not given); the quality thresholds not given are
        those of the quality model in ``config`` (see ``quality_high``), the others the defaults.

        Examples
        --------
        >>> t = Thresholds.for_config({"mode": "fast"}, quality_high=None, response_time_high=9)
        >>> t.quality_high, t.quality_medium, t.response_time_high
        (0.3, 0.5, 9)
        """
        return _thresholds({k: v for k, v in given.items() if v is not None}, config)

    def to_dict(self) -> dict:
        return asdict(self)


#: the quality thresholds of the hand-weighted composite (``QualityConfig(model="composite")``),
#: used when no thresholds are given with that model
COMPOSITE_QUALITY = {"quality_high": 0.6, "quality_medium": 0.7}
#: the quality thresholds of the fitted model's fast mode (``QualityConfig(mode="fast")``)
FAST_QUALITY = {"quality_high": 0.3, "quality_medium": 0.5}


def _quality_defaults(config=None) -> dict:
    """The default quality thresholds of the quality model in ``config`` (empty: the class's)."""
    if config is None:
        return {}
    from toolkit.quality.config import _config

    cfg = _config(config)
    if cfg.model == "composite":
        return dict(COMPOSITE_QUALITY)
    if cfg.mode == "fast" and cfg.quality_model is None:
        return dict(FAST_QUALITY)
    return {}


def _thresholds(t, config=None) -> Thresholds:
    """``t`` as :class:`Thresholds`; none given: the defaults of the quality model in ``config``
    (a mapping: its values over those defaults).

    Examples
    --------
    >>> _thresholds(None, {"model": "composite"}).quality_medium, _thresholds(None).quality_medium
    (0.7, 0.6)
    >>> _thresholds(None, {"mode": "fast"}).quality_medium
    0.5
    >>> _thresholds({"response_time_high": 9.0}, {"mode": "fast"}).quality_medium
    0.5
    """
    if t is None:
        return Thresholds(**_quality_defaults(config))
    if isinstance(t, Thresholds):
        return t
    if isinstance(t, Mapping):
        # a partial mapping (e.g. a file with the response-time thresholds only) keeps the
        # quality thresholds of the model in use, not the full mode's
        return Thresholds.from_dict({**_quality_defaults(config), **t})
    raise TypeError(f"thresholds must be Thresholds or a dict, got {type(t).__name__}")
