"""``reaction`` against human failure labels, beside plain VADER of the next user message.

On public human-rated dialogues that have a following user turn (read by
``benchmarks/human_data.py`` and ``benchmarks/reaction_data.py`` from snapshots under
``$TOOLKIT_HUMAN_DATA_DIR``, default ``/work/.mirror``; a set whose snapshot is absent is skipped
with a message): DBDC3 English (breakdown = the majority of ~30 raters said X; MIT), ConTurE
(overall impression 0 = "dislike"; CC BY 4.0) and the English task-oriented sets of the User
Satisfaction Simulation data (``sunnweiwei/user-satisfaction-simulation``, no licence stated:
MultiWOZ, SGD, ReDial, CCPE; the rating on a user turn is the satisfaction with the system turn
before it, failure = most frequent rating <= 2). For every rated answer with a next user message:
the AUC of each score separating the answers raters did NOT mark as failures from the failures,
the AUC of the baseline (VADER compound of the next user message) on the same rows, each with a
95 % bootstrap CI resampling dialogues, the paired CI of the difference, and the Spearman with the
mean rating. Scores: ``reaction_lodo`` = weights fitted on the OTHER five sets only
(leave-one-dataset-out, the honest figure); ``reaction_shipped`` = the shipped weights (fitted on
all six, so in-sample here); ``reaction_prior`` = the hand-set prior weights with every cue;
``reaction_v1`` = the first release (hand-set, the seven original cues). Also: the
conversation-level Spearman (FED dialogue level, DBDC3 per dialogue), an in-domain bag-of-words
ceiling for the next user message, the AUC on the bundled SYNTHETIC sample, and the time to
score a 1M-turn log.

Usage::

    python benchmarks/run.py reaction
    python benchmarks/bench_reaction.py --fit     # also print the weights a fit on every set gives
                                                  # (what REACTION_WEIGHTS ships)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.human_data import DataMissing, read_conture, read_dbdc3  # noqa: E402

from benchmarks.reaction_data import USS_FILES, read_uss  # noqa: E402

SETS = {"dbdc3": read_dbdc3, "conture": read_conture,
        **{name: (lambda name=name: read_uss(name)) for name in USS_FILES}}
# the sign each weight must have by the cue's meaning (+ = a satisfied user)
SIGNS = {"sentiment": 1, "complaint": -1, "escalation": -1, "confusion": -1, "short_question": -1, "thanks": 1,
         "repeat": -1, "follows": 1, "declines": -1, "correction": -1, "retry": -1, "bye_no_thanks": -1,
         "moves_on": 1}
#: how many observations each data set is worth against the prior (see ``fit_weights``): the largest
#: of 1000, 300, 100, 30, 10, 3 for which the hand-written service cases of tests/test_reaction.py
#: still hold (thanks > 0.85, complaint / request for a human < 0.3, ...); chosen on those cases,
#: never on a data set's labels
PRIOR_STRENGTH = 10.0


def load_sets() -> dict[str, pd.DataFrame]:
    """Rows with a next user message and a failure label, per data set (absent sets skipped)."""
    out = {}
    for name, reader in SETS.items():
        try:
            df = reader()
        except DataMissing as exc:
            print(f"skip {name}: {exc}")
            continue
        df = df[df["next_user"].notna() & df["failure"].notna()].reset_index(drop=True)
        out[name] = df
    return out


def cues_of(df: pd.DataFrame) -> pd.DataFrame:
    """The reaction cues of each rated answer: a two-turn conversation (answer, next message)."""
    from toolkit.quality.reaction import reaction_cues

    n = len(df)
    ids = np.repeat(np.arange(n).astype(str), 2)
    turns = pd.DataFrame({
        "conversation_id": ids, "turn": np.tile([0, 1], n),
        "user_input": np.column_stack([df["user_input"].astype(str), df["next_user"].astype(str)]).ravel(),
        "bot_response": np.column_stack([df["response"].astype(str), np.full(n, "")]).ravel()})
    cues = reaction_cues(turns)
    return cues.iloc[0::2].reset_index(drop=True)


def fit_weights(parts: list[tuple[pd.DataFrame, np.ndarray]], strength: float = PRIOR_STRENGTH) -> dict[str, float]:
    """Logistic weights of "not a failure" on the cues, a MAP fit around the hand-set prior.

    Minimises, over the slopes ``w`` and the intercept, ``sum_sets strength * (class-balanced mean
    log-loss on the set) + ||w - prior||^2 / 2`` (a Gaussian prior of sd 1 centred on
    :data:`toolkit.quality.reaction.REACTION_PRIOR`; the intercept is free), each slope bounded to
    the sign of :data:`SIGNS`. A cue the data never show keeps its prior weight. ``strength`` is
    how many observations each data set is worth against the prior. The returned intercept is the
    prior's: the intercept only sets the level (balanced classes put it at an arbitrary 50/50
    prior) and never changes a ranking or an AUC.
    """
    from scipy.optimize import minimize

    from toolkit.quality.reaction import CUES, REACTION_PRIOR

    Xs, ys, ws = [], [], []
    for c, yy in parts:
        yy = np.asarray(yy, bool)
        Xs.append(c[list(CUES)].to_numpy(float))
        ys.append(yy)
        ws.append(np.where(yy, 0.5 / max(1, yy.sum()), 0.5 / max(1, (~yy).sum())) * strength)
    X = np.column_stack([np.ones(sum(len(y) for y in ys)), np.vstack(Xs)])
    y, w = np.concatenate(ys).astype(float), np.concatenate(ws)
    w0 = np.array([REACTION_PRIOR["intercept"]] + [REACTION_PRIOR[k] for k in CUES])

    def loss(b):
        z = X @ b
        d = b - w0
        d[0] = 0.0
        grad = X.T @ (w * (1.0 / (1.0 + np.exp(-z)) - y)) + d
        return float(np.sum(w * (np.logaddexp(0.0, z) - y * z)) + 0.5 * d @ d), grad

    bounds = [(None, None)] + [((0.0, None) if SIGNS[k] > 0 else (None, 0.0)) for k in CUES]
    res = minimize(loss, w0, jac=True, method="L-BFGS-B", bounds=bounds)
    out = {"intercept": float(REACTION_PRIOR["intercept"])}
    out.update({k: round(float(v), 3) + 0.0 for k, v in zip(CUES, res.x[1:])})
    return out


def auc(y: np.ndarray, s: np.ndarray) -> float:
    from scipy.stats import rankdata

    y = np.asarray(y, bool)
    r = rankdata(s)
    n1, n0 = y.sum(), (~y).sum()
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def boot_aucs(y, scores: dict, groups, n_boot: int = 1000, seed: int = 0) -> dict:
    """95 % percentile CIs of each score's AUC and of its difference from ``vader_next_user``,
    from the same resamples of dialogues (clusters)."""
    rng = np.random.default_rng(seed)
    codes, uniq = pd.factorize(pd.Series(groups))
    members = [np.flatnonzero(codes == g) for g in range(len(uniq))]
    vals = {k: [] for k in scores}
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[g] for g in pick])
        yy = y[idx]
        if yy.all() or not yy.any():
            continue
        for k, s in scores.items():
            vals[k].append(auc(yy, s[idx]))
    base = np.asarray(vals["vader_next_user"])
    out = {}
    for k, v in vals.items():
        v = np.asarray(v)
        out[k] = (*np.percentile(v, [2.5, 97.5]), *np.percentile(v - base, [2.5, 97.5]))
    return out


#: the sets whose licences allow shipping weights fitted on them (the others validate only)
LICENSED = ("dbdc3", "conture")


def evaluate(sets: dict[str, pd.DataFrame], n_boot: int = 1000,
             strength: float = PRIOR_STRENGTH) -> tuple[pd.DataFrame, dict]:
    """LODO AUCs of reaction and the VADER baseline, and the weights fitted on the licensed sets."""
    from scipy.stats import spearmanr

    from toolkit.quality.reaction import REACTION_PRIOR, REACTION_WEIGHTS, reaction_from_cues

    old = dict(REACTION_PRIOR, escalation=0.0, declines=0.0, correction=0.0, retry=0.0, bye_no_thanks=0.0,
               moves_on=0.0)  # the first release: hand-set, the seven original cues

    cues = {k: cues_of(df) for k, df in sets.items()}
    ys = {k: ~df["failure"].to_numpy(bool) for k, df in sets.items()}
    rows = []
    for held in sets:
        train = [(cues[k], ys[k]) for k in sets if k != held]
        y, g = ys[held], sets[held]["dialogue_id"].to_numpy()
        scores = {"reaction_shipped": reaction_from_cues(cues[held], REACTION_WEIGHTS),
                  "reaction_prior": reaction_from_cues(cues[held], REACTION_PRIOR),
                  "reaction_v1": reaction_from_cues(cues[held], old),
                  "vader_next_user": cues[held]["sentiment"].to_numpy(float)}
        if train:
            scores = {"reaction_lodo": reaction_from_cues(cues[held], fit_weights(train, strength)), **scores}
        cis = boot_aucs(y, scores, g, n_boot=n_boot)
        base = auc(y, scores["vader_next_user"])
        for name, s in scores.items():
            a = auc(y, s)
            lo, hi, dlo, dhi = cis[name]
            rho = spearmanr(s, sets[held]["rating"].to_numpy(float))[0]
            rows.append(dict(dataset=held, score=name, n=len(y), failures=int((~y).sum()), auc=a,
                             ci_low=lo, ci_high=hi, minus_vader=a - base, diff_low=dlo, diff_high=dhi,
                             spearman_rating=rho))
    weights = fit_weights([(cues[k], ys[k]) for k in sets if k in LICENSED], strength)
    return pd.DataFrame(rows), weights


def boot_spearman(x, y, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Spearman of x and y (one row per conversation) and its 95 % bootstrap CI."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    rng = np.random.default_rng(seed)
    vals = [spearmanr(x[i], y[i])[0] for i in (rng.integers(0, len(x), len(x)) for _ in range(n_boot))]
    lo, hi = np.nanpercentile(vals, [2.5, 97.5])
    return float(spearmanr(x, y)[0]), float(lo), float(hi)


def conversation_level(sets: dict[str, pd.DataFrame], n_boot: int = 1000) -> pd.DataFrame:
    """Spearman of the conversation's mean reaction with its human rating (shipped weights), beside
    the mean VADER of the user's next messages: FED dialogue level (Overall), DBDC3 (mean O/T/X)."""
    from toolkit.quality.reaction import reaction_cues, reaction_from_cues

    rows = []
    try:
        from benchmarks.reaction_data import read_fed_dialogues

        turns, rates = read_fed_dialogues()
        cues = reaction_cues(turns)
        per = pd.DataFrame({"cid": turns["conversation_id"], "reaction": reaction_from_cues(cues),
                            "vader": cues["sentiment"]})
        per.loc[cues["sentiment"].isna(), "reaction"] = np.nan
        per = per.groupby("cid")[["reaction", "vader"]].mean()
        y = rates.set_index("conversation_id")["rating"].reindex(per.index)
        ok = per.notna().all(axis=1) & y.notna()
        for name in ("reaction", "vader"):
            rho, lo, hi = boot_spearman(per.loc[ok, name], y[ok], n_boot)
            rows.append(dict(dataset="fed_dialogues", score=name, n=int(ok.sum()), spearman=rho, ci_low=lo,
                             ci_high=hi))
    except DataMissing as exc:
        print(f"skip fed dialogues: {exc}")
    if "dbdc3" in sets:
        df = sets["dbdc3"]
        cues = cues_of(df)
        per = pd.DataFrame({"cid": df["dialogue_id"], "reaction": reaction_from_cues(cues),
                            "vader": cues["sentiment"], "rating": df["rating"]}).groupby("cid").mean()
        for name in ("reaction", "vader"):
            rho, lo, hi = boot_spearman(per[name], per["rating"], n_boot)
            rows.append(dict(dataset="dbdc3_dialogues", score=name, n=len(per), spearman=rho, ci_low=lo,
                             ci_high=hi))
    return pd.DataFrame(rows)


