"""nbgrader_config.py with real nbgrader: the French stubs of a release."""

from __future__ import annotations

import shutil

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import PROJECT

from course_lib.course import nbgrader_api


def _cell(grade_id: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    meta = {"grade_id": grade_id, "schema_version": 3, "locked": False, "solution": False,
            "grade": False, **nbgrader}
    return new_code_cell(source, metadata={"nbgrader": meta})


NOTEBOOK = new_notebook(cells=[
    _cell("answer", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", solution=True),
    new_markdown_cell("### BEGIN SOLUTION\nla réponse\n### END SOLUTION", metadata={"nbgrader": {
        "grade_id": "written", "schema_version": 3, "locked": False, "solution": True,
        "grade": True, "points": 1}}),
], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_a_release_holds_the_french_stubs(tmp_path):
    shutil.copy(PROJECT / "nbgrader_config.py", tmp_path)
    (tmp_path / "source" / "check").mkdir(parents=True)
    nbformat.write(NOTEBOOK, tmp_path / "source" / "check" / "check.ipynb")
    # nbgrader's own step of `course release` (a practical without a spec: no contract to check)
    assert nbgrader_api(tmp_path).generate_assignment("check", force=True, create=True)["success"]

    released = nbformat.read(tmp_path / "release" / "check" / "check.ipynb", as_version=4)
    assert released.cells[0].source == "# TON CODE ICI\nraise NotImplementedError()"
    assert released.cells[1].source == "TA RÉPONSE ICI"
