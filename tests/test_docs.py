"""The README and the docs say what the software does: their marked commands run,
the generated tables are current, and the names they cite exist in the code.

Convention: a fenced ```bash or ```python block whose first line is ``# test`` is
executed, each block in a fresh empty folder that holds a copy of
``market/scenarios/`` (as a checkout does). In bash blocks ``compute-market`` and
``python`` run this interpreter (``sys.executable -m market`` and ``sys.executable``);
the blocks run with ``set -euo pipefail`` and must exit 0.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from market import STAGES
from market.cli import format_summary
from market.io import docs_tables
from market.run import runner

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
ODD = REPO / "docs" / "odd.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MARK = "# test"
TIMEOUT_S = 600


def fenced(path: Path) -> list[tuple[str, str, int]]:
    """(language, body, line number) of every fenced block."""
    text = path.read_text(encoding="utf-8")
    return [
        (m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)
    ]


def marked_blocks() -> list:
    """The marked blocks of the README and of every page under docs/."""
    out = []
    for path in (README, *sorted((REPO / "docs").rglob("*.md"))):
        for lang, body, line in fenced(path):
            lines = body.splitlines()
            if lines and lines[0].strip() == MARK:
                name = path.relative_to(REPO / "docs") if path != README else path.name
                out.append(pytest.param(lang, body, id=f"{name}:{line}"))
    return out


BASH_PRELUDE = """\
set -euo pipefail
compute-market() { "$PY" -m market "$@"; }
python() { "$PY" "$@"; }
"""


@pytest.mark.parametrize("lang,body", marked_blocks())
def test_marked_block_runs(tmp_path, lang, body):
    shutil.copytree(REPO / "market" / "scenarios", tmp_path / "market" / "scenarios")
    env = dict(
        os.environ,
        PY=sys.executable,
        PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    if lang == "bash":
        cmd = ["bash", "-c", BASH_PRELUDE + body]
    elif lang == "python":
        cmd = [sys.executable, "-c", body]
    else:
        pytest.fail(f"a block marked '{MARK}' must be bash or python, not {lang!r}")
    proc = subprocess.run(
        cmd,
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, (
        f"exit code {proc.returncode}\n--- block\n{body}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-4000:]}"
    )


def test_the_docs_have_marked_blocks():
    ids = [p.id for p in marked_blocks()]
    assert any(i.startswith("README.md") for i in ids)
    assert any(i.startswith("odd.md") for i in ids)


# =========================================================================== README


def test_readme_opens_with_the_run_and_test_commands():
    text = README.read_text(encoding="utf-8")
    first = FENCE.search(text)
    before = text[: first.start()].strip().splitlines()
    assert len(before) <= 1 and all(ln.startswith("# ") for ln in before), before
    commands = [ln.split("#")[0].strip() for ln in first.group(2).splitlines()]
    assert [c for c in commands if c] == ["make run", "make test"]


def test_readme_explains_every_row_of_the_summary_table():
    text = README.read_text(encoding="utf-8")
    summary = runner.run("classroom", seed=1, years=1).summary
    for line in format_summary(summary).splitlines():
        label = re.split(r"\s{2,}", line)[0]
        assert f"| {label} |" in text, f"README does not explain the summary row '{label}'"


def test_readme_names_every_file_a_run_writes(tmp_path):
    text = README.read_text(encoding="utf-8")
    r = runner.run("classroom", seed=1, years=1, out=tmp_path / "run")
    for name in r.files:
        shown = name.split("/")[-1]
        assert f"`{shown}`" in text, f"README does not mention {name}"
    assert "`figures/`" in text


def test_readme_options_exist(capsys):
    from market.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    run_opts = {s for a in sub.choices["run"]._actions for s in a.option_strings}
    text = README.read_text(encoding="utf-8")
    for opt in set(re.findall(r"`(--[a-z-]+)", text)):
        assert opt in run_opts or opt in {
            "--list",
            "--quick",
            "--help",
            "--browser",
            "--port",
            "--host",
            "--seeds",
        }, f"README cites unknown option {opt}"
    for command in re.findall(r"compute-market (\w+)", text):
        assert command in sub.choices, f"README cites unknown command 'compute-market {command}'"


# =========================================================================== docs/odd.md


def test_odd_tables_are_current():
    stale = docs_tables.stale_regions(ODD.read_text(encoding="utf-8"), str(ODD))
    assert stale == [], (
        f"docs/odd.md: generated tables are stale ({', '.join(stale)}); regenerate them with:"
        f"  {docs_tables.COMMAND}"
    )


def test_docs_tables_check_and_update(tmp_path):
    doc = tmp_path / "odd.md"
    markers = "\n\n".join(
        f"<!-- {n}:begin -->\nSTALE TABLE\n<!-- {n}:end -->" for n in docs_tables.REGIONS
    )
    doc.write_text("# Title\n\nkept text\n\n" + markers + "\n\ntail\n")
    assert docs_tables.main(["--check", "--file", str(doc)]) == 1
    assert docs_tables.main(["--file", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Title\n\nkept text\n\n") and text.endswith("\n\ntail\n")
    assert "STALE TABLE" not in text and "`contest_intensity`" in text and "`capacity_hhi`" in text
    assert docs_tables.main(["--check", "--file", str(doc)]) == 0
    doc.write_text("no markers here\n")
    assert docs_tables.main(["--check", "--file", str(doc)]) == 2


def test_generated_tables_cover_every_declaration():
    from market.io.outputs import OUTPUTS
    from market.io.params import MODEL_PARAMS
    from market.io.scenario import SECTIONS

    params, scenario, outputs = (
        docs_tables.params_table(),
        docs_tables.scenario_table(),
        docs_tables.outputs_table(),
    )
    assert all(f"| `{p.name}` |" in params for p in MODEL_PARAMS)
    assert all(f"**`[[{s}]]`**" in scenario for s in SECTIONS)
    assert all(f"| `{o.name}` |" in outputs for o in OUTPUTS)


def section_titles(text: str, level: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"^{level} (.+)$", text, re.MULTILINE)]


def test_odd_has_the_protocol_sections_in_order():
    titles = section_titles(ODD.read_text(encoding="utf-8"), "##")
    wanted = [
        "Purpose",
        "Entities, state variables and scales",
        "Process overview and scheduling",
        "Design concepts",
        "Initialisation",
        "Input data",
        "Submodels",
    ]
    found = [next((i for i, t in enumerate(titles) if w in t), None) for w in wanted]
    assert None not in found, dict(zip(wanted, found, strict=False))
    assert found == sorted(found)


def test_odd_design_concepts_are_all_there():
    text = ODD.read_text(encoding="utf-8")
    body = text.split("## 4. Design concepts")[1].split("\n## ")[0]
    for concept in (
        "Emergence",
        "Adaptation",
        "Objectives",
        "Prediction",
        "Sensing",
        "Interaction",
        "Stochasticity",
        "Collectives",
        "Observation",
    ):
        assert f"**{concept}.**" in body, concept


def test_odd_lists_the_stages_of_the_month_in_order():
    text = ODD.read_text(encoding="utf-8")
    body = text.split("## 3. Process overview and scheduling")[1].split("\n## ")[0]
    listed = re.findall(r"^\d+\. \*\*(\w+)\*\*", body, re.MULTILINE)
    assert tuple(listed) == tuple(name for name, _ in STAGES)


def source_words() -> set[str]:
    words: set[str] = set()
    for folder in ("market", "agents"):
        for path in (REPO / folder).rglob("*.py"):
            words.update(re.findall(r"\w+", path.read_text(encoding="utf-8")))
    for path in (REPO / "market" / "scenarios").glob("*.toml"):
        words.update(re.findall(r"\w+", path.read_text(encoding="utf-8")))
    return words


@pytest.mark.parametrize("doc", [README, ODD], ids=["README.md", "odd.md"])
def test_docs_cite_only_names_and_files_that_exist(doc):
    """A name in backticks (a parameter, a function, a state variable) must occur in
    the code, and a cited source file must exist: docs that describe code the project
    no longer has fail here."""
    text = doc.read_text(encoding="utf-8")
    text = FENCE.sub("", text)
    for name in docs_tables.REGIONS:  # generated from the code: current by construction
        text = re.sub(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->", "", text, flags=re.DOTALL)
    words = source_words()
    missing = []
    for token in re.findall(r"`([^`\n]+)`", text):
        if re.fullmatch(r"[\w./-]+\.(py|md|toml|sh)", token) and "/" in token:
            if not (REPO / token).exists():
                missing.append(token)
        elif doc == ODD and re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", token):
            missing += [part for part in token.split(".") if part not in words]
    assert missing == [], (
        f"{doc.name} cites names or files that do not exist: {sorted(set(missing))}"
    )


def test_manifest_example_fields_exist(tmp_path):
    """The README's account of manifest.json and summary.json matches the files."""
    r = runner.run("classroom", seed=1, years=1, out=tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    for key in (
        "scenario",
        "scenario_source",
        "seed",
        "months",
        "version",
        "parameters",
        "scenario_tables",
    ):
        assert key in manifest
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for key in (
        "cumulative_exits",
        "cumulative_acquisitions",
        "cumulative_blocked_mergers",
        "cumulative_surplus_leases",
    ):
        assert key in summary
    assert r.summary == summary


def test_readme_event_example_comes_from_the_demo_run():
    """The event line the README quotes is one the documented demo run writes."""
    quoted = re.search(r'`text` such as "([^"]+)" \(from the `runs/demo` run', README.read_text())
    assert quoted, "the README no longer quotes an event line from runs/demo"
    r = runner.run("baseline", seed=7, years=1)
    assert quoted.group(1) in set(r.events["text"]), quoted.group(1)
