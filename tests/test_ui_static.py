"""The browser UI without a browser: only market/view/app.py imports solara; the controls
come from the parameter declarations; the page's model turns bad values into messages;
every plot copes with a market that has not stepped yet; `compute-market ui` refuses bad
input with one clear line and exit code 2 before starting a server."""

from __future__ import annotations

import ast
import html
import io
import json
import math
import shlex
import socket
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from market import cli
from market.core.model import ComputeMarket
from market.io.params import MODEL_PARAMS, PARAMS, ui_params
from market.io.scenario import builtin_names, load_scenario
from market.run import runner
from market.view import app, launch_ui
from market.view import figures as fg

ROOT = Path(__file__).resolve().parents[1]
UI_MODULES = ("solara", "mesa.visualization", "reacton", "ipyvuetify", "ipywidgets")
# The view, and the setup script that installs Solara's offline assets (it asks solara
# where its asset cache is); no other file may depend on the UI toolkit.
ALLOWED = {ROOT / "market" / "view" / "app.py", ROOT / "scripts" / "fetch_ui_assets.py"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from mesa import visualization`
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_only_the_ui_module_imports_solara_or_mesa_visualization():
    sources = [
        p
        for p in ROOT.rglob("*.py")
        if not any(
            part.startswith(".") or part in ("build", "runs", "node_modules")
            for part in p.relative_to(ROOT).parts
        )
    ]
    assert ROOT / "market" / "view" / "app.py" in sources
    offenders = {}
    for path in sources:
        hits = sorted(
            n for n in _imports(path) if any(n == m or n.startswith(m + ".") for m in UI_MODULES)
        )
        if hits and path not in ALLOWED:
            offenders[str(path.relative_to(ROOT))] = hits
    assert offenders == {}
    assert "solara" in _imports(ROOT / "market" / "view" / "app.py")


@pytest.mark.parametrize("scenario", builtin_names())
def test_the_controls_are_generated_from_the_declarations(scenario):
    spec = load_scenario(scenario)
    params = app.model_params(scenario)
    declared = [p.name for p in MODEL_PARAMS if p.ui]
    assert declared, "no parameter is declared with ui=True"
    # the scenario (fixed), the seed field, then one input per ui=True declaration, in order
    assert list(params) == ["scenario_name", app.SEED_KEY, *declared]
    assert params["scenario_name"] == scenario
    assert params[app.SEED_KEY]["type"] == "InputText"
    assert params[app.SEED_KEY]["value"] == str(spec.seed)
    for name in declared:
        p, control = PARAMS[name], params[name]
        # the starting value is the scenario's, which is the declared default unless the
        # scenario file sets it: nothing in the UI holds a default of its own
        assert control["value"] == spec.params[name]
        assert control["label"] == app.label(p)
        assert control["label"].startswith(name.split("_")[0])
        if p.unit not in ("", "-"):
            assert f"[{p.unit}]" in control["label"]
        if p.choices is not None:
            assert control["type"] == "Select" and control["values"] == list(p.choices)
        elif p.kind is bool:
            assert control["type"] == "Checkbox"
        else:
            assert control["type"] == ("SliderInt" if p.kind is int else "SliderFloat")
            assert (control["min"], control["max"]) == (p.min, p.max)
            # the slider can show the value it starts at and the declared default
            for value in (control["value"], p.default):
                k = (value - p.min) / control["step"]
                assert math.isclose(k, round(k), abs_tol=1e-6), (name, value, control["step"])
            assert (p.max - p.min) / control["step"] <= 10_000


def test_a_scenario_that_sets_a_ui_parameter_starts_its_control_there(tmp_path):
    p = next(p for p in ui_params() if p.kind is float)
    value = p.max if p.default != p.max else p.min
    text = (ROOT / "market" / "scenarios" / "classroom.toml").read_text(encoding="utf-8")
    path = tmp_path / "set.toml"
    path.write_text(text.replace("[params]\n", f"[params]\n{p.name} = {value!r}\n", 1))
    assert load_scenario(path).params[p.name] == value
    assert app.model_params(str(path))[p.name]["value"] == value


def test_a_typed_seed_arrives_as_text_and_builds_the_same_market_as_the_runner():
    page_model = app.PageMarket(scenario_name="classroom", rng=" 7 ")
    assert page_model.ui_error is None and page_model.seed == 7
    page_model.run_for(3)
    ts = app.timeseries(page_model)
    expected = runner.run("classroom", seed=7, years=3 / 12).timeseries
    assert list(ts["month"]) == list(expected["month"])
    assert (
        ts["spot_price_index_usd_per_h100e_hour"].tolist()
        == expected["spot_price_index_usd_per_h100e_hour"].tolist()
    )


def test_an_empty_seed_means_the_scenarios_seed():
    assert app.PageMarket(scenario_name="classroom", rng="").seed == load_scenario("classroom").seed


@pytest.mark.parametrize("seed", ["abc", "-3", "1.5", "7 8", "²", "٣", "1e3"])
def test_a_bad_seed_becomes_a_message_naming_the_field_and_value(seed):
    m = app.PageMarket(scenario_name="classroom", rng=seed)
    assert m.ui_error is not None
    assert "'seed'" in m.ui_error and repr(seed.strip()) in m.ui_error
    assert "an integer from 0" in m.ui_error
    assert m.running is False
    m.step()  # a placeholder: stepping it does nothing and raises nothing
    assert m.steps == 1 and m.ui_error is not None


def test_a_value_the_declaration_does_not_allow_becomes_a_message():
    p = next(p for p in ui_params() if p.kind is float)
    m = app.PageMarket(scenario_name="classroom", **{p.name: p.max * 2 + 1})
    assert m.ui_error is not None and f"'{p.name}'" in m.ui_error


def test_unknown_scenario_becomes_a_message():
    m = app.PageMarket(scenario_name="no-such-scenario")
    assert "unknown scenario 'no-such-scenario'" in m.ui_error


def test_resets_pass_mesas_own_scenario_object_which_is_ignored():
    # SolaraViz's Reset adds `scenario=<mesa Scenario>` next to the page's parameters.
    from mesa.experimental.scenarios import Scenario as MesaScenario

    m = app.PageMarket(
        scenario_name="classroom", rng="2", scenario=MesaScenario(), contest_intensity=0.0
    )
    assert m.ui_error is None and m.spec.name == "classroom" and m.p["contest_intensity"] == 0.0


def test_a_model_failure_in_a_step_stops_with_a_message(monkeypatch):
    m = app.PageMarket(scenario_name="classroom")
    m.step()

    def broken(model):
        raise ZeroDivisionError("division by zero")

    stages = tuple((name, broken if name == "spot" else run) for name, run in ComputeMarket.stages)
    monkeypatch.setattr(ComputeMarket, "stages", stages)
    m.step()
    assert m.running is False
    assert "2026-02" in m.step_error and "ZeroDivisionError" in m.step_error
    monkeypatch.undo()
    m.step()  # stays stopped: the month it failed in is half done
    assert len(app.timeseries(m)) == 1


def _svg(text: str) -> ET.Element:
    """Parse SVG text (fails the test if it is not well-formed)."""
    return ET.fromstring(text)


def test_every_view_draws_before_the_first_step_and_after():
    session = app.Session()
    snap = session.build("classroom", None, {})
    assert len(snap.ts) == 0 and snap.step == 0 and snap.command == ""
    assert app.key_figures(snap.ts, snap.start)[0][2].startswith("none yet")
    for months in (0, 1, 40):
        for _ in range(months):
            snap = session.step()
        assert len(snap.ts) == snap.step == session.model.steps
        for name in app.PLOTS:
            body = app.plot_html(name, snap, ())
            svg = _svg(body[body.index("<svg") :])
            assert int(svg.get("font-size")) >= 14, name
        net = fg.network_svg(list(snap.firms), list(snap.ties), list(snap.supply), snap.pos)
        _svg(net)
    figures = {k: v for k, _, v in app.key_figures(snap.ts, snap.start)}
    assert figures["date"] == session.model.calendar_month == "2029-05"  # 41 months from 2026-01
    assert len(snap.contracts) <= app.CONTRACTS_SHOWN
    sizes = [r.capacity_h100e for r in snap.contracts]
    assert sizes == sorted(sizes, reverse=True)
    # the counters a class watches are running totals from the model's own columns
    for key, column in (
        ("exits", "cumulative_exits"),
        ("acquisitions", "cumulative_acquisitions"),
        ("blocked_mergers", "cumulative_blocked_mergers"),
    ):
        assert figures[key] == f"{snap.ts[column].iloc[-1]:.0f}"


def test_a_step_at_the_horizon_does_nothing():
    session = app.Session()
    snap = session.build("classroom", None, {"years": 2 / 12})
    assert snap.horizon == 2 and not snap.at_horizon
    assert session.step() is not None
    snap = session.step()
    assert snap.at_horizon and not snap.can_step
    assert session.step() is None and session.model.steps == 2


@pytest.mark.parametrize("scenario", builtin_names())
def test_the_network_names_the_largest_firms_and_shows_who_sells_to_whom(scenario):
    session = app.Session()
    session.build(scenario, None, {})
    for _ in range(6):
        snap = session.step()
    svg = fg.network_svg(list(snap.firms), list(snap.ties), list(snap.supply), snap.pos)
    names = {t.text for t in _svg(svg).iter("{http://www.w3.org/2000/svg}text")}
    largest = sorted(snap.firms, key=lambda f: -f.capacity_h100e)[:5]
    assert {f.name for f in largest} <= names
    assert 'marker-end="url(#cm-arrow)"' in svg  # arrows: seller to buyer
    tie = max(snap.ties, key=lambda t: t.capacity_h100e)
    firm = {f.node: f.name for f in snap.firms}
    assert (
        f"{firm[tie.seller]} sells to {firm[tie.buyer]}: {tie.capacity_h100e:,.0f} H100e at "
        f"{tie.price_usd_per_h100e_hour:.2f} USD per H100e-hour"
    ) in html.unescape(svg)


def test_date_ticks_are_few_and_round():
    for horizon in (1, 6, 12, 24, 36, 60, 120, 240, 600):
        ticks = fg.year_ticks("2026-01", horizon)
        assert 1 <= len(ticks) <= 5, (horizon, ticks)
        assert len({t for _, t in ticks}) == len(ticks)


@pytest.mark.parametrize("months", [1, 2, 7, 11, 12, 13, 100, 119, 120, 599])
def test_the_years_in_the_command_give_exactly_the_months_run(months):
    text = app.years_text(months)
    assert round(PARAMS["years"].check(text, "--years") * 12) == months


def test_the_shown_command_reproduces_the_run(tmp_path):
    name = next(p.name for p in ui_params() if p.kind is float)
    value = PARAMS[name].min
    session = app.Session()
    session.build("classroom", "5", {name: value})
    for _ in range(7):
        snap = session.step()
    argv = shlex.split(snap.command)
    assert argv[:2] == ["compute-market", "run"] and f"{name}={value!r}" in argv
    out = tmp_path / "run"
    assert cli.main([*argv[1:], "--out", str(out), "--no-figures", "--quiet"]) == 0
    ts = pd.read_csv(out / "timeseries.csv")
    assert list(ts["month"]) == list(snap.ts["month"])
    for col in ("spot_price_index_usd_per_h100e_hour", "capacity_hhi", "rationed_share"):
        assert ts[col].round(6).tolist() == snap.ts[col].round(6).tolist(), col
    # the download holds the same tables, the manifest and the command
    with zipfile.ZipFile(io.BytesIO(session.zip_bytes())) as z:
        assert {
            "timeseries.csv",
            "contracts.csv",
            "events.csv",
            "manifest.json",
            "command.txt",
        } <= set(z.namelist())
        assert z.read("command.txt").decode().strip() == snap.command
        assert z.read("timeseries.csv") == (out / "timeseries.csv").read_bytes()
        assert json.loads(z.read("manifest.json"))["command"] == snap.command


def test_the_info_panel_renders_the_teaching_text():
    text = app.INFO_FILE.read_text(encoding="utf-8")
    body = app.info_html()
    for heading in (
        "WHAT IS IT?",
        "HOW IT WORKS",
        "HOW TO USE IT",
        "THINGS TO NOTICE",
        "THINGS TO TRY",
        "EXTENDING THE MODEL",
        "SOURCES",
    ):
        assert heading in text and heading in body, heading
    assert "<h2" in body


def test_lesson_presets_are_offered_by_their_names():
    names = app.scenario_names()
    assert set(builtin_names()) <= set(names)
    for name in names:
        if name.startswith("lesson-"):
            assert load_scenario(name).description


# --------------------------------------------------------------------------- launch_ui


@pytest.fixture
def no_server(monkeypatch):
    """Record the server command instead of starting it."""
    calls = []

    def fake_run(cmd, env=None, **kwargs):
        calls.append((cmd, env))

        class Done:
            returncode = 0

        return Done()

    monkeypatch.setattr(launch_ui.subprocess, "run", fake_run)
    return calls


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_prints_the_address_and_serves_the_app_with_the_scenario(no_server, capsys):
    port = _free_port()
    assert cli.main(["ui", "--scenario", "classroom", "--port", str(port)]) == 0
    out = capsys.readouterr().out
    assert f"http://127.0.0.1:{port}/" in out and "classroom" in out
    ((cmd, env),) = no_server
    assert (
        cmd[1:4] == ["-m", "solara", "run"] and Path(cmd[4]) == ROOT / "market" / "view" / "app.py"
    )
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == str(port)
    assert "--production" in cmd
    assert env[launch_ui.SCENARIO_ENV] == "classroom"


def test_ui_passes_a_scenario_file_as_an_absolute_path(no_server, tmp_path, monkeypatch):
    path = tmp_path / "mine.toml"
    path.write_text((ROOT / "market" / "scenarios" / "classroom.toml").read_text())
    monkeypatch.chdir(tmp_path)
    assert cli.main(["ui", "--scenario", "mine.toml", "--port", str(_free_port())]) == 0
    ((_, env),) = no_server
    assert env[launch_ui.SCENARIO_ENV] == str(path)


def test_ui_refuses_an_unknown_scenario(no_server, capsys):
    assert cli.main(["ui", "--scenario", "clasroom", "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown scenario 'clasroom'") and "classroom" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert no_server == []


def test_ui_refuses_a_port_in_use(no_server, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["ui", "--scenario", "classroom", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --port {port}: the port is already in use")
    assert len(err.strip().splitlines()) == 1
    assert no_server == []


@pytest.mark.parametrize("port", ["0", "70000"])
def test_ui_refuses_a_port_out_of_range(no_server, capsys, port):
    assert cli.main(["ui", "--port", port]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --port {port} is not allowed: expected an integer from 1 to 65535"
    )
    assert no_server == []


def test_ui_refuses_a_port_that_is_not_a_number(no_server, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["ui", "--port", "eighty"])
    assert exit_.value.code == 2
    assert "--port" in capsys.readouterr().err
    assert no_server == []


def test_ui_refuses_an_unknown_host(no_server, capsys):
    assert cli.main(["ui", "--host", "no-such-host.invalid", "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --host 'no-such-host.invalid' cannot be used")
    assert no_server == []
