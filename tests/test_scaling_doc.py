"""docs/scaling.md runs: its blocks marked ``# test`` are executed the same way as the
README's (see test_docs.py), and the names and files it cites exist."""

import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from test_docs import MARK, REPO, fenced  # noqa: E402
from test_docs import test_marked_block_runs as run_block  # noqa: E402

SCALING = REPO / "docs" / "scaling.md"


def blocks() -> list:
    return [
        pytest.param(lang, body, id=f"scaling.md:{line}")
        for lang, body, line in fenced(SCALING)
        if body.splitlines() and body.splitlines()[0].strip() == MARK
    ]


@pytest.mark.parametrize("lang,body", blocks())
def test_scaling_doc_block_runs(tmp_path, lang, body):
    run_block(tmp_path, lang, body)


def test_scaling_doc_has_marked_blocks_and_cites_existing_files():
    assert len(blocks()) >= 2
    import re

    text = SCALING.read_text(encoding="utf-8")
    cited = re.findall(r"`([\w./-]+\.(?:py|md|toml))`", text)
    assert cited and [c for c in cited if "/" in c and not (REPO / c).exists()] == []
