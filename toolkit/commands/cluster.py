"""``toolkit cluster PATH``: cluster a log's messages into labelled topics and profile them.

Writes each conversation's (or turn's) cluster and label to ``--out`` (CSV, Parquet or JSONL by
extension) and prints the profile table: worst-served large clusters first. ``--json`` prints
the profile and the run's summary as JSON.

With ``--engine dask`` PATH is a folder or glob of Parquet files: the clusters are fitted on a
seeded sample of ``--sample-size`` units and every unit is assigned on the Dask workers, where the
profile is summed; ``--out`` is then a folder of Parquet files (one per partition).

Examples
--------
``toolkit cluster data/sample --k auto --out clusters.csv --json``

``toolkit cluster big --engine dask --workers 2 --sample-size 200000 --out clusters/``
"""

from __future__ import annotations

from toolkit.commands._dask_options import add_engine_arguments, engine_session

__all__ = ["register", "run"]


def _k(value: str):
    if value == "auto":
        return value
    try:
        k = int(value)
    except ValueError:
        k = 0
    if k < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"--k must be a positive integer or 'auto', got {value!r}")
    return k


def register(subparsers) -> None:
    from toolkit.commands._types import int_range, timezone

    p = subparsers.add_parser(
        "cluster",
        help="cluster messages into labelled topics; profile resolution, satisfaction, quality",
        description="Cluster the messages of a conversation log (first user message per "
        "conversation by default) into topics labelled by their most distinctive terms, and "
        "print a profile per cluster (size, share, resolution, satisfaction, quality when "
        "present, response time, variant mix), worst-served large clusters first.",
    )
    p.add_argument("path", help="conversation log: file (.csv/.jsonl/.parquet/.db) or folder")
    p.add_argument(
        "--text",
        default="first_user",
        choices=["first_user", "user_input", "bot_response"],
        help="what to cluster: first user message per conversation (default), every user "
        "message, or every bot response",
    )
    p.add_argument("--k", type=_k, default="auto", help="number of clusters, or 'auto' (default)")
    p.add_argument(
        "--k-method",
        default="modularity",
        choices=["modularity", "eigengap", "stability", "silhouette"],
        help="how --k auto chooses k (default: modularity of the nearest-neighbour graph over a merge tree)",
    )
    p.add_argument("--k-max", type=int_range("--k-max", 2, 100_000), default=None,
                   help="largest k tried by --k auto (default: grows with the data for modularity, 40 otherwise)")
    p.add_argument("--level", type=int_range("--level", 1, 100_000), default=None,
                   help="read the result at this many topics by merging along the topic hierarchy")
    p.add_argument("--over-time", default=None, choices=["h", "D"], metavar="{h,D}",
                   help="also print per-topic volume spikes (hourly 'h' or daily 'D' series, anomaly "
                   "detection on each topic) and whether the bot served the spiking topic worse")
    p.add_argument(
        "--backend", default="auto", choices=["auto", "embeddings", "tfidf"],
        help="vectoriser: auto (default) = all-MiniLM-L6-v2 sentence embeddings on onnxruntime when "
        "installed (the default install), else TF-IDF",
    )
    p.add_argument(
        "--algorithm", default="kmeans", choices=["kmeans", "hdbscan"], help="clustering algorithm"
    )
    p.add_argument("--min-cluster-size", type=int_range("--min-cluster-size", 2), default=None, help="HDBSCAN's smallest cluster")
    p.add_argument("--seed", type=int_range("--seed", 0, 2**32 - 1, hard=True), default=0, help="random seed (default 0)")
    p.add_argument("--tz", type=timezone, default=None, help="time zone of naive timestamps")
    p.add_argument(
        "--out",
        required=True,
        help="where to write the assignments (.csv, .parquet or .jsonl; with --engine dask a new "
        "or empty folder): ids, cluster, label",
    )
    p.add_argument("--sample-size", type=int_range("--sample-size", 2), default=None,
                   help="units to fit the clusters on; the others are assigned to the nearest "
                   "cluster (default: all with the pandas engine, 200000 with --engine dask)")
    p.add_argument("--json", action="store_true", help="print the profile and summary as JSON")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar while sentence embeddings are computed (a cold cache)")
    add_engine_arguments(p)
    p.set_defaults(func=run)


_OUT_SUFFIXES = (".csv", ".parquet", ".jsonl", ".json")


def _write(frame, path) -> None:
    """Write the assignments atomically (CSV with spreadsheet formulas escaped)."""
    from pathlib import Path

    from toolkit._files import atomic_write_text, write_frame

    path = Path(path)
    if path.suffix.lower() == ".json":
        atomic_write_text(path, frame.to_json(orient="records", force_ascii=False))
    else:
        write_frame(frame, path)


def run(args) -> int:
    import toolkit.embeddings as _emb

    was = _emb.PROGRESS["enabled"]
    _emb.PROGRESS["enabled"] = not args.no_progress
    try:
        return _run(args)
    finally:
        _emb.PROGRESS["enabled"] = was


