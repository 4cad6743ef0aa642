"""HTML and PDF export: system-Chromium PDF (pages render), offline math, figures-only fallback."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from tests.test_runner import work_notebook, write_notebook
from toolkit.export import (
    BrowserNotFoundError,
    ChromiumPDFExporter,
    export_html,
    export_pdf,
    figures_pdf,
    find_browser,
    offline_mathjax_url,
)

ROOT = Path(__file__).resolve().parents[1]
HAVE_BROWSER = find_browser() is not None
PDFTOPPM, PDFINFO, PDFTOTEXT = (shutil.which(t) or t for t in ("pdftoppm", "pdfinfo", "pdftotext"))
HAVE_POPPLER = all(Path(t).is_absolute() for t in (PDFTOPPM, PDFINFO, PDFTOTEXT))
needs_browser = pytest.mark.skipif(not HAVE_BROWSER, reason="no Chromium (apt-get install chromium)")
needs_poppler = pytest.mark.skipif(not HAVE_POPPLER, reason="no poppler-utils (pdftoppm, pdfinfo)")


def pdf_pages(path: Path) -> int:
    out = subprocess.run([PDFINFO, str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def render_page(path: Path, page: int, tmp: Path, dpi: int = 40):
    """Render one PDF page with pdftoppm; return it as an RGB float array."""
    from matplotlib.image import imread

    stem = tmp / f"{path.stem}-p{page}"
    subprocess.run([PDFTOPPM, "-r", str(dpi), "-png", "-f", str(page), "-l", str(page),
                    "-singlefile", str(path), str(stem)], check=True)
    return imread(str(stem) + ".png")[..., :3]


def assert_not_blank(img) -> None:
    """At least 1 % of the pixels are clearly not white, and the page is not one flat colour."""
    dark = (img.min(axis=2) < 0.85).mean()
    assert dark > 0.01 and img.std() > 0.05, (dark, img.std())


def test_exporter_is_registered_for_nbconvert_and_finds_the_browser(monkeypatch):
    from nbconvert.exporters import get_export_names, get_exporter

    assert get_exporter("chromiumpdf") is ChromiumPDFExporter
    assert "chromiumpdf" in get_export_names()
    assert ChromiumPDFExporter.export_from_notebook == "PDF via Chromium"  # JupyterLab menu label
    monkeypatch.setenv("CHROMIUM_PATH", "/opt/some/chrome")
    assert ChromiumPDFExporter().executable_path == "/opt/some/chrome"
    monkeypatch.delenv("CHROMIUM_PATH")
    assert ChromiumPDFExporter().executable_path == (shutil.which("chromium") or find_browser() or "")
    if offline_mathjax_url():
        assert ChromiumPDFExporter().mathjax_url.startswith("file:///usr/share/javascript/mathjax/")


def test_html_export_hides_code_and_uses_offline_math(tmp_path):
    nb = work_notebook(tmp_path)
    full = export_html(nb)
    assert full == nb.with_suffix(".html")
    text = full.read_text()
    assert "divisor" in text
    bare = export_html(nb, tmp_path / "bare.html", no_input=True).read_text()
    assert "divisor" not in bare and "Work" in bare  # code hidden, markdown kept
    if offline_mathjax_url():
        assert "file:///usr/share/javascript/mathjax/MathJax.js" in bare
        assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in bare
    # no widget state saved: nothing loads require.js from a CDN when the file is opened
    assert "require.min.js" not in text and "require.min.js" not in bare


@needs_browser
@needs_poppler
def test_nbconvert_entry_point_renders_pdf_with_offline_math(tmp_path):
    """``jupyter nbconvert --to chromiumpdf``: the PDF has the title and rendered (not raw) math."""
    from nbconvert.nbconvertapp import NbConvertApp

    nb = work_notebook(tmp_path)
    app = NbConvertApp()  # what `jupyter nbconvert --to chromiumpdf nb.ipynb` runs, in-process
    app.initialize(["--to", "chromiumpdf", str(nb)])
    app.start()
    pdf = nb.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert_not_blank(render_page(pdf, 1, tmp_path))
    text = subprocess.run([PDFTOTEXT, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Work" in text and "divisor" in text
    if offline_mathjax_url():
        assert "$e^" not in text and "π" in text  # MathJax typeset it offline


@needs_browser
@needs_poppler
def test_real_notebook_run_gives_figures_sidecar_html_and_pdf_that_renders(tmp_path):
    """One real analysis notebook end to end (the only real-notebook PDF export in the suite)."""
    from toolkit.runner import run_notebook

    notebook = ROOT / "notebooks" / "00_overview.ipynb"
    res = run_notebook(notebook, {}, tmp_path / "overview", cwd=ROOT)
    assert res.ok, res.error_text()
    run = Path(res.out_dir)
    pngs = sorted((run / "figures").glob("*.png"))
    assert pngs and all(p.with_suffix(".svg").is_file() for p in pngs)
    assert json.loads((run / "sidecar.json").read_text())["results"]
    assert (run / "00_overview.html").stat().st_size > 10_000
    pdf = run / "00_overview.pdf"
    assert res.pdf_kind == "browser" and pdf.read_bytes()[:5] == b"%PDF-"
    n = pdf_pages(pdf)
    assert n >= 2
    for page in range(1, n + 1):
        assert_not_blank(render_page(pdf, page, tmp_path))


def _fake_run(folder: Path) -> Path:
    """A run folder made without a kernel: sidecar, two figures, a notebook."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from toolkit.notebook import save_figure, write_sidecar

    for i, color in enumerate(["tab:red", "tab:blue"]):
        fig = Figure(figsize=(4, 3))
        ax = fig.add_subplot()
        ax.bar([0, 1, 2], [3, 1, 2], color=color)
        save_figure(fig, f"fig{i}", folder)
    write_sidecar({"mean_quality": 0.7123, "n": 120, "by_variant": {"A": 0.7, "B": 0.74}},
                  folder, notebook="01_quality", parameters={"alpha": 0.05})
    return write_notebook(folder / "01_quality.ipynb", 'output_dir: str = "."  # out\n', "x = 1")


