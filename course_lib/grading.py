"""Grading one submission: nbgrader autograde, then the results as plain JSON-ready data.

`grade_submission` is the unit of work of every batch: it takes names and paths and returns a
dict of numbers and strings, so that it can later run in a sandbox or on a remote worker
without a rewrite.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import nbformat

from course_lib.course import check_assignments, course_root, nbgrader_config
from course_lib.errors import CourseError

# How a cell is graded: by its tests, or by the instructor (written answers).
AUTO, MANUAL = "auto", "manual"
# The status of a graded cell, as instructors read it in exports and reports.
PASSED, PARTIAL, FAILED, ERROR, MANUAL_PENDING = (
    "passed", "partial", "failed", "error", "manual-pending"
)


def grade_submission(*, course_dir: str | Path, assignment: str, student: str) -> dict[str, Any]:
    """Autograde submitted/<student>/<assignment>/ and return its scores and messages.

    The result: {"student", "assignment", "success", "error", "seconds", "score", "max_score",
    "cells": [{"notebook", "grade_id", "points", "max_points", "status", "message"}]}.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    root = course_root(course_dir)
    check_assignments(root, [assignment])
    submitted = root / "submitted" / student / assignment
    if not submitted.is_dir():
        raise CourseError(f"no submission of {assignment} by {student} in {submitted.parent}")
    config = nbgrader_config(root)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    started = time.perf_counter()
    outcome = api.autograde(assignment, student, force=True, create=True)
    seconds = time.perf_counter() - started
    cells = _graded_cells(api, root, assignment, student)
    return {
        "student": student,
        "assignment": assignment,
        "success": bool(outcome["success"]),
        "error": _last_line(outcome.get("error", "")),
        "seconds": round(seconds, 1),
        "score": sum(cell["points"] or 0.0 for cell in cells),
        "max_score": sum(cell["max_points"] for cell in cells),
        "cells": cells,
    }


def _graded_cells(api: Any, root: Path, assignment: str, student: str) -> list[dict[str, Any]]:
    """Each graded cell's points from the gradebook, with what the autograded notebook says."""
    from nbgrader.api import MissingEntry

    cells = []
    with api.gradebook as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return []
        for notebook in submission.notebooks:
            path = root / "autograded" / student / assignment / f"{notebook.name}.ipynb"
            said = _cells_said(path)
            for grade in notebook.grades:
                kind, message = said.get(grade.name, (AUTO, ""))
                cells.append(_cell_result(notebook.name, grade, kind, message))
    return cells


def _cell_result(notebook: str, grade: Any, kind: str, message: str) -> dict[str, Any]:
    points = None if grade.needs_manual_grade else grade.score
    if points is None:
        status = MANUAL_PENDING
    elif points >= grade.max_score:
        status = PASSED
    elif points > 0:
        status = PARTIAL
    else:
        status = ERROR if message.startswith("error") else FAILED
    return {
        "notebook": notebook,
        "grade_id": grade.name,
        "kind": kind,
        "points": points,
        "max_points": grade.max_score,
        "status": status,
        "message": message,
    }


def _cells_said(path: Path) -> dict[str, tuple[str, str]]:
    """grade_id → (kind, message): "manual" for written answers, "auto" for test cells, whose
    message is the exception's, else the last line they printed."""
    if not path.is_file():
        return {}
    notebook = nbformat.read(path, as_version=4)
    said = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        if meta.get("solution"):
            said[meta["grade_id"]] = (MANUAL, "")
            continue
        message = ""
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                kind = "failed" if output.ename == "AssertionError" else "error"
                message = f"{kind}: {output.ename}: {output.evalue}".strip()
                break
            if output.output_type == "stream" and output.name == "stdout":
                message = _last_line(output.text)
        said[meta["grade_id"]] = (AUTO, message)
    return said


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
