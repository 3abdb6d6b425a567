"""The course's nbgrader gradebook, written by the batch process only.

Workers return plain results (course_lib.grading); `record` writes one into the gradebook, so
that nbgrader's formgrader shows the autograded scores and the written answers to grade by
hand. `refresh_manual_grades` brings the instructor's manual grades back into the stored
results before exports, reports and feedback read them.
"""

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


def record(root: Path, result: dict[str, Any]) -> None:
    """Store `result`'s automatic scores in the gradebook; manual grades already given stay."""
    from nbgrader.utils import parse_utc

    timestamp_file = root / "submitted" / result["student"] / result["assignment"] / "timestamp.txt"
    timestamp = parse_utc(timestamp_file.read_text().strip()) if timestamp_file.is_file() else None
    cells = {(c["notebook"], c["grade_id"]): c for c in result["cells"]}
    with open_gradebook(root) as gradebook:
        gradebook.update_or_create_student(result["student"])
        submission = gradebook.update_or_create_submission(
            result["assignment"], result["student"], timestamp=timestamp
        )
        penalty_left = result["late_penalty"]
        for notebook in submission.notebooks:
            notebook.late_submission_penalty = penalty_left
            penalty_left = 0.0  # the penalty is the assignment's: count it once
            for grade in notebook.grades:
                cell = cells.get((notebook.name, grade.name))
                if cell is None:
                    continue
                pending = cell["status"] == R.MANUAL_PENDING
                grade.auto_score = None if pending else cell["points"]
                grade.needs_manual_grade = pending and grade.manual_score is None
        gradebook.db.commit()


def refresh_manual_grades(root: Path) -> None:
    """Copy the manual scores given in formgrader into the stored results (grading.json)."""
    from nbgrader.api import MissingEntry

    stored = R.read_results(root)
    if not stored or not (root / "gradebook.db").is_file():
        return
    with open_gradebook(root) as gradebook:
        for result in stored:
            try:
                submission = gradebook.find_submission(result["assignment"], result["student"])
            except MissingEntry:
                continue
            manual = {
                (notebook.name, grade.name): grade.manual_score
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.manual_score is not None
            }
            if _apply_manual(result, manual):
                R.write_result(root, result)


def _apply_manual(result: dict[str, Any], manual: dict[tuple[str, str], float]) -> bool:
    """Put the manual scores into the result's cells and total; True when anything changed."""
    changed = False
    for cell in result["cells"]:
        score = manual.get((cell["notebook"], cell["grade_id"]))
        if cell["kind"] == R.MANUAL and score is not None and cell["points"] != score:
            cell["points"] = score
            cell["status"] = R.PASSED if score >= cell["max_points"] else (
                R.PARTIAL if score > 0 else R.FAILED
            )
            cell["message"] = "graded by hand"
            changed = True
    if changed:
        result["score"] = R.total_score(result["cells"], result["late_penalty"])
    return changed
