"""The course's nbgrader gradebook: opening it, and reading the manual grades given in
formgrader into the results that exports, reports and feedback show (never writing them).
Only the grading batch writes it (course_lib.pipeline.record)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from course_lib import results as R
from course_lib.errors import CourseError


SQLITE = "sqlite:///"


def gradebook_url(root: Path) -> str:
    """The gradebook's database: nbgrader's `c.CourseDirectory.db_url` (nbgrader_config.py),
    by default nbgrader's own sqlite:///<course>/gradebook.db."""
    from course_lib.course import nbgrader_config

    return _url(root, nbgrader_config(root))


def _url(root: Path, config: Any) -> str:
    return str(config.CourseDirectory.get("db_url") or f"{SQLITE}{root / 'gradebook.db'}")


def gradebook_exists(root: Path) -> bool:
    """Whether there is a gradebook to read; a missing sqlite file is not created by a reader
    (nbgrader would). A server's database is taken to exist: opening it says otherwise."""
    url = gradebook_url(root)
    return not url.startswith(SQLITE) or Path(url.removeprefix(SQLITE)).is_file()


def open_gradebook(root: Path) -> Any:
    """The course's gradebook, under the course's own id."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SQLAlchemyError

    from course_lib.course import nbgrader_config, scripts_on_path

    scripts_on_path()
    config = nbgrader_config(root)
    course_id, url = config.CourseDirectory.get("course_id", "default_course"), _url(root, config)
    try:
        return Gradebook(url, course_id=course_id)
    except (SQLAlchemyError, ImportError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CourseError(f"cannot open the gradebook {_safe(url)}: {reason}") from None


def require_released(root: Path, assignment: str) -> None:
    """A CourseError, before anything runs, when nbgrader's gradebook does not know
    `assignment`: `course release` registers it (its cells and points), and grading records
    into it. A committed release/ folder alone does not register anything."""
    from nbgrader.api import MissingEntry

    with open_gradebook(root) as gradebook:
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"{assignment} is not in the gradebook: run `course release {assignment}` "
                              "first") from None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def with_manual_grades(root: Path, results: list[R.SubmissionResult]) -> list[R.SubmissionResult]:
    """The results with the manual scores given so far in formgrader (read, never written:
    the stored results stay the grader's)."""
    from nbgrader.api import MissingEntry

    if not results or not gradebook_exists(root):
        return results
    updated = []
    with open_gradebook(root) as gradebook:
        for result in results:
            try:
                submission = gradebook.find_submission(result.assignment, result.student)
            except MissingEntry:
                updated.append(result)
                continue
            manual = {
                (notebook.name, grade.name): grade.manual_score
                for notebook in submission.notebooks
                for grade in notebook.grades
                if grade.manual_score is not None
            }
            comments = {
                (notebook.name, comment.name): comment.manual_comment
                for notebook in submission.notebooks
                for comment in notebook.comments
                if comment.manual_comment
            }
            updated.append(_apply_manual(result, manual, comments))
    return updated


def _apply_manual(
    result: R.SubmissionResult, manual: dict[tuple[str, str], float], comments: dict[tuple[str, str], str]
) -> R.SubmissionResult:
    """A copy of `result` with the manual scores in its cells and total, and its late penalty
    for that total; a written answer's message is the instructor's comment, if any."""
    cells = []
    for cell in result.cells:
        key, score = (cell.notebook, cell.grade_id), manual.get((cell.notebook, cell.grade_id))
        if cell.kind == R.CellKind.MANUAL and score is not None:
            cell = replace(cell, points=score, status=R.cell_status(score, cell.max_points, ran=True),
                           message=comments.get(key, "graded by hand"))
        cells.append(cell)
    # The penalty of the score with the answers graded so far.
    late = result.late.for_score(R.total_score(cells, 0.0)) if result.late else None
    penalty = late.penalty if late else result.late_penalty
    return replace(result, cells=cells, late=late, late_penalty=penalty, score=R.total_score(cells, penalty))