def _run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.clustering import cluster_log
    from toolkit.errors import UsageError
    from toolkit.io import load

    dask = args.engine == "dask"
    if not dask:
        from toolkit._files import check_output_file

        check_output_file(args.out, suffixes=_OUT_SUFFIXES)
    with engine_session(args):
        log = load(args.path, tz=args.tz, engine=args.engine)
        try:
            res = cluster_log(
                log,
                text=args.text,
                k=args.k,
                backend=args.backend,
                algorithm=args.algorithm,
                seed=args.seed,
                k_method=args.k_method,
                k_max=args.k_max,
                min_cluster_size=args.min_cluster_size,
                engine=args.engine,
                sample_size=args.sample_size,
                out=args.out if dask else None,
            )
        except ImportError as exc:  # an optional backend is missing (input errors are ToolkitErrors)
            raise UsageError(str(exc)) from exc
    if args.level is not None:
        res = res.at_level(args.level)
    over = None
    if args.over_time:
        if dask:
            raise UsageError("--over-time needs the pandas engine")
        from toolkit.clustering.over_time import topics_over_time

        over = topics_over_time(res, log, freq=args.over_time)
    if not dask:
        ids = ["conversation_id"] + (["turn"] if "turn" in res.assignments else [])
        _write(res.assignments[ids + ["cluster", "cluster_label"]], args.out)
    profile = res.profile
    import sys

    worst = ""
    if len(profile) and "label" in profile:
        top = profile.iloc[0]
        worst = f"; first in the profile: #{top['cluster']} {top['label']}"
    print(f"cluster: k = {res.k} ({res.backend}, {res.algorithm}"
          + (f", chosen by {res.k_selection.method}" if res.k_selection else "")
          + f"); wrote {args.out}{worst}", file=sys.stderr)
    if args.json:
        print_json(
            {
                "summary": res.summary(),
                "k_rule": res.k_selection.rule if res.k_selection else None,
                "out": str(args.out),
                "profile": profile,
                "clusters": res.clusters,
                **({"over_time": over.to_dict()} if over is not None else {}),
            }
        )
        return 0
    import pandas as pd

    n = res.summary()["n_units"]
    fitted = f", fitted on {len(res.assignments)}" if len(res.assignments) != n else ""
    import textwrap

    print(textwrap.fill(
        f"{res.k} clusters of {n} {res.text} messages{fitted} "
        f"({res.backend}, {res.algorithm}"
        + (f", k chosen by {res.k_selection.method}" if res.k_selection else "")
        + (f", noise {res.noise_share:.1%}" if res.algorithm == "hdbscan" else "")
        + f"); assignments written to {args.out}", WIDTH, break_on_hyphens=False, break_long_words=False))
    with pd.option_context("display.width", WIDTH, "display.max_columns", 20):
        print(_fit(_rounded(profile), PROFILE_COLUMNS))
        if over is not None:
            print(f"\ntopic volume spikes ({'hourly' if over.freq == 'h' else 'daily'}), largest first:")
            table = over.summary_table()
            if len(table):
                table = table.assign(**{c: table[c].map(lambda t: t.strftime("%m-%d %H:%M"))
                                        for c in ("start", "end") if c in table})
            print(_fit(_rounded(table), SPIKE_COLUMNS) if len(table) else "none flagged")
        print("(--json or --out for every column)")
    return 0


#: width of the text tables; the columns they show (--json and --out have them all) and headers
WIDTH = 100
PROFILE_COLUMNS = {"cluster": "#", "label": "label", "size": "size", "share": "share",
                   "resolution_rate": "resolved", "satisfaction": "satisf", "mean_quality": "quality",
                   "response_time_s": "rt_s", "excess_failures": "excess_fail"}
SPIKE_COLUMNS = {"cluster": "#", "label": "label", "start": "start", "end": "end", "volume": "volume",
                 "expected": "expected", "share_in_window": "share", "resolution_rate_in_window": "resolved_in",
                 "resolution_rate_elsewhere": "resolved_out", "served_worse": "worse"}


def _fit(frame, columns: dict) -> str:
    """``frame``'s ``columns`` (renamed) as text at most :data:`WIDTH` wide: labels are cut to
    what is left, then the last columns dropped."""
    shown = frame[[c for c in columns if c in frame]].rename(columns=columns)
    full = shown
    for cut in range(30, 9, -1):
        if "label" in full:
            shown = full.assign(label=full["label"].astype(str).map(lambda s: s if len(s) <= cut else s[: cut - 1] + "…"))
        text = shown.to_string(index=False)
        if max(map(len, text.splitlines())) <= WIDTH:
            return text
    while shown.shape[1] > 2 and max(map(len, text.splitlines())) > WIDTH:
        shown = shown.iloc[:, :-1]
        text = shown.to_string(index=False)
    return text


def _rounded(frame):
    """``frame`` with its float columns rounded to 3 decimals (``DataFrame.round`` warns about
    the datetime columns of the spike table)."""
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(3) for c in floats})
