"""release/ is what nbgrader makes of source/: up to date, and free of solutions and hidden tests."""

from __future__ import annotations

import re
from copy import deepcopy
from pathlib import Path

import nbformat
import pytest

from conftest import PROJECT

from course_lib.errors import CourseError
from course_lib.release import copy_course, release
from course_lib.specs.protocol import checked_spec, contract_problems, load_spec

ASSIGNMENTS = sorted(p.name for p in (PROJECT / "source").iterdir() if p.is_dir())
REGION = re.compile(
    r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", flags=re.S
)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory, mnist_dir) -> Path:
    folder = tmp_path_factory.mktemp("course")
    return copy_course(origin=PROJECT, folder=folder, assignments=ASSIGNMENTS, mnist_dir=mnist_dir)


def _notebooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.ipynb"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_up_to_date_with_source(regenerated, assignment):
    committed = _notebooks(PROJECT / "release" / assignment)
    fresh = _notebooks(regenerated / "release" / assignment)
    assert committed and [p.name for p in committed] == [p.name for p in fresh]
    for old, new in zip(committed, fresh):
        assert old.read_text() == new.read_text(), (
            f"{old.relative_to(PROJECT)} is out of date: run `course release {assignment}` "
            "and commit release/"
        )


def _secret_lines(source: Path) -> set[str]:
    """Lines that only solutions and hidden tests have (not also given elsewhere in source)."""
    notebook = nbformat.read(source, as_version=4)
    secret, public = set(), set()
    for cell in notebook.cells:
        text = cell.source
        for match in REGION.finditer(text):
            secret.update(line.strip() for line in match.group(2).splitlines())
        public.update(line.strip() for line in REGION.sub("", text).splitlines())
    return {line for line in secret - public if len(line) > 3}


def _leaks(source: Path, released: nbformat.NotebookNode) -> list[str]:
    text = "\n".join(cell.source for cell in released.cells)
    markers = [m for m in ("BEGIN SOLUTION", "HIDDEN TESTS") if m in text]
    lines = {line.strip() for line in text.splitlines()}
    return markers + sorted(_secret_lines(source) & lines)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_and_no_hidden_test(assignment):
    for source in sorted((PROJECT / "source" / assignment).glob("*.ipynb")):
        assert len(_secret_lines(source)) > 20, "the leak check must have something to look for"
        released = nbformat.read(PROJECT / "release" / assignment / source.name, as_version=4)
        leaks = _leaks(source, released)
        assert not leaks, f"release/{assignment}/{source.name} leaks: {leaks[:5]}"


