"""Real-browser tests: every notebook runs in JupyterLab, and the widgets respond to a person.

Needs Debian's Chromium (``/usr/bin/chromium``) and the ``playwright`` Python package (the
``e2e`` extra); CI installs both. Screenshots go to the test's temporary folder and, when
``E2E_SCREENSHOTS`` is set, to that folder too.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.lab import CHROMIUM_ARGS, chromium_path, open_notebook, problems, run_all, settle, start_lab

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if chromium_path() is None:
        pytest.skip("no Chromium: apt-get install chromium (CI installs it)")
    pytest.importorskip("playwright.sync_api", reason="pip install -e '.[e2e]'")
    server = start_lab(tmp_path_factory.mktemp("lab"), NOTEBOOKS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, tmp_path, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    shot = tmp_path / f"{request.node.name}-final.png"
    try:
        pg.screenshot(path=str(shot), full_page=False)
        if os.environ.get("E2E_SCREENSHOTS"):
            dest = Path(os.environ["E2E_SCREENSHOTS"])
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, dest / shot.name)
    finally:
        context.close()


def save_screenshot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("E2E_SCREENSHOTS"):
        dest = Path(os.environ["E2E_SCREENSHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / path.name)
    return path


@pytest.mark.parametrize("notebook", [p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors_or_warnings(lab, page, tmp_path, notebook):
    open_notebook(page, lab, notebook)
    cells = run_all(page)
    found = problems(cells)
    save_screenshot(page, tmp_path, notebook.replace(".ipynb", ""))
    assert not found, "\n".join(found)


def _readout(page, css: str) -> float:
    return float(page.locator(f"{css} .widget-readout").first.inner_text().replace(",", ""))


def test_ab_mde_slider_changes_sample_size(lab, page, tmp_path):
    """Move the MDE slider with the keyboard; the sample size shown is toolkit's for that MDE."""
    from toolkit.ab.power import plan_proportions
    from toolkit.ab.widgets import sample_size_text

    open_notebook(page, lab, "02_ab_testing.ipynb")
    cells = run_all(page)
    assert not problems(cells), problems(cells)
    page.wait_for_function(
        "() => { const e = document.querySelector('.ab-sample-size');"
        " return e && e.innerText.startsWith('n per arm:') && document.querySelector('.ab-mde .widget-readout'); }"
    )
    size = page.locator(".ab-sample-size").first
    size.scroll_into_view_if_needed()

    def expected() -> str:
        baseline = float(page.locator(".ab-baseline input").first.input_value())
        plan = plan_proportions(
            baseline=baseline,
            mde=_readout(page, ".ab-mde"),
            alpha=_readout(page, ".ab-alpha"),
            power=_readout(page, ".ab-power"),
            method="pooled",
        )
        return sample_size_text(plan)

    before = size.inner_text().strip()
    assert before == expected()
    mde_before = _readout(page, ".ab-mde")
    handle = page.locator(".ab-mde .noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    page.wait_for_function(
        "(before) => document.querySelector('.ab-sample-size').innerText.trim() !== before", arg=before,
        timeout=15_000,
    )
    settle(page)
    assert _readout(page, ".ab-mde") == pytest.approx(mde_before + 0.005)
    after = size.inner_text().strip()
    assert after == expected()
    assert int(after.split(":")[1].replace(",", "")) < int(before.split(":")[1].replace(",", ""))
    save_screenshot(page, tmp_path, "ab_testing_after_mde")


_TABLE_JS = """(css) => [...document.querySelectorAll(css + ' tr')].map(
    r => [...r.cells].map(c => c.innerText.replace(/\\s+/g, ' ').trim()))"""


def _html_rows(markup: str) -> list[list[str]]:
    from bs4 import BeautifulSoup

    rows = BeautifulSoup(markup, "html.parser").find_all("tr")
    return [[" ".join(c.get_text(" ").split()) for c in r.find_all(["td", "th"])] for r in rows]


