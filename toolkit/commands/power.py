"""``toolkit power``: sample size, power or minimum detectable effect of an A/B test."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    from toolkit.commands._types import int_range, open_unit, positive_float

    p = subparsers.add_parser(
        "power",
        help="plan an A/B test: sample size per arm, power, MDE and duration",
        description="Plan an A/B test of a proportion or a mean. Give the effect (--mde, or "
        "--effect-size / --mde with --sd for means) to solve the sample size (or, with --n, the "
        "power); give --n without an effect to solve the minimum detectable effect. Every result "
        "names the formula used.",
        epilog="examples:\n  toolkit power --metric proportion --baseline 0.30 --mde 0.02\n"
        "  toolkit power --metric mean --effect-size 0.5 --power 0.9 --json\n"
        "  toolkit power --metric mean --sd 2.5 --mde 0.4 --daily-traffic 800\n"
        "  toolkit power --metric proportion --baseline 0.3 --n 5000   # MDE for 5000 per arm\n"
        "  toolkit power --metric proportion --baseline 0.3 --mde 0.02 --cuped-correlation 0.4\n"
        "  toolkit power --metric paired --mde 0.05 --sd 0.2 --pair-correlation 0.7",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("--metric", choices=["proportion", "mean", "paired"], default="proportion",
                   help="metric type (default: proportion); paired = the same examples answered "
                   "by both variants (--n is then the number of pairs)")
    p.add_argument("--baseline", type=float, help="control rate (proportion) or mean (mean, "
                   "optional: for the relative MDE)")
    p.add_argument("--mde", type=float, help="minimum detectable effect, absolute (difference "
                   "of rates or of means); relative with --relative")
    p.add_argument("--relative", action="store_true", help="--mde is relative to --baseline")
    p.add_argument("--effect-size", type=float, help="means: Cohen's d (instead of --mde/--sd)")
    p.add_argument("--sd", type=positive_float("--sd"), help="means: standard deviation of the metric")
    p.add_argument("--n", type=positive_float("--n"), help="control-arm size: solve power (with an effect) or "
                   "the MDE (without)")
    p.add_argument("--alpha", type=open_unit("--alpha"), default=0.05, help="significance level (default 0.05)")
    p.add_argument("--power", type=open_unit("--power"), default=None,
                   help="target power (default 0.8 when solving n or the MDE)")
    p.add_argument("--ratio", type=positive_float("--ratio", 1000), default=1.0,
                   help="n_treatment / n_control per treatment arm (default 1)")
    p.add_argument("--arms", type=int_range("--arms", 2, 100), default=2,
                   help="arms including control (default 2); alpha is split (Bonferroni)")
    p.add_argument("--formula", default=None,
                   help="proportion: pooled (R power.prop.test, default), cohen_h, unpooled; "
                   "mean: exact (noncentral t, default), normal")
    p.add_argument("--alternative", choices=["two-sided", "larger", "smaller"],
                   default="two-sided")
    p.add_argument("--strict", action="store_true",
                   help="two-sided power includes the opposite tail (G*Power convention)")
    p.add_argument("--cuped-correlation", type=float, default=0.0,
                   help="expected correlation of the metric with a pre-period covariate (CUPED): "
                   "the variance is planned x (1 - r^2) (default 0: no CUPED)")
    p.add_argument("--r-squared", type=float, default=None,
                   help="expected share of variance explained by the covariates of a regression "
                   "adjustment (several covariates; instead of --cuped-correlation)")
    p.add_argument("--n-primary", type=int, default=1,
                   help="primary metrics of the analysis (abtest --primary): alpha is split over "
                   "primary metrics x treatment arms (default 1)")
    p.add_argument("--sd-diff", type=float, default=None,
                   help="paired: SD of the per-example difference (or give --sd and "
                   "--pair-correlation)")
    p.add_argument("--pair-correlation", type=float, default=None,
                   help="paired: correlation of the two variants' scores on an example")
    p.add_argument("--daily-traffic", type=positive_float("--daily-traffic"), default=None,
                   help="units per day entering the test: prints the duration")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=run)


def _formula(given: str | None, allowed, what: str) -> str:
    """``--formula`` checked against the methods of the metric type (the first is the default)."""
    from toolkit.errors import UsageError

    method = given or next(iter(allowed))
    if method not in allowed:
        raise UsageError(f"--formula for {what} must be one of {', '.join(allowed)}, got {method!r}")
    return method


def run(args) -> int:
    from toolkit.ab.power import (
        MEAN_METHODS,
        PAIRED_METHODS,
        PROPORTION_METHODS,
        plan_means,
        plan_paired,
        plan_proportions,
    )
    from toolkit.cli import print_json
    from toolkit.errors import UsageError

    common = dict(n=args.n, power=args.power, alpha=args.alpha, ratio=args.ratio, arms=args.arms,
                  alternative=args.alternative, strict=args.strict,
                  daily_traffic=args.daily_traffic)
    if args.metric == "paired":
        ignored = [opt for opt, given in (("--ratio", args.ratio != 1.0), ("--arms", args.arms != 2),
                                          ("--cuped-correlation", args.cuped_correlation != 0.0),
                                          ("--r-squared", args.r_squared is not None),
                                          ("--n-primary", args.n_primary != 1)) if given]
        if ignored:
            raise UsageError(f"{', '.join(ignored)} do(es) not apply to --metric paired (one set of examples "
                             "answered by two variants); plan one comparison at a time")
        method = _formula(args.formula, PAIRED_METHODS, "paired designs")
        plan = plan_paired(effect_size=args.effect_size, mde=args.mde, sd_diff=args.sd_diff,
                           sd=args.sd, correlation=args.pair_correlation,
                           baseline=args.baseline, n=args.n, power=args.power,
                           alpha=args.alpha, alternative=args.alternative, method=method,
                           strict=args.strict, daily_traffic=args.daily_traffic)
    elif args.metric == "proportion":
        if args.baseline is None:
            raise UsageError("--metric proportion needs --baseline (the control rate)")
        if args.effect_size is not None or args.sd is not None:
            raise UsageError("--effect-size and --sd apply to --metric mean; for proportions "
                             "give --mde (absolute, or relative with --relative)")
        method = _formula(args.formula, PROPORTION_METHODS, "proportions")
        plan = plan_proportions(baseline=args.baseline, mde=args.mde, relative=args.relative,
                                method=method, correlation=args.cuped_correlation,
                                r_squared=args.r_squared, n_primary=args.n_primary, **common)
    else:
        method = _formula(args.formula, MEAN_METHODS, "means")
        mde = args.mde
        if args.relative and mde is not None:
            if not args.baseline:
                raise UsageError("--relative needs --baseline")
            mde = mde * args.baseline
        if args.effect_size is None and mde is not None and args.sd is None:
            raise UsageError("--metric mean with --mde needs --sd (or give --effect-size)")
        if args.effect_size is None and mde is None and args.n is None:
            raise UsageError("--metric mean needs --effect-size, or --mde with --sd, "
                             "or --n (to solve the MDE)")
        plan = plan_means(effect_size=args.effect_size, mde=mde, sd=args.sd,
                          baseline=args.baseline, method=method,
                          correlation=args.cuped_correlation, r_squared=args.r_squared,
                          n_primary=args.n_primary, **common)
    if args.json:
        print_json(plan.to_dict())
        return 0
    print(_fit(plan.summary()))
    return 0


def _fit(summary: str, width: int = 100) -> str:
    """The plan's one-line summary, one clause a line when it is wider than ``width``.

    Examples
    --------
    >>> print(_fit("n per arm: 64 (2 arms); " + "x" * 90 + "; method: exact"))
    n per arm: 64 (2 arms)
      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      method: exact
    """
    if len(summary) <= width:
        return summary
    return "\n  ".join(part.strip() for part in summary.split("; "))
