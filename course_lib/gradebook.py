"""The course's nbgrader gradebook: opening it, and reading the manual grades given in
formgrader into the results that exports, reports and feedback show (never writing them).
Only the grading batch writes it (course_lib.pipeline.record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from course_lib import results as R


def open_gradebook(root: Path) -> Any:
    """The course's gradebook (nbgrader's default place), under the course's own id."""
    from nbgrader.api import Gradebook

    from course_lib.course import nbgrader_config, scripts_on_path

    scripts_on_path()
    course_id = nbgrader_config(root).CourseDirectory.get("course_id", "default_course")
    return Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id=course_id)


def with_manual_grades(root: Path, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results with the manual scores given so far in formgrader (read, never written:
    the stored results stay the grader's)."""
    from nbgrader.api import MissingEntry

    if not results or not (root / "gradebook.db").is_file():
        return results
    updated = []
    with open_gradebook(root) as gradebook:
        for result in results:
            try:
                submission = gradebook.find_submission(result["assignment"], result["student"])
            except MissingEntry:
                updated.append(result)
                continue
            manual = {
                (notebook.name, grade.name): grade.manual_score
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.manual_score is not None
            }
            updated.append(_apply_manual(result, manual))
    return updated


def _apply_manual(result: dict[str, Any], manual: dict[tuple[str, str], float]) -> dict[str, Any]:
    """A copy of `result` with the manual scores in its cells and total."""
    result = {**result, "cells": [dict(cell) for cell in result["cells"]]}
    for cell in result["cells"]:
        score = manual.get((cell["notebook"], cell["grade_id"]))
        if cell["kind"] == R.MANUAL and score is not None:
            cell["points"] = score
            cell["status"] = R.cell_status(score, cell["max_points"], ran=True)
            cell["message"] = "graded by hand"
    result["score"] = R.total_score(result["cells"], result["late_penalty"])
    return result
