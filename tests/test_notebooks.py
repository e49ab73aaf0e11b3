"""The example notebooks run from top to bottom (nbclient, a real kernel) so they never rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize("name", ["one_repo_study", "many_repo_study", "quality_adoption_study"])
def test_notebook_runs(name, tmp_path):
    nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o.get("data", {}) for o in outputs]
    assert any("text/html" in d for d in shown), "results render as HTML in notebooks"
    checks = [d.get("text/plain") for d in shown if d.get("text/plain") in ("True", "False")]
    if name == "quality_adoption_study":
        assert checks == ["True"], "the adoption effect's CI holds the planted +16"
        assert any("image/png" in d for d in shown), "the event study is drawn"
    if name == "one_repo_study":
        assert any("image/png" in d for d in shown), "the plots are drawn"
        checks = [d["text/plain"] for d in shown if d.get("text/plain") in ("True", "False")]
        assert checks, "the notebook checks its estimate against the planted truth"
