"""``toolkit forecast PATH``: forecast metric series with 80 % / 95 % prediction intervals.

PATH is a conversation log (folder, file or SQLite database), a two-column table
``timestamp,value`` or a long table ``series_id,timestamp,value``; every series is forecast,
in parallel worker processes when there are several, with a progress bar on stderr.
"""

from __future__ import annotations

import argparse

from toolkit.commands._dask_options import add_engine_arguments, engine_session

__all__ = ["register", "run"]

_MODELS = ["auto", "snaive", "ets", "arima", "stl_arima", "stl_ets", "combo"]

#: toolkit.forecasting.forecasts.MAX_HORIZON (tests/test_forecasting.py holds them equal; not
#: imported, so that building the parser does not import pandas)
MAX_HORIZON = 10_000


def register(subparsers) -> None:
    from toolkit.commands._types import int_range, timezone

    p = subparsers.add_parser(
        "forecast",
        help="forecast metric series (volume, response time, quality, ...) with intervals",
        description="Forecast a metric of a conversation log, a timestamp,value series or every "
        "series of a long series_id,timestamp,value table, with 80 % and 95 % prediction "
        "intervals. The default model, combo (the median of MSTL-ARIMA, MSTL-ETS, seasonal "
        "ARIMA and weekly seasonal naive), is the most accurate on real hourly series "
        "(benchmarks/run.py forecasting); --model auto instead picks, per series, the model "
        "with the lowest MASE in a rolling-origin backtest (about ten times slower). "
        "stderr says which model ran and what was written. "
        "Output columns: series_id, timestamp, yhat, lo80, hi80, lo95, hi95.",
        epilog="examples:\n"
        "  toolkit forecast data/sample --metric volume --freq h --horizon 48 --out fc.csv\n"
        "  toolkit forecast data/sample --metric response_time_mean --by variant --horizon 24 --json\n"
        "  toolkit forecast series.csv --freq d --season 7 --horizon 14 --model auto --out fc.parquet\n"
        "  toolkit forecast long.csv --horizon 48 --jobs 2 --out fc.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="conversation log, timestamp,value file or series_id,timestamp,value file")
    p.add_argument("--metric", default="volume",
                   help="for a log: volume (conversations started, default), turns, "
                   "response_time_mean, response_time_p95, quality, error_rate, cost, tokens, "
                   "resolution, satisfaction, or a numeric column")
    p.add_argument("--freq", default=None,
                   help="h (hourly) or d (daily); for a log default h, for a file inferred")
    p.add_argument("--season", type=int_range("--season", 1, MAX_HORIZON), default=None,
                   help="seasonal period in steps (default 24 hourly, 7 daily, 12 monthly; 1 = none)")
    p.add_argument("--horizon", type=int_range("--horizon", 1, MAX_HORIZON), required=True,
                   help=f"number of steps to forecast (1 to {MAX_HORIZON:,})")
    p.add_argument("--model", default="combo", choices=_MODELS,
                   help="model (default combo; auto: lowest backtest MASE per series)")
    p.add_argument("--origins", type=int_range("--origins", 1, 100), default=3,
                   help="rolling origins of the backtest behind --model auto (default 3)")
    p.add_argument("--by", default=None, help="for a log: one series per variant, bot_id or model")
    p.add_argument("--counts", action="store_true",
                   help="the file's values are counts: reject negatives, clip forecasts at 0")
    p.add_argument("--jobs", type=int_range("--jobs", 1, 256), default=None,
                   help="worker processes for several series (default: all available cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--tz", type=timezone, default=None, help="time zone of naive timestamps in a log")
    p.add_argument("--out", default=None,
                   help="write the forecasts here (.csv or .parquet); default: CSV on stdout "
                   "unless --json")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary: per series model, spec, backtest, notes, errors "
                   "(and the forecasts when --out is not given)")
    add_engine_arguments(p)
    p.set_defaults(func=run)


def _load_series(args):
    """Return (dict of series, source kind, metric label, nonnegative)."""
    from pathlib import Path

    from toolkit.series import is_series_table, peek_columns, read_series

    path = Path(args.path)
    if args.engine == "dask":
        from toolkit.dask_engine.read import read_log

        return _log_series(args, read_log(args.path, tz=args.tz))
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    cols = None if path.is_dir() else peek_columns(path)
    if cols is not None and is_series_table(cols):
        long = read_series(path, tz=args.tz)
        out = {}
        for sid, g in long.groupby("series_id", sort=True):
            import pandas as pd

            s = pd.Series(g["value"].to_numpy(), index=pd.DatetimeIndex(g["timestamp"]), name=str(sid))
            out[str(sid)] = s
        return out, "long" if "series_id" in [c.strip().lower() for c in cols] else "series", "value", bool(args.counts)
    from toolkit.io import load

    return _log_series(args, load(path, tz=args.tz))


