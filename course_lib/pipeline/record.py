"""Recording a result in the course's gradebook: done by the grading batch only, after the
sandboxes are gone, so that nbgrader's formgrader shows the autograded scores and the written
answers to grade by hand."""

from __future__ import annotations

from pathlib import Path
from course_lib import results as R
from course_lib.gradebook import open_gradebook
from course_lib.submissions import submission_time, submitted_dir


def record(root: Path, result: R.SubmissionResult) -> None:
    """Store `result`'s automatic scores in the gradebook; manual grades already given stay."""
    try:
        timestamp = submission_time(submitted_dir(root, result.student, result.assignment))
    except ValueError:  # the result's notes say so; the gradebook keeps no time
        timestamp = None
    cells = {(c.notebook, c.grade_id): c for c in result.cells}
    with open_gradebook(root) as gradebook:
        gradebook.update_or_create_student(result.student)
        submission = gradebook.update_or_create_submission(
            result.assignment, result.student, timestamp=timestamp
        )
        penalty_left = result.late_penalty
        for notebook in submission.notebooks:
            notebook.late_submission_penalty = penalty_left
            penalty_left = 0.0  # the penalty is the assignment's: count it once
            for grade in notebook.grades:
                cell = cells.get((notebook.name, grade.name))
                if cell is None:
                    continue
                pending = cell.status == R.CellStatus.MANUAL_PENDING
                grade.auto_score = None if pending else cell.points
                grade.needs_manual_grade = pending and grade.manual_score is None
        gradebook.db.commit()