@needs_poppler
def test_without_browser_the_error_says_how_and_a_figures_pdf_is_written(tmp_path, monkeypatch, capsys):
    from toolkit.cli import main

    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no chromium anywhere
    assert find_browser() is None
    nb = _fake_run(tmp_path / "run")
    with pytest.raises(BrowserNotFoundError) as err:
        export_pdf(nb)
    assert "apt-get install chromium" in str(err.value) and "CHROMIUM_PATH" in str(err.value)
    pdf = err.value.fallback
    assert pdf == nb.with_suffix(".pdf") and pdf_pages(pdf) == 3  # title + 2 figures
    title = subprocess.run([PDFTOTEXT, "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "01_quality" in title and "mean_quality" in title and "0.7123" in title
    assert "by_variant.B" in title and "apt-get install chromium" in title
    page2 = render_page(pdf, 2, tmp_path)
    assert_not_blank(page2)
    red = (page2[..., 0] > 0.7) & (page2[..., 1] < 0.45) & (page2[..., 2] < 0.45)
    assert red.mean() > 0.01  # the red bars of fig0

    # the command line: exit 1, the message on stderr, the fallback still written
    pdf.unlink()
    assert main(["export", str(nb), "--to", "pdf"]) == 1
    msg = capsys.readouterr().err
    assert "apt-get install chromium" in msg and "figures-only PDF" in msg and pdf.is_file()

    # a wrong CHROMIUM_PATH is reported as such
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "nope" / "chrome"))
    with pytest.raises(BrowserNotFoundError, match="does not exist or is not executable"):
        export_pdf(nb, fallback=False)


def test_figures_pdf_uses_embedded_images_when_there_is_no_figures_folder(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    buf = io.BytesIO()
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1])
    fig.savefig(buf, format="png")
    nb = nbformat.v4.new_notebook()
    for _ in range(2):
        cell = nbformat.v4.new_code_cell("fig")
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            "image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": "<Figure>"})]
        nb.cells.append(cell)
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, str(path))
    out = figures_pdf(path)
    assert out == tmp_path / "plain.pdf" and out.read_bytes()[:5] == b"%PDF-"
    if HAVE_POPPLER:
        assert pdf_pages(out) == 3


