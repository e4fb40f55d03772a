"""The speed benchmark runs end to end at tiny sizes and writes its figures.

Timings are not asserted: they depend on the machine. What a user relies on is that
every size appears with every figure, that the JSON holds what tools read, that the
scaled markets have about the asked number of agents, and that bad flags are refused
cleanly."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import benchmark
from market.core.model import ComputeMarket
from market.io.scenario import load_scenario
from market.run import scale

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--months", "2", "--warmup", "1", "--repeats", "1"]


def test_runs_and_writes_every_figure_as_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert benchmark.main(["--sizes", "30,60", *TINY, "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    for header in benchmark.HEADERS:
        assert header in printed
    assert "growth exponent" in printed

    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["rows"]
    assert len(rows) == 2
    for row in rows:
        assert set(row) == {"agents", "us_per_agent_month", "reference_us_per_agent_step", "ratio"}
        assert row["us_per_agent_month"] > 0 and row["reference_us_per_agent_step"] > 0
        assert row["ratio"] == pytest.approx(
            row["us_per_agent_month"] / row["reference_us_per_agent_step"]
        )
    assert rows[1]["agents"] > rows[0]["agents"]
    a, b = rows
    expected = math.log(
        (b["us_per_agent_month"] * b["agents"]) / (a["us_per_agent_month"] * a["agents"])
    ) / math.log(b["agents"] / a["agents"])
    assert data["exponent"] == pytest.approx(expected)
    expected_reference = math.log(
        (b["reference_us_per_agent_step"] * b["agents"])
        / (a["reference_us_per_agent_step"] * a["agents"])
    ) / math.log(b["agents"] / a["agents"])
    assert data["reference_exponent"] == pytest.approx(expected_reference)
    assert data["settings"]["clock"] == "process_time"


def test_one_size_with_agents_has_no_exponent(tmp_path):
    path = tmp_path / "bench.json"
    assert benchmark.main(["--agents", "40", *TINY, "--json", str(path)]) == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["rows"]) == 1 and data["exponent"] is None
    assert data["reference_exponent"] is None


def test_profile_is_written_on_request(tmp_path):
    path = tmp_path / "profile.txt"
    assert benchmark.main(["--agents", "30", *TINY, "--profile", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert "stage_" in text and "cumulative" in text


def test_scaled_market_has_about_the_asked_agents_and_scales_the_market():
    base = scale.scenario_dict("baseline")
    merchants = scale.shared_agent_count(base)
    per_copy = scale.firm_count(base) - merchants
    spec, copies = scale.market_for_size(base, 10 * per_copy + merchants)
    assert copies == 10
    model = ComputeMarket(scenario=spec, rng=3)
    assert len(model.agents) == 10 * per_copy + merchants
    assert len(model.contracts) == 10 * len(base["contract"])
    assert len(model.facilities) == 10 * len(ComputeMarket(scenario=base, rng=3).facilities)
    base_spec = load_scenario(base)
    assert spec.params["inference_demand_h100e_initial"] == pytest.approx(
        10 * base_spec.params["inference_demand_h100e_initial"]
    )
    for region, base_region in zip(spec.tables["region"], base_spec.tables["region"], strict=True):
        assert region["grid_mw_per_year"] == pytest.approx(10 * base_region["grid_mw_per_year"])
    # merchant suppliers serve the whole market: as many as before, ten times the output
    base_output = sum(
        r["production_h100e_per_month"]
        for r in base_spec.tables["chip_supplier"]
        if not r["captive_parent"]
    )
    merchant_rows = [r for r in spec.tables["chip_supplier"] if not r["captive_parent"]]
    assert sum(r["count"] for r in merchant_rows) == scale.merchant_supplier_count(base)
    assert sum(r["production_h100e_per_month"] for r in merchant_rows) == pytest.approx(
        10 * base_output
    )
    # each copy keeps its own captive chip program, owned by that copy's firm
    parents = [s.captive_parent_name for s in model.suppliers() if s.captive_parent_name]
    assert len(parents) == len(set(parents)) == 10


def test_a_huge_market_is_the_same_market_per_agent():
    """Totals of the built market pass the ranges declared for scenario files (they are
    k times one copy's), and the model takes them as they are."""
    from market.io.params import PARAMS

    base = scale.scenario_dict("baseline")
    base_spec = load_scenario(base)
    spec, copies = scale.market_for_size(base, 40_000)
    demand = PARAMS["inference_demand_h100e_initial"]
    assert spec.params[demand.name] == copies * base_spec.params[demand.name] > demand.max
    grid = [r["grid_mw_per_year"] for r in spec.tables["region"]]
    assert grid == [copies * r["grid_mw_per_year"] for r in base_spec.tables["region"]]
    assert max(grid) > 1e7  # the declared maximum of one region's grant in a file
    assert spec.firm_count() == pytest.approx(40_000, rel=0.001)
    model = ComputeMarket(scenario=scale.with_horizon(spec, 1), rng=3)
    assert model.p.inference_demand_h100e_initial == spec.params[demand.name]


def test_a_copy_outside_the_declared_ranges_is_refused():
    """Each copy is checked as a scenario file is: the builder multiplies only values
    that are within their ranges in one copy."""
    base = scale.scenario_dict("baseline")
    base["params"]["inference_demand_h100e_initial"] = 2e8
    with pytest.raises(scale.ScaleError, match="inference_demand_h100e_initial"):
        scale.market_for_size(base, 300)


def test_rows_past_the_row_limit_are_split_into_parts_with_their_sites_and_contracts(
    monkeypatch,
):
    import market.io.scenario as scenario_module

    base = scale.scenario_dict("baseline")
    whole, _ = scale.market_for_size(base, 300)
    # a row limit of 7 firms splits every multiplied archetype into parts; the builder
    # validates the result: every owner, party and parent names a firm of the market
    monkeypatch.setattr(scenario_module, "COUNT_MAX", 7)
    split, _ = scale.market_for_size(base, 300)
    assert split.firm_count() == whole.firm_count()
    for section in ("hyperscaler", "neocloud", "lab"):
        assert all(row["count"] <= 7 for row in split.tables[section])
        assert len(split.tables[section]) > len(whole.tables[section])
    a, b = ComputeMarket(scenario=whole, rng=3), ComputeMarket(scenario=split, rng=3)
    assert len(b.agents) == len(a.agents)
    assert len(b.facilities) == len(a.facilities)
    assert len(b.contracts) == len(a.contracts)
    assert sorted(f.power_mw for f in b.facilities.values()) == sorted(
        f.power_mw for f in a.facilities.values()
    )
    parents = [s.captive_parent_name for s in b.suppliers() if s.captive_parent_name]
    assert (
        len(parents)
        == len(set(parents))
        == len([s for s in a.suppliers() if s.captive_parent_name])
    )


def test_a_market_of_100000_agents_is_a_valid_scenario():
    from market.io.scenario import COUNT_MAX

    spec, copies = scale.market_for_size(scale.scenario_dict("baseline"), 100_000)
    assert spec.firm_count() + len(spec.tables["broker"]) == pytest.approx(100_000, rel=0.001)
    rows = [r for s in scale.FIRM_SECTIONS for r in spec.tables[s]]
    assert max(r["count"] for r in rows) <= COUNT_MAX
    assert len(spec.tables["contract"]) == copies * 4


@pytest.mark.parametrize(
    "flags, field",
    [
        (["--sizes", "100,abc"], "--sizes"),
        (["--sizes", "0"], "--sizes"),
        (["--months", "0"], "--months"),
        (["--repeats", "-2"], "--repeats"),
        (["--agents", "0"], "--agents"),
        (["--scenario", "nowhere"], "--scenario"),
        (["--json", "no/such/folder/b.json"], "--json"),
    ],
)
def test_bad_flags_are_refused_with_one_message(tmp_path, flags, field):
    r = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", *flags],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert field in r.stderr and flags[1] in r.stderr
    assert "measuring" not in r.stderr
    assert not any(tmp_path.iterdir())


def test_listed_and_runnable_as_an_experiment(tmp_path):
    import experiments

    assert "benchmark" in dict(experiments.catalogue())
    path = tmp_path / "bench.json"
    assert experiments.run("benchmark", ["--agents", "30", *TINY, "--json", str(path)]) == 0
    assert json.loads(path.read_text(encoding="utf-8"))["rows"]


def test_scale_run_prints_its_figures(capsys):
    assert scale.main(["--agents", "60", "--months", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["months"] == 2 and len(result["s_per_month"]) == 2
    assert abs(result["agents"] - 60) <= scale.firm_count(scale.scenario_dict("baseline"))
    assert result["peak_rss_mb"] > 0 and result["us_per_agent_month"] > 0
    assert result["gc"] == "freeze"


@pytest.mark.parametrize(
    "flags, field",
    [(["--agents", "0"], "--agents"), (["--agents", "9", "--scenario", "x"], "--scenario")],
)
def test_scale_run_refuses_bad_flags_with_one_line(flags, field):
    r = subprocess.run(
        [sys.executable, "-m", "market.run.scale", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1
    assert field in r.stderr


def test_gc_freeze_collects_as_often_per_agent_at_every_size():
    """The young-generation threshold grows with the market, so a larger market does not
    collect more often per agent-month; the block restores Python's settings after."""
    import gc

    before = gc.get_threshold()
    assert scale.young_threshold(10_000) == 10 * scale.young_threshold(1_000)
    assert scale.young_threshold(1) == scale.GC_YOUNG_THRESHOLD
    with scale.gc_tuned("freeze", 50_000):
        assert gc.get_threshold()[0] == 50_000 * scale.GC_YOUNG_PER_AGENT
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_scaled_market_leaves_no_cyclic_garbage():
    """``--gc freeze`` collects rarely in a large market; that costs no memory only while
    the months leave no reference cycles behind, which this checks."""
    import gc

    data = scale.with_horizon(scale.market_for_size(scale.scenario_dict("baseline"), 300)[0], 4)
    model = ComputeMarket(scenario=data, rng=3)
    with scale.gc_tuned("freeze", len(model.agents)):
        gc.disable()
        try:
            model.run_months(4)
        finally:
            gc.enable()
    assert gc.collect() == 0