def test_leak_check_finds_a_leak():
    """The leak check can fail: a release that kept one hidden-test line is caught."""
    [source] = (PROJECT / "source" / ASSIGNMENTS[0]).glob("*.ipynb")
    released = nbformat.read(PROJECT / "release" / ASSIGNMENTS[0] / source.name, as_version=4)
    secret = sorted(_secret_lines(source))[0]
    released.cells[-1].source += "\n" + secret
    assert _leaks(source, released) == [secret]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_fixture_submissions_keep_the_release_where_a_student_does_not_write(assignment):
    """A fixture is a student's notebook made from this release: its test and given cells, and
    every cell's course_lib metadata (course check reads hidden_check there), are the release's."""
    [released] = _notebooks(PROJECT / "release" / assignment)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(released, as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("grade_id")}
    fixtures = _notebooks(PROJECT / "grader_tests" / "fixtures" / assignment)
    assert fixtures
    for fixture in fixtures:
        for cell in nbformat.read(fixture, as_version=4).cells:
            release = cells.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if release is None:
                continue
            where = f"{fixture.name}, {release.metadata.nbgrader.grade_id}"
            assert cell.metadata.get("course_lib") == release.metadata.get("course_lib"), where
            if not release.metadata.nbgrader.get("solution"):
                assert (cell.source, cell.metadata.nbgrader) == (release.source, release.metadata.nbgrader), where


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_accuracy_a_notebook_asks_for_is_the_one_course_toml_grades(assignment):
    """The public accuracy test, and the comment above it, state course.toml's thresholds: a
    student who passes it is not told 97 % while the verifier wants 98 %."""
    import tomllib

    accuracy = tomllib.loads((PROJECT / "course.toml").read_text())["assignments"][assignment]["accuracy"]
    [released] = _notebooks(PROJECT / "release" / assignment)
    [cell] = [c for c in nbformat.read(released, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id") == "test_accuracy"]
    asked = re.search(r"full=([0-9.]+), partial=([0-9.]+)\)", cell.source)
    said = re.search(r"tous les points à partir de ([0-9,]+) %, la moitié des points à partir de ([0-9,]+) %", cell.source)
    assert asked and said, cell.source
    assert tuple(map(float, asked.groups())) == (accuracy["full"], accuracy["partial"])
    assert tuple(float(p.replace(",", ".")) / 100 for p in said.groups()) == (accuracy["full"], accuracy["partial"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_release_and_its_spec_agree(assignment):
    """The spec's CHECKS are the release's test cells, both ways; each test cell says whether
    the grader checks more than it shows (course check marks ✅ only those that do not: every
    other passing test is ☑️), as its check does; KEEP names exports of its checks."""
    [released] = _notebooks(PROJECT / "release" / assignment)
    assert contract_problems(nbformat.read(released, as_version=4), load_spec(assignment)) == []


def _with_a_test_cell_copied(notebook, grade_id: str, new_id: str):
    [test] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    copy = deepcopy(test)
    copy.metadata.nbgrader["grade_id"] = new_id
    notebook.cells.insert(notebook.cells.index(test) + 1, copy)
    return notebook


def test_a_release_and_a_spec_that_differ_are_refused():
    """A test cell without a check would score 0 for every student: the release (or the
    grading) is refused with one line; so is a check without its cell, or a wrong marker."""
    [released] = _notebooks(PROJECT / "release" / "tp1_dense")
    spec = load_spec("tp1_dense")
    notebook = _with_a_test_cell_copied(nbformat.read(released, as_version=4), "test_heaviside", "test_heaviside_bis")
    assert contract_problems(notebook, spec) == [
        "test cell test_heaviside_bis has no check in CHECKS: it would score 0 for everyone"]
    with pytest.raises(CourseError, match=r"^tp1_dense: the release and course_lib/specs/tp1_dense.py differ: "
                                          r"test cell test_heaviside_bis has no check"):
        checked_spec("tp1_dense", notebook)

    notebook = nbformat.read(released, as_version=4)
    notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_save"]
    [marked] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_compile"]
    marked.metadata["course_lib"]["hidden_check"] = True
    assert contract_problems(notebook, spec) == [
        "CHECKS has test_save, which is no test cell of the notebook",
        "test cell test_compile: its metadata course_lib.hidden_check is True, its check says otherwise"]


def test_course_release_refuses_a_master_with_an_unchecked_test_cell(tmp_path, mnist_dir):
    course = copy_course(origin=PROJECT, folder=tmp_path / "course", assignments=["tp1_dense"], mnist_dir=mnist_dir)
    [master] = _notebooks(course / "source" / "tp1_dense")
    nbformat.write(_with_a_test_cell_copied(nbformat.read(master, as_version=4), "test_softmax", "test_softmax_bis"),
                   master)
    with pytest.raises(CourseError, match="test cell test_softmax_bis has no check in CHECKS"):
        release(assignments=["tp1_dense"], course_dir=course)


def _comma(number: float, digits: int) -> str:
    return f"{number:.{digits}f}".replace(".", ",")


def test_the_figures_tp2_shows_students_are_the_calibrations():
    """TP2's comparison table states what bench/calibrate.py measured for both solutions
    (bench/results/calibration-*.json): re-calibrating without updating it fails here."""
    import json

    [released] = _notebooks(PROJECT / "release" / "tp2_convol")
    [cell] = [c for c in nbformat.read(released, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id") == "compare_table_md"]
    for assignment, network in (("tp1_dense", "réseau dense (TP1)"), ("tp2_convol", "réseau convolutif (TP2)")):
        run = json.loads((PROJECT / "bench" / "results" / f"calibration-{assignment}.json").read_text())
        digits = [r["sample_digits_accuracy"] for r in run["runs"] if r.get("notebook", "solution") == "solution"]
        row = (f"| {network} | {_comma(100 * run['mean'], 2)} % ; {_comma(100 * run['min'], 2)} – "
               f"{_comma(100 * run['max'], 2)} % | {_comma(100 * run['sample_digits_mean'], 1)} % ; "
               f"{100 * min(digits):.0f} – {100 * max(digits):.0f} % |")
        assert row in cell.source, row
