"""``toolkit abtest PATH``: analyse an A/B test from a conversation log or a per-unit table."""

from __future__ import annotations

from toolkit.commands._dask_options import add_engine_arguments, engine_session

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import (MAX_BOOTSTRAP, float_range, int_range, open_unit,
                                         positive_float, timezone)

    p = subparsers.add_parser(
        "abtest",
        help="analyse an A/B test: lifts, CIs, tests, SRM, multiple testing, verdicts",
        description="Compare every treatment arm with control on every metric. PATH is a "
        "conversation log (folder, file or SQLite database; conversations are the units) or a "
        "per-unit table (CSV/Parquet/JSONL, one row per unit with a variant column).",
        epilog="examples:\n  toolkit abtest data/sample --json\n"
        "  toolkit abtest units.csv --control A --metrics resolved:binary,latency:continuous:lower\n"
        "  toolkit abtest units.parquet --metrics rt:ratio:total_rt/n_turns:lower --bootstrap 2000\n"
        "  toolkit abtest data/sample --pre-period 2026-09-01 2026-09-21 --quantiles 0.5,0.9,0.95\n"
        "  toolkit abtest data/sample --primary resolved --guardrail response_time=0.2\n"
        "  toolkit abtest data/sample --by bot_id\n"
        "  toolkit abtest data/sample --by topic --assignments topics.csv --mix topic",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="conversation log or per-unit table")
    p.add_argument("--variant-col", default="variant", help="column naming the arm (default variant)")
    p.add_argument("--control", default=None,
                   help="control arm (default 'control' if present, else the first in sorted order)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated name:kind[:num/den][:lower][:mde=X]; kinds binary, "
                   "continuous, ratio (default: resolved, satisfaction, quality, response time "
                   "per turn and cost for a log; numeric columns for a table)")
    p.add_argument("--alpha", type=open_unit("--alpha"), default=0.05, help="significance level (default 0.05)")
    p.add_argument("--correction", choices=["holm", "bh", "bonferroni", "none"], default="holm",
                   help="multiple-testing correction that decides significance (default holm)")
    p.add_argument("--allocation", default=None,
                   help="planned split for the SRM check, e.g. A=0.5,B=0.5 (default equal)")
    p.add_argument("--bootstrap", type=int_range("--bootstrap", 0, MAX_BOOTSTRAP), default=0,
                   help="bootstrap resamples for percentile/BCa CIs (default 0: none)")
    p.add_argument("--seed", type=int_range("--seed", 0, 2**32 - 1, hard=True), default=0, help="bootstrap seed (default 0)")
    p.add_argument("--nan-policy", choices=["drop", "raise"], default="drop",
                   help="missing metric values: drop and count (default) or reject")
    p.add_argument("--time-col", default="start_time",
                   help="arrival time column for the sequential analysis (default start_time)")
    p.add_argument("--no-sequential", action="store_true",
                   help="skip the always-valid confidence sequences")
    p.add_argument("--mde-relative", type=positive_float("--mde-relative"), default=0.10,
                   help="planned MDE relative to control, for the power in verdicts (default 0.10)")
    p.add_argument("--unit", choices=["conversation", "user"], default="conversation",
                   help="randomisation unit when PATH is a log (default conversation)")
    p.add_argument("--score-quality", action="store_true",
                   help="score response quality (toolkit.quality) when a log has no quality "
                   "column, to compare mean quality per conversation")
    p.add_argument("--pre-period", nargs=2, metavar=("START", "END"), default=None,
                   help="CUPED: analyse the units that started at or after END, adjusted with "
                   "each unit's metrics over its user's conversations in [START, END) (a log)")
    p.add_argument("--covariate", default=None,
                   help="CUPED with columns of a per-unit table: METRIC=COLUMN[,METRIC=COLUMN]")
    p.add_argument("--prior-sd", type=positive_float("--prior-sd"), default=None,
                   help="Bayesian read-out: SD of a normal prior on the lift (default: flat "
                   "prior; GrowthBook suggests 0.3 on the relative lift)")
    p.add_argument("--prior-mean", type=float_range("--prior-mean"), default=0.0,
                   help="mean of the normal prior on the lift (default 0)")
    p.add_argument("--bayes-scale", choices=["relative", "absolute"], default="relative",
                   help="lift the Bayesian posterior is on (default relative)")
    p.add_argument("--no-bayes", action="store_true", help="skip the Bayesian read-out")
    p.add_argument("--quantiles", default="",
                   help="quantiles of response time (log) or of continuous metrics (table) to "
                   "compare with bootstrap CIs, e.g. 0.5,0.9,0.95")
    p.add_argument("--primary", default=None,
                   help="primary metric(s), comma-separated: corrected together and the ones "
                   "that decide (default: the first metric; 'all': every metric)")
    p.add_argument("--guardrail", default=None,
                   help="guardrail metrics with a margin, METRIC=MARGIN[,...]: one-sided "
                   "'not worse than' by MARGIN (in the metric's units)")
    p.add_argument("--unit-check", choices=["switch", "stop"], default="switch",
                   help="when a log's users (not conversations) were randomised: analyse per "
                   "user with a note (default) or stop")
    p.add_argument("--by", default=None,
                   help="effects by segment: a column of the unit table or the log (bot_id, "
                   "model, ...) or of --assignments (topic)")
    p.add_argument("--assignments", default=None,
                   help="CSV/Parquet/JSONL with conversation_id and the --by / --mix column, "
                   "e.g. the topic of each conversation from toolkit cluster")
    p.add_argument("--mix", default=None,
                   help="topic-mix shift of this categorical column between the variants "
                   "(--mix-between variant) or the two halves of the period (period)")
    p.add_argument("--mix-between", default="variant",
                   help="the groups of --mix: a column (default variant) or 'period'")
    p.add_argument("--labels", default=None, metavar="FILE",
                   help="human labels (CSV/Parquet/JSONL: conversation_id, turn, rating[, rater]) of "
                        "a random sample of turns or conversations: also report the mean rating per "
                        "arm and its lift by PPI++ (score on every unit + the labels), labels alone and "
                        "the score alone (a log only)")
    p.add_argument("--label-score", default="quality",
                   help="the score the labels calibrate (default quality, scored when missing; or "
                        "reaction, judge_<rubric>, ...)")
    p.add_argument("--label-scale", default=None, metavar="LO,HI",
                   help="rating scale of the labels, e.g. 1,5: ratings outside it are an error")
    p.add_argument("--tz", type=timezone, default=None, help="time zone of naive timestamps in a log")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--wide", action="store_true",
                   help="print every column of the summary table (default: the key columns in "
                   "100 characters)")
    add_engine_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from toolkit.ab.analysis import analyze, parse_allocation
    from toolkit.cli import print_json
    from toolkit.errors import UsageError

    from toolkit.ab.units import read_ab_input

    quality_note = None
    with engine_session(args):
        if args.engine == "dask":
            from toolkit.dask_engine.read import read_log

            if args.score_quality:
                raise UsageError("--score-quality with --engine dask: score the log first "
                                 "(toolkit score PATH --engine dask --out scored/), then run abtest on scored/")
            data, is_log = read_log(args.path, tz=args.tz), True
        else:
            data, is_log = read_ab_input(args.path, tz=args.tz)
            if is_log and args.score_quality:
                from toolkit.ab.units import with_quality

                data, quality_note = with_quality(data)
        if args.pre_period and not is_log:
            raise UsageError("--pre-period needs a conversation log; for a per-unit table give "
                             "--covariate METRIC=COLUMN")
        res = analyze(
            data, args.metrics, variant_col=args.variant_col, control=args.control,
            alpha=args.alpha, correction=args.correction,
            planned_allocation=parse_allocation(args.allocation), bootstrap=args.bootstrap,
            seed=args.seed, nan_policy=args.nan_policy, sequential=not args.no_sequential,
            time_col=args.time_col, default_mde_relative=args.mde_relative, unit=args.unit,
            pre_period=tuple(args.pre_period) if args.pre_period else None,
            covariates=_pairs(args.covariate, "--covariate", "COLUMN"), bayes=not args.no_bayes,
            prior_mean=args.prior_mean, prior_sd=args.prior_sd, bayes_scale=args.bayes_scale,
            quantiles=_quantiles(args.quantiles), engine=args.engine,
            primary=_primary(args.primary), unit_check=args.unit_check,
            guardrails=_pairs(args.guardrail, "--guardrail", "MARGIN", float),
        )
        extra = _segments_and_mix(args, data)
    ppi = _ppi_lift(args, data, is_log, res) if args.labels else None
    if args.json:
        out = {"source": str(args.path), "input": "log" if is_log else "units", **res.to_dict(),
               **{k: v.to_dict() for k, v in extra.items()}}
        if quality_note:
            out["notes"] = out["notes"] + [quality_note]
        if ppi is not None:
            out["ppi"] = ppi.to_dict()
        print_json(out)
        return 0
    print(res.srm.message)
    print()
    table = res.summary_table()
    if args.wide:
        with pd.option_context("display.width", 250, "display.max_columns", 30,
                               "display.float_format", "{:.4g}".format):
            print(table.to_string(index=False))
    else:
        print(_narrow(table))
        print("(relative lift and its CI in percent of the control value;\n"
              " --wide for every column, --json for everything)")
    print()
    if res.quantiles is not None and len(res.quantiles):
        print()
        print(res.quantiles.drop(columns=["method"]).to_string(index=False))
        print(f"quantile CIs: {res.quantiles['method'].iloc[0]}")
    print()
    for v in res.verdicts:
        print(f"- {v}")
    if "segments" in extra:
        seg = extra["segments"]
        print()
        print(f"effects by {seg.by} ({seg.correction} across segments):")
        with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
            print(seg.summary_table().to_string(index=False))
            print(seg.heterogeneity[["metric", "arm", "q", "df", "q_p", "i2",
                                     "n_segments"]].to_string(index=False))
        print("interaction: Cochran's Q on the per-segment lifts (q_p < alpha: the effect "
              "differs between segments)")
        for n in seg.notes:
            print(f"note: {n}")
    if "mix" in extra:
        mx = extra["mix"]
        print()
        print(f"mix of {mx.column} between {mx.groups[0]} and {mx.groups[1]} ({mx.group_col}): "
              f"chi-square {mx.chi2:.4g} on {mx.df} df, p = {mx.chi2_p:.3g}")
        with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
            print(mx.summary_table().to_string(index=False))
    for n in res.notes + ([quality_note] if quality_note else []):
        print(f"note: {n}")
    if ppi is not None:
        _print_ppi(ppi, pd)
    return 0


