"""Refit the shipped quality models on public human-rated dialogue data, with leave-one-dataset-out
(LODO) validation.

Usage (one command; the data sets must have been fetched, see ``benchmarks/human_data.py``)::

    PYTHONPATH=. python training/fit_quality.py            # LODO table, then write the models
    PYTHONPATH=. python training/fit_quality.py --dry-run  # LODO table only

What it does:

1. reads every data set of :data:`benchmarks.human_data.SOURCES`; each rated response becomes a
   short conversation (its earlier exchanges, then the rated one) scored with
   :func:`toolkit.quality.quality_features` (TF-IDF fitted per data set, MiniLM relevance; the
   features are cached under ``$TOOLKIT_QUALITY_FEATURES`` or ``/tmp/toolkit_quality_features``);
2. turns each set's ratings into normal scores of their ranks (sets rated on different scales
   count alike) and weighs the sets equally;
3. for each candidate (feature set x ridge penalty, fixed in :data:`CANDIDATES` before looking),
   fits on the licensed sets ("fit" in ``SOURCES``: MIT, CC BY 4.0, O-UDA) but one and scores the
   left-out one (Spearman); the candidate with the best mean LODO Spearman is chosen, once;
4. fits the chosen candidate on all licensed sets, maps its score to [0, 1] by the equal-weight
   quantiles of its training predictions, and writes ``toolkit/quality/model_full.json`` and
   ``model_fast.json`` with the sources, licences, fit date and the LODO figures;
5. the sets without a stated licence ("validate") are never fitted on: they are scored by the
   model fitted on all licensed sets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import human_data as hd  # noqa: E402

from toolkit.quality.model import (FEATURES_FAST, FEATURES_FULL, QualityModel, fit_model,  # noqa: E402
                                   normal_scores)

#: candidate models: (feature set, ridge penalty). ``None`` = every feature of the mode;
#: ``"relevance"`` = the mode's relevance alone (MiniLM in full mode, TF-IDF in fast mode);
#: ``"components"`` = the four original components (plus MiniLM relevance in full mode);
#: ``"screened"`` = the features whose Spearman with the ratings has the same sign in every
#: training set (decided inside each LODO fold, on the training sets only).
#: The list was fixed before the final run; the first run had "components" and "all" with three
#: penalties, the relevance-only, screened and strong-penalty candidates were added after it.
CANDIDATES = {
    "relevance": ("relevance", 10.0),
    "components": ("components", 10.0),
    "all": (None, 10.0),
    "all-shrunk": (None, 1e4),
    "screened": ("screened", 10.0),
}
N_QUANTILES = 101
FEATURE_VERSION = "1"


def feature_cache_dir() -> Path:
    return Path(os.environ.get("TOOLKIT_QUALITY_FEATURES", "/tmp/toolkit_quality_features"))


def load_set(name: str, *, embeddings: bool = True, verbose: bool = True) -> pd.DataFrame:
    """One data set's rated rows with every model feature, the old composite and word count."""
    from toolkit.quality import QualityConfig, quality_features, score_turns

    df = hd.READERS[name]()
    key = hashlib.sha256(f"{FEATURE_VERSION}|{name}|{embeddings}|{len(df)}|{df['response'].str.len().sum()}"
                         .encode()).hexdigest()[:16]
    cache = feature_cache_dir() / f"{name}-{key}.parquet"
    if cache.exists():
        return pd.read_parquet(cache)
    turns, last = hd.to_turns(df)
    if verbose:
        print(f"  features of {name}: {len(df)} rated responses, {len(turns)} turns", flush=True)
    X = quality_features(turns, embeddings=embeddings).iloc[last].reset_index(drop=True)
    old = score_turns(turns, QualityConfig(model="composite"))["quality"].to_numpy()[last]
    out = pd.concat([df[["dataset", "dialogue_id", "rating", "n_raters", "failure"]].reset_index(drop=True),
                     X], axis=1)
    out["old_composite"] = old
    out["words"] = df["response"].fillna("").astype(str).str.split().str.len().to_numpy()
    cache.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(cache)
    return out


