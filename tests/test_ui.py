"""The browser UI in headless Chromium at projector size (1280 x 720), against one Solara
server this module starts (plus one launched through `compute-market ui` for Ctrl+C).

What a teacher relies on: the page loads offline with every view, the key figures and the
two main plots visible without scrolling and text of at least 14 px; Step advances one
month quickly and Play at least several months a second; Play stops at the horizon, on
Pause, on a scenario change and when the tab closes (the server then stops working);
Ctrl+C ends the server; Reset applies a slider or a typed seed; any seed text gets a
message, never a traceback; the Info panel, the full event log with filters, the lesson
presets, "Keep this run" and "Download this run" (whose command, run from the CLI,
reproduces the page's key figures) all work.

Timing targets (a Step under 0.2 s, Play at 5 months per second or more) are written to
test-artifacts/ui-timing.json; the assertions use generous bounds because test machines
are shared. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright
from ui_harness import PageWatch, free_port, launch_browser, serve_solara

from market import cli
from market.io.params import PARAMS
from market.io.scenario import builtin_names, load_scenario
from market.run import runner
from market.view.app import INFO_FILE, KEY_FIGURES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "market" / "view" / "app.py"
ARTIFACTS = ROOT / "test-artifacts"
SCENARIO = "classroom"  # ten firms: the scenario a class starts with
PLOTS = ["prices", "capacity", "concentration", "rationing", "training"]
VIEWPORT = {"width": 1280, "height": 720}
TIMEOUT_MS = 30_000
TIMING: dict = {}  # filled by the timing tests, written at the end of the module

# Clicks Step in the page and resolves, after the next frame, once the month shown and
# every chart and the network have been redrawn: the time a teacher waits, without the
# test driver's own latency.
STEP_JS = """() => new Promise((resolve) => {
  const views = () => Array.from(document.querySelectorAll('.cm-figure'), e => e.innerHTML);
  const date = () => document.querySelector('[data-key="date"]').innerText;
  const beforeDate = date(), beforeViews = views();
  const button = Array.from(document.querySelectorAll('button'))
    .find(b => b.innerText.trim() === 'Step');
  const t0 = performance.now();
  const done = () => {
    const now = views();
    return date() !== beforeDate && now.length === beforeViews.length
      && now.every((v, i) => v !== beforeViews[i]);
  };
  const watcher = new MutationObserver(() => {
    if (done()) {
      watcher.disconnect();
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
    }
  });
  watcher.observe(document.body, {subtree: true, childList: true, characterData: true});
  button.click();
})"""
# Every piece of text shown in the main area or as help on the left, with its size on
# screen in px (an SVG's text scaled by how the SVG is drawn).
TEXT_SIZES_JS = """() => {
  const out = [];
  const roots = document.querySelectorAll('.cm-main, .cm-note, .cm-help, .cm-status');
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, el = node.parentElement;
      if (!node.textContent.trim() || !el || el.closest('title')) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      let px = parseFloat(getComputedStyle(el).fontSize);
      const svg = el.closest('svg');
      if (svg) px *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      out.push([node.textContent.trim().slice(0, 40), px]);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("ui") / "solara.log"
    with serve_solara(APP, free_port(), log, env={"COMPUTE_MARKET_SCENARIO": SCENARIO}) as url:
        yield url
    ARTIFACTS.mkdir(exist_ok=True)
    if TIMING:
        (ARTIFACTS / "ui-timing.json").write_text(json.dumps(TIMING, indent=2) + "\n")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


class UI:
    """One browser tab on the page: a fresh Solara session, so a fresh market."""

    def __init__(self, browser, url):
        self.context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.watch = PageWatch(self.page)
        self.page.goto(url)
        self.page.locator(".cm-plot-training svg").wait_for()

    def key_figures(self) -> dict[str, str]:
        return self.page.locator("[data-key]").evaluate_all(
            "els => Object.fromEntries(els.map(e => [e.dataset.key, e.innerText.trim()]))"
        )

    def date(self) -> str:
        return self.page.locator('[data-key="date"]').inner_text()

    def month(self) -> int:
        return int(self.page.locator(".cm-status").inner_text().split()[1])

    def step(self) -> float:
        """Click Step; the seconds until the page shows the next month. Returns once the
        status line says so too (it may render a moment after the charts)."""
        before = self.month()
        seconds = self.page.evaluate(STEP_JS) / 1000.0
        expect(self.page.locator(".cm-status")).to_contain_text(f"month {before + 1} of")
        return seconds

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def type_seed(self, text: str) -> None:
        field = self.page.get_by_label("seed [integer >= 0]")
        field.fill(text)
        field.press("Enter")  # the field sends its value on Enter or when it loses focus
        # the server has it when the page says a Reset is needed to apply it
        expect(self.page.locator(".cm-pending")).to_be_visible()

    def choose_scenario(self, name: str) -> None:
        self.page.locator(".cm-scenario .v-select").click()
        self.page.get_by_role("option", name=name, exact=True).click()
        expect(self.page).to_have_title(f"Compute Market: {name}")
        expect(self.page.locator(".cm-status")).to_contain_text("month 0 of")

    def no_problems(self) -> None:
        """No script error, failed or external request, and no traceback on the page."""
        assert self.watch.problems() == []
        assert "Traceback" not in self.page.locator("body").inner_text()

    def close(self):
        self.context.close()


@pytest.fixture
def ui(server, browser):
    u = UI(browser, server)
    yield u
    u.close()


def page_figures(ts: pd.DataFrame, month: int) -> dict[str, str]:
    """The key figures the page shows after ``month`` months of a run's time series."""
    last = ts.iloc[month - 1]
    out = {}
    for key, _, col, fmt, scale in KEY_FIGURES:
        if col in ts:
            out[key] = str(last[col]) if scale is None else fmt.format(last[col] * scale)
    return out


# --------------------------------------------------------------------------- tests


def test_the_page_fits_a_projector_and_works_offline(ui):
    page = ui.page
    expect(page).to_have_title(f"Compute Market: {SCENARIO}")
    assert ui.key_figures()["date"] == "none yet (first: 2026-01)"
    for _ in range(12):
        ui.step()
    assert ui.date() == "2026-12"
    # key figures, the network and the two main plots, whole, without scrolling
    for sel in (
        ".cm-key-figures",
        ".cm-network svg",
        ".cm-plot-prices svg",
        ".cm-plot-capacity svg",
    ):
        box = page.locator(sel).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], sel
        assert box["x"] + box["width"] <= VIEWPORT["width"], sel
    # the charts really drew: lines on every plot, dots and arrows on the network
    for name in PLOTS:
        assert page.locator(f".cm-plot-{name} svg polyline, .cm-plot-{name} svg polygon").count()
    assert page.locator(".cm-network circle.cm-firm").count() >= 9
    assert page.locator(".cm-network .cm-tie").count() >= 1
    sizes = page.evaluate(TEXT_SIZES_JS)
    small = [(text, round(px, 1)) for text, px in sizes if px < 13.95]
    assert len(sizes) > 100 and small == []
    # no framework internals, no banner over the plots
    body = page.locator("body").inner_text()
    for internal in ("PAGE 0", "Time:", "Render Interval", "Use Threads", "runs on Solara"):
        assert internal not in body
    # hovering an arrow names the seller, the buyer, the size and the price
    tip = page.locator(".cm-network .cm-tie title").first.text_content()
    assert " sells to " in tip and "H100e at " in tip and "USD per H100e-hour" in tip
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-1280x720.png"))
    # the rest of the market tab and of the settings, scrolled into view
    page.locator(".cm-main").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.locator(".cm-side").evaluate("el => { el.scrollTop = 560; }")
    page.screenshot(path=str(ARTIFACTS / "ui-1280x720-scrolled.png"))
    ui.no_problems()


