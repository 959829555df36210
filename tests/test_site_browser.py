"""The leaderboard site in a real headless browser (Debian's chromium driven by Playwright), opened from a file and
from a static server: no console errors, one row per entry, sorting by a column reorders the rows."""
import csv
import functools
import io
import json
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import run_cli
from leaderboard_data import BUDGETS, offline_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory, leaderboard_results, tiny_reduction, task_dirs):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: scripts/bootstrap installs it when run as root")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("site")
    sources = [*map(str, leaderboard_results.values()), str(tiny_reduction[1])]
    result = run_cli(["leaderboard", *sources, "--out", str(root / "site"), "--tasks", *map(str, task_dirs.values())],
                     offline_env(root, root), root)
    assert result.returncode == 0, result.stderr
    return root / "site"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def open_page(browser, url):
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, errors, failed


def column_texts(page, table, index):
    return page.locator(f"{table} tbody:not(.baselines) tr td:nth-child({index})").all_inner_texts()


@pytest.mark.parametrize("where", ["file", "server"])
def test_page_loads_with_one_row_per_entry(site, browser, server, where, leaderboard_results):
    url = (site / "index.html").as_uri() if where == "file" else f"{server}/index.html"
    page, errors, failed = open_page(browser, url)
    assert errors == [] and failed == []
    assert page.locator("table.sortable[id^=board-0-s-]").count() == len(BUDGETS)
    for budget in BUDGETS:
        table = f"#board-0-s-{budget:g}"
        assert page.locator(f"{table} tr.entry").count() == len(leaderboard_results)
        assert page.locator(f"{table} tr.baseline").count() == 2
    reduction_tables = page.locator("table.sortable[id^=board-1-s-]")
    budgets = len(json.loads((site / "leaderboard.json").read_text())["boards"][1]["budgets"])
    assert reduction_tables.count() == budgets >= 2  # the tiny reduction's budgets
    for index in range(budgets):  # 4 reducers, DD's own protocol, JPEG XL original and optimal
        assert reduction_tables.nth(index).locator("tr.entry").count() == 7
    assert page.locator("img[src^='data:image/png;base64,']").count() >= 2  # figures are inside the page
    page.close()


def column_values(page, table, index):
    return [float(v) for v in page.locator(f"{table} tbody:not(.baselines) tr td:nth-child({index})").evaluate_all(
        "cells => cells.map(c => c.dataset.value)")]


def test_sorting_by_a_column_reorders_rows_by_mouse_and_keyboard(site, browser):
    page, errors, _ = open_page(browser, (site / "index.html").as_uri())
    table = f"#board-0-s-{BUDGETS[-1]:g}"
    headers = page.locator(f"{table} thead th").all_inner_texts()
    entry_column = headers.index("entry") + 1
    names = column_texts(page, table, entry_column)
    page.locator(f"{table} thead th button", has_text="entry").click()
    assert column_texts(page, table, entry_column) == sorted(names)
    page.locator(f"{table} thead th button", has_text="entry").click()
    assert column_texts(page, table, entry_column) == sorted(names, reverse=True)
    error_column = headers.index("error [95% CI]") + 1
    button = page.locator(f"{table} thead th").nth(error_column - 1).locator("button")
    button.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # descending: the worst first
    errors_shown = column_values(page, table, error_column)
    assert errors_shown == sorted(errors_shown, reverse=True)
    assert page.locator(f"{table} thead th").nth(error_column - 1).get_attribute("aria-sort") == "descending"
    assert page.locator(f"{table} thead th").nth(error_column - 1).get_attribute("title")  # the column explained
    assert errors == []
    page.close()


@pytest.mark.parametrize("width", [1440, 390])
def test_the_page_never_scrolls_sideways_and_tables_scroll_inside(site, browser, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto((site / "index.html").as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    first = page.locator("div.scroll").first
    assert first.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert page.locator("table.sortable thead th").first.evaluate("e => getComputedStyle(e).position") == "sticky"
    page.close()


def test_filtering_and_per_board_downloads(site, browser, server, leaderboard_results):
    page, errors, _ = open_page(browser, f"{server}/index.html")
    table = f"#board-0-s-{BUDGETS[-1]:g}"
    page.fill("#filter", "webp")
    visible = page.locator(f"{table} tbody:not(.baselines) tr:visible")
    assert visible.count() == 1 and "webp" in visible.first.inner_text()
    page.fill("#filter", "")
    assert page.locator(f"{table} tbody:not(.baselines) tr:visible").count() == len(leaderboard_results)
    for suffix in ("csv", "json"):
        link = page.locator(f'a[href="boards/board-0.{suffix}"]')
        assert link.count() == 1
        response = page.request.get(f"{server}/boards/board-0.{suffix}")
        assert response.ok
    rows = list(csv.DictReader(io.StringIO(page.request.get(f"{server}/boards/board-0.csv").text())))
    shown = page.locator("table.sortable[id^=board-0-s-]:not([id$=amortized]) tbody tr").count()
    assert len([r for r in rows if r["view"] == "counted"]) == shown  # the board's ranking: entries and baselines
    assert errors == []
    page.close()


def test_entry_pages_link_back_and_show_figures(site, browser):
    page, errors, _ = open_page(browser, (site / "index.html").as_uri())
    page.locator(f"#board-0-s-{BUDGETS[-1]:g} tr.entry a").first.click()
    page.wait_for_load_state("load")
    assert "/entries/" in page.url and errors == []
    assert page.locator("h2", has_text="Cross-compression").count() == 1
    assert page.locator("img[alt='scaling fit']").count() == 1
    page.locator("a", has_text="leaderboard").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("index.html")
    page.close()


def test_tasks_compared_section_shows_every_task_budget_and_matrix(site, browser, task_dirs):
    page, errors, failed = open_page(browser, (site / "index.html").as_uri())
    assert errors == [] and failed == []
    compared = json.loads((site / "comparison.json").read_text())
    assert page.locator("#tasks-laws tbody tr").count() == len(task_dirs) == len(compared["laws"])
    assert page.locator("#tasks-budgets tbody tr").count() == len(task_dirs) * len(compared["budgets"])
    assert page.locator("table[id^=tasks-matrix-]").count() == len(task_dirs)
    assert page.locator("img[alt='error vs storage for the compared tasks']").count() == 1
    shown = column_texts(page, "#tasks-laws", 2)
    assert sorted(shown) == sorted(task_dirs)  # the task column names each task once
    page.locator("#tasks-budgets thead th button", has_text="budget s").click()
    budgets = column_values(page, "#tasks-budgets", 1)
    assert budgets == sorted(budgets)
    page.close()
