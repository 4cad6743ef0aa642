"""``toolkit quality calibrate`` on public human-rated sets: what refitting on your own labels buys.

For every public human-rated set that ``benchmarks/human_data.py`` finds (fetched repository
snapshots under ``$TOOLKIT_HUMAN_DATA_DIR``, default ``/work/.mirror``), the set's own ratings are
treated as a user's labels and :func:`toolkit.quality.calibrate` is run on them as a user would:
5-fold cross-validation with every dialogue in one fold (``group_column``), the Spearman of the
out-of-fold refit beside the shipped full model's on the same rated responses, with 95 %
bootstrap CIs over dialogues. Two refits: the features' weights (the default) and the vector head
(``vectors=True``), on all labels and on random subsets of 300 and 1,000 labelled responses (whole
dialogues), to show how many labels the head needs. Nothing here is fitted on one set and scored
on another: this is in-domain calibration, not the shipped model's leave-one-dataset-out figure
(``bench_quality_human.py``). Skipped with a message when no data set is present.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SIZES = (300, 1000, None)


def _labelled(df):
    import numpy as np
    import pandas as pd

    import human_data as hd

    turns, last = hd.to_turns(df)
    dialogue = df["dialogue_id"].astype(str).to_numpy()
    conv = turns["conversation_id"].str.slice(1).astype(int).to_numpy()  # "r{i}" -> i
    turns["dialogue"] = dialogue[conv]
    labels = pd.DataFrame({"conversation_id": turns["conversation_id"].to_numpy()[last],
                           "turn": turns["turn"].to_numpy()[last], "rating": df["rating"].to_numpy()})
    return turns, labels, np.asarray(dialogue)


def run(quick: bool) -> list[dict]:
    import numpy as np

    import human_data as hd
    from toolkit.quality.calibrate import calibrate

    bench = "quality calibrate on a set's own labels (5-fold CV by dialogue)"
    data = hd.read_all(["dbdc3", "conture"] if quick else None)
    if not data:
        return [{"benchmark": bench, "metric": "skipped", "value": None, "unit": "",
                 "note": f"no human-rated set under {hd.mirror_dir()} (fetch "
                         f"{', '.join(v[3] for v in hd.SOURCES.values())}; or set {hd.ENV_VAR})"}]
    rows = []
    n_boot = 100 if quick else 300
    print(f"\n{'dataset':<11}{'labels':>7}  {'shipped (full)':>22}  {'refit: weights':>22}  {'refit: vector head':>22}")
    for name, df in data.items():
        turns, labels, dialogue = _labelled(df)
        rng = np.random.default_rng(0)
        order = rng.permutation(np.unique(dialogue))
        for size in SIZES:
            if size is not None and size >= len(labels):
                continue
            if size is None:
                lab = labels
            else:  # whole dialogues, in a random order, until ``size`` labelled responses
                counts = {d: c for d, c in zip(*np.unique(dialogue, return_counts=True))}
                take = order[:int(np.searchsorted(np.cumsum([counts[d] for d in order]), size)) + 1]
                lab = labels[np.isin(dialogue, take)]
            cells = {}
            for kind, vec in (("weights", False), ("vector head", True)):
                res = calibrate(turns, lab, folds=5, n_boot=n_boot, vectors=vec, group_column="dialogue")
                cells["shipped (full)"] = res.shipped
                cells[kind] = res.refit
                rows.append({"benchmark": bench, "metric": f"{name} / {len(lab)} labels / refit: {kind}",
                             "value": res.refit["spearman"], "unit": "rho",
                             "baseline": res.shipped["spearman"],
                             "note": f"CV 95% CI [{res.refit['ci_low']:+.3f}, {res.refit['ci_high']:+.3f}]; "
                                     f"shipped [{res.shipped['ci_low']:+.3f}, {res.shipped['ci_high']:+.3f}]; "
                                     f"difference {res.difference['spearman']:+.3f} "
                                     f"[{res.difference['ci_low']:+.3f}, {res.difference['ci_high']:+.3f}]"})
            fmt = {k: f"{v['spearman']:+.3f} [{v['ci_low']:+.2f},{v['ci_high']:+.2f}]" for k, v in cells.items()}
            print(f"{name:<11}{len(lab):>7}  {fmt['shipped (full)']:>22}  {fmt['weights']:>22}  "
                  f"{fmt['vector head']:>22}", flush=True)
    return rows