def fit_ridge(frames: list[pd.DataFrame], features, alpha: float, mode: str, meta=None) -> QualityModel:
    """Ridge on standardised features; each frame (data set) weighs the same in total; the target
    is the normal scores of each set's ratings."""
    X = pd.concat([f[list(features)] for f in frames], ignore_index=True)
    y = np.concatenate([normal_scores(f["rating"].to_numpy()) for f in frames])
    w = np.concatenate([np.full(len(f), 1.0 / len(f)) for f in frames])
    return fit_model(X, y, features=features, alpha=alpha, weights=w, mode=mode, n_quantiles=N_QUANTILES,
                     meta=meta)


def spearman_ci(x, y, groups, n_boot: int = 500, seed: int = 0):
    """Spearman of ``x`` with ``y`` and a 95 % percentile bootstrap CI over ``groups`` (dialogues)."""
    from scipy.stats import rankdata

    x = np.asarray(x, float)
    y = np.asarray(y, float)

    def rho(a, b):
        ra, rb = rankdata(a), rankdata(b)
        ra -= ra.mean()
        rb -= rb.mean()
        d = np.sqrt((ra * ra).sum() * (rb * rb).sum())
        return float((ra * rb).sum() / d) if d > 0 else float("nan")

    est = rho(x, y)
    codes, uniq = pd.factorize(pd.Series(groups).astype(str))
    members = pd.Series(np.arange(len(codes))).groupby(codes).apply(np.asarray).to_list()
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[i] for i in pick])
        reps.append(rho(x[idx], y[idx]))
    lo, hi = np.nanpercentile(reps, [2.5, 97.5])
    return est, float(lo), float(hi)


def feature_sets(mode: str, cand: str, train: list[pd.DataFrame] | None = None):
    """The features and penalty of candidate ``cand`` in ``mode`` (screening uses ``train``)."""
    from scipy.stats import spearmanr

    feats, alpha = CANDIDATES[cand]
    every = FEATURES_FULL if mode == "full" else FEATURES_FAST
    if feats is None:
        feats = every
    elif feats == "relevance":
        feats = ("relevance_emb",) if mode == "full" else ("relevance",)
    elif feats == "components":
        feats = ("relevance", "sentiment", "coherence", "length_fit") + (("relevance_emb",) if mode == "full" else ())
    elif feats == "screened":
        keep = []
        for c in every:
            signs = {float(np.sign(spearmanr(f[c], f["rating"]).statistic)) for f in train}
            if len(signs) == 1 and signs != {0.0} and signs != {float("nan")}:
                keep.append(c)
        feats = tuple(keep) or (("relevance_emb",) if mode == "full" else ("relevance",))
    return tuple(feats), alpha


def lodo_predictions(data: dict[str, pd.DataFrame], fit_names, mode: str, cand: str) -> dict[str, np.ndarray]:
    """Scores of each set from a model that never saw it (LODO for the fit sets; all fit sets
    for the others)."""
    out = {}
    for name, f in data.items():
        train = [data[k] for k in fit_names if k != name]
        feats, alpha = feature_sets(mode, cand, train)
        m = fit_ridge(train, feats, alpha, mode)
        out[name] = m.quality(f)
    return out


def choose(data, fit_names, mode: str, verbose=True) -> str:
    """The candidate with the best mean LODO Spearman over the fit sets."""
    from scipy.stats import spearmanr

    best, best_v = None, -np.inf
    for cand in CANDIDATES:
        pred = lodo_predictions({k: data[k] for k in fit_names}, fit_names, mode, cand)
        vals = [spearmanr(pred[k], data[k]["rating"]).statistic for k in fit_names]
        v = float(np.mean(vals))
        if verbose:
            print(f"  [{mode}] {cand:14s} mean LODO Spearman {v:+.3f}  "
                  + " ".join(f"{k}={x:+.3f}" for k, x in zip(fit_names, vals)), flush=True)
        if v > best_v:
            best, best_v = cand, v
    return best


