"""Small helpers shared by the forecasting modules: interval levels, quiet fits, interval frames.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

__all__ = ["LEVELS"]

#: prediction-interval levels (percent) of every forecast
LEVELS = (80, 95)
_Z = {80: 1.2815515655446004, 95: 1.959963984540054}


@contextmanager
def _quiet():
    """Silence statsmodels' convergence and frequency chatter inside model fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def _frame_from(mean: np.ndarray, sd: np.ndarray) -> dict[str, np.ndarray]:
    out = {"yhat": np.asarray(mean, float)}
    for lv in LEVELS:
        out[f"lo{lv}"] = out["yhat"] - _Z[lv] * sd
        out[f"hi{lv}"] = out["yhat"] + _Z[lv] * sd
    return out