def bow_ceiling(df: pd.DataFrame) -> float:
    """AUC of a bag-of-words logistic model of the NEXT user message, fitted IN-domain (5-fold
    cross-validation grouped by dialogue): how much any reading of that message alone can get."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_predict

    y = ~df["failure"].to_numpy(bool)
    X = TfidfVectorizer(ngram_range=(1, 2), min_df=2).fit_transform(df["next_user"].astype(str))
    p = cross_val_predict(LogisticRegression(C=1.0, max_iter=1000), X, y, groups=df["dialogue_id"],
                          cv=GroupKFold(5), method="predict_proba")[:, 1]
    return auc(y, p)


def synthetic_sample() -> dict:
    """AUC good vs other answer kinds on the bundled sample (SYNTHETIC: its follow-up messages are
    generated from the planted answer kind), reaction beside VADER of the next user message."""
    import toolkit
    from toolkit.quality.reaction import reaction_cues, reaction_from_cues
    from toolkit.sample import load_sample_truth

    t = toolkit.load_sample().turns
    truth = load_sample_truth()["conversations"]
    kinds = np.array([truth[c]["answer_kinds"][k] for c, k in zip(t["conversation_id"], t["turn"])])
    cues = reaction_cues(t)
    ok = cues["sentiment"].notna().to_numpy()
    y = kinds[ok] == "good"
    return {"n": int(ok.sum()), "reaction": auc(y, reaction_from_cues(cues)[ok]),
            "vader_next_user": auc(y, cues["sentiment"].to_numpy(float)[ok])}


def speed(n_turns: int) -> tuple[float, int]:
    """Seconds for reaction() on an n_turns log made by the sample generator."""
    from toolkit.quality.reaction import reaction
    from toolkit.sample import generate_sample

    log = generate_sample(seed=1, days=120, conversations=int(n_turns / 3.02)).log
    t = log.turns
    start = time.perf_counter()
    reaction(t)
    return time.perf_counter() - start, len(t)


def run(quick: bool = False) -> list[dict]:
    sets = load_sets()
    rows: list[dict] = []
    if not sets:
        print("reaction: no human-rated data with a next user turn found (fetch github:dbd-challenge/dbdc3 "
              "and github:alexa/conture and github:sunnweiwei/user-satisfaction-simulation, or set "
              "TOOLKIT_HUMAN_DATA_DIR); skipped")
        return rows
    table, _ = evaluate(sets, n_boot=200 if quick else 1000)
    print(table.round(3).to_string(index=False))
    for held, part in table.groupby("dataset", sort=False):
        base = part.loc[part["score"] == "vader_next_user", "auc"].iloc[0]
        for r in part.itertuples():
            rows.append(dict(metric=f"AUC {r.score} on {held} (n={r.n}, {r.failures} failures)", value=r.auc,
                             unit=f"AUC [{r.ci_low:.3f}, {r.ci_high:.3f}]",
                             baseline=None if r.score == "vader_next_user" else base,
                             target=0.70 if r.score == "reaction_lodo" else None,
                             note="reaction_lodo: weights fitted on the other sets only"))
    for name, df in sets.items():
        c = bow_ceiling(df)
        print(f"{name}: in-domain bag-of-words model of the next user message (grouped 5-fold CV): AUC {c:.3f}")
        rows.append(dict(metric=f"AUC in-domain BoW model of next user message, CV (ceiling) on {name}", value=c,
                         unit="AUC"))
    conv = conversation_level(sets, n_boot=200 if quick else 1000)
    print(conv.round(3).to_string(index=False))
    for r in conv.itertuples():
        base = conv[(conv["dataset"] == r.dataset) & (conv["score"] == "vader")]["spearman"].iloc[0]
        rows.append(dict(metric=f"Spearman {r.score} (conversation mean) vs rating on {r.dataset} (n={r.n})",
                         value=r.spearman, unit=f"rho [{r.ci_low:.3f}, {r.ci_high:.3f}]",
                         baseline=None if r.score == "vader" else base))
    syn = synthetic_sample()
    print(f"synthetic sample (n={syn['n']}): AUC reaction {syn['reaction']:.3f}, VADER {syn['vader_next_user']:.3f}")
    rows.append(dict(metric=f"AUC reaction, good vs other answers, SYNTHETIC sample (n={syn['n']})",
                     value=syn["reaction"], unit="AUC", baseline=syn["vader_next_user"]))
    secs, n = speed(100_000 if quick else 1_000_000)
    rows.append(dict(metric=f"reaction() on {n:,} sample turns", value=secs, unit="s"))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true",
                    help="also print the weights a fit on the licensed sets gives (the shipped REACTION_WEIGHTS)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--strength", type=float, default=PRIOR_STRENGTH,
                    help=f"observations each set is worth against the prior (default {PRIOR_STRENGTH:g})")
    ap.add_argument("--train", default=None,
                    help="comma-separated sets: fit on these only and print the AUC on every set (e.g. dbdc3,conture)")
    args = ap.parse_args(argv)
    sets = load_sets()
    if not sets:
        print("no data; see the module docstring")
        return 1
    if args.train:
        from toolkit.quality.reaction import reaction_from_cues

        names = [n.strip() for n in args.train.split(",") if n.strip() in sets]
        cues = {k: cues_of(df) for k, df in sets.items()}
        ys = {k: ~df["failure"].to_numpy(bool) for k, df in sets.items()}
        w = fit_weights([(cues[k], ys[k]) for k in names], args.strength)
        print(f"weights fitted on {names} only:", w)
        for k in sets:
            print(f"  AUC on {k}: {auc(ys[k], reaction_from_cues(cues[k], w)):.3f}")
        return 0
    table, weights = evaluate(sets, n_boot=args.n_boot, strength=args.strength)
    print(table.round(3).to_string(index=False))
    if args.fit:
        print("REACTION_WEIGHTS =", weights)
    print(conversation_level(sets, n_boot=args.n_boot).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
