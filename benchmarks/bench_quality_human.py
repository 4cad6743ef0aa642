"""Agreement of ``quality`` with human ratings on public dialogue data, leave one data set out.

For every public human-rated set that ``benchmarks/human_data.py`` finds (fetched repository
snapshots under ``$TOOLKIT_HUMAN_DATA_DIR``, default ``/work/.mirror``), the Spearman correlation
with the rater-averaged ratings, with a 95 % bootstrap CI over dialogues, of:

* the new quality, full mode (MiniLM relevance; the default) and fast mode (no sentence model), each from a
  model fitted on the OTHER licensed sets (leave one data set out; the sets without a stated
  licence are scored by the model fitted on all licensed sets and never fitted on);
* response word count, TF-IDF relevance, MiniLM relevance, and the old hand-weighted composite
  (``QualityConfig(model="composite")``).

The procedure is ``training/fit_quality.py``'s (the candidate model is chosen there by mean LODO
Spearman over the licensed sets). Skipped with a message when no data set is present. The first
run computes the features (MiniLM vectors for ~23,000 distinct texts: minutes; cached).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "training"))
sys.path.insert(0, str(HERE))


def run(quick: bool) -> list[dict]:
    import fit_quality as fq
    import human_data as hd

    bench = "quality vs human ratings (LODO Spearman)"
    data = fq.load_all(verbose=True)
    fit_names = [k for k in data if hd.SOURCES[k][2] == "fit"]
    if len(fit_names) < 2:
        return [{"benchmark": bench, "metric": "skipped", "value": None, "unit": "",
                 "note": f"fewer than two licensed human-rated sets under {hd.mirror_dir()} "
                         f"(fetch {', '.join(v[3] for v in hd.SOURCES.values())}; or set {hd.ENV_VAR})"}]
    from toolkit.quality import load_model

    # the candidate the shipped models were chosen as (training/fit_quality.py's rule, recorded in
    # their files); a candidate the script no longer knows is chosen again by that rule
    chosen = {}
    for mode in ("full", "fast"):
        meta = load_model(mode).meta
        cand = meta.get("candidate")
        if cand in fq.CANDIDATES:
            chosen[mode] = cand
            fq.BOUNDS[(mode, cand)] = dict(meta.get("max_coef") or {})
        else:
            chosen[mode] = fq.choose(data, fit_names, mode, verbose=False,
                                     sample=fq.load_sample_kinds(mode == "full"))
    table = fq.evaluate(data, fit_names, chosen, n_boot=100 if quick else 500)
    order = ["quality (full)", "quality (fast)", "word count", "relevance (TF-IDF)", "relevance (MiniLM)",
             "old composite"]
    print(f"\nLODO Spearman with human ratings (95 % bootstrap CI over dialogues); chosen {chosen}")
    head = f"{'dataset':<11}{'use':<9}{'n':>6}  " + "  ".join(f"{c:>22}" for c in order)
    print(head)
    for (name, use, n), g in table.groupby(["dataset", "use", "n"], sort=False):
        cells = []
        for c in order:
            r = g[g.score == c]
            cells.append(f"{r.spearman.iloc[0]:+.3f} [{r.ci_low.iloc[0]:+.2f},{r.ci_high.iloc[0]:+.2f}]"
                         if len(r) else "")
        print(f"{name:<11}{use:<9}{n:>6}  " + "  ".join(f"{c:>22}" for c in cells))
    rows = []
    for r in table.itertuples():
        rows.append({"benchmark": bench, "metric": f"{r.dataset} / {r.score}", "value": r.spearman,
                     "unit": "rho", "note": f"n={r.n}, 95% CI [{r.ci_low:+.3f}, {r.ci_high:+.3f}], {r.use}"})
    return rows