def test_quality_slider_changes_alerts_and_levels(lab, page, tmp_path):
    """Move the 'good from' cut-off and the medium quality threshold with the keyboard; the level
    table and the alert table become what toolkit computes for those values."""
    from toolkit.monitoring import Thresholds, evaluate_alerts
    from toolkit.quality import QualityConfig, assign_levels, level_counts, score_turns
    from toolkit.quality_widgets import alerts_html, levels_html
    from toolkit.sample import load_sample

    config = QualityConfig()
    scored = score_turns(load_sample(), config)
    quality = scored["quality"].to_numpy(float)

    def expected(cutoff_good: float, quality_medium: float):
        cut = dict(config.cutoffs, good=cutoff_good)
        levels = levels_html(level_counts(assign_levels(quality, cut)))
        alerts = alerts_html(evaluate_alerts(scored, Thresholds(quality_medium=quality_medium),
                                             by=("bot_id", "variant"), config=config, cutoffs=cut))
        return _html_rows(levels), _html_rows(alerts)

    open_notebook(page, lab, "01_quality.ipynb")
    cells = run_all(page)
    assert not problems(cells), problems(cells)
    page.wait_for_function("() => document.querySelector('.quality-levels tr') && "
                           "document.querySelector('.quality-cutoff_good .widget-readout')")
    page.locator(".quality-levels").first.scroll_into_view_if_needed()

    def shown():
        return page.evaluate(_TABLE_JS, ".quality-levels"), page.evaluate(_TABLE_JS, ".quality-alerts")

    good0, medium0 = _readout(page, ".quality-cutoff_good"), _readout(page, ".quality-quality_medium")
    assert shown() == expected(good0, medium0)
    save_screenshot(page, tmp_path, "quality_before")

    levels_before = shown()[0]
    handle = page.locator(".quality-cutoff_good .noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    page.wait_for_function(f"(n) => ({_TABLE_JS})('.quality-levels').length && "
                           f"JSON.stringify(({_TABLE_JS})('.quality-levels')) !== n",
                           arg=json.dumps(levels_before), timeout=15_000)
    settle(page)
    good1 = _readout(page, ".quality-cutoff_good")
    assert good1 == pytest.approx(good0 + 0.05)
    assert shown() == expected(good1, medium0)

    alerts_before = shown()[1]
    handle = page.locator(".quality-quality_medium .noUi-handle").first
    handle.focus()
    for _ in range(10):
        handle.press("ArrowRight")
    page.wait_for_function(f"(n) => JSON.stringify(({_TABLE_JS})('.quality-alerts')) !== n",
                           arg=json.dumps(alerts_before), timeout=15_000)
    settle(page)
    medium1 = _readout(page, ".quality-quality_medium")
    assert medium1 == pytest.approx(medium0 + 0.10)
    assert shown() == expected(good1, medium1)
    save_screenshot(page, tmp_path, "quality_after")


def test_topic_granularity_slider_relabels_the_profile(lab, page, tmp_path):
    """Notebook 03's hierarchy slider: moving it with the keyboard merges topics along the tree,
    and the profile table shown beside it is redrawn at the new number of topics."""
    open_notebook(page, lab, "03_clustering.ipynb")
    cells = run_all(page)
    assert not problems(cells), problems(cells)
    page.wait_for_function("() => document.querySelector('.topic-level .widget-readout')")
    panel = page.locator(".widget-vbox:has(.topic-level)").first
    panel.scroll_into_view_if_needed()
    table = panel.locator(".widget-html").first
    before_k = _readout(page, ".topic-level")
    before = table.inner_text()
    handle = page.locator(".topic-level .noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowLeft")
    page.wait_for_function(
        "(before) => { const t = document.querySelector('.widget-vbox .topic-level ~ .widget-html');"
        " return t && t.innerText !== before; }", arg=before, timeout=30_000,
    )
    settle(page)
    after_k = _readout(page, ".topic-level")
    assert after_k == before_k - 5
    rows = [r for r in table.inner_text().splitlines()[1:] if r.strip()]
    ids = {int(r.split()[0]) for r in rows if r.split()[0].lstrip("-").isdigit()}
    assert ids and max(ids) < after_k  # topics renumbered 0 .. k-1 at the coarser level
    save_screenshot(page, tmp_path, "clustering_after_granularity")
