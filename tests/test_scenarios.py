"""Scenario loading, and every bad input a user can give: each is refused with one
clear 'error:' line naming the file, the field, the value and what is allowed, exit
code 2, no traceback, and no output folder left behind."""

import tomllib

import pytest

from market import ComputeMarket
from market.cli import main
from market.io.params import MODEL_PARAMS, PARAMS
from market.io.scenario import SECTIONS, ScenarioError, builtin_dir, builtin_names, load_scenario
from market.run import runner

# A complete scenario of one firm per role, independent of the built-in files.
MINIMAL = """\
[scenario]
name = "tiny"
description = "One of each: a test market."
seed = 3

[params]
years = 1
inference_demand_h100e_initial = 2e5

[[region]]
name = "North"

[[chip_supplier]]
name = "Chips Inc"
production_h100e_per_month = 20000

[[hyperscaler]]
name = "Cloud Co"
cash_usd = 5e9
max_build_mw = 100
credit_rating = 1.0

[[lab]]
name = "Lab One"
cash_usd = 2e9

[[lab]]
name = "Lab Two"
cash_usd = 1e9

[[facility]]
owner = "Cloud Co"
power_mw = 100
"""


def in_params(line):
    return MINIMAL.replace("[params]\n", f"[params]\n{line}\n")


def appended(text):
    return MINIMAL + "\n" + text + "\n"


def contract(buyer="Lab One", seller="Cloud Co", cap=1000, start="2026-01", term=12, site=""):
    return (
        f'[[contract]]\nbuyer = "{buyer}"\nseller = "{seller}"\ncapacity_h100e = {cap}\n'
        f'start_month = "{start}"\nterm_months = {term}\nprice_usd_per_h100e_hour = 2.0\n'
        + (f'facility = "{site}"\n' if site else "")
    )


def without(line):
    assert line in MINIMAL
    return MINIMAL.replace(line, "")


def cli(argv, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], f"{needle!r} missing from: {errors[0]}"
    return errors[0]


def assert_nothing_written(parent):
    """The failed run left no output folder and no temporary sibling behind."""
    left = sorted(p.name for p in parent.iterdir())
    assert left == [], left


# =========================================================================== loading


def test_builtins_are_listed_and_load():
    names = builtin_names()
    assert {"baseline", "classroom"} <= set(names)
    for name in names:
        sc = load_scenario(name)
        assert sc.name == name
        assert sc.description
        assert set(sc.params) == set(PARAMS)
        assert sc.tables["lab"] and sc.tables["region"]


@pytest.mark.parametrize("name,lo,hi", [("baseline", 25, 40), ("classroom", 1, 12)])
def test_builtin_sizes(name, lo, hi):
    m = ComputeMarket(scenario=name)
    assert lo <= len(m.agents) <= hi


def test_baseline_is_the_default_and_short_of_compute():
    m = ComputeMarket()
    assert m.spec.name == "baseline"
    m.step()
    assert m.metrics["rationed_share"] > 0


def test_every_field_gets_its_declared_default():
    sc = load_scenario(tomllib.loads(MINIMAL))
    lab = sc.tables["lab"][0]
    decl = {f.name: f for f in SECTIONS["lab"]}
    assert set(lab) == set(decl)
    assert lab["strategy"] == decl["strategy"].default
    assert sc.params["years"] == 1.0
    assert sc.params["contest_intensity"] == PARAMS["contest_intensity"].default
    assert sc.seed == 3


def test_a_copy_of_a_builtin_file_loads_the_same(tmp_path):
    for name in builtin_names():
        path = tmp_path / f"{name}.toml"
        path.write_text((builtin_dir() / f"{name}.toml").read_text())
        a, b = load_scenario(name), load_scenario(str(path))
        assert (a.params, a.tables, a.seed) == (b.params, b.tables, b.seed)
        assert b.source == str(path)


