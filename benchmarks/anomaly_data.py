"""Public labelled operations series for the anomaly benchmark (issue 28), read where they lie.

Nothing here is committed or downloaded at run time. Two public sources, each a git repository
read in place (a checkout, or a bare git directory such as the ``fetch`` mirror, read with
``git show``):

* **NAB**, the Numenta Anomaly Benchmark (``github.com/numenta/NAB``, MIT licence):
  ``data/realKnownCause`` (machine temperature, CPU, request latency, NYC taxi demand, ...),
  ``data/realAWSCloudwatch`` (EC2/RDS CPU, network, disk, ELB request counts) and
  ``data/realTraffic`` (freeway speed, occupancy, travel time; irregular timestamps), 5-60
  minute steps, with the incident windows of ``labels/combined_windows.json``.
  Point ``TOOLKIT_NAB_DATA`` at it (default: the fetch mirror ``/work/.mirror/numenta+NAB/repo``).
* **Donut's sample KPIs** (``github.com/NetManAIOps/donut``, ``sample_data/``; the AIOps
  challenge KPIs of Xu et al., WWW 2018; the repository states no licence, so they are used
  here for measurement only and never redistributed): a CPU metric and two network-out
  curves of a large internet company, 5-minute steps over two months, with point labels;
  an incident is a run of labelled points (runs closer than an hour joined).
  ``TOOLKIT_DONUT_DATA`` (default ``/work/.mirror/NetManAIOps+donut/repo``).

* **Bagel's sample KPI** (``github.com/NetManAIOps/Bagel``, ``sample_data.csv``; another KPI of
  the same AIOps challenge, 5-minute steps over two months from October 2016, point labels; no
  licence stated: measurement only). Added for development after the split below (it is a
  development series only). ``TOOLKIT_BAGEL_DATA`` (default ``/work/.mirror/NetManAIOps+Bagel/repo``);
  skipped, with the reason, when absent.

* **The Server Machine Dataset** (``github.com/NetManAIOps/OmniAnomaly``, ``ServerMachineDataset/``,
  MIT licence): 28 machines, 38 metrics each at 1-minute steps (no timestamps: a 1-minute index
  from an arbitrary start), the ``test`` part with its point labels and the
  ``interpretation_label`` files naming the metrics behind each labelled segment. One series per
  machine and metric, chosen by a rule fixed before any result was seen: the metrics named in at
  least one interpretation segment of that machine, with non-constant test values; its
  incidents are the segments that name it, and the machine's other labelled segments are not
  counted as false alarms. ``TOOLKIT_SMD_DATA`` (default ``/work/.mirror/NetManAIOps+OmniAnomaly/repo``).
  The mirror there holds the labels but not the ``test`` files (4-6 MB each, over its 4 MiB
  limit): the set is skipped with that reason until a checkout with them is given. The copy in
  ``imperial-qore/TranAD`` (``data/SMD``) was tried too: its mirror lacks the same test files.

The split into a development part and a held-out part was fixed before any result was looked
at: within each NAB folder, files in name order alternate (even positions: development, odd:
held-out); of the Donut KPIs ``cpu4`` and ``server_res_eth1out_curve_6`` are development and
``server_res_eth1out_curve_61`` held-out; SMD machines in name order alternate the same way.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

NAB_DEFAULT = "/work/.mirror/numenta+NAB/repo"
DONUT_DEFAULT = "/work/.mirror/NetManAIOps+donut/repo"
SMD_DEFAULT = "/work/.mirror/NetManAIOps+OmniAnomaly/repo"
BAGEL_DEFAULT = "/work/.mirror/NetManAIOps+Bagel/repo"
NAB_FOLDERS = ("realKnownCause", "realAWSCloudwatch", "realTraffic")
DONUT_FILES = ("cpu4", "server_res_eth1out_curve_6", "server_res_eth1out_curve_61")
DONUT_HELD_OUT = ("server_res_eth1out_curve_61",)


@dataclass
class Labelled:
    """One series with its incident windows ([start, end], timestamps) and its part."""

    name: str
    source: str
    y: pd.Series
    incidents: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)
    part: str = "dev"
    ignore: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)


class _Repo:
    """Files of a git checkout or of a bare git directory."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()
        self.bare = not (self.root / ".git").exists() and (self.root / "HEAD").exists() and (self.root / "objects").exists()
        if (self.root / ".git").is_dir() and not any(p for p in self.root.iterdir() if p.name != ".git"):
            self.root, self.bare = self.root / ".git", True

    def exists(self) -> bool:
        return self.root.exists()

    def has(self, path: str) -> bool:
        if not self.bare:
            return (self.root / path).exists()
        out = subprocess.run(["git", "--git-dir", str(self.root), "cat-file", "-e", f"HEAD:{path}"], capture_output=True, timeout=60)
        return out.returncode == 0

    def read(self, path: str) -> bytes:
        if not self.bare:
            return (self.root / path).read_bytes()
        out = subprocess.run(["git", "--git-dir", str(self.root), "show", f"HEAD:{path}"], capture_output=True, timeout=60, check=True)
        return out.stdout

    def names(self, folder: str) -> list[str]:
        if not self.bare:
            return sorted(p.name for p in (self.root / folder).iterdir())
        out = subprocess.run(["git", "--git-dir", str(self.root), "ls-tree", "--name-only", f"HEAD:{folder}"],
                             capture_output=True, timeout=60, check=True, text=True)
        return sorted(out.stdout.split())


