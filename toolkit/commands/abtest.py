"""``toolkit abtest PATH``: analyse an A/B test from a conversation log or a per-unit table."""

from __future__ import annotations

from toolkit.commands._engine import add_engine_arguments, engine_session

__all__ = ["register", "run"]

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "abtest",
        help="analyse an A/B test: lifts, CIs, tests, SRM, multiple testing, verdicts",
        description="Compare every treatment arm with control on every metric. PATH is a "
        "conversation log (folder, file or SQLite database; conversations are the units) or a "
        "per-unit table (CSV/Parquet/JSONL, one row per unit with a variant column).",
        epilog="examples:\n  toolkit abtest data/sample --json\n"
        "  toolkit abtest units.csv --control A --metrics resolved:binary,latency:continuous:lower\n"
        "  toolkit abtest units.parquet --metrics rt:ratio:total_rt/n_turns:lower --bootstrap 2000\n"
        "  toolkit abtest data/sample --pre-period 2026-09-01 2026-09-21 --quantiles 0.5,0.9,0.95",
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
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--correction", choices=["holm", "bh", "bonferroni", "none"], default="holm",
                   help="multiple-testing correction that decides significance (default holm)")
    p.add_argument("--allocation", default=None,
                   help="planned split for the SRM check, e.g. A=0.5,B=0.5 (default equal)")
    p.add_argument("--bootstrap", type=int, default=0,
                   help="bootstrap resamples for percentile/BCa CIs (default 0: none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--nan-policy", choices=["drop", "raise"], default="drop",
                   help="missing metric values: drop and count (default) or reject")
    p.add_argument("--time-col", default="start_time",
                   help="arrival time column for the sequential analysis (default start_time)")
    p.add_argument("--no-sequential", action="store_true",
                   help="skip the always-valid confidence sequences")
    p.add_argument("--mde-relative", type=float, default=0.10,
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
    p.add_argument("--prior-sd", type=float, default=None,
                   help="Bayesian read-out: SD of a normal prior on the lift (default: flat "
                   "prior; GrowthBook suggests 0.3 on the relative lift)")
    p.add_argument("--prior-mean", type=float, default=0.0,
                   help="mean of the normal prior on the lift (default 0)")
    p.add_argument("--bayes-scale", choices=["relative", "absolute"], default="relative",
                   help="lift the Bayesian posterior is on (default relative)")
    p.add_argument("--no-bayes", action="store_true", help="skip the Bayesian read-out")
    p.add_argument("--quantiles", default="",
                   help="quantiles of response time (log) or of continuous metrics (table) to "
                   "compare with bootstrap CIs, e.g. 0.5,0.9,0.95")
    p.add_argument("--tz", default=None, help="time zone of naive timestamps in a log")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--wide", action="store_true",
                   help="print every column of the summary table (default: the key columns in "
                   "100 characters)")
    add_engine_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from toolkit.ab.analysis import ABInputError, analyze, parse_allocation
    from toolkit.cli import print_json
    from toolkit.errors import UsageError

    from toolkit.ab.units import read_ab_input

    quality_note = None
    with engine_session(args):
        if args.engine == "dask":
            from toolkit.scale.read import read_log

            if args.score_quality:
                raise UsageError("--score-quality with --engine dask: score the log first "
                                 "(toolkit score PATH --engine dask --out scored/), then run abtest on scored/")
            data, is_log = read_log(args.path, tz=args.tz), True
        else:
            data, is_log = read_ab_input(args.path, tz=args.tz)
            if is_log and args.score_quality:
                from toolkit.ab.units import with_quality

                data, quality_note = with_quality(data)
        try:
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
                covariates=_covariates(args.covariate), bayes=not args.no_bayes,
                prior_mean=args.prior_mean, prior_sd=args.prior_sd, bayes_scale=args.bayes_scale,
                quantiles=_quantiles(args.quantiles), engine=args.engine,
            )
        except (ABInputError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        out = {"source": str(args.path), "input": "log" if is_log else "units", **res.to_dict()}
        if quality_note:
            out["notes"] = out["notes"] + [quality_note]
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
    for n in res.notes + ([quality_note] if quality_note else []):
        print(f"note: {n}")
    return 0


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


def _covariates(spec: str | None) -> dict[str, str] | None:
    from toolkit.errors import UsageError

    if not spec:
        return None
    out = {}
    for part in spec.split(","):
        if "=" not in part:
            raise UsageError(f"--covariate: expected METRIC=COLUMN, got {part.strip()!r}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _quantiles(spec: str) -> tuple[float, ...]:
    from toolkit.errors import UsageError

    if not spec:
        return ()
    try:
        return tuple(float(x) for x in spec.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--quantiles: expected numbers like 0.5,0.9,0.95, got {spec!r}") from None