def test_export_command_html(tmp_path, capsys):
    from toolkit.cli import main

    nb = work_notebook(tmp_path)
    assert main(["export", str(nb), "--to", "html", "--no-input", "--out", str(tmp_path / "x.html")]) == 0
    assert capsys.readouterr().out.strip().endswith("x.html")
    assert "divisor" not in (tmp_path / "x.html").read_text()
    assert main(["export", str(tmp_path / "missing.ipynb"), "--to", "html"]) == 2
    # a notebook that was never run would give an empty stakeholder report: one clear error instead
    assert main(["export", str(nb), "--report", "--to", "html"]) == 2
    assert "has not been run" in capsys.readouterr().err
    assert not list(tmp_path.glob("*_report.*"))


DEMO_REPORTS = os.environ.get("TOOLKIT_DEMO_REPORTS")


@needs_poppler
@pytest.mark.skipif(not DEMO_REPORTS, reason="set TOOLKIT_DEMO_REPORTS=<folder> after `toolkit demo --out <folder>` (CI does)")
def test_demo_reports_are_complete_and_every_pdf_page_renders(tmp_path):
    """Checks the output of ``toolkit demo`` (run once by CI) instead of running it again."""
    reports = Path(DEMO_REPORTS)
    records = {r["name"]: r for r in (json.loads(p.read_text()) for p in reports.glob("*/run.json"))}
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(records) == notebooks
    index = (reports / "index.html").read_text()
    for name in notebooks:
        rec, run = records[name], reports / name
        assert rec["status"] == "ok", (name, rec.get("error"))
        assert rec["pdf_kind"] == "browser", (name, rec.get("warnings"))
        assert f'href="{name}/{name}.html"' in index and f'href="{name}/{name}.pdf"' in index
        pngs = sorted((run / "figures").glob("*.png"))
        assert pngs and all(p.with_suffix(".svg").is_file() for p in pngs), name
        assert json.loads((run / "sidecar.json").read_text())["results"], name
        assert (run / f"{name}.ipynb").is_file() and (run / f"{name}.html").stat().st_size > 10_000
        pdf = run / f"{name}.pdf"
        assert_not_blank(render_page(pdf, 1, tmp_path, dpi=20))
        for page in range(2, pdf_pages(pdf) + 1):  # a last page may hold a single line
            img = render_page(pdf, page, tmp_path, dpi=20)
            assert (img.min(axis=2) < 0.85).mean() > 0.001, (name, page)


# ---------------------------------------------------------------------------------------------
# The stakeholder report, read as a person reads it: pdftotext for the words, pdftoppm for ink
# past the right margin (a cut table leaves ink there, or loses its last columns)

#: the right margin strip checked for ink, in points from the page edge (the report's @page
#: margin is 13 mm = 37 pt; a table that does not fit runs into it)
MARGIN_STRIP_PT = 26


def pdf_text(pdf: Path) -> str:
    return subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def _squash(text: str) -> str:
    return " ".join(text.split())


def ink_in_right_margin(pdf: Path, tmp: Path, dpi: int = 50) -> list[tuple[int, float]]:
    """Pages (1-based) with ink in their rightmost ``MARGIN_STRIP_PT`` points, and how much."""
    from matplotlib.image import imread

    stem = tmp / f"{pdf.stem}-m"
    subprocess.run([PDFTOPPM, "-r", str(dpi), "-png", str(pdf), str(stem)], check=True)
    bad = []
    for png in sorted(tmp.glob(f"{pdf.stem}-m-*.png")):
        img = imread(str(png))[..., :3]
        strip = img[:, -int(MARGIN_STRIP_PT * dpi / 72):, :]
        ink = float((strip.min(axis=2) < 0.8).mean())
        if ink > 0:
            bad.append((int(png.stem.rsplit("-", 1)[1]), ink))
        png.unlink()
    return bad


def table_headers(html: str) -> list[str]:
    """The words of every column header of every table in a report's HTML (unescaped)."""
    import html as _h
    import re

    words = set()
    for head in re.findall(r"<thead>(.*?)</thead>", html, re.S):
        for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S):
            text = _h.unescape(re.sub(r"<[^>]+>", "", cell))
            words.update(w for w in re.split(r"[\s_]+", text) if len(w) > 1)
    return sorted(words)


def sidecar_sentences(sidecar: dict) -> list[str]:
    """Every verdict and every alert recommendation the sidecar holds."""
    res = sidecar.get("results") or {}
    out = list((res.get("analysis") or {}).get("verdicts") or [])
    out += [a["recommendation"] for a in res.get("alerts") or [] if a.get("recommendation")]
    out += [f"{r['metric']} ({r['arm']}): {r['verdict']}" for r in res.get("ab_verdicts") or []]
    return out