def test_a_scenario_can_start_from_a_base(tmp_path):
    """A file naming a base takes the base's tables and parameters; its own [params]
    are laid over them and each actor table it declares replaces the base's."""
    (tmp_path / "tiny.toml").write_text(MINIMAL)
    (tmp_path / "variant.toml").write_text(
        '[scenario]\nname = "variant"\nbase = "tiny.toml"\ndescription = "Richer labs."\n'
        "[params]\ncontest_intensity = 3.0\n"
        '[[lab]]\nname = "Lab One"\ncash_usd = 9e9\n[[lab]]\nname = "Lab Two"\ncash_usd = 8e9\n'
    )
    base, variant = (
        load_scenario(str(tmp_path / "tiny.toml")),
        load_scenario(str(tmp_path / "variant.toml")),
    )
    assert variant.name == "variant" and variant.description == "Richer labs."
    assert variant.seed == base.seed
    assert variant.params == {**base.params, "contest_intensity": 3.0}
    assert [lab["cash_usd"] for lab in variant.tables["lab"]] == [9e9, 8e9]
    assert {k: v for k, v in variant.tables.items() if k != "lab"} == {
        k: v for k, v in base.tables.items() if k != "lab"
    }
    fast = load_scenario("fast-growth")
    assert fast.tables == load_scenario("baseline").tables
    assert fast.params["grid_growth_per_year"] > 1


def test_overrides_are_validated_and_applied():
    sc = load_scenario("classroom", {"contest_intensity": 0, "merger_review": "off"})
    assert sc.params["contest_intensity"] == 0.0
    assert sc.params["merger_review"] == "off"
    with pytest.raises(ScenarioError, match="'contest_intensity' = 11"):
        load_scenario("classroom", {"contest_intensity": 11})
    with pytest.raises(ScenarioError, match="unknown parameter 'contest'"):
        load_scenario("classroom", {"contest": 1})


def test_model_takes_overrides_as_keywords():
    m = ComputeMarket(scenario="classroom", rng=5, contest_intensity=0.0)
    assert m.p["contest_intensity"] == 0.0 and m.seed == 5
    assert ComputeMarket(scenario="classroom").seed == load_scenario("classroom").seed
    with pytest.raises(ScenarioError, match="unknown parameter"):
        ComputeMarket(scenario="classroom", no_such_parameter=1)


