"""release/ is what nbgrader makes of source/: up to date, and free of solutions and hidden tests."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conftest import PROJECT

from course_lib.release import copy_course

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
def test_each_test_cell_says_whether_the_grader_checks_more_as_its_spec_does(assignment):
    """course check marks ✅ (nothing more at grading) only the tests whose check in
    course_lib.specs has no hidden part; every other passing test is ☑️."""
    import importlib

    from course_lib.specs.common import no_hidden_check

    checks = importlib.import_module(f"course_lib.specs.{assignment}").CHECKS
    [master] = _notebooks(PROJECT / "source" / assignment)
    tests = {c.metadata.nbgrader.grade_id: c.metadata.get("course_lib", {}).get("hidden_check")
             for c in nbformat.read(master, as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader.get("solution")}
    assert set(tests) == set(checks)
    assert tests == {grade_id: check.hidden is not no_hidden_check for grade_id, check in checks.items()}


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
        digits = [r["sample_digits_accuracy"] for r in run["runs"]]
        row = (f"| {network} | {_comma(100 * run['mean'], 2)} % ; {_comma(100 * run['min'], 2)} – "
               f"{_comma(100 * run['max'], 2)} % | {_comma(100 * run['sample_digits_mean'], 1)} % ; "
               f"{100 * min(digits):.0f} – {100 * max(digits):.0f} % |")
        assert row in cell.source, row
