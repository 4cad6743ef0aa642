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

from toolkit.quality.model import (FEATURES_FAST, FEATURES_FULL, QualityModel, add_interactions,  # noqa: E402
                                   fit_model, normal_scores)

#: candidate models: (feature set, ridge penalty). ``None`` = every feature of the mode;
#: ``"relevance"`` = the mode's relevance alone (MiniLM in full mode, TF-IDF in fast mode);
#: ``"unrelated"`` = relevance and ``unrelated_specificity`` (specific words about something
#: else: the mark of an off-topic answer, where a holding answer is unspecific but harmless);
#: ``"unrelated-content"`` = relevance and ``unrelated_content`` (content words the context does not
#: support: TF-IDF-gated, and in full mode also MiniLM-gated);
#: ``"unrelated+cues"`` = relevance, both unrelated features and the cues sentiment, coherence,
#: echo, asks_back, generic;
#: ``"unsupported"`` = relevance and ``unsupported_content`` (content words of an answer that shares
#: no vocabulary with the context; full mode: MiniLM relevance); ``"unsupported-both"`` = relevance
#: and ``unsupported_content_emb`` (unsupported by TF-IDF and MiniLM alike; full mode only);
#: ``"components"`` = the four original components (plus MiniLM relevance in full mode);
#: ``"screened"`` = the features whose Spearman with the ratings has the same sign in every
#: training set (decided inside each LODO fold, on the training sets only).
#: History, for honesty: the first run (2026-12-06) had "components" and "all" with three
#: penalties; relevance-only, screened and all-shrunk were added after it, and chose relevance
#: alone; "unrelated" and "unrelated+cues" were added on 2026-12-07 for a stated reason (an
#: off-topic answer is specific content unrelated to the context) before the final run, together
#: with the sample constraint below. The list below is what the final run compared.
CANDIDATES = {
    "relevance": ("relevance", 10.0),
    "unrelated": ("unrelated", 10.0),
    "unrelated-content": ("unrelated-content", 10.0),
    "unrelated+cues": ("unrelated+cues", 10.0),
    "unsupported": ("unsupported", 10.0),
    "unsupported-both": ("unsupported-both", 10.0),
    "components": ("components", 10.0),
    "all": (None, 10.0),
    "all-shrunk": (None, 1e4),
    "screened": ("screened", 10.0),
}
#: the feature of a candidate whose penalty may be raised to meet the sample order (see
#: :func:`admissible_bound`): content the context does not support
PENALISED = {"unsupported": "unsupported_content", "unsupported-both": "unsupported_content_emb"}
#: penalties tried, smallest first (standardised coefficient <= -c)
PENALTY_GRID = tuple(round(0.025 * i, 3) for i in range(41))
#: the selection rule's product constraint: the model fitted on all licensed sets must rank the
#: bundled sample's planted answer kinds as the toolkit promises (the same bounds as
#: tests/test_quality.py): AUC of quality good > off-topic >= 0.9 and good > generic >= 0.7, and
#: the mean order good > generic > off-topic that issue 20 asks for, with generic's mean at least
#: :data:`MEAN_MARGIN` above off-topic's (so that a tie does not pass). The sample is synthetic (no
#: human label is used); among the candidates that meet it, the best mean LODO Spearman wins; if
#: none does, the best mean LODO Spearman wins and the run says that the constraint failed.
#: History, for honesty: until 2026-12-07 15:10 UTC the rule asked AUC generic > off-topic >= 0.9
#: (a bound set for the hand-weighted composite). Meeting it took a penalty of 0.15 on
#: ``unsupported_content`` that cost 0.06 of mean LODO Spearman on the licensed sets (0.340 at
#: 0.025, 0.279 at 0.15) and put FED below word count. The rule was relaxed to the mean order with a
#: margin after a penalty sweep (0 to 0.15) whose LODO figures, validation sets included, were
#: printed; the margin (0.05, a twentieth of the scale) was set from the product's promise, not
#: from those figures.
SAMPLE_ORDER = (("good", "off_topic", 0.9), ("good", "generic", 0.7))
#: the smallest gap between the sample's mean quality of generic and of off-topic answers
MEAN_ORDER = ("good", "generic", "off_topic")
MEAN_MARGIN = 0.05
N_QUANTILES = 101
FEATURE_VERSION = "2"  # 2: MiniLM relevance from sentence-pooled vectors (toolkit.quality.pooled)


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
        return derive(pd.read_parquet(cache))
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
    return derive(out)