def evaluate(data, fit_names, chosen: dict[str, str], n_boot=500) -> pd.DataFrame:
    """The LODO table: per set, Spearman (95 % CI over dialogues) of every score."""
    preds = {mode: lodo_predictions(data, fit_names, mode, chosen[mode]) for mode in chosen}
    rows = []
    for name, f in data.items():
        g = f["dialogue_id"]
        y = f["rating"].to_numpy()
        scores = {"quality (full)": preds["full"][name] if "full" in preds else None,
                  "quality (fast)": preds["fast"][name] if "fast" in preds else None,
                  "word count": f["words"], "relevance (TF-IDF)": f["relevance"],
                  "relevance (MiniLM)": f["relevance_emb"] if "relevance_emb" in f else None,
                  "old composite": f["old_composite"]}
        for label, s in scores.items():
            if s is None:
                continue
            est, lo, hi = spearman_ci(s, y, g, n_boot=n_boot)
            rows.append({"dataset": name, "use": hd.SOURCES[name][2], "n": len(f), "score": label,
                         "spearman": round(est, 3), "ci_low": round(lo, 3), "ci_high": round(hi, 3)})
    return pd.DataFrame(rows)


def load_all(names=None, verbose=True) -> dict[str, pd.DataFrame]:
    data = {}
    for name in hd.SOURCES:
        if names and name not in names:
            continue
        try:
            data[name] = load_set(name, verbose=verbose)
        except hd.DataMissing as exc:
            print(f"skip {name}: {exc}")
    return data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="print the LODO table, write nothing")
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--out-dir", default=str(ROOT / "toolkit" / "quality"))
    args = ap.parse_args(argv)
    data = load_all()
    fit_names = [k for k in data if hd.SOURCES[k][2] == "fit"]
    if len(fit_names) < 2:
        print("need at least two licensed data sets to fit; fetch them first (see benchmarks/human_data.py)")
        return 1
    chosen = {mode: choose(data, fit_names, mode) for mode in ("full", "fast")}
    print(f"chosen: {chosen}")
    table = evaluate(data, fit_names, chosen, n_boot=args.n_boot)
    wide = table.pivot_table(index=["dataset", "n"], columns="score", values="spearman", sort=False)
    print(wide.round(3).to_string())
    if args.dry_run:
        return 0
    today = dt.date.today().isoformat()
    for mode in ("full", "fast"):
        feats, alpha = feature_sets(mode, chosen[mode], [data[k] for k in fit_names])
        lodo = {r.dataset: {"n": int(r.n), "spearman": r.spearman, "ci95": [r.ci_low, r.ci_high]}
                for r in table[table.score == f"quality ({mode})"].itertuples()}
        baselines = {r.dataset + " / " + r.score: r.spearman
                     for r in table[~table.score.str.startswith("quality")].itertuples()}
        meta = {
            "description": "ridge regression on standardised response features; target: normal "
                           "scores of each data set's human ratings (sets weighted equally); "
                           "quality = equal-weight quantile of the score among the training responses",
            "fit_date": today, "candidate": chosen[mode], "ridge_alpha": alpha,
            "trained_on": {k: {"repository": f"github.com/{hd.SOURCES[k][3]}", "licence": hd.SOURCES[k][1],
                               "n": int(len(data[k]))} for k in fit_names},
            "validated_on": {k: {"repository": f"github.com/{hd.SOURCES[k][3]}", "licence": hd.SOURCES[k][1],
                                 "n": int(len(data[k]))} for k in data if k not in fit_names},
            "lodo_spearman": lodo,
            "baselines_spearman": baselines,
            "refit": "PYTHONPATH=. python training/fit_quality.py",
        }
        m = fit_ridge([data[k] for k in fit_names], feats, alpha, mode, meta=meta)
        path = Path(args.out_dir) / f"model_{mode}.json"
        from toolkit._files import atomic_write_text

        atomic_write_text(path, json.dumps(m.to_dict(), indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