def test_a_step_is_quick_and_exactly_one_month(ui):
    ui.step()  # the first month also warms up the page
    seconds = [ui.step() for _ in range(20)]
    assert ui.month() == 21 and ui.date() == "2027-09"
    median = statistics.median(seconds)
    TIMING[f"{SCENARIO}_step_seconds"] = {
        "median": round(median, 4),
        "max": round(max(seconds), 4),
        "steps": len(seconds),
        "viewport": "1280x720",
        "target_median": 0.2,
    }
    print(f"Step: median {median:.3f} s, max {max(seconds):.3f} s over {len(seconds)} steps")
    assert median < 1.0  # generous: shared machines; the target (0.2 s) is reported
    ui.no_problems()


def test_play_runs_several_months_a_second_and_pause_stops_it(ui, server):
    page = ui.page
    ui.button("▶ Play").click()
    expect(ui.button("Step")).to_be_disabled()
    page.wait_for_function(
        "() => document.querySelector('.cm-status').innerText !== 'month 0 of 120'"
    )
    start, t0 = ui.month(), time.perf_counter()
    time.sleep(3.0)
    months, seconds = ui.month() - start, time.perf_counter() - t0
    ui.button("❚❚ Pause").click()
    expect(ui.button("Step")).to_be_enabled()
    rate = months / seconds
    TIMING[f"{SCENARIO}_play_months_per_second"] = {"rate": round(rate, 2), "target": 5.0}
    print(f"Play: {rate:.1f} months per second")
    assert rate >= 2.0  # generous: shared machines; the target (5) is reported
    # after Pause nothing else steps the market: each Step is exactly one month
    before = ui.month()
    time.sleep(0.5)
    assert ui.month() == before
    ui.step()
    assert ui.month() == before + 1
    ui.no_problems()