def nab_repo() -> _Repo:
    return _Repo(os.environ.get("TOOLKIT_NAB_DATA", NAB_DEFAULT))


def donut_repo() -> _Repo:
    return _Repo(os.environ.get("TOOLKIT_DONUT_DATA", DONUT_DEFAULT))


def missing() -> str | None:
    """Why the data cannot be read (None when it can)."""
    gone = []
    if not nab_repo().exists():
        gone.append(f"NAB not found at {nab_repo().root} (set TOOLKIT_NAB_DATA to a checkout of github.com/numenta/NAB)")
    if not donut_repo().exists():
        gone.append(f"Donut KPIs not found at {donut_repo().root} (set TOOLKIT_DONUT_DATA to a checkout of github.com/NetManAIOps/donut)")
    return "; ".join(gone) or None


def nab() -> list[Labelled]:
    repo = nab_repo()
    windows = json.loads(repo.read("labels/combined_windows.json"))
    out = []
    for folder in NAB_FOLDERS:
        for i, name in enumerate(f for f in repo.names(f"data/{folder}") if f.endswith(".csv")):
            df = pd.read_csv(io.BytesIO(repo.read(f"data/{folder}/{name}")))
            ts = pd.to_datetime(df["timestamp"])
            y = pd.Series(df["value"].to_numpy(float), index=ts, name=name[:-4]).groupby(level=0).mean()
            inc = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in windows.get(f"{folder}/{name}", [])]
            out.append(Labelled(f"{folder}/{name[:-4]}", f"NAB {folder}", y, inc, "dev" if i % 2 == 0 else "held_out"))
    return out


def _runs(labels: np.ndarray, ts: pd.DatetimeIndex, join: pd.Timedelta) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    idx = np.flatnonzero(labels > 0)
    runs: list[list[pd.Timestamp]] = []
    for k in idx:
        t = ts[k]
        if runs and t - runs[-1][1] <= join:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return [(a, b) for a, b in runs]


def donut() -> list[Labelled]:
    repo = donut_repo()
    out = []
    for name in DONUT_FILES:
        df = pd.read_csv(io.BytesIO(repo.read(f"sample_data/{name}.csv")))
        ts = pd.to_datetime(df["timestamp"], unit="s")
        y = pd.Series(df["value"].to_numpy(float), index=ts, name=name)
        inc = _runs(df["label"].to_numpy(), pd.DatetimeIndex(ts), pd.Timedelta(hours=1))
        out.append(Labelled(f"donut/{name}", "Donut KPIs", y, inc, "held_out" if name in DONUT_HELD_OUT else "dev"))
    return out


