"""Fuzzed scenario files: mutations of the built-in scenarios (deleted fields, wrong
types, out-of-range and non-finite numbers, unknown keys, duplicate names, dangling
references, unicode, long strings, broken TOML, base chains and cycles) each end in
one of two ways through the command line: a clean run with its outputs, or exit code 2
with exactly one 'error:' line, no traceback and no output left behind.

Runs are one month long and in-process; examples are derandomized so that every run
of the suite tries the same files."""

from __future__ import annotations

import contextlib
import io
import math
import signal
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from market.cli import main
from market.io.params import MODEL_PARAMS
from market.io.scenario import SECTIONS, builtin_dir, builtin_names

SECONDS_MAX = 60  # a file that neither runs nor is refused within this is a hang
FUZZ_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
RAW = {
    name: tomllib.loads((builtin_dir() / f"{name}.toml").read_text()) for name in builtin_names()
}
FIRMS = ("chip_supplier", "hyperscaler", "neocloud", "lab")
REFERENCE_FIELDS = {
    "facility": ("owner", "region", "name"),
    "contract": ("buyer", "seller", "facility"),
    "chip_supplier": ("captive_parent",),
    "lab": ("region",),
    "neocloud": ("region",),
    "hyperscaler": ("region",),
}


# ----------------------------------------------------------------------- writing TOML
def _key(k: str) -> str:
    return k if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k) else _str(k)