def test_play_at_full_speed_stops_at_the_horizon(ui):
    page = ui.page
    speed = page.get_by_role("slider", name="Play speed [months per second]")
    speed.focus()
    speed.press("End")
    ui.button("▶ Play").click()
    t0 = time.perf_counter()
    expect(page.locator(".cm-status")).to_contain_text("month 120 of 120", timeout=60_000)
    rate = 120 / (time.perf_counter() - t0)
    TIMING[f"{SCENARIO}_play_months_per_second_at_full_speed"] = {"rate": round(rate, 2)}
    print(f"Play at full speed: {rate:.1f} months per second")
    expect(page.locator(".cm-at-horizon")).to_be_visible()
    expect(ui.button("▶ Play")).to_be_disabled()
    expect(ui.button("Step")).to_be_disabled()
    assert ui.date() == "2035-12"
    # the page's months are the runner's months: nothing was read half-written
    ts = runner.run(SCENARIO).timeseries
    assert ui.key_figures() == page_figures(ts, 120)
    ui.no_problems()


def test_changing_scenario_during_play_stops_play(ui):
    ui.button("▶ Play").click()
    expect(ui.page.locator(".cm-status")).not_to_contain_text("month 0 of", timeout=10_000)
    ui.choose_scenario("baseline")
    expect(ui.button("▶ Play")).to_be_enabled()
    expect(ui.button("Step")).to_be_enabled()
    time.sleep(1.0)
    assert ui.month() == 0
    assert ui.page.locator('[data-param="seed"]').inner_text() == str(
        load_scenario("baseline").seed
    )
    ui.step()
    assert ui.month() == 1
    ui.no_problems()


def test_closing_the_tab_during_play_stops_the_server_stepping(server, browser):
    ui = UI(browser, server)
    ui.button("▶ Play").click()
    expect(ui.page.locator(".cm-status")).not_to_contain_text("month 0 of", timeout=10_000)
    ui.close()
    deadline = time.monotonic() + 30
    while "play stopped at" not in server.log_text().split("the page was closed")[-1] and (
        "the page was closed" not in server.log_text()
    ):
        assert time.monotonic() < deadline, server.log_text()[-2000:]
        time.sleep(0.2)
    cpu0 = server.cpu_seconds()
    time.sleep(3.0)
    busy = server.cpu_seconds() - cpu0
    assert busy < 0.6, f"the server used {busy:.2f} s of CPU in 3 s after the tab closed"


@pytest.mark.parametrize("seed", ["²", "twelve", "-1", "3.5"])
def test_any_seed_text_gets_a_message_never_a_traceback(ui, seed):
    ui.type_seed(seed)
    ui.button("Reset").click()
    error = ui.page.locator(".cm-error")
    expect(error).to_contain_text(f"field 'seed' = {seed!r} is not allowed")
    expect(error).to_contain_text("an integer from 0")
    expect(ui.button("Step")).to_be_disabled()
    ui.type_seed("3")
    ui.button("Reset").click()
    expect(ui.page.locator('[data-param="seed"]')).to_have_text("3")
    ui.step()
    assert ui.date() == "2026-01"
    ui.no_problems()


def test_reset_applies_a_slider_and_a_typed_seed(ui):
    page = ui.page
    name = "demand_growth_per_year"
    slider = page.get_by_role("slider", name="demand growth per year")
    slider.focus()
    slider.press("Home")  # the declared minimum
    expect(slider).to_have_attribute("aria-valuenow", f"{PARAMS[name].min:g}")
    expect(page.locator(".cm-pending")).to_be_visible()  # says Reset is needed
    ui.type_seed("7")
    ui.button("Reset").click()
    expect(page.locator(f'[data-param="{name}"]')).to_have_text(f"{PARAMS[name].min:g}")
    expect(page.locator('[data-param="seed"]')).to_have_text("7")
    for _ in range(3):
        ui.step()
    ts = runner.run(SCENARIO, seed=7, years=3 / 12, overrides={name: PARAMS[name].min}).timeseries
    default = runner.run(SCENARIO, years=3 / 12).timeseries
    assert page_figures(ts, 3) != page_figures(default, 3)
    assert ui.key_figures() == page_figures(ts, 3)
    ui.no_problems()


