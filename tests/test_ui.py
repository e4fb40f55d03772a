"""The browser UI in headless Chromium, against a Solara server this module starts.

What a teacher relies on: the page loads with every view and no page errors; Step
advances the month and redraws the plots and the network; Play steps on its own;
Reset after moving a slider (or typing a seed) rebuilds the market with that value;
a typed seed gives the same months as the same seed given to the runner; a bad seed
is explained on the page. The timing test writes how long a Step takes
(test-artifacts/ui-timing.json); it records, it does not assert.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from ui_harness import PageWatch, free_port, launch_browser, serve_solara

from market.core.model import ComputeMarket, month_offset
from market.io.params import PARAMS, ui_params
from market.io.scenario import builtin_names, load_scenario
from market.run import runner
from market.view.app import label

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "market" / "view" / "app.py"
ARTIFACTS = ROOT / "test-artifacts"
SCENARIO = "classroom"  # ten firms: the fastest page
FIGURES = ".cm-figure"  # the network first, then the five plots
PLOTS = ["prices", "capacity", "concentration", "rationing", "training"]
TIMEOUT_MS = 30_000

DIGESTS_JS = """async (sel) => {
  const out = [];
  for (const img of document.querySelectorAll(sel)) {
    const buf = await (await fetch(img.src)).arrayBuffer();
    const h = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
    out.push(Array.from(h).map(b => b.toString(16).padStart(2, '0')).join(''));
  }
  return out;
}"""
REDRAWN_JS = """([sel, before]) => {
  const now = Array.from(document.querySelectorAll(sel)).map(i => i.src);
  return now.length === before.length && now.every((s, i) => s !== before[i]);
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("ui") / "solara.log"
    with serve_solara(APP, free_port(), log, env={"COMPUTE_MARKET_SCENARIO": SCENARIO}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


class UI:
    """One browser tab on the page: a fresh Solara session, so a fresh market."""

    def __init__(self, browser, url):
        self.context = browser.new_context(viewport={"width": 1400, "height": 2600})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.watch = PageWatch(self.page)
        self.page.goto(url)
        self.page.locator(FIGURES).nth(len(PLOTS)).wait_for()

    def key_figures(self) -> dict[str, str]:
        return self.page.locator("[data-key]").evaluate_all(
            "els => Object.fromEntries(els.map(e => [e.dataset.key, e.innerText.trim()]))"
        )

    def date(self) -> str:
        return self.page.locator('[data-key="date"]').inner_text()

    def srcs(self) -> list[str]:
        return self.page.locator(FIGURES).evaluate_all("els => els.map(e => e.src)")

    def digests(self) -> list[str]:
        return self.page.evaluate(DIGESTS_JS, FIGURES)

    def step(self) -> float:
        """Click Step and wait until the month and every figure have been redrawn;
        return the seconds that took."""
        date, srcs = self.date(), self.srcs()
        t0 = time.perf_counter()
        self.page.get_by_role("button", name="Step").click()
        self.page.wait_for_function(
            "d => document.querySelector('[data-key=\"date\"]').innerText !== d", arg=date
        )
        self.page.wait_for_function(REDRAWN_JS, arg=[FIGURES, srcs])
        return time.perf_counter() - t0

    def reset(self) -> None:
        """Click Reset; callers then wait for what the rebuilt market shows."""
        self.page.get_by_role("button", name="Reset").click()

    def type_seed(self, text: str) -> None:
        field = self.page.get_by_label("seed [integer >= 0]")
        field.fill(text)
        field.press("Enter")  # the field sends its value on Enter or when it loses focus

    def close(self):
        self.context.close()


@pytest.fixture
def ui(server, browser):
    u = UI(browser, server)
    yield u
    u.close()


def expected_figures(seed: int, months: int, overrides=None) -> dict[str, str]:
    """Key figures after `months` steps, from the runner (the one way to run a model)."""
    ts = runner.run(SCENARIO, seed=seed, years=months / 12, overrides=overrides).timeseries
    last = ts.iloc[months - 1]
    return {
        "date": last["month"],
        "spot_price_index": f"{last['spot_price_index_usd_per_h100e_hour']:.2f}",
        "capacity_hhi": f"{last['capacity_hhi']:,.0f}",
        "lab_compute_hhi": f"{last['lab_compute_hhi']:,.0f}",
        "capacity_total": f"{last['capacity_h100e_total'] / 1e6:.2f}",
        "rationed_share": f"{last['rationed_share']:.1%}",
    }


def shown(ui: UI, keys) -> dict[str, str]:
    figures = ui.key_figures()
    return {k: figures[k] for k in keys}


# --------------------------------------------------------------------------- tests


def test_page_loads_with_every_view_and_no_errors(ui):
    page = ui.page
    figures = ui.key_figures()
    assert figures["date"].startswith("none yet (first: 2026-01)")
    assert page.locator(".cm-network img").is_visible()
    for name in PLOTS:
        assert page.locator(f".cm-plot-{name} img").is_visible(), name
    assert page.locator(".cm-key-figures").is_visible()
    assert page.locator(".cm-event-log").is_visible()
    assert page.locator(".cm-contracts table").is_visible()
    # every view says what it shows
    assert page.locator(".cm-note").count() >= len(PLOTS) + 5
    # controls: the scenario, the seed and one input per ui=True declaration
    assert page.locator(".cm-scenario").get_by_text(SCENARIO).first.is_visible()
    seed = str(load_scenario(SCENARIO).seed)
    assert page.get_by_label("seed [integer >= 0]").input_value() == seed
    settings = page.locator(".cm-settings").inner_text()
    for p in ui_params():
        if p.kind in (int, float):
            assert page.get_by_role("slider", name=label(p), exact=True).count() == 1, p.name
        assert p.help in settings and p.allowed() in settings, p.name
    page.get_by_role("button", name="Step").click()
    expect(page.locator('[data-key="date"]')).to_have_text("2026-01")
    assert ui.watch.problems() == []


def test_step_advances_the_month_and_redraws_the_plots_and_network(ui):
    ui.step()
    assert ui.date() == "2026-01"
    before = ui.digests()
    assert len(before) == 1 + len(PLOTS)
    for _ in range(3):
        ui.step()
    assert ui.date() == "2026-04"
    after = ui.digests()
    changed = [b != a for b, a in zip(before, after, strict=False)]
    assert all(changed), dict(zip(["network", *PLOTS], changed, strict=False))
    # the event log and contract table follow the model
    assert ui.page.locator(".cm-events li").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    ui.page.screenshot(path=str(ARTIFACTS / "ui.png"))
    assert ui.watch.problems() == []


def test_play_steps_on_its_own_and_pause_stops_it(ui):
    page = ui.page
    page.get_by_role("button", name="▶").click()
    page.wait_for_function(
        "() => /^\\d{4}-\\d{2}$/.test(document.querySelector('[data-key=\"date\"]').innerText)"
        " && document.querySelector('[data-key=\"date\"]').innerText >= '2026-03'"
    )
    page.get_by_role("button", name="❚❚").click()
    expect(page.get_by_role("button", name="Step")).to_be_enabled()  # disabled while playing
    # A month Play had already begun may still land during the first Step; from then on
    # each Step is exactly one month, so nothing else is stepping the market.
    ui.step()
    date = ui.date()
    ui.step()
    assert month_offset(date, ui.date()) == 1
    assert ui.watch.problems() == []


def test_reset_after_moving_a_slider_rebuilds_the_market_with_that_value(ui):
    page = ui.page
    name = "demand_growth_per_year"  # moves the key figures within the first months
    slider = page.get_by_role("slider", name="demand growth per year")
    slider.focus()
    slider.press("Home")  # the declared minimum
    expect(slider).to_have_attribute("aria-valuenow", f"{PARAMS[name].min:g}")
    ui.reset()
    setting = page.locator(f'[data-param="{name}"]')
    expect(setting).to_have_text(f"{PARAMS[name].min:g}")
    months = 3
    for _ in range(months):
        ui.step()
    keys = [
        "date",
        "spot_price_index",
        "capacity_hhi",
        "lab_compute_hhi",
        "capacity_total",
        "rationed_share",
    ]
    with_slider = expected_figures(load_scenario(SCENARIO).seed, months, {name: PARAMS[name].min})
    default = expected_figures(load_scenario(SCENARIO).seed, months)
    assert with_slider != default  # otherwise this test could not tell them apart
    assert shown(ui, keys) == with_slider
    assert ui.watch.problems() == []


def test_a_typed_seed_gives_the_same_months_as_the_runner(ui):
    seed, months = 7, 3
    assert seed != load_scenario(SCENARIO).seed
    ui.type_seed(str(seed))
    ui.reset()
    expect(ui.page.locator('[data-param="seed"]')).to_have_text(str(seed))
    for _ in range(months):
        ui.step()
    expected = expected_figures(seed, months)
    assert expected != expected_figures(load_scenario(SCENARIO).seed, months)
    assert shown(ui, expected) == expected
    assert ui.watch.problems() == []


def test_a_bad_seed_is_explained_on_the_page_and_can_be_fixed(ui):
    ui.type_seed("twelve")
    ui.reset()
    error = ui.page.locator(".cm-key-figures .cm-error")
    expect(error).to_contain_text("field 'seed' = 'twelve' is not allowed")
    expect(error).to_contain_text("integer >= 0")
    ui.type_seed("3")
    ui.reset()
    expect(ui.page.locator('[data-param="seed"]')).to_have_text("3")
    ui.step()
    assert ui.date() == "2026-01"
    assert ui.watch.problems() == []


def _choose_scenario(ui: UI, name: str) -> None:
    ui.page.locator(".cm-scenario .v-select").click()
    ui.page.get_by_role("option", name=name, exact=True).click()
    expect(ui.page.locator(".cm-key-figures h3")).to_have_text(f"Key figures: {name}")
    ui.page.locator(FIGURES).nth(len(PLOTS)).wait_for()


def test_the_scenario_selector_starts_that_scenario_with_its_own_settings(ui):
    other = "baseline"
    assert other in builtin_names()
    _choose_scenario(ui, other)
    expected_seed = load_scenario(other).seed
    expect(ui.page.locator('[data-param="seed"]')).to_have_text(str(expected_seed))
    assert ui.page.get_by_label("seed [integer >= 0]").input_value() == str(expected_seed)
    ui.step()
    ts = runner.run(other, seed=expected_seed, years=1 / 12).timeseries
    assert ui.key_figures()["active_labs"] == f"{ts['active_labs'].iloc[0]:.0f}"
    assert ui.watch.problems() == []


def test_how_long_a_step_takes(ui):
    """Records model time and time until the page has redrawn, per scenario."""
    steps = 3
    results = {}
    for name in [n for n in (SCENARIO, "baseline", "colossus-2026") if n in builtin_names()]:
        if name != SCENARIO:
            _choose_scenario(ui, name)
        page_s = [ui.step() for _ in range(steps)]
        model = ComputeMarket(scenario=name)
        model_s = []
        for _ in range(steps):
            t0 = time.perf_counter()
            model.step()
            model_s.append(time.perf_counter() - t0)
        results[name] = {
            "months": steps,
            "model_s_per_step_mean": sum(model_s) / steps,
            "page_s_per_step_mean": sum(page_s) / steps,
            "page_s_per_step_max": max(page_s),
        }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ui-timing.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    assert set(results) >= {SCENARIO, "baseline"}
    assert ui.watch.problems() == []