def _wide_report_run(folder: Path) -> Path:
    """A run folder without a kernel: a sidecar with verdicts and alerts, and an executed
    notebook whose outputs hold a 20-column table with long headers and long text."""
    import pandas as pd

    from toolkit.notebook import write_sidecar

    folder.mkdir(parents=True)
    verdicts = ["resolved: B beats A by +5.07 pp (+8.6%), unadjusted 95% CI [+3.30 pp, +6.84 pp], "
                "p = 2.2e-08, holm p = 6.6e-08.",
                "cost_usd: B is worse than A by +0.0002054 (+21.5%), unadjusted 95% CI "
                "[+0.0001564, +0.0002545], p = 2.5e-16, holm p = 1.3e-15."]
    alerts = [{"severity": "high", "metric": "mean_response_time_s", "scope": "model=gpt-4o",
               "value": 5.4, "threshold": 5.0, "rule": "mean response time > 5 s",
               "recommendation": "Cache frequent answers and route long prompts to a faster model; "
                                 "<check> the & timeout budget of the upstream API."}]
    write_sidecar({"n_units": 12390, "alerts": alerts, "suggestions": ["Poor answers concentrate in A."],
                   "analysis": {"verdicts": verdicts, "metrics": [{"metric": "resolved", "verdict": "winner"}]}},
                  folder, notebook="02_ab_testing", parameters={"alpha": 0.05, "output_dir": str(folder)},
                  data_range={"start": "2026-09-01T00:42:31+00:00", "end": "2026-10-30T23:53:43+00:00",
                              "turns": 37472, "conversations": 12390})
    cols = ["metric", "arm", "control_value", "treatment_value", "abs_lift", "abs_ci_low", "abs_ci_high",
            "rel_lift", "p_value", "p_adjusted", "verdict", "chance_to_win", "risk_control",
            "risk_treatment", "power_at_mde", "cuped_variance_reduction", "fit_seconds",
            "n_control", "recommendation", "excess_failures"]
    rows = [dict(zip(cols, ["response_time_s", "B", 1.1328, 1.1413, 0.0085, -0.0456, 0.0626, 0.0075,
                            0.7575, 0.7575, "no detectable difference", 0.379, 0.0065, 0.014, 0.925,
                            0.0141, 0.9696, 18847, "Route long prompts to the faster model before "
                            "the weekly peak; " * 3, 52.8]))] * 3
    table = pd.DataFrame(rows).to_html()
    nb = nbformat.v4.new_notebook()
    pcell = nbformat.v4.new_code_cell('alpha: float = 0.05  # level')
    pcell.metadata["tags"] = ["parameters"]
    out = nbformat.v4.new_code_cell("display(table)")
    out.outputs = [nbformat.v4.new_output("display_data", data={"text/html": table, "text/plain": "t"})]
    log = nbformat.v4.new_code_cell("print(x)")
    log.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a_long_unbroken_token_" * 12 + "\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# A/B testing: plan before, analyse after\n\nWhich variant wins?"),
                pcell, nbformat.v4.new_markdown_cell("## All statistics"), out, log,
                nbformat.v4.new_markdown_cell("## Sidecar"), nbformat.v4.new_code_cell("write_sidecar(results)")]
    path = folder / "02_ab_testing.ipynb"
    nbformat.write(nb, str(path))
    return path


