"""docs/teaching/explore.ipynb runs from top to bottom in a fresh kernel, draws its
charts, builds the browser page, and is committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "docs" / "teaching" / "explore.ipynb"
TIMEOUT_S = 300


def test_the_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.mark.slow
def test_the_notebook_runs_and_draws_its_charts(tmp_path, monkeypatch):
    # the kernel is a child process: it finds this checkout's package through PYTHONPATH
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the chart cell drew no figure"
    text = "\n".join(
        str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
        for c in code
        for o in c.outputs
    )
    assert "'scenario': 'classroom'" in text and "60 months, from 2026-01" in text
    page_cell = next(c for c in code if "app.Page()" in c.source)
    assert page_cell.execution_count is not None
