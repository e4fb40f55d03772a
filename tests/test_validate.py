"""`compute-market validate` and the Colossus counterfactual: what a user relies on.

The report lists every pattern with its target, the model's numbers and pass or fail,
and those numbers are the ones in seeds.csv; bad input gets one clear line and exit
code 2 with nothing written; an error half-way leaves nothing behind; the experiment
writes its report and figures.
"""

import math

import numpy as np
import pandas as pd
import pytest

from market.analysis import validate
from market.cli import main as cli_main
from market.io.scenario import load_scenario

FIGURES = {
    "compute_stock_growth.png",
    "frontier_run_growth.png",
    "nvidia_share.png",
    "short_lab_rationing.png",
    "lab_lease.png",
}


def cli(argv, capsys):
    try:
        code = cli_main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(parent):
    """Temporary folders a failed write could leave next to the output folder."""
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def short_validation(tmp_path_factory):
    """Two seeds over one year, in this process: the report a user would read."""
    out = tmp_path_factory.mktemp("validation") / "report"
    code = cli_main(
        ["validate", "--seeds", "2", "--years", "1", "--workers", "1", "--quiet", "--out", str(out)]
    )
    return code, out


# --------------------------------------------------------------------------- the report


def test_report_lists_every_pattern_with_target_numbers_and_result(short_validation):
    code, out = short_validation
    assert code == 0
    text = (out / "validation.md").read_text()
    rows = [
        ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| pattern")
    ]
    for p in validate.PATTERNS:
        row = next((r for r in rows if r.startswith(f"| {p.label} |")), None)
        assert row is not None, f"no table row for {p.label}"
        assert p.target.source in row and validate.band_text(p) in row
        assert row.rstrip().endswith(("| **pass** |", "| **FAIL** |"))
    n_pass = sum(r.rstrip().endswith("**pass** |") for r in rows)
    assert f"**{n_pass} of {len(validate.PATTERNS)} patterns pass.**" in text
    assert "2 seeds (2026 to 2027), 1 year each (2026-01 to 2026-12)" in text
    assert {p.name for p in (out / "figures").iterdir()} == FIGURES
    assert all((out / "figures" / f).stat().st_size > 1000 for f in FIGURES)


def test_report_numbers_come_from_the_seeds(short_validation):
    _, out = short_validation
    seeds = pd.read_csv(out / "seeds.csv")
    patterns = pd.read_csv(out / "patterns.csv").set_index("pattern")
    assert list(seeds["seed"]) == [2026, 2027]  # the scenario's seed and the next one
    assert list(patterns.index) == [p.target.key for p in validate.PATTERNS]
    for p in validate.PATTERNS:
        values = pd.to_numeric(seeds[p.name], errors="coerce")
        if p.target.event:
            expected = values.fillna(0).sum() / len(seeds)
        else:
            values = values.dropna()
            expected = float(np.median(values)) if len(values) else math.nan
        got = patterns.at[p.target.key, "median"]
        assert (math.isnan(expected) and math.isnan(got)) or got == pytest.approx(
            expected, rel=1e-5
        )
        low, high = (
            patterns.at[p.target.key, "target_low"],
            patterns.at[p.target.key, "target_high"],
        )
        inside = (got >= low) if p.target.event else (low <= got <= high)
        assert patterns.at[p.target.key, "result"] == ("pass" if inside else "FAIL")
    growth = seeds["compute_stock_growth_per_year"]
    ratio = seeds["delivered_stock_h100e_last"] / seeds["delivered_stock_h100e_first"]
    assert np.allclose(growth, ratio ** (12 / 11))  # 12 monthly rows: 11 months of growth
    # online capacity, which waits for buildings and the grid, is reported beside it
    online = seeds["capacity_h100e_last"] / seeds["capacity_h100e_first"]
    assert np.allclose(seeds["online_capacity_growth_per_year"], online ** (12 / 11))
    # the stock starts as the online fleet; chips delivered to sites not yet online add
    assert np.allclose(seeds["delivered_stock_h100e_first"], seeds["capacity_h100e_first"])
    assert (seeds["delivered_stock_h100e_last"] >= seeds["capacity_h100e_last"]).all()
    assert (seeds["installed_h100e_last"] >= seeds["delivered_stock_h100e_last"]).all()