@needs_browser
@needs_poppler
def test_report_pdf_has_every_column_and_finding_and_nothing_past_the_margin(tmp_path):
    from toolkit.export import export_report

    nb = _wide_report_run(tmp_path / "run")
    written = export_report(nb)
    html, pdf = written["html"].read_text(), written["pdf"]
    assert pdf.name == "02_ab_testing_report.pdf" and pdf.read_bytes()[:5] == b"%PDF-"
    assert "display(table)" not in html and "alpha: float" not in html  # no code, no parameters
    assert "&lt;check&gt; the &amp; timeout" in html  # data escaped
    text = pdf_text(pdf)
    flat = _squash(text)
    headers = table_headers(html)
    assert {"excess", "failures", "recommendation", "verdict"} <= set(headers)
    missing = [h for h in headers if h not in text]
    assert not missing, f"column headers not in the PDF text: {missing}"
    side = json.loads((nb.parent / "sidecar.json").read_text())
    for sentence in sidecar_sentences(side):
        assert _squash(sentence) in flat, sentence
    page1 = subprocess.run([PDFTOTEXT, "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    assert "A/B testing" in page1 and "2026-09-01" in page1 and "alpha" in page1  # title page
    assert "output_dir" not in text and "Sidecar" not in text
    assert "0.97 s" in text and "< 0.001" not in text.split("Summary of findings")[0]
    assert "9.696e" not in text and "75.8 %" not in text  # p-values are not percentages
    assert ink_in_right_margin(pdf, tmp_path) == []
    # the full notebook's PDF (code included, numbers as printed) keeps every column too
    full = export_pdf(nb, tmp_path / "full.pdf")
    full_text = pdf_text(full)
    assert not [h for h in headers if h not in full_text] and "0.9696" in full_text
    assert ink_in_right_margin(full, tmp_path) == []


@needs_poppler
@pytest.mark.skipif(not DEMO_REPORTS, reason="set TOOLKIT_DEMO_REPORTS=<folder> after `toolkit demo --out <folder>` (CI does)")
def test_demo_report_pdfs_hold_every_column_and_finding_within_the_margins(tmp_path):
    """Every notebook's stakeholder report from ``toolkit demo``, read as a person would."""
    reports = Path(DEMO_REPORTS)
    index = (reports / "index.html").read_text()
    problems = []
    for name in sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb")):
        run = reports / name
        pdf, html = run / f"{name}_report.pdf", run / f"{name}_report.html"
        assert pdf.is_file() and html.is_file(), f"{name}: no report (toolkit demo writes it)"
        assert f'href="{name}/{name}_report.pdf"' in index and f'href="{name}/{name}_report.html"' in index
        text = pdf_text(pdf)
        flat = _squash(text)
        missing = [h for h in table_headers(html.read_text()) if h not in text]
        if missing:
            problems.append(f"{name}: column headers missing from the PDF text: {missing}")
        side = json.loads((run / "sidecar.json").read_text())
        lost = [s for s in sidecar_sentences(side) if _squash(s) not in flat]
        if lost:
            problems.append(f"{name}: findings missing from the PDF text: {lost}")
        margin = ink_in_right_margin(pdf, tmp_path)
        if margin:
            problems.append(f"{name}: ink past the right margin on pages {margin}")
    assert not problems, "\n".join(problems)


def test_findings_and_index_cards_escape_data_and_format_numbers_by_kind(tmp_path):
    """Hostile text in a sidecar reaches the summary page and the front page escaped."""
    from toolkit.batch.summary import write_index
    from toolkit.findings import read_findings
    from toolkit.notebook import write_sidecar

    evil = '<script>alert("x")</script> & <b>'
    run = tmp_path / "01_quality"
    write_sidecar({"mean_quality": 0.7537, "high_quality_share": 0.4975, "p95_response_time_s": 1.769,
                   "alerts": [{"severity": "high", "rule": evil, "scope": "variant=" + evil, "value": 0.4,
                               "threshold": 0.5, "metric": "high_quality_share", "recommendation": evil}],
                   "worst_clusters": [{"cluster": 3, "label": evil, "size": 938, "share": 0.0757,
                                       "resolution_rate": 0.559, "excess_failures": 52.8}]},
                  run, notebook="01_quality", parameters={"data_path": evil})
    f = read_findings(run)
    html = f.to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert dict(f.headline) == {"mean quality": "0.754", "high quality share": "49.8 %",
                                "p95 response time": "1.77 s"}
    assert [x.section for x in f.items] == ["Alerts", "Worst topics"]
    assert "938 conversations (7.6 %), resolved 55.9 %" in f.items[1].text
    index = write_index([{"name": "01_quality", "notebook": "notebooks/01_quality.ipynb", "status": "ok",
                          "out_dir": str(run), "files": {"sidecar": "sidecar.json",
                                                          "report_pdf": "01_quality_report.pdf"}}],
                        tmp_path).read_text()
    assert "<script>" not in index and index.count("&lt;script&gt;") >= 3
    assert 'href="01_quality/01_quality_report.pdf"' in index and 'name="viewport"' in index
