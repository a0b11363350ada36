"""The report page in a real headless Chromium (Debian's, driven by Playwright): it loads
from file:// without console errors or failed requests, shows the planted leak, expands the
dominator tree on click and sorts the histogram. Saves docs/images/report.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gclab.report import model_from_results, write_html
from gclab.snapshots.dominators import dominator_tree
from gclab.snapshots.garbage import dry_run
from gclab.snapshots.histogram import histogram
from gclab.snapshots.leaks import suspects
from report_support import (
    leaky_snapshot,
    monitor_events,
    standin_diff,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "report.png"

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no Debian chromium")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    before = leaky_snapshot(sessions=120, seed=1)
    snap = leaky_snapshot(sessions=300)
    model = model_from_results(
        snap, garbage=dry_run(snap), tree=dominator_tree(snap), suspects=suspects(snap),
        histogram=histogram(snap),
        diff=standin_diff(before, snap), before=before, monitor=monitor_events(),
        snapshots=2)
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(model, path)
    return path, model


@pytest.fixture(scope="module")
def page(report):
    path, _ = report
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS,
                                             timeout=60_000)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.set_default_timeout(30_000)
            tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                   if m.type in ("error", "warning") else None)
            tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            tab.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
            tab.on("request", lambda r: problems.append(f"request: {r.url}")
                   if not r.url.startswith(("file:", "data:")) else None)
            tab.goto(path.as_uri())
            tab.wait_for_selector("body[data-ready='1']")
            yield tab, problems
        finally:
            browser.close()


def test_loads_without_errors(page):
    tab, problems = page
    assert problems == []
    assert tab.title().startswith("gclab heap report")
    assert "Python 3.11.7" in tab.inner_text("#subtitle")


def test_suspects_table_shows_the_planted_leak(page):
    tab, _ = page
    text = tab.inner_text("#suspects-table")
    assert "leaky_service.Session" in text or "builtins.list" in text
    assert "builtins.dict" in text                 # the accumulation point: CACHE._by_id
    assert "_by_id" in tab.inner_text("#suspects-body")  # the retainer path names the edge


def test_dominator_tree_expands_and_collapses(page, report):
    tab, _ = page
    _, model = report
    rows = tab.locator("#tree-table tbody tr")
    shown = rows.count()
    assert shown == 1 + len(model.tree["children"][str(model.tree["root"])][0])
    tab.click("#tree-table tr[data-node='0'] td.obj")          # the module
    tab.click("#tree-table tr[data-node='1'] td.obj")          # its namespace dict
    assert tab.locator("#tree-table tr[data-node='2']").get_attribute("data-depth") == "3"
    assert "leaky_service.SessionCache" in tab.inner_text("#tree-table tr[data-node='2']")
    tab.click("#tree-table tr[data-node='2'] td.obj")
    tab.click("#tree-table tr[data-node='3'] td.obj")          # the dict of 300 sessions
    more = tab.inner_text("#tree-table tr.more")
    assert "250 more" in more                                  # 300 children, 50 listed
    tab.click("#tree-table tr[data-node='0'] td.obj")          # collapse the whole branch
    assert rows.count() == shown
    assert tab.locator("#tree-table tr[data-node='3']").count() == 0


def test_histogram_sorts(page, report):
    tab, _ = page
    _, model = report
    counts = [row[1] for row in model.histogram["rows"]]

    def first_count() -> int:
        cell = tab.locator("#histogram-table tbody tr").first.locator("td").nth(1)
        return int(cell.inner_text().replace(",", ""))

    header = tab.locator("#histogram-table th[data-key='1']")
    header.click()
    assert first_count() == max(counts)
    header.click()
    assert first_count() == min(counts)
    names = [r[0] for r in model.histogram["rows"]]
    tab.locator("#histogram-table th[data-key='0']").click()
    assert tab.locator("#histogram-table tbody tr").first.locator("td").first.inner_text() \
        == min(names)
    tab.locator("#histogram-table th[data-key='3']").click()     # back to retained


def test_screenshot(page):
    tab, problems = page
    tab.click("#tree-table tr[data-node='0'] td.obj")
    tab.click("#tree-table tr[data-node='1'] td.obj")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 50_000
    assert problems == []
