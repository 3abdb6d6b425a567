"""nbgrader_config.py with real nbgrader and a real kernel: stubs, and stderr that must not
cost a correct cell its points while a real error still does."""

from __future__ import annotations

import shutil

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from conftest import PROJECT

from course_lib.course import place_submission
from course_lib.grade import grade
from course_lib.release import release
from course_lib.results import read_result


def _cell(grade_id: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    meta = {"grade_id": grade_id, "schema_version": 3, "locked": False, "solution": False,
            "grade": False, **nbgrader}
    return new_code_cell(source, metadata={"nbgrader": meta})


def _test(grade_id: str, source: str) -> nbformat.NotebookNode:
    return _cell(grade_id, source, grade=True, locked=True, points=1)


NOTEBOOK = new_notebook(cells=[
    _cell("answer", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", solution=True),
    # Keras 3 warns on stderr about input_shape=, and TensorFlow logs on stderr when it starts.
    _test("keras_warning", "import keras\nkeras.layers.Dense(3, input_shape=(4,))\nassert answer == 42"),
    _test("python_warning", "import warnings\nwarnings.warn('deprecated thing', DeprecationWarning, stacklevel=1)\nwarnings.warn('some user warning')\nassert answer == 42"),
    _test("tensorflow_logger", "import tensorflow as tf\ntf.get_logger().warning('retracing')\nassert answer == 42"),
    # Anything else on stderr is the student's own output: nbgrader's rule (0 points) stands.
    _test("other_stderr", "import sys\nprint('my own error message', file=sys.stderr)"),
    _test("failing", "assert answer == 41, 'wrong answer'"),
], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_tensorflow_stderr_does_not_zero_a_correct_cell(tmp_path, mnist_dir):
    shutil.copy(PROJECT / "nbgrader_config.py", tmp_path)
    (tmp_path / "source" / "check").mkdir(parents=True)
    nbformat.write(NOTEBOOK, tmp_path / "source" / "check" / "check.ipynb")
    release(assignments=["check"], course_dir=tmp_path)

    released = nbformat.read(tmp_path / "release" / "check" / "check.ipynb", as_version=4)
    assert released.cells[0].source == "# VOTRE CODE ICI\nraise NotImplementedError()"

    place_submission(course_dir=tmp_path, assignment="check", student="s",
                     notebook=tmp_path / "source" / "check" / "check.ipynb")
    grade(assignment="check", course_dir=tmp_path)
    cells = {c["grade_id"]: c for c in read_result(tmp_path, "check", "s")["cells"]}
    assert {k: c["points"] for k, c in cells.items()} == {
        "keras_warning": 1, "python_warning": 1, "tensorflow_logger": 1,
        "other_stderr": 0, "failing": 0,
    }
    assert cells["failing"]["message"] == "failed: AssertionError: wrong answer"