def bagel_repo() -> _Repo:
    return _Repo(os.environ.get("TOOLKIT_BAGEL_DATA", BAGEL_DEFAULT))


def bagel_missing() -> str | None:
    """Why Bagel's sample KPI cannot be read (None when it can)."""
    repo = bagel_repo()
    if not repo.exists() or not repo.has("sample_data.csv"):
        return f"Bagel's sample KPI not found at {repo.root} (set TOOLKIT_BAGEL_DATA to a checkout of github.com/NetManAIOps/Bagel)"
    return None


def bagel() -> list[Labelled]:
    """Bagel's sample KPI (a development series; see the module notes)."""
    df = pd.read_csv(io.BytesIO(bagel_repo().read("sample_data.csv")))
    ts = pd.to_datetime(df["timestamp"], unit="s")
    y = pd.Series(df["value"].to_numpy(float), index=ts, name="bagel_sample")
    inc = _runs(df["label"].to_numpy(), pd.DatetimeIndex(ts), pd.Timedelta(hours=1))
    return [Labelled("donut/bagel_sample", "Donut KPIs (Bagel)", y, inc, "dev")]


def smd_repo() -> _Repo:
    return _Repo(os.environ.get("TOOLKIT_SMD_DATA", SMD_DEFAULT))


SMD_DIR = "ServerMachineDataset"


def smd_missing() -> str | None:
    """Why the Server Machine Dataset cannot be read (None when it can)."""
    repo = smd_repo()
    if not repo.exists():
        return f"Server Machine Dataset not found at {repo.root} (set TOOLKIT_SMD_DATA to a checkout of github.com/NetManAIOps/OmniAnomaly)"
    if not repo.has(f"{SMD_DIR}/test/machine-1-1.txt"):
        return (f"Server Machine Dataset at {repo.root} has its labels but not its test files "
                f"({SMD_DIR}/test/*.txt, 4-6 MB each; the fetch mirror omits files over 4 MiB): "
                "set TOOLKIT_SMD_DATA to a full checkout of github.com/NetManAIOps/OmniAnomaly")
    return None


def _segments(text: str) -> list[tuple[int, int, list[int]]]:
    """``start-end:d1,d2,...`` lines (row indices, 1-based metric numbers)."""
    out = []
    for line in text.splitlines():
        if ":" not in line:
            continue
        span, dims = line.strip().split(":", 1)
        a, b = (int(v) for v in span.split("-"))
        out.append((a, b, [int(d) for d in dims.split(",") if d.strip()]))
    return out


def smd(start: str = "2026-01-05") -> list[Labelled]:
    """One series per machine and metric named by its interpretation labels (see the module notes)."""
    repo = smd_repo()
    machines = sorted(n[:-4] for n in repo.names(f"{SMD_DIR}/interpretation_label") if n.endswith(".txt"))
    out = []
    for i, m in enumerate(machines):
        x = np.loadtxt(io.BytesIO(repo.read(f"{SMD_DIR}/test/{m}.txt")), delimiter=",", ndmin=2)
        segs = _segments(repo.read(f"{SMD_DIR}/interpretation_label/{m}.txt").decode())
        idx = pd.date_range(start, periods=len(x), freq="min")
        span = [(idx[a], idx[min(b, len(idx) - 1)]) for a, b, _ in segs]
        for d in sorted({d for *_, ds in segs for d in ds}):
            v = x[:, d - 1]
            if not np.ptp(v) > 0:
                continue
            inc = [sp for sp, (*_, ds) in zip(span, segs) if d in ds]
            other = [sp for sp, (*_, ds) in zip(span, segs) if d not in ds]
            out.append(Labelled(f"smd/{m}/{d}", "SMD", pd.Series(v, index=idx, name=f"{m}/{d}"), inc,
                                "dev" if i % 2 == 0 else "held_out", other))
    return out


def all_sets() -> list[Labelled]:
    return nab() + donut() + ([] if bagel_missing() else bagel()) + ([] if smd_missing() else smd())