def _ppi_lift(args, data, is_log, res):
    """The PPI++ lift of ``--label-score`` calibrated by ``--labels`` (toolkit.ppi.ppi_lift)."""
    from toolkit.errors import UsageError

    if not is_log or args.engine == "dask":
        raise UsageError("--labels needs a conversation log (labels are keyed by conversation_id and "
                         "turn) and the pandas engine")
    from toolkit.labels import read_labels
    from toolkit.ppi import ppi_lift

    scale = None
    if args.label_scale:
        try:
            lo, hi = (float(x) for x in args.label_scale.split(","))
        except ValueError:
            raise UsageError(f"--label-scale: expected LO,HI like 1,5, got {args.label_scale!r}") from None
        scale = (lo, hi)
    if args.label_score not in data.turns.columns:
        if args.label_score != "quality":
            raise UsageError(f"--label-score {args.label_score}: the log has no such column")
        from toolkit.ab.units import with_quality

        data, note = with_quality(data)
        if note:
            raise UsageError(note)
    labels = read_labels(args.labels, log=data, scale=scale)
    return ppi_lift(data.turns, labels, score=args.label_score, variant_col=args.variant_col,
                    control=res.control, alpha=args.alpha)


def _print_ppi(ppi, pd) -> None:
    print()
    print(f"mean human rating by arm ({ppi.level} labels calibrating {ppi.score}; PPI++):")
    arms = ppi.arms[["arm", "n_labels", "N_unlabelled", "ppi", "ppi_ci_low", "ppi_ci_high",
                     "label_only", "naive", "corr", "effective_labels"]]
    lifts = ppi.lifts[["treatment", "estimator", "lift", "ci_low", "ci_high", "n_labels", "n_scores",
                       "effective_labels", "scale"]]
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        print(arms.to_string(index=False))
        print()
        print(lifts.to_string(index=False))
    for n in ppi.notes:
        print(f"note: {n}")