def test_a_users_own_file_runs_through_the_cli(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    path.write_text(MINIMAL)
    out = tmp_path / "out"
    code, stdout, err = cli(
        ["run", "--scenario", str(path), "--out", str(out), "--quiet", "--no-figures"], capsys
    )
    assert code == 0, err
    assert "tiny / 3" in stdout
    assert (out / "timeseries.csv").read_text().count("\n") == 1 + 12


def test_scenarios_and_params_commands(capsys):
    code, out, _ = cli(["scenarios"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == builtin_names()
    code, out, _ = cli(["params"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert [ln.split(" = ")[0] for ln in lines] == [p.name for p in MODEL_PARAMS]


# =========================================================================== bad files

BAD_FILES = {
    "unknown parameter": (
        in_params("contest_intesity = 2"),
        ["[params]", "'contest_intesity'", "contest_intensity"],
    ),
    "unknown field": (
        appended('[[lab]]\nname = "Lab Three"\nbudget_usd = 3'),
        ["[[lab]] #3", "'budget_usd'", "allowed:", "cash_usd"],
    ),
    "unknown table": (appended('[[bank]]\nname = "Lender"'), ["'bank'", "allowed:", "neocloud"]),
    "unknown base": (
        MINIMAL.replace("[scenario]\n", "[scenario]\nbase = 'basline'\n"),
        ["[scenario]", "'base'", "'basline'", "did you mean 'baseline'"],
    ),
    "base that names itself": (
        MINIMAL.replace("[scenario]\n", "[scenario]\nbase = 'bad.toml'\n"),
        ["[scenario]", "'base'", "'bad.toml'", "name each other"],
    ),
    "unknown header field": (
        MINIMAL.replace("[scenario]\n", "[scenario]\nauthor = 'me'\n"),
        ["[scenario]", "'author'", "allowed:", "seed"],
    ),
    "wrong type": (
        in_params('acquaintance_degree = "three"'),
        ["[params]", "'acquaintance_degree'", "'three'", "an integer from 0 to 50"],
    ),
    "wrong type, not integer": (
        in_params("training_run_months = 2.5"),
        ["'training_run_months'", "2.5", "an integer"],
    ),
    "wrong type, boolean": (
        in_params("lease_to_rival_labs = 1"),
        ["'lease_to_rival_labs'", "1", "true or false"],
    ),
    "wrong type in a table": (
        appended('[[lab]]\nname = "Lab Three"\ncash_usd = "lots"'),
        ["[[lab]] #3", "'cash_usd'", "'lots'", "a number from 0"],
    ),
    "out of range": (
        in_params("demand_growth_per_year = 50"),
        ["'demand_growth_per_year'", "50", "from 0.2 to 2.5"],
    ),
    "out of range in a table": (
        appended('[[lab]]\nname = "Lab Three"\ncredit_rating = 1.5'),
        ["[[lab]] #3", "'credit_rating'", "1.5", "from 0 to 1"],
    ),
    "not one of the choices": (
        in_params('chip_allocation_policy = "random"'),
        ["'chip_allocation_policy'", "'random'", "'pro_rata'", "'fifo'"],
    ),
    "bad calendar month": (
        in_params('start_month = "2026-13"'),
        ["'start_month'", "'2026-13'", "YYYY-MM"],
    ),
    "negative seed": (
        MINIMAL.replace("seed = 3", "seed = -1"),
        ["[scenario]", "'seed'", "-1", "an integer from 0 to"],
    ),
    "missing required field": (
        appended('[[facility]]\nname = "Lost site"\npower_mw = 10'),
        ["[[facility]] #2", "'owner'", "missing"],
    ),
    "missing required field 2": (
        appended('[[facility]]\nowner = "Cloud Co"'),
        ["[[facility]] #2", "'power_mw'", "missing"],
    ),
    "unknown owner": (
        appended('[[facility]]\nowner = "Cloud Corp"\npower_mw = 10'),
        ["[[facility]] #2", "'owner'", "'Cloud Corp'", "Cloud Co"],
    ),
    "unknown region": (
        appended('[[lab]]\nname = "Lab Three"\nregion = "Atlantis"'),
        ["[[lab]] #3", "'region'", "'Atlantis'", "North"],
    ),
    "duplicate name": (appended('[[lab]]\nname = "Lab One"'), ["'Lab One'", "twice"]),
    "no lab": (
        MINIMAL.replace('[[lab]]\nname = "Lab One"\ncash_usd = 2e9\n', "").replace(
            '[[lab]]\nname = "Lab Two"\ncash_usd = 1e9\n', ""
        ),
        ["[[lab]]", "required"],
    ),
    "no region": (without('[[region]]\nname = "North"\n'), ["[[region]]", "required"]),
    "broken TOML": (appended('[[lab]\nname = "Lab Three"'), ["not valid TOML", "line"]),
    "contract at an unknown site": (
        appended(
            '[[contract]]\nbuyer = "Lab One"\nseller = "Cloud Co"\nfacility = "Nowhere"\n'
            'capacity_h100e = 1000\nstart_month = "2025-06"\nprice_usd_per_h100e_hour = 2.0'
        ),
        ["[[contract]]", "'facility'", "'Nowhere'"],
    ),
    # -- found by measuring 1,000 fuzzed files: each was a traceback, a hang or accepted
    "non-ASCII digit in a month": (
        appended(contract(start="2026-0\u00b2")),
        ["[[contract]] #1", "'start_month'", "'2026-0\u00b2'", "YYYY-MM"],
    ),
    "superscript start month": (
        in_params('start_month = "\u00b2\u2070\u00b2\u2076-01"'),
        ["[params]", "'start_month'", "YYYY-MM"],
    ),
    "Arabic-Indic seed digits in a month": (
        in_params('start_month = "\u0662\u0660\u0662\u0666-01"'),
        ["[params]", "'start_month'", "YYYY-MM"],
    ),
    "a 400-digit integer": (
        in_params("base_rate = " + "9" * 400),
        ["[params]", "'base_rate'", "99999", "from 0 to 0.5"],
    ),
    "an integer beyond float range in a table": (
        appended('[[lab]]\nname = "Lab Three"\ncash_usd = ' + "9" * 400),
        ["[[lab]] #3", "'cash_usd'", "a number from 0"],
    ),
    "infinite number": (in_params("base_rate = inf"), ["'base_rate'", "inf", "from 0 to 0.5"]),
    "not a number": (in_params("base_rate = nan"), ["'base_rate'", "nan"]),
    "no chip supplier": (
        without('[[chip_supplier]]\nname = "Chips Inc"\nproduction_h100e_per_month = 20000\n'),
        ["[[chip_supplier]]", "required"],
    ),
    "no provider": (
        MINIMAL.replace("[[hyperscaler]]", "[[lab]]").replace("credit_rating = 1.0\n", ""),
        ["provider", "[[hyperscaler]] or [[neocloud]]", "required"],
    ),
    "count beyond what runs": (
        appended('[[lab]]\nname = "Lab Three"\ncount = 100000'),
        ["[[lab]] #3", "'count'", "100000", "an integer from 1 to 10000"],
    ),
    "too many firms in all": (
        appended("".join(f'[[lab]]\nname = "L{i}"\ncount = 10000\n' for i in range(12))),
        ["[[lab]] #14", "'count'", "at most 120,000 firms"],
    ),
    "contract larger than its site": (
        appended(contract(cap=100000)),
        ["[[contract]] #1", "'capacity_h100e'", "100000", "at most 70,350 H100e", "70,000"],
    ),
    "contracts larger than their site together": (
        appended(contract(cap=40000)) + appended(contract(cap=40000)).removeprefix(MINIMAL),
        ["[[contract]] #1", "'capacity_h100e'", "at most 30,350", "40,000 are under other"],
    ),
    "contract that ended before the start": (
        appended(contract(start="1988-01", term=36)),
        ["[[contract]] #1", "'start_month'", "'1988-01'", "it would end in 1991-01"],
    ),
    "contract with itself": (
        appended(contract(buyer="Cloud Co")),
        ["[[contract]] #1", "'seller'", "'Cloud Co'", "a firm other than the buyer"],
    ),
    "contract with a seller without sites": (
        appended(contract(seller="Lab Two")),
        ["[[contract]] #1", "'seller'", "'Lab Two'", "a firm with a [[facility]]"],
    ),
    "contract at a site not yet online": (
        appended(
            '[[facility]]\nowner = "Cloud Co"\nname = "New"\npower_mw = 10\n'
            "online_month = 6\n" + contract(start="2026-02", site="New")
        ),
        ["[[contract]] #1", "'start_month'", "'New' is online (from 2026-07)"],
    ),
    "duplicate region": (
        appended('[[region]]\nname = "North"'),
        ["[[region]] #2", "'North'", "used twice"],
    ),
    "archetype member named like another firm": (
        appended('[[lab]]\nname = "Lab"\ncount = 2\n[[lab]]\nname = "Lab 2"'),
        ["'Lab 2'", "used twice"],
    ),
    "partner that does not exist": (
        MINIMAL.replace(
            "production_h100e_per_month = 20000",
            "production_h100e_per_month = 20000\n"
            'captive_parent = "Cloud Co"\npartners = ["Lab On"]',
        ),
        ["[[chip_supplier]] #1", "'partners'", "'Lab On'", "did you mean 'Lab One'"],
    ),
    "name not text": (
        MINIMAL.replace('name = "tiny"', "name = 3.5"),
        ["[scenario]", "'name'", "3.5", "ASCII letters"],
    ),
    "name not a safe file name": (
        MINIMAL.replace('name = "tiny"', 'name = "../../escaped"'),
        ["[scenario]", "'name'", "'../../escaped'", "output folder"],
    ),
    "description not text": (
        MINIMAL.replace('description = "One of each: a test market."', "description = {}"),
        ["[scenario]", "'description'", "{}", "a text value"],
    ),
    "seed in unicode digits": (
        MINIMAL.replace("seed = 3", 'seed = "\u0663"'),
        ["[scenario]", "'seed'", "an integer from 0 to"],
    ),
    "nested too deeply": (appended("deep = " + "[" * 3000 + "]" * 3000), ["not valid TOML"]),
    "integer too long for TOML": (appended("long = " + "9" * 5000), ["not valid TOML", "digits"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scenario_file_is_refused_by_the_loader(tmp_path, case):
    text, needles = BAD_FILES[case]
    assert text != MINIMAL
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        ComputeMarket(scenario=str(path))
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scenario_file_is_refused_by_the_cli(tmp_path, capsys, case):
    text, needles = BAD_FILES[case]
    src = tmp_path / "src"
    src.mkdir()
    path = src / "bad.toml"
    path.write_text(text)
    runs = tmp_path / "runs"
    runs.mkdir()
    code, out, err = cli(
        ["run", "--scenario", str(path), "--out", str(runs / "demo"), "--quiet"], capsys
    )
    assert_user_error(code, err, str(path), *needles)
    assert out == ""
    assert_nothing_written(runs)


def test_unknown_scenario_name(tmp_path, capsys):
    code, _, err = cli(
        ["run", "--scenario", "basline", "--out", str(tmp_path / "o"), "--quiet"], capsys
    )
    line = assert_user_error(
        code, err, "'basline'", "did you mean 'baseline'", "classroom", ".toml"
    )
    assert line.startswith("error: unknown scenario")
    assert_nothing_written(tmp_path)
    with pytest.raises(ScenarioError, match="unknown scenario 'basline'"):
        ComputeMarket(scenario="basline")


def test_missing_scenario_file(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    code, _, err = cli(["run", "--scenario", str(missing), "--out", str(tmp_path / "o")], capsys)
    assert_user_error(code, err, str(missing), "does not exist")
    assert_nothing_written(tmp_path)


# =========================================================================== bad flags


@pytest.mark.parametrize(
    "flags,needles",
    [
        (["--years", "-1"], ["--years", "'-1'", "from 0.0833333 to 50"]),
        (["--years", "0"], ["--years", "'0'", "from 0.0833333 to 50"]),
        (["--years", "ten"], ["--years", "'ten'", "a number"]),
        (["--seed", "-1"], ["--seed", "-1", "an integer from 0 to"]),
        (["--seed", "x"], ["--seed", "'x'", "an integer from 0 to"]),
        (
            ["--set", "contest_intensity=high"],
            ["--set", "'contest_intensity'", "'high'", "from 0 to 10"],
        ),
        (
            ["--set", "contest_intensity=11"],
            ["--set", "'contest_intensity'", "'11'", "from 0 to 10"],
        ),
        (["--set", "contest_intesity=1"], ["--set", "'contest_intesity'", "contest_intensity"]),
        (["--set", "contest_intensity"], ["--set", "NAME=VALUE"]),
        (["--set", "merger_review=maybe"], ["'merger_review'", "'maybe'", "'off'", "'hhi'"]),
    ],
)
def test_bad_flags(tmp_path, capsys, flags, needles):
    code, _out, err = cli(
        ["run", "--scenario", "classroom", "--out", str(tmp_path / "o"), "--quiet", *flags], capsys
    )
    assert_user_error(code, err, *needles)
    assert_nothing_written(tmp_path)


def test_unknown_command_and_option(capsys):
    code, _, err = cli(["fly"], capsys)
    assert_user_error(code, err, "'fly'")
    code, _, err = cli(["run", "--yeras", "2"], capsys)
    assert_user_error(code, err, "--yeras")


# =========================================================================== output folder


def test_non_empty_output_folder_is_refused_and_left_alone(tmp_path, capsys):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, stdout, err = cli(
        ["run", "--scenario", "classroom", "--years", "1", "--out", str(out), "--quiet"], capsys
    )
    assert_user_error(code, err, str(out), "not empty", "--overwrite")
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "notes.txt").write_text("old")
    code, _, err = cli(
        [
            "run",
            "--scenario",
            "classroom",
            "--years",
            "1",
            "--out",
            str(out),
            "--quiet",
            "--no-figures",
            "--overwrite",
        ],
        capsys,
    )
    assert code == 0, err
    assert not (out / "notes.txt").exists()
    assert (out / "timeseries.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_an_empty_output_folder_is_used(tmp_path, capsys):
    out = tmp_path / "demo"
    out.mkdir()
    code, _, err = cli(
        [
            "run",
            "--scenario",
            "classroom",
            "--years",
            "1",
            "--out",
            str(out),
            "--quiet",
            "--no-figures",
        ],
        capsys,
    )
    assert code == 0, err
    assert (out / "summary.json").exists()


def test_output_path_that_is_a_file(tmp_path, capsys):
    out = tmp_path / "demo"
    out.write_text("a file")
    code, _, err = cli(
        ["run", "--scenario", "classroom", "--years", "1", "--out", str(out), "--quiet"], capsys
    )
    assert_user_error(code, err, str(out), "is a file")
    assert out.read_text() == "a file"


def test_a_failure_while_writing_leaves_no_folder(tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        runner.run("classroom", seed=1, years=1, out=tmp_path / "demo", figures=broken)
    assert_nothing_written(tmp_path)


# =========================================================================== bases, sizes


def test_base_outside_the_scenarios_folder_is_refused_without_reading_it(tmp_path, capsys):
    """A base is a built-in name or a file in the scenario's folder or below; the
    refusal is the same whether or not the outside file exists, and names none of its
    keys."""
    (tmp_path / "secret.toml").write_text("[private_table]\npassword = 'x'\n")
    work = tmp_path / "work"
    work.mkdir()
    lines = []
    for base in ("../secret.toml", "../absent.toml", str(tmp_path / "secret.toml"), "/etc/passwd"):
        (work / "s.toml").write_text(f"[scenario]\nbase = {base!r}\n")
        code, _, err = cli(["run", "--scenario", str(work / "s.toml"), "--quiet"], capsys)
        line = assert_user_error(code, err, "'base'", "built-in scenario name", "or below")
        assert "private_table" not in line and "password" not in line and "exist" not in line
        lines.append(line.replace(base, "BASE"))
    assert len(set(lines)) == 1, lines


def test_base_in_a_subfolder_and_a_bounded_chain(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "tiny.toml").write_text(MINIMAL)
    (tmp_path / "top.toml").write_text('[scenario]\nname = "top"\nbase = "sub/tiny.toml"\n')
    assert load_scenario(str(tmp_path / "top.toml")).tables["lab"][0]["name"] == "Lab One"
    for k in range(1, 12):
        (tmp_path / f"c{k}.toml").write_text(f'[scenario]\nbase = "c{k + 1}.toml"\n')
    (tmp_path / "c12.toml").write_text(MINIMAL)
    with pytest.raises(ScenarioError, match="a chain of bases may hold at most 8 scenarios"):
        load_scenario(str(tmp_path / "c1.toml"))
    assert load_scenario(str(tmp_path / "c5.toml")).tables["lab"][0]["name"] == "Lab One"


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, capsys):
    from market.io.scenario import FILE_MAX_BYTES

    big = tmp_path / "big.toml"
    with big.open("wb") as fh:  # sparse: no disk used
        fh.truncate(5 * 1024**3)
    code, _, err = cli(["run", "--scenario", str(big), "--out", str(tmp_path / "o")], capsys)
    assert_user_error(code, err, "big.toml", f"larger than {FILE_MAX_BYTES:,} bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.toml"]


@pytest.mark.parametrize(
    "flags,needles",
    [
        (["--set", "start_month=2026-0\u00b2"], ["'start_month'", "YYYY-MM"]),
        (["--set", "start_month=\u00b2\u2070\u00b2\u2076-01"], ["'start_month'", "YYYY-MM"]),
        (["--set", "base_rate=" + "9" * 400], ["'base_rate'", "from 0 to 0.5"]),
        (["--set", "base_rate=\u0663"], ["'base_rate'", "from 0 to 0.5"]),
        (["--set", "base_rate=inf"], ["'base_rate'", "from 0 to 0.5"]),
        (["--set", "hyperscaler_spread=1e-313"], ["'hyperscaler_spread'", "at least 1e-09"]),
        (["--seed", "\u0663"], ["--seed", "an integer from 0 to"]),
        (["--seed", "9" * 30], ["--seed", "an integer from 0 to"]),
    ],
)
def test_bad_flag_values_found_by_fuzzing(tmp_path, capsys, flags, needles):
    argv = ["run", "--scenario", "classroom", "--years", "1", "--out", str(tmp_path / "o")]
    code, _, err = cli([*argv, "--quiet", *flags], capsys)
    assert_user_error(code, err, *needles)
    assert_nothing_written(tmp_path)


# =========================================================================== default output


def test_default_output_folder_is_inside_runs_and_created(tmp_path, monkeypatch, capsys):
    """Without --out a run writes to runs/<name>-seed<seed> below the working folder,
    creating runs/ first; a file without a name gets one made from its file name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my market (v2).toml").write_text(MINIMAL.replace('name = "tiny"\n', ""))
    code, out, err = cli(
        ["run", "--scenario", "my market (v2).toml", "--no-figures", "--quiet"], capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["my-market-v2-seed3"]
    assert (tmp_path / "runs" / "my-market-v2-seed3" / "summary.json").is_file()
    assert "runs/my-market-v2-seed3/" in out


def test_default_output_folder_refused_before_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").write_text("a file where the folder should be")
    code, _, err = cli(["run", "--scenario", "classroom", "--years", "1", "--quiet"], capsys)
    assert_user_error(code, err, "runs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_a_large_scenario_runs_with_a_note_on_its_run_time(tmp_path, capsys):
    (tmp_path / "big.toml").write_text(appended('[[lab]]\nname = "Tail"\ncount = 1000'))
    argv = ["run", "--scenario", str(tmp_path / "big.toml"), "--years", "0.0834"]
    code, _, err = cli([*argv, "--out", str(tmp_path / "o"), "--no-figures", "--quiet"], capsys)
    assert code == 0, err
    assert err.startswith("note: 1,004 firms: a large scenario runs slowly"), err
    assert (tmp_path / "o" / "timeseries.csv").is_file()
