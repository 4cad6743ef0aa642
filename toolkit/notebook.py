"""Helpers shared by the notebooks: load the data, save figures, write the JSON sidecar.

Every notebook follows the same pattern::

    from toolkit.notebook import load_log, save_figure, write_sidecar
    log = load_log(data_path)                 # "" -> the bundled sample
    fig = ...                                 # a matplotlib Figure from a toolkit function
    save_figure(fig, "quality_hist", output_dir)
    write_sidecar({"mean_quality": 0.71}, output_dir, notebook="01_quality")

Figures go to ``<output_dir>/figures/<name>.png`` (300 dpi) and ``.svg``; the sidecar to
``<output_dir>/sidecar.json``. Both are written atomically (temporary file, then rename).

Examples
--------
>>> import tempfile, pathlib
>>> d = tempfile.mkdtemp()
>>> p = write_sidecar({"x": 1.5, "n": 3}, d, notebook="demo")
>>> import json; json.loads(pathlib.Path(p).read_text())["results"]["x"]
1.5
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import ToolkitError

# the escaping notebooks apply to data they show as Markdown or HTML (part of the notebook API)
from toolkit._escape import html_text, md_text
from toolkit._files import atomic_write_bytes, atomic_write_text, to_jsonable

__all__ = [
    "html_text",
    "md_text",
    "load_log",
    "save_figure",
    "write_sidecar",
    "read_sidecar",
    "run_parameters",
    "show_figure",
    "SeriesInput",
    "load_series_input",
    "SIDECAR_NAME",
    "FIGURE_DIR",
]


def _escape_styled_tables() -> None:
    """Styled tables (``df.style``) in notebooks escape their cells as HTML: pandas' Styler does
    not by default, so a data value such as ``<script>`` in a cluster label or a model name would
    run in the exported report. Set once when a notebook imports this module (pandas >= 2.1, the
    toolkit's floor, has the option)."""
    pd.set_option("styler.format.escape", "html")


_escape_styled_tables()

SIDECAR_NAME = "sidecar.json"
FIGURE_DIR = "figures"

#: the data range of the log last returned by :func:`load_log` in this process (the kernel of a
#: notebook): :func:`write_sidecar` records it, and the stakeholder report's title page shows it
_LAST_RANGE: dict = {}


def _remember_range(log) -> None:
    """Keep the first and last timestamp and the sizes of a loaded log for the sidecar."""
    _LAST_RANGE.clear()
    try:
        ts = log.turns["timestamp"]
        if len(ts):
            _LAST_RANGE.update(start=ts.min().isoformat(), end=ts.max().isoformat(),
                               turns=int(len(log.turns)), conversations=int(len(log.conversations)))
    except (AttributeError, KeyError, TypeError, ValueError):  # not a log: no range
        pass


def load_log(data_path: str | os.PathLike | None = "", *, tz: str | None = None, start: Any = None,
             end: Any = None, variant: Any = None):
    """Load a conversation log for a notebook; an empty path means the bundled sample.

    Parameters
    ----------
    data_path : str or path, optional
        A file or folder accepted by :func:`toolkit.io.load`; ``""`` or ``None`` loads the
        bundled sample (``data/sample``).
    tz : str, optional
        Time zone used to localise naive timestamps, passed to :func:`toolkit.io.load`.
    start, end, variant : optional
        Keep only whole conversations that start in ``[start, end)`` and ran on ``variant``
        (one, several, or ``"A,B"``); empty means no limit. Dates without an offset are read
        in ``tz`` (UTC when it is not given). See :meth:`toolkit.log.ConversationLog.select`.

    Returns
    -------
    ConversationLog

    Examples
    --------
    >>> log = load_log("")
    >>> len(log.turns) > 0
    True
    >>> load_log("", variant="A").summary()["variants"]
    ['A']
    """
    if not data_path:
        from toolkit.sample import load_sample

        log = load_sample()
    else:
        from toolkit.io import load

        log = load(data_path, tz=tz)
    log = log.select(start=start, end=end, variant=variant, tz=tz)
    _remember_range(log)
    return log


def save_figure(
    fig,
    name: str,
    output_dir: str | os.PathLike = ".",
    *,
    formats: tuple[str, ...] = ("png", "svg"),
    dpi: int = 300,
) -> list[Path]:
    """Save a matplotlib figure as PNG (``dpi``) and vector (SVG by default) under ``figures/``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem, e.g. ``"quality_by_variant"``.
    output_dir : path
        The notebook's output folder; figures go to ``<output_dir>/figures/``.
    formats : tuple of str
        Any formats matplotlib writes (``"png"``, ``"svg"``, ``"pdf"``).
    dpi : int
        Resolution for raster formats.

    Returns
    -------
    list of Path
        The written files.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt, tempfile
    >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1])
    >>> [p.suffix for p in save_figure(fig, "line", tempfile.mkdtemp())]
    ['.png', '.svg']
    """
    import io

    out = Path(output_dir) / FIGURE_DIR
    written = []
    for fmt in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        written.append(atomic_write_bytes(out / f"{name}.{fmt}", buf.getvalue()))
    return written


def show_figure(fig, name: str | None = None, output_dir: str | os.PathLike = ".") -> None:
    """Show a figure in the notebook and close it; with a ``name``, save it first (:func:`save_figure`).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt, tempfile, pathlib
    >>> fig, ax = plt.subplots(); d = tempfile.mkdtemp()
    >>> show_figure(fig, "line", d)
    Figure(640x480)
    >>> sorted(p.name for p in (pathlib.Path(d) / FIGURE_DIR).iterdir()), plt.fignum_exists(fig.number)
    (['line.png', 'line.svg'], False)
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    if name:
        save_figure(fig, name, output_dir)
    display(fig)
    plt.close(fig)


@dataclass
class SeriesInput:
    """What notebook 04 forecasts: a metric series from a conversation log, or a series file.

    ``log`` is None for a series file (``timestamp,value[,series_id]``), whose first series is
    used and names its own ``metric``. ``truth`` is the bundled sample's truth (None otherwise).
    """

    series: pd.Series
    metric: str
    freq: str
    season: int
    log: Any = None
    truth: dict | None = None
    source: str = ""

    @property
    def per_day(self) -> int:
        """Points per day of the series."""
        return max(1, int(round(pd.Timedelta(days=1) / (self.series.index[1] - self.series.index[0]))))

    def series_of(self, metric: str) -> pd.Series:
        """Another metric of the same log at the same frequency (the series itself for a series file)."""
        from toolkit.series import metric_series

        return self.series if self.log is None or metric == self.metric else metric_series(self.log, metric, self.freq)

    def metrics(self, names: str | list[str]) -> dict[str, pd.Series]:
        """``"a,b"`` (or a list) -> {name: series}; for a series file, only its own series."""
        if self.log is None:
            return {self.metric: self.series}
        wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
        return {n: self.series_of(n) for n in wanted}

    def metric_choices(self) -> list[str]:
        """Metrics a viewer may pick for this input."""
        if self.log is None:
            return [self.metric]
        from toolkit.series.from_log import recorded

        extra = {"quality"} if "quality" in self.log.turns.columns else set()
        extra |= {"cost"} if recorded(self.log, "cost") else set()  # no cost column: no cost series
        return sorted({self.metric, "volume", "turns", "response_time_mean", "error_rate"} | extra)

    def to_dict(self) -> dict:
        """The input's description (no data)."""
        y = self.series
        return {"metric": self.metric, "freq": y.index.freqstr, "season": self.season, "n_points": int(len(y)),
                "start": str(y.index[0]), "end": str(y.index[-1]), "empty_buckets": int(y.isna().sum()),
                "source": self.source}

    def summary_table(self) -> pd.DataFrame:
        """:meth:`to_dict` as a one-row table."""
        return pd.DataFrame([self.to_dict()])

    def __str__(self) -> str:
        d = self.to_dict()
        return (f"{d['source']}\n{d['metric']}: {d['n_points']} points from {d['start']} to {d['end']}, "
                f"season {d['season']}, {d['empty_buckets']} empty buckets")


def load_series_input(data_path: str | os.PathLike | None, metric: str = "volume", freq: str = "h", *,
                      season: int = 0, also: str | list[str] = (), tz: str | None = None, start: Any = None,
                      end: Any = None, variant: Any = None) -> SeriesInput:
    """Read what to forecast: a series file as it is, or a metric series of a conversation log.

    A file whose columns are ``timestamp,value`` (and optionally ``series_id``) is a series file:
    its first series is used (``start``, ``end``, ``variant`` select conversations, so they are an
    error there). Anything else is a log (:func:`load_log`; empty path: the bundled sample, whose
    truth comes along); when ``metric`` or ``also`` asks for ``quality`` and the log has no
    scores, it is scored with :func:`toolkit.quality.score_log` first.

    Parameters
    ----------
    data_path : str or path
        A log, a series file, or empty for the bundled sample.
    metric, freq : str
        The metric to forecast and the bucket frequency (for a log).
    season : int
        Seasonal period in steps; 0: from the frequency.
    also : str or list of str
        Further metrics that will be asked of the log (``"a,b"``).
    tz, start, end, variant
        As in :func:`load_log`.

    Examples
    --------
    >>> inp = load_series_input("", "volume", "h")
    >>> inp.metric, inp.season, inp.truth is not None, inp.per_day
    ('volume', 24, True, 24)
    """
    from toolkit.series import default_season, is_series_table, metric_series, peek_columns, read_series, split_long

    truth = None
    if data_path and is_series_table(peek_columns(data_path) or []):
        if start or end or variant:
            raise ToolkitError("start, end and variant select conversations of a log; "
                               f"{data_path} is a series file: cut it before forecasting")
        series = split_long(read_series(data_path))
        metric, y = next(iter(series.items()))
        log, source = None, f"series file: {len(series)} series; using {metric!r}"
    else:
        log = load_log(data_path, tz=tz, start=start, end=end, variant=variant)
        if not data_path:
            from toolkit.sample import load_sample_truth

            truth = load_sample_truth()
        wanted = {metric, *(a.strip() for a in (also.split(",") if isinstance(also, str) else also))}
        source = str(log)
        if "quality" in wanted and "quality" not in log.turns.columns:
            from toolkit.quality import score_log

            log, source = score_log(log), source + "\nscored response quality with toolkit.quality"
        y = metric_series(log, metric, freq)
    return SeriesInput(y, metric, freq, season or default_season(y.index.freqstr), log, truth, source)


#: parameter values a sidecar records (the typed defaults of a notebook's ``parameters`` cell)
_PARAMETER_TYPES = (str, int, float, bool, list, type(None))


def run_parameters() -> dict:
    """The parameters of the notebook that is running, with the values it runs with.

    A notebook declares its parameters as typed assignments in its ``parameters`` cell
    (``metric: str = "volume"  # ...``); those names are read back from the notebook's namespace
    (the ``__main__`` module of its kernel), so papermill's injected values count. ``output_dir``
    (where, not what) is left out. Outside a notebook (no such names) the result is empty.

    Examples
    --------
    >>> ns = {"__name__": "__main__", "run_parameters": run_parameters}
    >>> exec('metric: str = "volume"\\nhorizon: int = 48\\nmetric = "quality"\\nfound = run_parameters()', ns)
    >>> ns["found"]
    {'metric': 'quality', 'horizon': 48}
    """
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") != "__main__":
        frame = frame.f_back
    ns = frame.f_globals if frame is not None else {}
    declared = ns.get("__annotations__") or {}
    return {k: ns[k] for k in declared
            if k in ns and k != "output_dir" and not k.startswith("_") and isinstance(ns[k], _PARAMETER_TYPES)}


def _plain(results: Any) -> Any:
    """A result object (``to_dict()``) or a dict of them as plain data (frames are left to
    :func:`toolkit._files.to_jsonable`, which writes them as records).

    Examples
    --------
    >>> from toolkit.overview import overview
    >>> import toolkit
    >>> d = _plain({"ov": overview(toolkit.load_sample()), "t": pd.DataFrame({"a": [1]})})
    >>> d["ov"]["turns"] > 0, type(d["t"]).__name__
    (True, 'DataFrame')
    """
    if hasattr(results, "to_dict") and not isinstance(results, (dict, pd.DataFrame, pd.Series)):
        return results.to_dict()
    if isinstance(results, dict):
        return {k: _plain(v) for k, v in results.items()}
    return results


def write_sidecar(
    results: Any,
    output_dir: str | os.PathLike = ".",
    *,
    notebook: str = "",
    parameters: dict | None = None,
    data_range: dict | None = None,
) -> Path:
    """Write a notebook's headline results as ``<output_dir>/sidecar.json`` (atomically).

    Parameters
    ----------
    results : dict or result
        Key results: flat scalars are best (a batch joins them into one summary table);
        nested lists and dicts are kept as they are. A result object (or a dict value) with
        ``to_dict()`` is written as its dict.
    output_dir : path
        The notebook's output folder.
    notebook : str
        The notebook's name, recorded in the sidecar.
    parameters : dict, optional
        Values to record beside (or instead of) the run's own parameters, which are read from
        the notebook itself (:func:`run_parameters`).
    data_range : dict, optional
        ``start``, ``end`` (ISO timestamps), ``turns``, ``conversations`` of the data analysed;
        default: those of the log last loaded by :func:`load_log` in this process, if any.

    Returns
    -------
    Path
        The sidecar's path.

    Examples
    --------
    >>> import tempfile
    >>> write_sidecar({"n": 1}, tempfile.mkdtemp(), notebook="x").name
    'sidecar.json'
    """
    from toolkit import __version__

    doc = {
        "notebook": notebook,
        "toolkit_version": __version__,
        "written_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "parameters": to_jsonable({**run_parameters(), **(parameters or {})}),
        "results": to_jsonable(_plain(results)),
    }
    if data_range or _LAST_RANGE:
        doc["data_range"] = to_jsonable(dict(data_range or _LAST_RANGE))
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(Path(output_dir) / SIDECAR_NAME, text + "\n")


def read_sidecar(output_dir: str | os.PathLike) -> dict:
    """Read ``<output_dir>/sidecar.json`` back as a dict.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp(); _ = write_sidecar({"n": 2}, d, notebook="x")
    >>> read_sidecar(d)["results"]
    {'n': 2}
    """
    return json.loads((Path(output_dir) / SIDECAR_NAME).read_text(encoding="utf-8"))
