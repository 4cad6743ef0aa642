"""A local price table: USD per 1,000 prompt and completion tokens, by model.

Used when a source (a LangSmith run, an OpenTelemetry span) carries token counts but no cost.
The built-in table holds published list prices of common hosted models (USD, standard tier, no
caching or batch discounts) as of :data:`PRICES_AS_OF`; prices change, so pass your own table
(a mapping in the same shape as ``truth.json``'s ``models``, or a CSV with columns ``model``,
``price_prompt_per_1k``, ``price_completion_per_1k``) wherever a ``prices`` argument is taken.

Model names are matched exactly first, then by the longest known prefix, so a dated snapshot
(``gpt-4o-mini-2024-07-18``) or a provider prefix (``openai/gpt-4o``) finds its base model.

Examples
--------
>>> estimate_cost("gpt-4o-mini-2024-07-18", 1000, 1000)
0.00075
>>> import math; math.isnan(estimate_cost("my-own-model", 10, 10))
True
>>> estimate_cost("my-own-model", 1000, 0, prices={"my-own-model": {
...     "price_prompt_per_1k": 0.002, "price_completion_per_1k": 0.004}})
0.002
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from toolkit.sources._common import to_float

__all__ = ["PRICES", "PRICES_AS_OF", "load_prices", "price_for", "estimate_cost", "estimate_costs"]

PRICES_AS_OF = "2025-06"

# USD per 1M tokens (input, output): the providers' public list prices, converted below to per 1k.
_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-opus": (15.00, 75.00),
    "gemini-1.5-flash": (0.075, 0.30),
    "gemini-1.5-pro": (1.25, 5.00),
    "gemini-2.0-flash": (0.10, 0.40),
}

#: model -> {"price_prompt_per_1k": x, "price_completion_per_1k": y}
PRICES: dict[str, dict[str, float]] = {
    m: {"price_prompt_per_1k": p / 1000.0, "price_completion_per_1k": c / 1000.0}
    for m, (p, c) in _PER_MILLION.items()
}


def load_prices(source: Mapping[str, Any] | str | os.PathLike | None = None) -> dict[str, dict[str, float]]:
    """Return a price table: the built-in one, a mapping, or a CSV/JSON file.

    Parameters
    ----------
    source : mapping, path or None
        ``None`` gives :data:`PRICES`. A mapping ``{model: {"price_prompt_per_1k": x,
        "price_completion_per_1k": y}}`` (the ``truth.json`` ``models`` shape), a ``.json``
        file holding one, or a ``.csv`` with columns ``model, price_prompt_per_1k,
        price_completion_per_1k``.

    Returns
    -------
    dict
        ``{model: {"price_prompt_per_1k": float, "price_completion_per_1k": float}}``.

    Raises
    ------
    ValueError
        When an entry lacks a price or a price is negative or not a number.

    Examples
    --------
    >>> load_prices({"m": {"price_prompt_per_1k": 1, "price_completion_per_1k": 2}})["m"]
    {'price_prompt_per_1k': 1.0, 'price_completion_per_1k': 2.0}
    """
    if source is None:
        return {m: dict(v) for m, v in PRICES.items()}
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.lower().endswith(".csv"):
            import pandas as pd

            frame = pd.read_csv(path)
            need = {"model", "price_prompt_per_1k", "price_completion_per_1k"}
            if not need <= set(frame.columns):
                raise ValueError(f"price table {path} needs columns {sorted(need)}, has {list(frame.columns)}")
            source = {
                str(r.model): {"price_prompt_per_1k": r.price_prompt_per_1k, "price_completion_per_1k": r.price_completion_per_1k}
                for r in frame.itertuples(index=False)
            }
        else:
            import json

            with open(path, encoding="utf-8") as fh:
                source = json.load(fh)
            if isinstance(source, dict) and "models" in source and isinstance(source["models"], dict):
                source = source["models"]
    out: dict[str, dict[str, float]] = {}
    for model, entry in dict(source).items():
        row = {}
        for k in ("price_prompt_per_1k", "price_completion_per_1k"):
            try:
                v = float(entry[k])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"price table: model {model!r} needs a numeric {k!r} (got {entry!r})") from None
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"price table: model {model!r} has {k}={v!r}; prices must be finite and >= 0")
            row[k] = v
        out[str(model)] = row
    return out


def _normalise(model: str) -> str:
    m = model.strip().lower()
    if "/" in m:  # provider prefix: openai/gpt-4o, models/gemini-1.5-pro
        m = m.rsplit("/", 1)[-1]
    return m


def price_for(model: str | None, prices: Mapping[str, Mapping[str, float]] | None = None) -> tuple[float, float] | None:
    """(prompt, completion) USD per 1k tokens for ``model``, or None when it is not in the table.

    Examples
    --------
    >>> price_for("openai/gpt-4o")
    (0.0025, 0.01)
    >>> price_for("gpt-4o-2024-08-06") == price_for("gpt-4o")
    True
    """
    if not model or not isinstance(model, str):
        return None
    table = PRICES if prices is None else prices
    lowered = {str(k).lower(): v for k, v in table.items()}
    name = _normalise(model)
    best = next((key for key in (model.strip().lower(), name) if key in lowered), None)
    if best is None:
        # a prefix followed by a separator: "gpt-4o" matches "gpt-4o-2024-08-06", not "gpt-4o-mini"
        best = max((k for k in lowered if name.startswith(k) and name[len(k):len(k) + 1] in "-:@_."
                    and not _is_other_model(name, k)), key=len, default=None)
    if best is None:
        return None
    e = lowered[best]
    return float(e["price_prompt_per_1k"]), float(e["price_completion_per_1k"])


def _is_other_model(name: str, prefix: str) -> bool:
    """True when ``name`` continues ``prefix`` with a word that names a different model (mini, nano, ...)."""
    rest = name[len(prefix) + 1 :]
    word = rest.split("-", 1)[0]
    return bool(word) and not word[:1].isdigit() and word not in ("latest", "preview")


def estimate_cost(
    model: str | None,
    prompt_tokens: float | None,
    completion_tokens: float | None,
    prices: Mapping[str, Mapping[str, float]] | None = None,
) -> float:
    """Cost in USD of one call from its token counts; NaN when the model or the counts are unknown.

    Examples
    --------
    >>> round(estimate_cost("gpt-4o", 1200, 300), 6)
    0.006
    """
    p = price_for(model, prices)
    if p is None:
        return float("nan")
    pt = to_float(prompt_tokens)
    ct = to_float(completion_tokens)
    if pt is None and ct is None:
        return float("nan")
    return round(((pt or 0.0) * p[0] + (ct or 0.0) * p[1]) / 1000.0, 12)


def estimate_costs(models, prompt_tokens, completion_tokens, prices=None):
    """Vectorised :func:`estimate_cost` over aligned sequences; returns a float64 numpy array.

    Examples
    --------
    >>> estimate_costs(["gpt-4o-mini", None], [1000, 5], [0, 5]).round(6).tolist()
    [0.00015, nan]
    """
    import numpy as np

    cache: dict[Any, tuple[float, float] | None] = {}
    out = np.full(len(models), np.nan)
    for i, (m, pt, ct) in enumerate(zip(models, prompt_tokens, completion_tokens)):
        if m not in cache:
            cache[m] = price_for(m if isinstance(m, str) else None, prices)
        p = cache[m]
        a, b = to_float(pt), to_float(ct)
        if p is not None and (a is not None or b is not None):
            out[i] = ((a or 0.0) * p[0] + (b or 0.0) * p[1]) / 1000.0
    return out

