"""The speed benchmark runs end to end at tiny sizes and writes a complete table.

Timings are not asserted: they depend on the machine. What a user relies on is that
every size, the baseline and the reference appear with every column, that the
generated markets have about the asked number of agents, and that bad flags are
refused cleanly."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import benchmark
from market.core.model import ComputeMarket
from market.io.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_smoke_table_has_every_row_and_column(tmp_path, capsys):
    out = tmp_path / "bench"
    code = benchmark.main(
        ["--sizes", "30,60", "--months", "2", "--warmup", "1", "--repeats", "1", "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    for header in benchmark.HEADERS:
        assert header in printed
    assert "per agent-month vs reference per agent-step" in printed
    assert "time per month from" in printed

    with open(out / "benchmark.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["size"] for r in rows] == ["baseline", "30", "60"]
    assert tuple(rows[0]) == benchmark.COLUMNS
    for r in rows:
        for col in (
            "agents",
            "s_per_month",
            "us_per_agent_month",
            "reference_us_per_agent_step",
            "ratio_to_reference",
            "setup_s",
        ):
            assert float(r[col]) > 0, (r["size"], col)
    assert float(rows[2]["agents"]) > float(rows[1]["agents"])
    assert float(rows[2]["agents_vs_previous_size"]) == pytest.approx(
        float(rows[2]["agents"]) / float(rows[1]["agents"]), rel=1e-4
    )
    assert float(rows[2]["growth_vs_previous_size"]) > 0

    md = (out / "benchmark.md").read_text(encoding="utf-8")
    assert "| " + " | ".join(benchmark.HEADERS) + " |" in md
    assert md.count("\n| baseline |") == 1 and "\n| 60 |" in md
    assert not (out / "profile.txt").exists()


def test_generated_market_has_about_the_asked_agents_and_scales_the_market():
    base = benchmark.baseline_dict()
    merchants = benchmark.merchant_supplier_count(base)
    shared = benchmark.fixed_agent_count(base)  # merchant suppliers and brokers
    assert shared == merchants + len(base["broker"])
    per_copy = benchmark.firm_count(base) - shared
    scenario, copies = benchmark.market_for_size(base, 10 * per_copy + shared)
    assert copies == 10
    spec = load_scenario(scenario)  # the generated market is a valid scenario
    model = ComputeMarket(scenario=scenario, rng=3)
    assert len(model.agents) == 10 * per_copy + shared
    assert len(model.contracts) == 10 * len(base["contract"])
    assert len(model.facilities) == 10 * len(ComputeMarket(scenario=base, rng=3).facilities)
    base_spec = load_scenario(base)
    assert spec.params["inference_demand_h100e_initial"] == pytest.approx(
        10 * base_spec.params["inference_demand_h100e_initial"]
    )
    for region, base_region in zip(spec.tables["region"], base_spec.tables["region"], strict=False):
        assert region["grid_mw_per_year"] == pytest.approx(10 * base_region["grid_mw_per_year"])
    # merchant suppliers serve the whole market: as many as before, ten times the output
    base_output = sum(
        r["production_h100e_per_month"]
        for r in base_spec.tables["chip_supplier"]
        if not r["captive_parent"]
    )
    merchant_rows = [r for r in spec.tables["chip_supplier"] if not r["captive_parent"]]
    assert sum(r["count"] for r in merchant_rows) == merchants
    assert sum(r["production_h100e_per_month"] for r in merchant_rows) == pytest.approx(
        10 * base_output
    )
    # each copy keeps its own captive chip program, owned by that copy's firm
    parents = [s.captive_parent_name for s in model.suppliers() if s.captive_parent_name]
    assert len(parents) == len(set(parents)) == 10


def test_profile_is_written_on_request(tmp_path):
    out = tmp_path / "bench"
    assert (
        benchmark.main(
            [
                "--sizes",
                "30",
                "--months",
                "1",
                "--warmup",
                "0",
                "--repeats",
                "1",
                "--out",
                str(out),
                "--profile",
            ]
        )
        == 0
    )
    text = (out / "profile.txt").read_text(encoding="utf-8")
    assert "stage_" in text and "tottime" in text


@pytest.mark.parametrize(
    "flags, field",
    [
        (["--sizes", "100,abc"], "--sizes"),
        (["--sizes", "0"], "--sizes"),
        (["--months", "0"], "--months"),
        (["--repeats", "-2"], "--repeats"),
    ],
)
def test_bad_flags_are_refused_with_one_message(tmp_path, flags, field):
    out = tmp_path / "bench"
    r = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", *flags, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert field in r.stderr and flags[1] in r.stderr and "expected" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_refuses_a_non_empty_out_folder_before_measuring(tmp_path, capsys):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert benchmark.main(["--sizes", "30", "--months", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--overwrite" in err
    assert "measuring" not in err
    assert (out / "keep.txt").read_text() == "mine"


def test_listed_and_runnable_as_an_experiment(tmp_path):
    import experiments

    assert "benchmark" in dict(experiments.catalogue())
    out = tmp_path / "bench"
    assert (
        experiments.run(
            "benchmark",
            [
                "--sizes",
                "30",
                "--months",
                "1",
                "--warmup",
                "0",
                "--repeats",
                "1",
                "--out",
                str(out),
            ],
        )
        == 0
    )
    assert (out / "benchmark.csv").exists() and (out / "benchmark.md").exists()