def _log_series(args, log):
    """The metric series of a log (in memory, or a DaskLog bucketed on the cluster)."""
    from toolkit.series import SeriesError, metric_series

    freq = args.freq or "h"
    try:
        scorer = None
        if args.metric == "quality" and args.engine != "dask":  # scoring is an analysis: done here
            from toolkit.quality import score_log as scorer
        s = metric_series(log, args.metric, freq, by=args.by, scorer=scorer, engine=args.engine)
    except SeriesError as exc:
        from toolkit.errors import UsageError

        raise UsageError(str(exc)) from None
    kind = s.attrs.get("kind")
    if args.by:
        series = {str(c): s[c].rename(str(c)) for c in s.columns}
    else:
        series = {str(s.name): s}
    for v in series.values():
        v.attrs = {"kind": kind}
    return series, "log", args.metric, kind in ("count", "sum")


def _check_finite(series: dict, where) -> None:
    """Refuse series with inf or values so large that the models overflow (the forecast would be
    infinite intervals with exit 0)."""
    import numpy as np

    from toolkit.series import MAX_VALUE, SeriesError

    for name, s in series.items():
        v = np.asarray(s, dtype="float64")
        bad = np.isinf(v) | (np.abs(np.nan_to_num(v)) > MAX_VALUE)
        if bad.any():
            first = s.index[np.flatnonzero(bad)[:3]]
            raise SeriesError(f"{where}: series {name!r} has values that are infinite or larger than {MAX_VALUE:g} "
                              f"in size ({int(bad.sum())} points, first at {', '.join(map(str, first))}); rescale or clean it")


def run(args) -> int:
    import sys

    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.forecasting import forecast_many

    if args.out:
        from toolkit._files import check_output_file

        check_output_file(args.out, suffixes=(".csv", ".parquet"))
    with engine_session(args):
        series, kind, label, nonneg = _load_series(args)  # a SeriesError is a ToolkitError: exit 2
        if not series:
            raise UsageError(f"{args.path}: no series to forecast")
        _check_finite(series, args.path)
        freq = args.freq
        if freq is not None and freq.lower() in ("h", "d"):
            freq = freq.lower()
        fc, summary = forecast_many(
            series,
            args.horizon,
            args.model,
            args.season,
            n_jobs=args.jobs if len(series) > 1 else 1,
            progress=not args.no_progress and len(series) > 1,
            freq=freq,
            nonnegative=nonneg or None,
            backtest_origins=args.origins,
            engine=args.engine if len(series) > 1 else "pandas",
        )
    failed = summary[summary["error"].notna()]
    if len(failed) == len(summary):
        msgs = "; ".join(f"{r.series_id}: {r.error}" for r in failed.itertuples())
        raise UsageError(msgs if len(failed) == 1 else f"no series could be forecast: {msgs}")
    for r in failed.itertuples():
        print(f"warning: series {r.series_id} not forecast: {r.error}", file=sys.stderr)
    if args.out:
        from toolkit._files import write_frame

        write_frame(fc, args.out)
    ok = summary[summary["error"].isna()]
    models = ok["model"].value_counts()
    if len(ok) == 1:
        spec = str(ok["spec"].iloc[0])
        what = f"model {ok['model'].iloc[0]}" + (f" ({spec})" if len(spec) <= 60 else " (--json for its spec)")
    else:
        what = "models " + ", ".join(f"{m} x{n}" for m, n in models.items())
    where = f"wrote {args.out}" if args.out else "forecasts on stdout" if not args.json else "forecasts in the JSON"
    print(f"forecast: {len(ok)} series, {args.horizon} steps ahead ({label}); {what}; {where}", file=sys.stderr)
    if args.json:
        doc = {
            "source": str(args.path),
            "input": kind,
            "metric": label,
            "horizon": args.horizon,
            "model": args.model,
            "n_series": int(len(summary)),
            "n_failed": int(len(failed)),
            "series": summary.to_dict(orient="records"),
            "out": str(args.out) if args.out else None,
        }
        if not args.out:
            doc["forecast"] = fc.assign(timestamp=fc["timestamp"].astype(str)).to_dict(orient="records")
        print_json(doc)
    elif not args.out:
        from toolkit._files import escape_formulas

        escape_formulas(fc).to_csv(sys.stdout, index=False)
    return 1 if len(failed) else 0
