"""The report page in a real headless Chromium (Debian's, driven by Playwright).

A child process runs ``examples/leaky_service.py``'s request handler (the planted leak: a
session cache that never evicts) under ``gclab monitor``, capturing itself with
``gclab.snapshot()`` after 5,000 and 20,000 requests; ``gclab report`` makes
the page from the two snapshots and the monitor's file. The page must load from file://
without console errors or requests, show the planted leak in the suspects table, expand and
collapse the dominator tree on click, and sort the histogram. GCLAB_UPDATE_SCREENSHOT=1 saves
docs/images/report.png.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from gclab.cli import main
from gclab.report.html import embedded_data

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "report.png"

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no Debian chromium")

CHILD = """
import sys
examples, out = sys.argv[1:3]
sys.path.insert(0, examples)
sys.argv[:] = ["examples/leaky_service.py", "--requests", "20000"]  # as the page shows it
import leaky_service
from gclab import snapshot
from gclab.snapshots.store import save
for i in range(5000):
    leaky_service.handle(i)
save(snapshot(), out + "/before.gcsnap")
for i in range(5000, 20000):
    leaky_service.handle(i)
save(snapshot(), out + "/after.gcsnap")
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The page of a real leaking process: its path and its embedded data."""
    work = tmp_path_factory.mktemp("report")
    script = work / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-m", "gclab", "monitor", "-o", str(work / "gc.json"),
                    "--", sys.executable, str(script), str(ROOT / "examples"), str(work)],
                   env=env, check=True, timeout=300, capture_output=True)
    path = work / "report.html"
    assert main(["report", str(work / "before.gcsnap"), str(work / "after.gcsnap"),
                 "--monitor", str(work / "gc.json"), "-o", str(path)]) == 0
    return path, embedded_data(path.read_text(encoding="utf-8"))


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
    assert f"Python {platform.python_version()}" in tab.inner_text("#subtitle")


def test_suspects_table_shows_the_planted_leak(page, report):
    tab, _ = page
    _, data = report
    text = tab.inner_text("#suspects-table")
    assert "leaky_service.SessionCache" in text
    leak = _planted(data)
    assert leak["accumulation"]["type"] == "builtins.dict"          # CACHE._by_id
    assert leak["path"]["root"] == "leaky_service.CACHE"              # a module global
    assert "leaky_service.CACHE" in tab.inner_text("#suspects-body")


def _planted(data):
    """The suspect that is the planted leak (the session cache)."""
    [leak] = [s for s in data["suspects"] if s["type"] == "leaky_service.SessionCache"]
    return leak


def _dominators(data, node):
    """The dominator chain of ``node`` in the page's tree, from the root's child down."""
    parent = {child: int(p) for p, entry in data["tree"]["children"].items()
              for child in entry[0]}
    chain = [node]
    while parent[chain[-1]] != data["tree"]["root"]:
        chain.append(parent[chain[-1]])
    return chain[::-1]


def test_dominator_tree_expands_and_collapses(page, report):
    tab, _ = page
    _, data = report
    rows = tab.locator("#tree-table tbody tr")
    shown = rows.count()
    top, more, _ = data["tree"]["children"][str(data["tree"]["root"])]
    assert shown == 1 + len(top) + (more > 0)          # the root, its children, "N more"
    point = _planted(data)["accumulation"]["node"]
    chain = _dominators(data, point)
    for depth, node in enumerate(chain, start=1):
        row = tab.locator(f"#tree-table tr[data-node='{node}']")
        assert row.get_attribute("data-depth") == str(depth)
        row.locator("td.obj").click()
    kids = data["tree"]["children"][str(point)]
    assert len(kids[0]) == 50 and kids[1] >= 20000 - 50             # the sessions
    more = tab.inner_text("#tree-table tr.more")
    assert f"{kids[1]:,} more" in more
    assert "leaky_service.Session" in tab.inner_text(f"#tree-table tr[data-node='{kids[0][0]}']")
    tab.locator(f"#tree-table tr[data-node='{chain[0]}'] td.obj").click()   # collapse all
    assert rows.count() == shown
    assert tab.locator(f"#tree-table tr[data-node='{point}']").count() == 0


def test_histogram_sorts(page, report):
    tab, _ = page
    _, data = report
    counts = [row[1] for row in data["histogram"]["rows"]]

    def first_count() -> int:
        cell = tab.locator("#histogram-table tbody tr").first.locator("td").nth(1)
        return int(cell.inner_text().replace(",", ""))

    header = tab.locator("#histogram-table th[data-key='1']")
    header.click()
    assert first_count() == max(counts)
    header.click()
    assert first_count() == min(counts)
    names = [r[0] for r in data["histogram"]["rows"]]
    tab.locator("#histogram-table th[data-key='0']").click()
    assert tab.locator("#histogram-table tbody tr").first.locator("td").first.inner_text() \
        == min(names)
    tab.locator("#histogram-table th[data-key='3']").click()     # back to retained


def test_diff_and_timeline_sections(page, report):
    tab, _ = page
    _, data = report
    assert data["diff"]["by_type"][0][0] in tab.inner_text("#diff-table")
    sessions = {r[0]: r for r in data["diff"]["by_type"]}["leaky_service.Session"]
    assert sessions[2] - sessions[1] == 15000                     # 15,000 more requests
    assert tab.locator("#timeline-svg line[stroke-linecap]").count() == data["timeline"]["shown"]


def test_screenshot(page, report, tmp_path):
    """The page with the planted leak's dominator chain expanded, as a PNG (in the test's
    temporary directory; ``GCLAB_UPDATE_SCREENSHOT=1`` writes docs/images/report.png instead,
    so a plain test run never changes the checkout)."""
    tab, problems = page
    shot = SCREENSHOT if os.environ.get("GCLAB_UPDATE_SCREENSHOT") == "1" else \
        tmp_path / "report.png"
    _, data = report
    for node in _dominators(data, _planted(data)["accumulation"]["node"]):
        tab.locator(f"#tree-table tr[data-node='{node}'] td.obj").click()
    shot.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    assert problems == []