def test_the_info_panel_and_the_whole_event_log(ui):
    page = ui.page
    for _ in range(12):
        ui.step()
    page.get_by_role("tab", name="Info").click()
    info = page.locator(".cm-info")
    for heading in (
        "What is it",
        "How it works",
        "How to use it",
        "Things to notice",
        "Things to try",
        "Extending the model",
        "Sources",
    ):
        expect(info.get_by_role("heading", name=heading)).to_be_visible()
    first_line = INFO_FILE.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    expect(info).to_contain_text(first_line)
    page.screenshot(path=str(ARTIFACTS / "ui-info.png"))
    page.get_by_role("tab", name="Events").click()
    count = page.locator(".cm-event-count")
    expect(count).to_contain_text("of ")
    total = int(count.inner_text().split(" of ")[1].split()[0])
    assert total >= 12
    page.locator(".cm-event-filters .v-select").nth(0).click()
    page.locator(".menuable__content__active").get_by_role(
        "option", name="contract", exact=True
    ).click()
    expect(count).not_to_contain_text(f"of {total} ")
    kinds = page.locator(".cm-all-events .cm-kind").all_inner_texts()
    assert kinds and set(kinds) == {"contract"}
    # the first firm in the list that signed a contract so far (a broker may have none)
    shown = " ".join(page.locator(".cm-all-events li").all_inner_texts())
    page.locator(".cm-event-filters .v-select").nth(1).click()
    options = page.locator(".menuable__content__active [role=option]")
    names = options.all_inner_texts()
    k = next(i for i, name in enumerate(names) if i > 0 and name in shown)
    firm_name = names[k]
    contracts = count.inner_text()
    options.nth(k).click()
    expect(count).not_to_have_text(contracts)
    items = page.locator(".cm-all-events li").all_inner_texts()
    assert items and all(firm_name in t for t in items)
    page.screenshot(path=str(ARTIFACTS / "ui-events.png"))
    ui.no_problems()


def test_lesson_presets_are_listed_and_load(ui):
    page = ui.page
    page.locator(".cm-scenario .v-select").click()
    listed = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert set(builtin_names()) <= set(listed)
    for name in [n for n in builtin_names() if n.startswith("lesson-")]:
        ui.choose_scenario(name)
        expect(page.locator(".cm-scenario .cm-note")).to_contain_text(
            load_scenario(name).description
        )
        ui.step()
        assert ui.month() == 1
    ui.no_problems()


def test_keep_a_run_and_download_one_that_the_cli_reproduces(ui, tmp_path):
    page = ui.page
    for _ in range(6):
        ui.step()
    ui.button("Keep this run").click()
    expect(page.locator(".cm-kept")).to_contain_text(f"{SCENARIO}, seed 1, 6 months")
    ui.type_seed("4")
    ui.button("Reset").click()
    expect(page.locator('[data-param="seed"]')).to_have_text("4")
    for _ in range(4):
        ui.step()
    for name in PLOTS:  # the kept run, faint, on every plot
        assert page.locator(f'.cm-plot-{name} svg g[opacity="0.35"]').count() >= 1, name
    page.screenshot(path=str(ARTIFACTS / "ui-kept-run.png"))
    command = page.locator(".cm-command").inner_text().strip()
    assert command.startswith(f"compute-market run --scenario {SCENARIO} --seed 4 --years ")
    with page.expect_download() as download:
        page.get_by_text("Download this run").click()
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {"timeseries.csv", "manifest.json", "command.txt"} <= set(z.namelist())
        assert z.read("command.txt").decode().strip() == command
    argv = command.split()
    assert cli.main([*argv[1:], "--out", str(tmp_path / "run"), "--no-figures", "--quiet"]) == 0
    ts = pd.read_csv(tmp_path / "run" / "timeseries.csv")
    assert len(ts) == 4
    assert ui.key_figures() == page_figures(ts, 4)
    ui.no_problems()


def test_ctrl_c_ends_the_server_even_during_play(browser, tmp_path):
    port = free_port()
    with open(tmp_path / "ui.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "market.cli", "ui", "--scenario", SCENARIO, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        ui = None
        while ui is None:
            try:
                ui = UI(browser, url)
            except Exception:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.5)
        ui.button("▶ Play").click()
        expect(ui.page.locator(".cm-status")).not_to_contain_text("month 0 of", timeout=10_000)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl+C in the terminal sends
        proc.wait(timeout=20)
        ui.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("the server was still running 20 s after Ctrl+C")