#: the text table fits this many columns (``--wide`` prints them all)
WIDTH = 100


def _narrow(table) -> str:
    """metric, arm, control, treatment, relative lift and CI in percent, corrected p, verdict."""
    import math

    p_col = next((c for c in table.columns if c.startswith("p (")), "p")
    head = ["metric", "arm", "control", "treatment", "rel lift", "rel 95% CI", p_col, "verdict"]
    rows = [head]
    for r in table.to_dict(orient="records"):
        rel = r.get("rel lift")
        p = r.get(p_col)
        rows.append([
            str(r["metric"])[:18], str(r["arm"])[:8], f"{r['control']:.3g}", f"{r['treatment']:.3g}",
            "" if rel is None or (isinstance(rel, float) and math.isnan(rel)) else f"{100 * rel:+.1f}%",
            str(r.get("rel CI") or ""),
            "" if p is None or (isinstance(p, float) and math.isnan(p)) else ("<0.001" if p < 0.001 else f"{p:.3f}"),
            str(r.get("verdict") or ""),
        ])
    widths = [max(len(row[j]) for row in rows) for j in range(len(head))]
    left = {0, 1, 7}
    gap = "  " if sum(widths) + 2 * (len(widths) - 1) <= WIDTH else " "
    lines = [gap.join(c.ljust(w) if j in left else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    return "\n".join(line if len(line) <= WIDTH else line[: WIDTH - 1] + "…" for line in lines)


def _pairs(spec: str | None, option: str, value: str, convert=str) -> dict | None:
    """``K=V[,K=V]`` of ``option`` as a dict (``value`` names V in the message; ``convert`` reads it)."""
    from toolkit.errors import UsageError

    if not spec:
        return None
    out = {}
    for part in spec.split(","):
        if "=" not in part:
            raise UsageError(f"{option}: expected METRIC={value}, got {part.strip()!r}")
        k, v = part.split("=", 1)
        try:
            out[k.strip()] = convert(v.strip())
        except ValueError:
            raise UsageError(f"{option}: margin of {k.strip()!r} is not a number: "
                             f"{v.strip()!r}") from None
    return out


def _quantiles(spec: str) -> tuple[float, ...]:
    from toolkit.errors import UsageError

    if not spec:
        return ()
    try:
        return tuple(float(x) for x in spec.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--quantiles: expected numbers like 0.5,0.9,0.95, got {spec!r}") from None


def _primary(spec: str | None):
    if not spec:
        return None
    return "all" if spec.strip() == "all" else tuple(x.strip() for x in spec.split(",") if x.strip())


#: largest assignments file read (bytes)
MAX_ASSIGNMENTS_BYTES = 1 << 30


def _read_assignments(path: str):
    import os

    import pandas as pd

    from toolkit.errors import UsageError

    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise UsageError(f"--assignments {path}: {exc.strerror}") from None
    if size > MAX_ASSIGNMENTS_BYTES:
        raise UsageError(f"--assignments {path}: {size:,} bytes is over the limit of "
                         f"{MAX_ASSIGNMENTS_BYTES:,}")
    low = str(path).lower()
    if low.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif low.endswith((".jsonl", ".json")):
        frame = pd.read_json(path, lines=low.endswith(".jsonl"))
    elif low.endswith(".csv"):
        frame = pd.read_csv(path, dtype={"conversation_id": "string", "user_id": "string"})
    else:
        raise UsageError(f"--assignments {path}: expected a .csv, .parquet or .jsonl file")
    return frame


def _segments_and_mix(args, data) -> dict:
    """The --by and --mix analyses (pandas engine)."""
    from toolkit.errors import UsageError

    if not (args.by or args.mix):
        return {}
    if args.engine == "dask":
        raise UsageError("--by and --mix run on the pandas engine; leave out --engine dask")
    assign = _read_assignments(args.assignments) if args.assignments else None
    out = {}
    if args.by:
        from toolkit.ab.segments import segment_effects

        out["segments"] = segment_effects(
            data, args.by, args.metrics, assignments=assign, alpha=args.alpha,
            variant_col=args.variant_col, control=args.control, unit=args.unit,
            unit_check=args.unit_check)
    if args.mix:
        from toolkit.ab.mix import mix_shift

        by = args.variant_col if args.mix_between == "variant" else args.mix_between
        out["mix"] = mix_shift(data, args.mix, by, assignments=assign, alpha=args.alpha)
    return out