def _str(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF:
            out.append(f"\\u{ord(c) if ord(c) < 0xD800 else 0xFFFD:04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dump(data: dict) -> str:
    """TOML text of ``data``: scalars first, then tables, then arrays of tables."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not _is_table(v)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += [f"[{_key(k)}]", *(f"{_key(a)} = {_value(b)}" for a, b in v.items())]
        elif _is_table(v):
            for row in v:
                lines += [f"[[{_key(k)}]]", *(f"{_key(a)} = {_value(b)}" for a, b in row.items())]
    return "\n".join(lines) + "\n"


def _is_table(v) -> bool:
    return isinstance(v, dict) or (
        isinstance(v, list) and bool(v) and all(isinstance(r, dict) for r in v)
    )


# ----------------------------------------------------------------------- mutations
NAMES = st.sampled_from(["Nobody", "", " ", "Lumen AI ", "Valley", "Ghost Cloud", "x" * 300])
WEIRD_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["²⁰²⁶-01", "2026-0²", "٢٠٢٦-٠١", "2026-13", "2026-1", "-1", "1e400", "NaN"]),
    st.just("z" * 5000),
)
NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 10**400, -(10**30), 1e308, -1e308, 1e-320, 0.5, 1000, 1001]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=10**6),
)
ANY_VALUE = st.one_of(
    NUMBERS, WEIRD_TEXT, st.booleans(), st.just([]), st.just({}), st.just(["a", 1]), NAMES
)


def _tables(data: dict) -> list[str]:
    return [k for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)]


@st.composite
def mutation(draw, data: dict, files: dict):
    """Change ``data`` in place (or add files to ``files``); return a label."""
    kind = draw(
        st.sampled_from(
            [
                "delete",
                "wrong value",
                "param",
                "unknown key",
                "duplicate",
                "dangling",
                "empty table",
                "count",
                "header",
                "base",
                "contract",
                "extreme",
                "rename",
            ]
        )
    )
    tables = _tables(data)
    if kind in ("delete", "wrong value", "unknown key", "duplicate", "dangling") and tables:
        section = draw(st.sampled_from(tables))
        rows = data[section]
        i = draw(st.integers(0, len(rows) - 1))
        row = rows[i]
        if kind == "delete":
            if row and draw(st.booleans()):
                del row[draw(st.sampled_from(sorted(row)))]
            else:
                del rows[i]
        elif kind == "wrong value":
            fields = [f.name for f in SECTIONS.get(section, ())] or ["name"]
            row[draw(st.sampled_from(fields))] = draw(ANY_VALUE)
        elif kind == "unknown key":
            row[draw(st.sampled_from(["budget_usd", "nam", "ÿ", "count "]))] = 1
        elif kind == "duplicate":
            rows.append(dict(row))
        else:
            fields = REFERENCE_FIELDS.get(section, ("name",))
            key = draw(st.sampled_from(fields))
            row[key] = draw(NAMES) if key != "partners" else [draw(NAMES)]
        return f"{kind} {section}"
    if kind == "param":
        p = draw(st.sampled_from(MODEL_PARAMS))
        data.setdefault("params", {})[p.name] = draw(ANY_VALUE)
        return f"param {p.name}"
    if kind == "extreme":
        p = draw(st.sampled_from([p for p in MODEL_PARAMS if p.min is not None]))
        data.setdefault("params", {})[p.name] = draw(st.sampled_from([p.min, p.max]))
        return f"extreme {p.name}"
    if kind == "rename" and tables:
        section = draw(st.sampled_from([t for t in tables if t in ("region", *FIRMS)] or tables))
        row = draw(st.sampled_from(data[section]))
        old, new = row.get("name"), draw(st.one_of(st.text(min_size=1, max_size=30), NAMES))
        for rows in (data[t] for t in _tables(data)):
            for r in rows:
                for k, v in r.items():
                    r[k] = (
                        new
                        if v == old
                        else [new if x == old else x for x in v]
                        if (isinstance(v, list))
                        else v
                    )
        return f"rename {section}"
    if kind == "empty table":
        data[draw(st.sampled_from(sorted(SECTIONS)))] = []
        return kind
    if kind == "count" and tables:
        section = draw(st.sampled_from([t for t in tables if t != "contract"] or tables))
        row = draw(st.sampled_from(data[section]))
        row["count"] = draw(st.sampled_from([0, 1, 2, 50, 1000, 10_000, 10_001, 10**5, 10**400]))
        return f"count {section}"
    if kind == "header":
        head = data.setdefault("scenario", {})
        key = draw(st.sampled_from(["name", "description", "seed", "author"]))
        head[key] = draw(st.one_of(ANY_VALUE, st.sampled_from(["../../escaped", "a/b", "ok-name"])))
        return f"header {key}"
    if kind == "base":
        return _base_mutation(draw, data, files)
    if kind == "contract" and data.get("contract"):
        row = draw(st.sampled_from(data["contract"]))
        key = draw(st.sampled_from(["capacity_h100e", "start_month", "term_months", "buyer"]))
        value = {
            "capacity_h100e": st.sampled_from([1.0, 1e7, 1e10, 5e5]),
            "start_month": st.sampled_from(["1988-01", "2030-01", "2025-12", "9999-12"]),
            "term_months": st.sampled_from([1, 6, 240]),
            "buyer": st.just(row.get("seller", "")),
        }[key]
        row[key] = draw(value)
        return f"contract {key}"
    return "none"


def _base_mutation(draw, data: dict, files: dict) -> str:
    head = data.setdefault("scenario", {})
    case = draw(st.sampled_from(["builtin", "self", "cycle", "chain", "outside", "absolute"]))
    if case == "builtin":
        head["base"] = draw(st.sampled_from([*builtin_names(), "basline", ""]))
    elif case == "self":
        head["base"] = "scenario.toml"
    elif case == "cycle":
        head["base"] = "other.toml"
        files["other.toml"] = '[scenario]\nbase = "scenario.toml"\n'
    elif case == "chain":
        n = draw(st.integers(1, 12))
        head["base"] = "sub/b1.toml"
        for k in range(1, n + 1):
            nxt = f"b{k + 1}.toml" if k < n else None
            files[f"sub/b{k}.toml"] = (
                f'[scenario]\nbase = "{nxt}"\n' if nxt else '[scenario]\nbase = "classroom"\n'
            )
    elif case == "outside":
        head["base"] = "../outside.toml"
    else:
        head["base"] = "/etc/passwd"
    return f"base {case}"


@st.composite
def fuzzed_file(draw):
    """(files to write, label): 'scenario.toml' and any base files it names."""
    name = draw(st.sampled_from(builtin_names()))
    data = tomllib.loads(dump(RAW[name]))  # a deep copy
    files: dict[str, str] = {}
    labels = [draw(mutation(data, files)) for _ in range(draw(st.integers(1, 3)))]
    text = dump(data)
    if draw(st.integers(0, 9)) == 0:  # broken TOML
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["[[", '"', "=", "\x00", "]]\n[x", "\n= 1"]))
        labels.append("broken TOML")
    files["scenario.toml"] = text
    return files, f"{name}: " + ", ".join(labels)


# ----------------------------------------------------------------------- the check
class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no answer within {SECONDS_MAX} s")


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """The CLI in-process: (exit code, stdout, stderr). An exception that escapes
    ``main`` is a traceback a user would see; a run over SECONDS_MAX raises Hang."""
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS_MAX)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's own refusals
                code = exc.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, out.getvalue(), err.getvalue()


def check_file(files: dict[str, str], extra: tuple[str, ...] = (), label: str = "") -> str:
    """Write ``files`` to a fresh folder, run the CLI on scenario.toml for one month
    and check the outcome; return 'ran' or 'refused'."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "work"
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8", errors="surrogatepass")
        (Path(tmp) / "outside.toml").write_text('[scenario]\nbase = "classroom"\n')
        before = sorted(p.relative_to(tmp) for p in Path(tmp).rglob("*"))
        out = root / "out"
        argv = ["run", "--scenario", str(root / "scenario.toml"), "--years", "0.0834"]
        code, _, err = run_cli([*argv, "--out", str(out), "--no-figures", "--quiet", *extra])
        assert "Traceback" not in err, (label, err)
        if code == 0:
            assert (out / "timeseries.csv").is_file() and (out / "manifest.json").is_file()
            return "ran"
        assert code == 2, (label, code, err)
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("(see '")]
        assert len(lines) == 1 and lines[0].startswith("error: "), (label, err)
        after = sorted(p.relative_to(tmp) for p in Path(tmp).rglob("*"))
        assert after == before, f"{label}: a refused run left files behind"
        return "refused"


# Failures found by the fuzzer, kept as explicit examples.
REGRESSIONS = [
    ({"scenario.toml": 'chip_supplier = []\n[scenario]\nname="r"\nbase="classroom"\n'}, "no chips"),
    ({"scenario.toml": '[scenario]\nbase="classroom"\n[params]\nstart_month = "²⁰²⁶-01"\n'}, "m"),
    ({"scenario.toml": f'[scenario]\nbase="classroom"\n[params]\nyears = {"9" * 400}\n'}, "int"),
    ({"scenario.toml": '[scenario]\nbase="classroom"\n[[lab]]\nname="L"\ncount=100000\n'}, "n"),
    ({"scenario.toml": '[scenario]\nbase="/etc/passwd"\n'}, "outside"),
]


def _with_examples(test):
    for files, label in REGRESSIONS:
        test = example((files, label))(test)
    return test


@settings(max_examples=300, **FUZZ_SETTINGS)
@given(fuzzed_file())
@_with_examples
def test_fuzzed_scenario_runs_or_is_refused_cleanly(case):
    files, label = case
    check_file(files, label=label)


@pytest.mark.slow
@settings(max_examples=1000, **FUZZ_SETTINGS)
@given(fuzzed_file())
def test_a_thousand_fuzzed_scenarios(case):
    files, label = case
    check_file(files, label=label)


FLAG_VALUES = st.one_of(
    st.text(max_size=12), st.sampled_from(["2026-0²", "٣", "1e400", "nan", "-0", "9" * 400])
)


@settings(max_examples=100, **FUZZ_SETTINGS)
@given(st.sampled_from(MODEL_PARAMS), FLAG_VALUES, FLAG_VALUES)
@example(MODEL_PARAMS[0], "2026-0²", "7")
def test_fuzzed_flags_run_or_are_refused_cleanly(param, value, seed):
    """--set NAME=VALUE and --seed with odd text: a run or one error line."""
    files = {"scenario.toml": (builtin_dir() / "classroom.toml").read_text()}
    check_file(files, (f"--set={param.name}={value}", f"--seed={seed}"))
