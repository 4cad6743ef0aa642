"""Running one notebook: parameter checking, run folders, failures, exact string parameters."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

from toolkit.runner import (
    ParameterError,
    ParameterSpec,
    check_parameters,
    coerce_cli_value,
    format_parameters,
    inspect_parameters,
    read_run_record,
    run_name,
    run_notebook,
)

# ---------------------------------------------------------------------------------------------
# Purpose-built notebooks (fast: no pandas/sklearn; one imports matplotlib for a figure)

WORK_PARAMS = '''\
data_path: str = ""  # conversation log; "" = bundled sample
output_dir: str = "."  # where figures/ and sidecar.json are written
n: int = 1  # a number echoed into the sidecar
divisor: int = 1  # the run fails when this is 0
scale: float = 1.0  # multiplies n
flag: bool = False  # a flag
tags: list = ["a"]  # a list
label: "Optional[str]" = None  # optional text
require: str = ""  # a file that must exist ("" = none)
figure: bool = False  # also draw a figure
'''

WORK_BODY = '''\
import os
from toolkit.notebook import write_sidecar
if require and not os.path.exists(require):
    raise FileNotFoundError(f"required file missing: {require}")
ratio = 10 / divisor
'''

WORK_END = '''\
if figure:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from toolkit.notebook import save_figure
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [n, 2 * n, 0], color="tab:red", lw=3)
    ax.set_title(f"n = {n}")
    save_figure(fig, "line", output_dir)
import sys
write_sidecar({"n": n, "value": n * scale, "ratio": ratio, "flag": flag, "tags": tags,
               "label": label, "cwd": os.getcwd(), "python": sys.executable, "stats": {"mean": n / 2}},
              output_dir, notebook="work", parameters={"n": n})
print("done", n)
'''

ECHO_PARAMS = '''\
output_dir: str = "."  # where sidecar.json is written
text: str = "plain"  # echoed back unchanged
other: str = ""  # echoed back unchanged
'''

ECHO_BODY = '''\
import json, os
os.makedirs(output_dir, exist_ok=True)
with open(os.path.join(output_dir, "sidecar.json"), "w", encoding="utf-8") as fh:
    json.dump({"results": {"text": text, "other": other}}, fh, ensure_ascii=False)
'''


def write_notebook(path: Path, params: str, *cells: str, title: str = "Test notebook") -> Path:
    """A notebook with a markdown title, a ``parameters`` cell and code cells (no outputs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    pcell = nbformat.v4.new_code_cell(params)
    pcell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nMath: $e^{{i\\pi}} + 1 = 0$."), pcell]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def work_notebook(folder: Path, name: str = "work.ipynb") -> Path:
    """Notebook that writes a sidecar (and optionally a figure); fails when ``divisor == 0``."""
    return write_notebook(Path(folder) / name, WORK_PARAMS, WORK_BODY, WORK_END, title="Work")


def echo_notebook(folder: Path) -> Path:
    """Notebook that echoes its string parameters into the sidecar."""
    return write_notebook(Path(folder) / "echo.ipynb", ECHO_PARAMS, ECHO_BODY, title="Echo")


# ---------------------------------------------------------------------------------------------
# Parameter inspection and checking (no kernel)


def test_inspect_reads_every_parameter_even_with_equals_in_comments(tmp_path):
    specs = inspect_parameters(work_notebook(tmp_path))
    assert list(specs) == ["data_path", "output_dir", "n", "divisor", "scale", "flag", "tags",
                           "label", "require", "figure"]
    # papermill's own reader drops lines with two "=" (the data_path help); we still get it
    assert specs["data_path"] == ParameterSpec("data_path", "str", '""', 'conversation log; "" = bundled sample')
    assert specs["scale"].default_value == 1.0 and specs["tags"].default_value == ["a"]
    assert specs["label"].type_name == "Optional[str]"
    text = format_parameters(specs)
    assert "n: int (default 1)" in text and "a number echoed into the sidecar" in text
    assert "label: Optional[str] (default None)" in text


def test_check_parameters_types_and_names(tmp_path):
    specs = inspect_parameters(work_notebook(tmp_path))
    ok = check_parameters(None, {"n": 3, "scale": 2, "flag": True, "tags": ["x", "y"], "label": None},
                          specs=specs)
    assert ok == {"n": 3, "scale": 2, "flag": True, "tags": ["x", "y"], "label": None}
    for bad, expected in [
        ({"n": "3"}, "parameter 'n' expects int, got str '3'"),
        ({"n": 2.5}, "expects int, got float 2.5"),
        ({"n": True}, "expects int, got bool True"),
        ({"flag": 1}, "expects bool, got int 1"),
        ({"data_path": 5}, "expects str, got int 5 (quote it in YAML)"),
        ({"tags": "x"}, "expects list"),
        ({"label": 3}, "expects Optional[str]"),
        ({"scale": None}, "expects float, got NoneType None"),
    ]:
        with pytest.raises(ParameterError) as err:
            check_parameters("work.ipynb", bad, specs=specs)
        assert expected in str(err.value), (bad, str(err.value))
        assert "Valid parameters:" in str(err.value) and "divisor: int (default 1)" in str(err.value)
    with pytest.raises(ParameterError, match=r"unknown parameter 'diviser' \(did you mean 'divisor'\?\)"):
        check_parameters("work.ipynb", {"diviser": 0}, specs=specs)
    with pytest.raises(ParameterError, match="'output_dir' is set by the runner"):
        check_parameters("work.ipynb", {"output_dir": "/tmp/x"}, specs=specs)
    # all problems at once
    with pytest.raises(ParameterError) as err:
        check_parameters("work.ipynb", {"zzz": 1, "n": "x"}, specs=specs)
    assert len(err.value.problems) == 2


def test_annotation_forms():
    pep604 = ParameterSpec("x", "str | None", "None")
    assert pep604.accepts(None) and pep604.accepts("a") and not pep604.accepts(1)
    union = ParameterSpec("x", "Union[int, str]", "1")
    assert union.accepts(1) and union.accepts("a") and not union.accepts(1.5) and not union.accepts(None)
    nested = ParameterSpec("x", "Optional[List[int]]", "None")
    assert nested.accepts([1]) and nested.accepts(None) and not nested.accepts({"a": 1})
    untyped = ParameterSpec("x", "None", "0.5")
    assert untyped.type_label == "float" and untyped.accepts(1) and not untyped.accepts("a")
    anything = ParameterSpec("x", "Path", '"."')
    assert anything.accepts(3) and anything.accepts("a")
    assert coerce_cli_value(pep604, "none") is None and coerce_cli_value(untyped, "2") == 2


def test_untyped_default_of_another_literal_type_is_a_parameter_error_not_a_crash():
    """An unannotated default whose literal type the accepted-types table does not list (bytes,
    set, complex): a value is refused with the usual ParameterError, as before the table; the
    table's lookup raised KeyError (a traceback from ``toolkit batch``)."""
    for default in ('b"x"', "{1, 2}", "1j"):
        spec = ParameterSpec("x", "None", default)
        assert not spec.accepts(3) and not spec.accepts("a")
        with pytest.raises(ParameterError, match="parameter 'x' expects"):
            check_parameters("nb.ipynb", {"x": 3}, specs={"x": spec})


def test_cli_values_are_converted_to_declared_types(tmp_path):
    specs = inspect_parameters(work_notebook(tmp_path))
    got = check_parameters(None, {"n": "7", "scale": "0.5", "flag": "yes", "tags": "[b, c]",
                                  "label": "null", "data_path": "42"}, specs=specs, from_cli=True)
    assert got == {"n": 7, "scale": 0.5, "flag": True, "tags": ["b", "c"], "label": None, "data_path": "42"}
    assert coerce_cli_value(specs["label"], "None of that") == "None of that"
    with pytest.raises(ParameterError, match="'n' expects int, got str 'seven'"):
        check_parameters(None, {"n": "seven"}, specs=specs, from_cli=True)
    with pytest.raises(ParameterError, match="'flag' expects bool"):
        check_parameters(None, {"flag": "maybe"}, specs=specs, from_cli=True)


def test_run_names_are_stable_readable_and_distinct():
    a = run_name("nb/02_ab.ipynb", {"week": 3, "variant": "B"})
    assert a == run_name("other/02_ab.ipynb", {"variant": "B", "week": 3}) == "02_ab__variant=B__week=3"
    assert run_name("x.ipynb", {"flag": True, "alpha": 0.05}) == "x__alpha=0.05__flag=true"
    weird = run_name("x.ipynb", {"text": 'a "b"/c\n'})
    assert weird.startswith("x__text=a-b-c-") and len(weird.rsplit("-", 1)[1]) == 8
    assert weird != run_name("x.ipynb", {"text": 'a "b"/c\t'})
    assert run_name("x.ipynb", {"output_dir": "/somewhere"}) == "x"
    assert len(run_name("x.ipynb", {"t": "y" * 500})) < 110


# ---------------------------------------------------------------------------------------------
# Runs (kernel)


def test_unknown_parameter_is_rejected_before_anything_runs(tmp_path, capsys):
    from toolkit.cli import main

    nb = work_notebook(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ParameterError):
        run_notebook(nb, {"nope": 1}, out)
    assert not out.exists()
    code = main(["run", str(nb), "-p", "nope", "1", "-p", "n", "x", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "unknown parameter 'nope'" in err and "'n' expects int, got str 'x'" in err
    assert "Valid parameters:" in err
    assert re.search(r"divisor: int \(default 1\) +the run fails when this is 0", err)
    # a missing input file is named before any kernel starts
    code = main(["run", str(nb), "-p", "data_path", str(tmp_path / "nope.csv"), "--out", str(out)])
    assert code == 2 and not out.exists()
    assert f"parameter 'data_path': {tmp_path / 'nope.csv'} does not exist" in capsys.readouterr().err
    # the same rule for every runner (batch included): relative paths from the kernel's folder
    (tmp_path / "log.csv").write_text("x\n")
    assert check_parameters(nb, {"data_path": "log.csv"}, base_dir=tmp_path) == {"data_path": "log.csv"}
    with pytest.raises(ParameterError, match="'data_path': log.csv does not exist"):
        check_parameters(nb, {"data_path": "log.csv"}, base_dir=tmp_path / "elsewhere")
    assert check_parameters(nb, {"data_path": ""}, base_dir=tmp_path) == {"data_path": ""}  # the sample
    assert check_parameters(nb, {"data_path": "log.csv"}) == {"data_path": "log.csv"}  # no base_dir: no I/O


def test_run_writes_notebook_figures_sidecar_html_and_record(tmp_path):
    nb = work_notebook(tmp_path / "src")
    res = run_notebook(nb, {"n": 4, "scale": 0.5, "figure": True}, tmp_path / "run", pdf=False)
    assert res.ok, res.error
    run = tmp_path / "run"
    assert res.out_dir == str(run.resolve())
    for name in ("work.ipynb", "work.html", "sidecar.json", "run.json", "figures/line.png", "figures/line.svg"):
        assert (run / name).is_file(), name
    assert not list(run.glob(".*running*"))
    side = json.loads((run / "sidecar.json").read_text())["results"]
    assert side["n"] == 4 and side["value"] == 2.0 and side["ratio"] == 10.0
    # write_sidecar reads the run's parameters from the notebook (the injected values win)
    params = json.loads((run / "sidecar.json").read_text())["parameters"]
    assert params == {"data_path": "", "n": 4, "divisor": 1, "scale": 0.5, "flag": False, "tags": ["a"],
                      "label": None, "require": "", "figure": True}
    # the python3 kernel runs this interpreter (the venv's), so it imports this toolkit
    assert Path(side["python"]).resolve() == Path(sys.executable).resolve()
    from matplotlib.image import imread

    png = imread(str(run / "figures/line.png"))
    assert png.shape[1] >= 3 * 300 * 0.8  # 300 dpi, tight bbox
    rec = read_run_record(run)
    assert rec["status"] == "ok" and rec["parameters"] == {"n": 4, "scale": 0.5, "figure": True}
    assert rec["files"]["figures"] == ["figures/line.png", "figures/line.svg"]
    assert rec["duration_s"] > 0 and rec["started"] < rec["ended"]
    executed = nbformat.read(str(run / "work.ipynb"), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert f'output_dir = "{run.resolve()}"' in injected[0].source
    assert "<html" in (run / "work.html").read_text()[:500].lower()


def test_failed_run_keeps_partial_notebook_with_failing_cell(tmp_path):
    from toolkit.cli import main

    nb = work_notebook(tmp_path / "src")
    out = tmp_path / "fail"
    code = main(["run", str(nb), "-p", "divisor", "0", "--out", str(out), "--no-pdf"])
    assert code == 1
    rec = read_run_record(out)
    assert rec["status"] == "failed"
    err = rec["error"]
    assert err["ename"] == "ZeroDivisionError" and err["stage"] == "execute"
    # cells: title, parameters, injected parameters, body (fails), end
    assert err["cell_index"] == 3 and err["exec_count"] == 3
    assert "ratio = 10 / divisor" in err["cell_source"] or "divisor" in err["message"]
    executed = nbformat.read(str(out / "work.ipynb"), as_version=4)
    markers = [c for c in executed.cells if "papermill-error-cell-tag" in c.metadata.get("tags", [])]
    assert len(markers) == 2  # papermill's banner at the top and the anchor before the failing cell
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any(o.get("ename") == "ZeroDivisionError" for o in outputs)
    assert not (out / "sidecar.json").exists() and (out / "work.html").is_file()
    # re-running the same folder replaces the old record
    res = run_notebook(nb, {"divisor": 2}, out, pdf=False, html=False)
    assert res.ok and read_run_record(out)["status"] == "ok" and not (out / "work.html").exists()


WEIRD = [
    'say "hi" and \'bye\'',
    "line one\nline two\r\n\ttabbed",
    "back\\slash \\n not a newline \\",
    "unicode: é ü ß 中文 🙂 \u200b end",
    "# not a comment = still text",
    '"""triple"""',
]


def test_string_parameters_arrive_unchanged(tmp_path):
    from toolkit.cli import main

    nb = echo_notebook(tmp_path / "src")
    res = run_notebook(nb, {"text": WEIRD[0] + WEIRD[1], "other": "".join(WEIRD[2:])}, tmp_path / "api",
                       html=False, pdf=False)
    assert res.ok, res.error
    got = json.loads((tmp_path / "api" / "sidecar.json").read_text(encoding="utf-8"))["results"]
    assert got == {"text": WEIRD[0] + WEIRD[1], "other": "".join(WEIRD[2:])}
    # the same through the command line (-p NAME VALUE)
    code = main(["run", str(nb), "-p", "text", "\n".join(WEIRD), "-p", "other", "42",
                 "--out", str(tmp_path / "cli"), "--no-pdf", "--no-html"])
    assert code == 0
    got = json.loads((tmp_path / "cli" / "sidecar.json").read_text(encoding="utf-8"))["results"]
    assert got == {"text": "\n".join(WEIRD), "other": "42"}


def test_a_stuck_cell_fails_its_run_after_the_timeout(tmp_path):
    import time

    nb = write_notebook(tmp_path / "src" / "stuck.ipynb", 'output_dir: str = "."  # unused\n',
                        "import time\ntime.sleep(600)", title="Stuck")
    t0 = time.monotonic()
    res = run_notebook(nb, {}, tmp_path / "out", html=False, pdf=False, timeout=3)
    assert time.monotonic() - t0 < 120
    assert res.status == "failed"
    assert res.error["ename"] == "CellTimeoutError" and "after 3 seconds" in res.error["evalue"]
    assert res.error["cell_source"] == "import time\ntime.sleep(600)"


def test_the_demo_bounds_each_cell():
    from toolkit.demo import CELL_TIMEOUT_S, demo_config

    assert demo_config(pdf=False).timeout == CELL_TIMEOUT_S and 60 <= CELL_TIMEOUT_S <= 1800


def test_kernel_waits_poll_in_short_slices_and_keep_their_timeouts():
    """The runner's kernel client (a workaround for a long poll that misses the kernel's reply)
    still returns a message that comes after several slices, and still times out on time."""
    import asyncio
    import time
    from queue import Empty

    import zmq
    import zmq.asyncio
    from jupyter_client.session import Session

    from toolkit.runner.kernel import POLL_SLICE_S, _sliced_client_class

    channel_class = _sliced_client_class().shell_channel_class.klass

    async def scenario():
        ctx = zmq.asyncio.Context()
        a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
        a.bind("inproc://slices")
        b.connect("inproc://slices")
        session = Session(key=b"k")
        channel = channel_class(b, session)
        t0 = time.monotonic()
        with pytest.raises(Empty):
            await channel.get_msg(timeout=2.5 * POLL_SLICE_S)
        waited = time.monotonic() - t0
        asyncio.get_running_loop().call_later(1.7 * POLL_SLICE_S, session.send, a, "execute_reply", {"status": "ok"})
        t0 = time.monotonic()
        msg = await channel.get_msg(timeout=None)
        arrived = time.monotonic() - t0
        a.close(0)
        b.close(0)
        ctx.term()
        return waited, msg, arrived

    waited, msg, arrived = asyncio.run(scenario())
    assert 2.4 * POLL_SLICE_S <= waited < 4 * POLL_SLICE_S
    assert msg["msg_type"] == "execute_reply" and msg["content"] == {"status": "ok"}
    assert 1.6 * POLL_SLICE_S <= arrived < 3 * POLL_SLICE_S


def test_demo_skips_a_notebook_whose_requirements_are_missing(tmp_path, capsys):
    """A notebook that declares modules this install lacks is left out of the demo, with the
    extra to install, instead of failing the demo's batch."""
    import json
    import shutil

    from toolkit.demo import demo_config

    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    src = Path(__file__).resolve().parents[1] / "notebooks" / "00_overview.ipynb"
    shutil.copy(src, nbs / "00_overview.ipynb")
    nb = json.loads(src.read_text())
    nb["metadata"]["toolkit"] = {"requires": ["no_such_module_here"], "extra": "dask"}
    (nbs / "09_needs_more.ipynb").write_text(json.dumps(nb))
    cfg = demo_config(nbs, pdf=False)
    assert [Path(e["notebook"]).name for e in cfg.entries] == ["00_overview.ipynb"]
    err = capsys.readouterr().err
    assert "skipping 09_needs_more.ipynb: needs no_such_module_here: pip install 'chatbot-toolkit[dask]'" in err
