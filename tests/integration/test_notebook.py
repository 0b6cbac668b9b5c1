"""docs/notebooks/debate.ipynb runs from top to bottom with the fake model."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "debate.ipynb"


def test_the_notebook_runs_with_the_fake_model(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    os.environ["KOPICHAT_MODEL"] = "fake"  # the kernel inherits the environment
    try:
        NotebookClient(
            notebook,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        ).execute()
    finally:
        del os.environ["KOPICHAT_MODEL"]
    outputs = "\n".join(
        str(output.get("text", ""))
        + str(output.get("data", {}).get("text/plain", ""))
        + str(output.get("data", {}).get("text/markdown", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "model: fake" in outputs
    assert "Pineapple belongs on pizza." in outputs
    assert outputs.count("bot:  I stand by my position: Pineapple belongs on pizza.") == 3
    # The replay: a stored debate (none yet: one is stored first) against a draft version.
    assert "thesis: Pineapple belongs on pizza." in outputs
    assert "| user | stored (v3) | replayed (v99) |" in outputs
    assert "| Sweet and salty never works. | I stand by my position: Pineapple belongs" in outputs
    assert outputs.count("My side has not moved: Pineapple belongs on pizza.") == 4
    assert not any(
        output.get("output_type") == "error"
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
