"""The notebook grading runs (course_lib.pipeline.prepare): what a submission changed in cells
it may not change is noted, but a notebook made from an earlier release of the practical is
not tampering. Fast: nothing runs."""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from conftest import PROJECT

from course_lib.pipeline.prepare import prepare

RELEASE = nbformat.read(PROJECT / "release" / "tp1_dense" / "TP1_MNIST_dense.ipynb", 4)


def cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture
def next_release():
    """The release once the instructor fixed a given cell and added a test after students
    started: a copy of today's release, re-checksummed as nbgrader would make it."""
    fixed = copy.deepcopy(RELEASE)
    given = cell(fixed, "view")
    given.source = given.source.replace("plot_images(", "plot_images(  ")  # the typo fixed
    given.metadata.nbgrader["checksum"] = compute_checksum(given)
    added = copy.deepcopy(cell(fixed, "test_heaviside"))
    added.metadata.nbgrader["grade_id"] = "test_heaviside_bis"
    added.metadata.nbgrader["checksum"] = compute_checksum(added)
    fixed.cells.insert(fixed.cells.index(cell(fixed, "test_heaviside")) + 1, added)
    return fixed


def test_a_notebook_of_an_earlier_release_is_graded_without_a_tampering_note(next_release):
    prepared = prepare(next_release, copy.deepcopy(RELEASE), {})
    assert (prepared.notes, prepared.earlier_release) == ([], True)
    ran = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in prepared.notebook.cells}
    assert ran["view"] == cell(next_release, "view").source  # today's cells run
    assert "test_heaviside_bis" in prepared.test_cells


def test_an_edited_test_cell_is_noted_even_beside_older_cells(next_release):
    submission = copy.deepcopy(RELEASE)
    cell(submission, "test_activations").source = "pass"  # its checksum no longer matches
    prepared = prepare(next_release, submission, {})
    assert not prepared.earlier_release
    assert prepared.notes == ["cell test_activations was edited (the released cell was run)",
                              "cell test_heaviside_bis was deleted (the released cell was run)"]


def test_a_deleted_test_cell_of_this_release_is_noted():
    submission = copy.deepcopy(RELEASE)
    submission.cells.remove(cell(submission, "test_accuracy"))
    prepared = prepare(RELEASE, submission, {})
    assert (prepared.notes, prepared.earlier_release) == (
        ["cell test_accuracy was deleted (the released cell was run)"], False)