def fit_ridge(frames: list[pd.DataFrame], features, alpha: float, mode: str, meta=None,
              max_coef=None) -> QualityModel:
    """Ridge on standardised features; each frame (data set) weighs the same in total; the target
    is the normal scores of each set's ratings."""
    X = pd.concat([f[list(features)] for f in frames], ignore_index=True)
    y = np.concatenate([normal_scores(f["rating"].to_numpy()) for f in frames])
    w = np.concatenate([np.full(len(f), 1.0 / len(f)) for f in frames])
    return fit_model(X, y, features=features, alpha=alpha, weights=w, mode=mode, n_quantiles=N_QUANTILES,
                     meta=meta, max_coef=max_coef)


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
    elif feats in ("unrelated", "unrelated-content", "unrelated+cues"):
        sfx = "_emb" if mode == "full" else ""
        kind, feats = feats, ("relevance" + sfx,)
        if kind in ("unrelated", "unrelated+cues"):
            feats += ("unrelated_specificity" + sfx,)
        if kind in ("unrelated-content", "unrelated+cues"):
            # content words the context supports by neither measure (full mode: TF-IDF and MiniLM)
            feats += ("unrelated_content",) + (("unrelated_content_emb",) if mode == "full" else ())
        if cand == "unrelated+cues":
            feats += ("sentiment", "coherence", "echo", "asks_back", "generic")
    elif feats == "unsupported":
        feats = ("relevance_emb" if mode == "full" else "relevance", "unsupported_content")
    elif feats == "unsupported-both":
        feats = ("relevance_emb", "unsupported_content_emb") if mode == "full" else ("relevance", "unsupported_content")
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


def lodo_predictions(data: dict[str, pd.DataFrame], fit_names, mode: str, cand: str,
                     max_coef=None) -> dict[str, np.ndarray]:
    """Scores of each set from a model that never saw it (LODO for the fit sets; all fit sets
    for the others). ``max_coef``: the candidate's penalty bound (fixed before, from the sample)."""
    out = {}
    for name, f in data.items():
        train = [data[k] for k in fit_names if k != name]
        feats, alpha = feature_sets(mode, cand, train)
        m = fit_ridge(train, feats, alpha, mode, max_coef=max_coef)
        out[name] = m.quality(f)
    return out


#: what :func:`choose` compared, per mode (written into the model file's meta)
SELECTION: dict[str, dict] = {}
#: the penalty bound of each (mode, candidate) that :func:`choose` found
BOUNDS: dict[tuple, dict] = {}


def derive(f: pd.DataFrame) -> pd.DataFrame:
    """The interaction features recomputed from a cached frame's base columns (a cache written
    before a feature was added lacks it): :func:`toolkit.quality.model.add_interactions`."""
    return add_interactions(f.copy())


def load_sample_kinds(embeddings: bool = True) -> pd.DataFrame:
    """The bundled sample's features with each turn's planted answer kind (cached)."""
    import toolkit
    from toolkit.quality import quality_features
    from toolkit.sample import answer_kinds, load_sample_truth

    cache = feature_cache_dir() / f"sample-v{FEATURE_VERSION}-{'full' if embeddings else 'fast'}.parquet"
    if cache.exists():
        return derive(pd.read_parquet(cache))
    log = toolkit.load_sample()
    truth = load_sample_truth()
    t = log.turns
    X = quality_features(log, embeddings=embeddings).reset_index(drop=True)
    X["kind"] = answer_kinds(t, truth)
    cache.parent.mkdir(parents=True, exist_ok=True)
    X.to_parquet(cache)
    return derive(X)


def sample_aucs(model: QualityModel, sample: pd.DataFrame) -> dict[str, float]:
    """AUC of ``model``'s quality between the sample's planted answer kinds (SAMPLE_ORDER pairs),
    and the mean quality of each kind of MEAN_ORDER (keys ``mean <kind>``)."""
    from sklearn.metrics import roc_auc_score

    q = model.quality(sample)
    kind = sample["kind"].to_numpy()
    out = {}
    for hi, lo, _ in SAMPLE_ORDER:
        a, b = q[kind == hi], q[kind == lo]
        out[f"{hi}>{lo}"] = float(roc_auc_score(np.r_[np.ones(a.size), np.zeros(b.size)], np.r_[a, b]))
    for k in MEAN_ORDER:
        out[f"mean {k}"] = float(q[kind == k].mean())
    return out


def meets_order(aucs: dict[str, float]) -> bool:
    means = [aucs[f"mean {k}"] for k in MEAN_ORDER]
    return (all(aucs[f"{hi}>{lo}"] >= bound for hi, lo, bound in SAMPLE_ORDER)
            and all(a - b >= MEAN_MARGIN for a, b in zip(means, means[1:])))


def admissible_bound(data, fit_names, mode: str, cand: str, sample: pd.DataFrame):
    """The smallest penalty of :data:`PENALTY_GRID` on the candidate's :data:`PENALISED` feature
    with which the model fitted on all fit sets meets :data:`SAMPLE_ORDER` on the sample:
    ``({feature: -c}, aucs)``, or ``(None, aucs)`` when none does (or the candidate has no such
    feature and does not meet it as fitted). Uses no human rating of a held-out set."""
    feats, alpha = feature_sets(mode, cand, [data[k] for k in fit_names])
    train = [data[k] for k in fit_names]
    pen = PENALISED.get(cand)
    grid = PENALTY_GRID if pen in feats else (None,)
    aucs = {}
    for c in grid:
        bound = None if c is None else {pen: -c}
        aucs = sample_aucs(fit_ridge(train, feats, alpha, mode, max_coef=bound), sample)
        if meets_order(aucs):
            return (bound or {}), aucs
    return None, aucs


