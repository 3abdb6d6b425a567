"""Grades as CSV: for the instructor's spreadsheet, for Moodle's grade import, or cell by cell.

Scores come from the grading results (autograded/<student>/<assignment>/grading.json), names
and e-mails from nbgrader's gradebook when it knows the student.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from course_lib.course import course_root
from course_lib.errors import CourseError
from course_lib.gradebook import open_gradebook
from course_lib.instructor.views import attention_reasons, graded_results, number, output_path

FORMATS = ("csv", "moodle")
NOT_SUBMITTED = "not-submitted"

Table = tuple[list[str], list[list[str]]]


def export(
    *,
    course_dir: str | Path = ".",
    output: str | Path | None = None,
    format: str = "csv",
    detail: bool = False,
) -> Path:
    """Write the grades of every graded assignment as CSV and return the file's path.

    format="csv" (default exports/grades.csv), one row per student: student_id, first_name,
    last_name, total, max_total, then per assignment `<a>` (score after late penalty, manual
    answers at their current score), `<a>_max`, `<a>_status` (the result's status, or
    "not-submitted") and `<a>_tampered` (yes/no: the kernel's verdicts disagreed with the
    verifier's, or cells it may not change were changed), then needs_attention ("<a>: reason;
    …", empty when all is in order: tampering, a submission not graded normally, cells in
    error or timed out, manual grading pending).
    A student without a submission counts 0 of the assignment's maximum in the total.

    format="moodle" (default exports/grades-moodle.csv), for Moodle's "Import grades from CSV":
    Moodle asks which column identifies the users ("Map from" → "Map to") and which grade item
    each other column goes to (an existing item, or "new grade item" named after the column):
      - "ID number": the nbgrader student id → map to "useridnumber" (each user's "ID number"
        profile field in Moodle must hold that id); never empty, so always safe to map from.
      - "Email address", when the gradebook has e-mails → map to "useremail". Moodle abandons
        the whole import on a row whose identifier it cannot find, so map from it only when
        every student has one.
      - one column per assignment, named after it, holding the total score (out of the
        assignment's maximum: give the Moodle grade item that maximum). An empty cell means
        "no grade" to Moodle, which clears a grade already there.

    detail=True (csv only, default exports/grades-detail.csv): one row per student, assignment
    and graded cell: notebook, grade_id, kind, points, max_points, status (passed, partial,
    failed, error, timeout, missing, manual-pending) and the check's message.
    """
    if format not in FORMATS:
        raise CourseError(f"unknown export format {format!r}: choose one of {', '.join(FORMATS)}")
    if detail and format != "csv":
        raise CourseError(f"the detail of each cell exists only in the csv format, not {format}")
    root = course_root(course_dir)
    results = graded_results(root)
    if detail:
        table, name = _detail_table(results), "grades-detail.csv"
    elif format == "moodle":
        table, name = _moodle_table(results, _gradebook_students(root)), "grades-moodle.csv"
    else:
        table, name = _grades_table(results, _gradebook_students(root)), "grades.csv"
    header, rows = table
    path = output_path(root, output, f"exports/{name}")
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([header, *rows])
    return path


def _gradebook_students(root: Path) -> dict[str, dict[str, str]]:
    """{student id: first_name, last_name, email} from nbgrader's gradebook, if there is one.

    A missing gradebook is not created (nbgrader would): names are then simply unknown. The
    course's own id is given, or nbgrader would add a "default_course" to the gradebook.
    """
    database = root / "gradebook.db"
    if not database.is_file():
        return {}
    with open_gradebook(root) as gradebook:
        return {
            student.id: {
                "first_name": student.first_name or "",
                "last_name": student.last_name or "",
                "email": student.email or "",
            }
            for student in gradebook.students
        }


def _by_submission(
    results: list[dict[str, Any]], known: dict[str, dict[str, str]]
) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, Any]], dict[str, float]]:
    """Students (graded or in the gradebook), assignments, results by (student, assignment),
    and each assignment's maximum score (for those who did not submit it)."""
    by_key = {(r["student"], r["assignment"]): r for r in results}
    students = sorted({r["student"] for r in results} | set(known))
    assignments = sorted({r["assignment"] for r in results})
    maxima = {a: max(r["max_score"] for r in results if r["assignment"] == a) for a in assignments}
    return students, assignments, by_key, maxima


def _grades_table(results: list[dict[str, Any]], known: dict[str, dict[str, str]]) -> Table:
    students, assignments, by_key, maxima = _by_submission(results, known)
    header = ["student_id", "first_name", "last_name", "total", "max_total"]
    for assignment in assignments:
        header += [assignment, f"{assignment}_max", f"{assignment}_status", f"{assignment}_tampered"]
    header.append("needs_attention")
    rows = []
    for student in students:
        names = known.get(student, {})
        total = max_total = 0.0
        columns, attention = [], []
        for assignment in assignments:
            result = by_key.get((student, assignment))
            if result is None:
                max_total += maxima[assignment]
                columns += ["", number(maxima[assignment]), NOT_SUBMITTED, ""]
                continue
            total += result["score"]
            max_total += result["max_score"]
            columns += [number(result["score"]), number(result["max_score"]), result["status"],
                        "yes" if result.get("tampered") else "no"]
            attention += [f"{assignment}: {reason}" for reason in attention_reasons(result)]
        rows.append([
            student, names.get("first_name", ""), names.get("last_name", ""),
            number(total), number(max_total), *columns, "; ".join(attention),
        ])
    return header, rows


def _moodle_table(results: list[dict[str, Any]], known: dict[str, dict[str, str]]) -> Table:
    students, assignments, by_key, _ = _by_submission(results, known)
    with_email = any(names["email"] for names in known.values())
    header = ["ID number", *(["Email address"] if with_email else []), *assignments]
    rows = []
    for student in students:
        email = [known.get(student, {}).get("email", "")] if with_email else []
        scores = [number(by_key[student, a]["score"]) if (student, a) in by_key else ""
                  for a in assignments]
        rows.append([student, *email, *scores])
    return header, rows


def _detail_table(results: list[dict[str, Any]]) -> Table:
    header = ["student_id", "assignment", "notebook", "grade_id", "kind", "points", "max_points",
              "status", "message"]
    rows = [
        [result["student"], result["assignment"], cell["notebook"], cell["grade_id"],
         cell["kind"], number(cell["points"]), number(cell["max_points"]), cell["status"],
         cell["message"]]
        for result in results
        for cell in result["cells"]
    ]
    return header, rows