def test_the_vendor_share_is_reported_year_by_year(short_validation):
    _, out = short_validation
    seeds = pd.read_csv(out / "seeds.csv")
    share = next(p for p in validate.PATTERNS if p.target.key == "nvidia_share")
    lo, hi = share.target.yearly_band
    yearly = seeds[["leading_vendor_share_2026"]]  # a one-year run has one calendar year
    assert yearly.notna().all().all() and ((yearly > 0) & (yearly < 1)).all().all()
    inside = ((yearly >= lo) & (yearly <= hi)).all(axis=1).astype(float)
    assert list(seeds[share.name]) == list(inside)
    text = (out / "validation.md").read_text()
    row = next(ln for ln in text.splitlines() if ln.startswith("| 2026 |"))
    assert f"| {int(((yearly >= lo) & (yearly <= hi)).sum().iloc[0])} of 2 |" in row
    assert f"{100 * float(yearly.median().iloc[0]):.1f}%" in row


def test_failures_are_printed_with_their_size(tmp_path, capsys):
    code = cli_main(
        [
            "validate",
            "--seeds",
            "1",
            "--years",
            "0.5",
            "--workers",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "v"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    patterns = pd.read_csv(tmp_path / "v" / "patterns.csv")
    failed = patterns[patterns["result"] == "FAIL"]
    assert out.startswith(
        f"{(patterns['result'] == 'pass').sum()} of {len(patterns)} patterns pass"
    )
    for title in failed["title"]:
        assert f"FAIL  {title}" in out
        assert f"  - {title}: " in out
    if len(failed):
        assert "what fails and by how much:" in out


def test_cli_validate_runs_with_defaults_but_seeds(tmp_path, capsys):
    out = tmp_path / "cli"
    code, stdout, err = cli(
        ["validate", "--seeds", "1", "--workers", "1", "--out", str(out)], capsys
    )
    assert code == 0, err
    assert "patterns pass (1 seed" in stdout
    text = (out / "validation.md").read_text()
    assert "1 seed (2026), 3 years each (2026-01 to 2028-12)" in text
    code, _, err = cli(["validate", "--seeds", "1", "--workers", "1", "--out", str(out)], capsys)
    assert code == 2 and "is not empty" in err and "--overwrite" in err
    code, _, err = cli(
        ["validate", "--seeds", "1", "--workers", "1", "--out", str(out), "--overwrite"], capsys
    )
    assert code == 0, err


# --------------------------------------------------------------------------- patterns


def test_patterns_pass_on_the_median_and_state_the_miss():
    p = next(p for p in validate.PATTERNS if p.target.key == "compute_stock_growth")
    inside = validate.evaluate(p, pd.DataFrame({p.name: [2.0, 3.0, 3.5]}))
    assert inside.passed and inside.median == 3.0 and inside.miss == ""
    below = validate.evaluate(p, pd.DataFrame({p.name: [1.0, 1.25, 3.0]}))
    assert not below.passed
    assert "below the band" in below.miss and "by a factor of 2.00" in below.miss
    assert "1 of 3 seeds inside it" in below.miss
    share = next(p for p in validate.PATTERNS if p.target.key == "short_lab_rations_early")
    high = validate.evaluate(share, pd.DataFrame({share.name: [0.2, 0.25]}))
    assert (
        not high.passed
        and "above the band" in high.miss
        and "by 7.5 percentage points" in high.miss
    )
    event = next(p for p in validate.PATTERNS if p.target.key == "lab_lease_first_year")
    assert validate.evaluate(event, pd.DataFrame({event.name: [1, 0, 1, 0]})).passed
    few = validate.evaluate(event, pd.DataFrame({event.name: [1, 0, 0, 0]}))
    assert not few.passed and "happens in 1 of 4 seeds (25%)" in few.miss
    empty = validate.evaluate(p, pd.DataFrame({p.name: [math.nan]}))
    assert not empty.passed and "no seed produced a value" in empty.miss


def test_a_yearly_pattern_holds_when_every_year_is_in_band_in_half_the_seeds():
    p = next(p for p in validate.PATTERNS if p.target.key == "nvidia_share")
    assert p.target.yearly_band == (0.60, 0.85) and p.target.event
    seeds = pd.DataFrame(
        {
            "leading_vendor_share_2026": [0.70, 0.80, 0.55, 0.90],
            "leading_vendor_share_2027": [0.65, 0.62, 0.70, 0.75],
            p.name: [1.0, 1.0, 0.0, 0.0],
        }
    )
    held = validate.evaluate(p, seeds)
    assert held.passed and held.median == 0.5 and held.miss == ""
    assert list(held.yearly.columns) == ["2026", "2027"]
    med, _interval = validate._value_text(held)
    assert med.startswith("2 of 4 seeds (50%); yearly values: median 70.0%")
    seeds[p.name] = [1.0, 0.0, 0.0, 0.0]
    missed = validate.evaluate(p, seeds)
    assert not missed.passed
    assert "every year in band in 1 of 4 seeds (25%" in missed.miss
    assert "2026: median 75.0%, 2 of 4 seeds in band" in missed.miss
    assert "2027: median 67.5%, 4 of 4 seeds in band" in missed.miss


def test_rationing_falls_only_by_more_than_rounding():
    assert validate.rationing_falls(0.07, 0.02) == 1.0
    assert validate.rationing_falls(0.02, 0.07) == 0.0
    assert validate.rationing_falls(8.3e-17, 0.0) == 0.0  # nobody rationed in either window
    assert validate.rationing_falls(0.0, 0.0) == 0.0
    assert math.isnan(validate.rationing_falls(math.nan, 0.0))


def test_yearly_vendor_shares_add_up_each_calendar_years_deliveries():
    rows = []
    for month, nvidia, tpu in (
        ("2026-11", 30.0, 10.0),
        ("2026-12", 50.0, 10.0),
        ("2027-01", 0.0, 0.0),
        ("2027-02", 20.0, 60.0),
    ):
        rows.append(
            {
                "month": month,
                "name": "Nvidia",
                "captive": False,
                "agent_id": 1,
                "production_h100e_per_month": 100.0,
                "delivered_h100e": nvidia,
            }
        )
        rows.append(
            {
                "month": month,
                "name": "TPU",
                "captive": True,
                "agent_id": 2,
                "production_h100e_per_month": 100.0,
                "delivered_h100e": tpu,
            }
        )
    suppliers = pd.DataFrame(rows)
    assert validate._leading_vendor(suppliers) == "Nvidia"
    assert validate.yearly_vendor_shares(suppliers, "Nvidia") == pytest.approx(
        {"2026": 0.8, "2027": 0.25}
    )
    quiet = suppliers.assign(
        delivered_h100e=np.where(suppliers["month"] < "2027", suppliers["delivered_h100e"], 0)
    )
    assert set(validate.yearly_vendor_shares(quiet, "Nvidia")) == {
        "2026"
    }  # a year with no deliveries is left out
    renamed = suppliers.replace({"name": {"Nvidia": "GPU maker"}})
    assert validate._leading_vendor(renamed) == "GPU maker"  # the largest merchant when no Nvidia


def test_the_reported_lease_price_is_derived_from_the_seed_story():
    price = next(p for p in validate.PATTERNS if p.target.key == "lab_lease_price")
    assert pytest.approx(7.78, abs=0.01) == validate.LEASE_PRICE_REPORTED
    assert (price.target.low, price.target.high) == pytest.approx((7.78 / 2, 7.78 * 2), abs=0.01)


def test_the_scenario_writes_no_lease_between_its_labs():
    spec = load_scenario("colossus-2026")
    labs = {r["name"] for r in spec.tables["lab"]}
    assert {"Anthropic", "OpenAI", "Google DeepMind", "Meta", "xAI"} <= labs
    assert not [c for c in spec.tables["contract"] if c["buyer"] in labs and c["seller"] in labs]
    colossus = [f for f in spec.tables["facility"] if f["name"] == "Colossus 1"]
    assert colossus and colossus[0]["owner"] == "xAI"
    assert colossus[0]["capacity_h100e"] == 220_000 and colossus[0]["power_mw"] == 300


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "argv, needle",
    [
        (
            ["--scenario", "colossus-2062"],
            "unknown scenario 'colossus-2062' (did you mean 'colossus-2026'?)",
        ),
        (["--seeds", "0"], "--seeds 0 is not allowed: expected an integer >= 1"),
        (["--seeds", "-3"], "--seeds -3 is not allowed: expected an integer >= 1"),
        (["--workers", "0"], "--workers 0 is not allowed: expected an integer >= 1"),
    ],
)
def test_bad_input_gets_one_clear_error_and_writes_nothing(tmp_path, capsys, argv, needle):
    out = tmp_path / "v"
    code, _stdout, err = cli(["validate", "--out", str(out), *argv], capsys)
    assert code == 2
    assert err.startswith(f"error: {needle}") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and leftovers(tmp_path) == []


def test_an_output_folder_that_cannot_be_created_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = cli(["validate", "--seeds", "1", "--out", str(blocker / "v")], capsys)
    assert code == 2
    assert (
        err.startswith(f"error: output folder '{blocker / 'v'}' cannot be created")
        and "Traceback" not in err
    )
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli(["validate", "--seeds", "1", "--out", str(blocker)], capsys)
    assert code == 2 and "exists and is a file" in err


def test_bad_years_is_refused(tmp_path, capsys):
    code, _, err = cli(["validate", "--years", "0", "--out", str(tmp_path / "v")], capsys)
    assert code == 2 and err.startswith("error: argument --years: field 'years' = '0' is not")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v").exists()


def test_an_error_half_way_leaves_no_output(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    from market.view import validation_figures as viz_validation

    monkeypatch.setattr(viz_validation, "write_figures", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cli_main(
            [
                "validate",
                "--seeds",
                "1",
                "--years",
                "0.25",
                "--workers",
                "1",
                "--quiet",
                "--out",
                str(tmp_path / "v"),
            ]
        )
    assert not (tmp_path / "v").exists() and leftovers(tmp_path) == []


# --------------------------------------------------------------------------- parallel


@pytest.mark.slow
def test_parallel_seeds_give_the_serial_report(tmp_path):
    """Processes, as `validate` uses by default on a machine with more than one core."""
    args = ["--seeds", "2", "--years", "1", "--quiet"]
    assert cli_main(["validate", *args, "--workers", "1", "--out", str(tmp_path / "serial")]) == 0
    assert cli_main(["validate", *args, "--workers", "2", "--out", str(tmp_path / "parallel")]) == 0
    for name in ("validation.md", "seeds.csv", "patterns.csv"):
        assert (tmp_path / "serial" / name).read_bytes() == (
            tmp_path / "parallel" / name
        ).read_bytes()


# --------------------------------------------------------------------------- the counterfactual


def test_counterfactual_smoke_writes_report_and_figures(tmp_path, capsys):
    from experiments import colossus_counterfactual as cf

    out = tmp_path / "cf"
    code = cf.main(["--replicates", "1", "--years", "1", "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    runs = pd.read_csv(out / "run_metrics.csv")
    assert sorted(runs[cf.LEVER]) == [False, True] and set(runs["seed"]) == {2026}
    diffs = pd.read_csv(out / "differences.csv")
    assert len(diffs) == 1
    for m in cf.METRICS:
        allowed = runs.loc[runs[cf.LEVER], m.name].iloc[0]
        barred = runs.loc[~runs[cf.LEVER], m.name].iloc[0]
        assert diffs.at[0, f"{m.name}_difference"] == pytest.approx(allowed - barred, nan_ok=True)
    assert runs.loc[~runs[cf.LEVER], "surplus_leases_total"].iloc[0] == 0  # barred means barred
    report = (out / "report.md").read_text()
    assert cf.QUESTION in report
    for m in cf.METRICS:
        assert f"| {m.label} |" in report
    assert {p.name for p in (out / "figures").iterdir()} == {
        "buyer.png",
        "owner.png",
        "market.png",
        "differences.png",
    }
    ts = pd.read_csv(out / "timeseries.csv")
    assert {"buyer_rationed_share", "owner_cash_usd", "owner_leased_to_labs_h100e"} <= set(
        ts.columns
    )


def test_counterfactual_is_listed_and_refuses_bad_flags(tmp_path, capsys):
    import experiments

    assert "colossus_counterfactual" in dict(experiments.catalogue())
    code = experiments.run(
        "colossus_counterfactual", ["--years", "0", "--out", str(tmp_path / "cf")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "error: --years: field 'years' = 0.0 is not allowed" in err
    assert not (tmp_path / "cf").exists()
