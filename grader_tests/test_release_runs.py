"""A student opens the release and runs every cell: only the stubs, and what needs their
names, may fail."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import PROJECT
from test_release import ASSIGNMENTS

pytestmark = pytest.mark.slow
UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def _defined(source: str) -> set[str]:
    """Names a cell's code binds at top level (assignments, functions, imports)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_running_the_release_shows_only_stub_errors(assignment, tmp_path, mnist_dir):
    [released] = (PROJECT / "release" / assignment).glob("*.ipynb")
    [source] = (PROJECT / "source" / assignment).glob("*.ipynb")
    (tmp_path / "course.toml").write_text(f'[data]\nmnist_dir = "{mnist_dir}"\n')
    notebook = nbformat.read(released, as_version=4)
    NotebookClient(notebook, timeout=600, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    # Names the student must define, and names of given cells that failed because of them.
    missing = set().union(*(_defined(c.source) for c in nbformat.read(source, 4).cells
                            if c.metadata["nbgrader"].get("solution") and c.cell_type == "code"))
    unexpected = []
    for cell in notebook.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        meta = cell.metadata["nbgrader"]
        for error in errors:
            name = UNDEFINED.search(error.evalue)
            if error.ename == "NotImplementedError" and meta.get("solution"):
                continue
            if error.ename == "NameError" and name and name.group(1) in missing:
                continue
            if error.ename == "AssertionError" and meta.get("grade"):
                continue  # a check of the student's work, which is not there yet
            unexpected.append((meta["grade_id"], error.ename, error.evalue))
        if errors and cell.cell_type == "code":
            missing |= _defined(cell.source)
    assert not unexpected
    assert any(o.output_type == "error" for c in notebook.cells for o in c.get("outputs", []))
