"""`course grade`: autograde every collected submission of an assignment, batch-safe.

One broken submission never stops the batch: its result says why it was not graded. Work
already graded is skipped unless its files changed or `force` is set. Each submission is
graded by course_lib.pipeline.execute.grade_submission (sandboxed run, then the batch's one
verifier), which returns plain data; this process alone records it (course_lib.pipeline.record).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from tqdm import tqdm

from course_lib import results as R
from course_lib.course import check_assignments, course_root, grading_settings, released_notebook
from course_lib.errors import CourseError
from course_lib.pipeline.record import record
from course_lib.pipeline.execute import Verifier, grade_submission
from course_lib.submissions import submission_digest, submitted_students
from course_lib.pipeline.sandbox import bubblewrap

SKIPPED = "skipped"


def grade(
    *,
    assignment: str,
    students: list[str] | None = None,
    force: bool = False,
    unsafe_no_sandbox: bool = False,
    course_dir: str | Path = ".",
) -> list[dict[str, Any]]:
    """Grade the collected submissions of `assignment` (all, or `students`); return a summary
    per student: {"student", "status", "score", "max_score", "seconds", "tampered", "message"}.

    Student code runs in a bubblewrap sandbox; without bubblewrap this refuses to run, unless
    `unsafe_no_sandbox` (the results then say so).
    """
    root = course_root(course_dir)
    check_assignments(root, [assignment])
    sandbox = not unsafe_no_sandbox
    if sandbox:
        bubblewrap()
    todo = _submissions(root, assignment, students)
    summaries = []
    verifier = Verifier(assignment, grading_settings(root, assignment), sandbox)
    with verifier, tqdm(todo, desc=f"grading {assignment}", unit="submission", file=sys.stderr) as bar:
        for student in bar:
            bar.set_postfix_str(student)
            summaries.append(_grade_one(root, assignment, student, force, verifier))
    return summaries


def format_summary(summary: dict[str, Any]) -> str:
    """One line per graded student, as `course grade` prints it."""
    score = f"{summary['score']:g}/{summary['max_score']:g}"
    flag = "TAMPERED" if summary.get("tampered") else ""
    return f"{summary['student']:<24} {summary['status']:<16} {score:>8} {flag:<8}  {summary['message']}"


def _submissions(root: Path, assignment: str, students: list[str] | None) -> list[str]:
    collected = submitted_students(root, assignment)
    if not collected:
        raise CourseError(f"no submission of {assignment} is collected: run `course collect` first")
    unknown = sorted(set(students or []) - set(collected))
    if unknown:
        raise CourseError(f"no submission of {assignment} by {', '.join(unknown)}")
    return [s for s in collected if not students or s in students]


def _grade_one(root: Path, assignment: str, student: str, force: bool, verifier: Verifier) -> dict[str, Any]:
    previous = R.read_result(root, assignment, student)
    digest = submission_digest(root / "submitted" / student / assignment)
    if previous and previous["submission_sha256"] == digest and not force:
        return _summary(previous, SKIPPED, "already graded, unchanged (--force grades it again)")
    output_dir = root / "autograded" / student / assignment
    try:
        result = grade_submission(
            course_dir=root, assignment=assignment, student=student, output_dir=output_dir,
            sandbox=verifier.sandbox, verifier=verifier,
        )
    except Exception as error:  # the batch goes on; the instructor sees why
        result = _failed(root, assignment, student, digest, error)
    record(root, result)
    R.write_result(root, result)
    return _summary(result, result["status"], result["message"])


def _failed(root: Path, assignment: str, student: str, digest: str, error: Exception) -> dict:
    """The result of a submission whose grading itself failed: every cell at zero (so that the
    gradebook keeps no earlier score), and the reason."""
    import nbformat

    last = traceback.format_exception_only(error)[-1].strip()
    try:
        release = released_notebook(root, assignment)
        result = R.empty_result(student, assignment, digest, nbformat.read(release, 4), release.stem)
    except Exception:  # the release itself is unreadable: a result without cells
        result = R.empty_result(student, assignment, digest, nbformat.v4.new_notebook(), "")
    return R.with_status(result, R.ERROR, f"grading failed: {last}")


def _summary(result: dict[str, Any], status: str, message: str) -> dict[str, Any]:
    return {
        "student": result["student"],
        "status": status,
        "score": result["score"],
        "max_score": result["max_score"],
        "seconds": result["seconds"],
        "tampered": result.get("tampered", False),
        "message": message,
    }
