"""Grading fixture submissions with real nbgrader, once per module, for the end-to-end tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import PROJECT

from course_lib.course import copy_course, place_submission
from course_lib.grade import grade
from course_lib.results import read_result

FIXTURES = PROJECT / "grader_tests" / "fixtures"
UNTOUCHED = "untouched_release"


def grade_fixtures(folder: Path, mnist: Path, assignment: str) -> dict[str, dict[str, Any]]:
    """Grade every fixture of `assignment` and its untouched release with `course grade`'s
    function, in a fresh course; fixture name → stored result."""
    course = copy_course(origin=PROJECT, folder=folder, assignments=[assignment], mnist_dir=mnist)
    submissions = {p.stem: p for p in sorted((FIXTURES / assignment).glob("*.ipynb"))}
    [submissions[UNTOUCHED]] = (course / "release" / assignment).glob("*.ipynb")
    for student, notebook in submissions.items():
        place_submission(course_dir=course, assignment=assignment, student=student, notebook=notebook)
    grade(assignment=assignment, course_dir=course)
    return {student: read_result(course, assignment, student) for student in submissions}


def points(result: dict[str, Any]) -> dict[str, float]:
    """grade_id → points of the autograded cells (written answers are graded by hand)."""
    return {c["grade_id"]: c["points"] for c in result["cells"] if c["kind"] == "auto"}


def lost(result: dict[str, Any], full: dict[str, float]) -> dict[str, float]:
    """grade_id → points lost against `full`, only where some were lost."""
    got = points(result)
    return {cell: full[cell] - got[cell] for cell in full if got[cell] != full[cell]}
