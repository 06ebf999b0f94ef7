"""The notebooks run: each is executed headless (nbclient) on its small fixture, so it never rots.

The kernel is this interpreter (the project venv): a kernelspec pointing at ``sys.executable``
is written to a temporary JUPYTER_PATH, which Jupyter searches before any user or system one.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
MISROUTES = NOTEBOOKS / "misroutes.ipynb"
FIGURES = (
    "misroutes_confusion.png",
    "misroutes_projection.png",
    "misroutes_margins.png",
    "misroutes_threshold.png",
    "misroutes_cost_quality.png",
)
PARAMETERS = {
    "EVAL_DATA",
    "OUTCOME_LOGS",
    "CENTROIDS",
    "QUALITY_DATA",
    "PRICES",
    "FIGURES_DIR",
    "MAX_ROWS",
    "FAST",
}
KERNEL = "semroute-test-python"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_committed_notebook_is_clean() -> None:
    """nbformat 4, no outputs or execution counts, and a parameters cell defining the inputs."""
    nb = json.loads(MISROUTES.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    first = code[0]
    assert "parameters" in first["metadata"].get("tags", [])
    tree = ast.parse("".join(first["source"]))
    assigned = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert assigned >= PARAMETERS


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "semroute tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL


@pytest.mark.slow
def test_misroutes_notebook_runs_on_fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv_kernel: str
) -> None:
    import nbclient  # dev dependencies (with ipykernel): fail loudly, never skip, when missing
    import nbformat

    figures = tmp_path / "figures"
    shipped = {p: p.stat().st_mtime_ns for p in (REPO / "docs" / "figures").glob("misroutes_*.png")}
    monkeypatch.setenv("SEMROUTE_NOTEBOOK_FIXTURE", "1")
    monkeypatch.setenv("SEMROUTE_NOTEBOOK_FIGURES_DIR", str(figures))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    nb = nbformat.read(MISROUTES, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=venv_kernel,
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "fixture mode: True" in text
    assert "corrected misroutes" in text  # the outcome-log section found the fixture log
    for name in FIGURES:
        png = figures / name
        assert png.is_file(), f"{name} was not written"
        assert png.read_bytes()[:8] == PNG_MAGIC
    # A fixture run never overwrites the figures the README shows.
    assert {p: p.stat().st_mtime_ns for p in shipped} == shipped