def choose(data, fit_names, mode: str, verbose=True, sample: pd.DataFrame | None = None) -> str:
    """The candidate with the best mean LODO Spearman over the fit sets among those whose model
    (fitted on all fit sets, with the smallest penalty that does it, :func:`admissible_bound`)
    meets :data:`SAMPLE_ORDER` on the bundled sample (``sample``: :func:`load_sample_kinds`;
    without it, no constraint). The bound found is kept in :data:`BOUNDS`."""
    from scipy.stats import spearmanr

    scores = {}
    for cand in CANDIDATES:
        bound, aucs, ok = {}, {}, True
        if sample is not None:
            bound, aucs = admissible_bound(data, fit_names, mode, cand, sample)
            ok = bound is not None
        pred = lodo_predictions({k: data[k] for k in fit_names}, fit_names, mode, cand, max_coef=bound or None)
        vals = [spearmanr(pred[k], data[k]["rating"]).statistic for k in fit_names]
        v = float(np.mean(vals))
        scores[cand] = (ok, v)
        BOUNDS[(mode, cand)] = bound or {}
        SELECTION.setdefault(mode, {})[cand] = {"mean_lodo_spearman": round(v, 4),
                                                "lodo_spearman": {k: round(float(x), 4) for k, x in zip(fit_names, vals)},
                                                "penalty_bound": bound or {},
                                                "sample_auc": {k: round(x, 4) for k, x in aucs.items()},
                                                "meets_sample_order": ok}
        if verbose:
            print(f"  [{mode}] {cand:17s} mean LODO Spearman {v:+.3f}  "
                  + " ".join(f"{k}={x:+.3f}" for k, x in zip(fit_names, vals))
                  + (f"  bound {bound}" if bound else "")
                  + ("  sample AUC " + " ".join(f"{k} {x:.3f}" for k, x in aucs.items())
                     + ("  meets the sample order" if ok else "  FAILS the sample order") if aucs else ""),
                  flush=True)
    admissible = {c: v for c, (ok, v) in scores.items() if ok}
    pool = admissible or {c: v for c, (_, v) in scores.items()}
    if not admissible:
        print(f"  [{mode}] no candidate meets the sample order; choosing by LODO alone")
    return max(pool, key=pool.get)


def evaluate(data, fit_names, chosen: dict[str, str], n_boot=500) -> pd.DataFrame:
    """The LODO table: per set, Spearman (95 % CI over dialogues) of every score."""
    preds = {mode: lodo_predictions(data, fit_names, mode, chosen[mode],
                                    max_coef=BOUNDS.get((mode, chosen[mode])) or None) for mode in chosen}
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
    samples = {mode: load_sample_kinds(mode == "full") for mode in ("full", "fast")}
    chosen = {mode: choose(data, fit_names, mode, sample=samples[mode]) for mode in ("full", "fast")}
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
            "max_coef": BOUNDS.get((mode, chosen[mode])) or {},
            "selection": {
                "rule": "candidates fixed in training/fit_quality.py CANDIDATES; a candidate is admissible "
                        "if the model fitted on all licensed sets ranks the bundled synthetic sample's "
                        "planted answer kinds good > off-topic (AUC >= 0.9), good > generic (>= 0.7) and "
                        "in mean good > generic > off-topic with gaps >= 0.05, as fitted or, for the 'unsupported' candidates, "
                        "with the smallest penalty c (grid 0, 0.025, ..., 1) on the unsupported-content "
                        "coefficient (standardised coefficient <= -c, the others refitted) that does it; "
                        "each candidate is then scored by its mean leave-one-dataset-out Spearman over "
                        "the licensed sets with that penalty fixed; the admissible candidate with the best "
                        "mean LODO wins. The validation sets (no stated licence) play no part in the choice.",
                "candidates": SELECTION.get(mode, {}),
            },
            "relevance_emb": "all-MiniLM-L6-v2 (int8 ONNX) vectors of each distinct normalised sentence, "
                             "pooled per message by word count (toolkit.quality.pooled)" if mode == "full" else None,
            "trained_on": {k: {"repository": f"github.com/{hd.SOURCES[k][3]}", "licence": hd.SOURCES[k][1],
                               "n": int(len(data[k]))} for k in fit_names},
            "validated_on": {k: {"repository": f"github.com/{hd.SOURCES[k][3]}", "licence": hd.SOURCES[k][1],
                                 "n": int(len(data[k]))} for k in data if k not in fit_names},
            "lodo_spearman": lodo,
            "baselines_spearman": baselines,
            "refit": "PYTHONPATH=. python training/fit_quality.py",
        }
        m = fit_ridge([data[k] for k in fit_names], feats, alpha, mode, meta=meta,
                      max_coef=BOUNDS.get((mode, chosen[mode])) or None)
        path = Path(args.out_dir) / f"model_{mode}.json"
        from toolkit._files import atomic_write_text

        atomic_write_text(path, json.dumps(m.to_dict(), indent=1) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
