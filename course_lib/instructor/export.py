"""Grades as CSV: for the instructor's spreadsheet, for Moodle's grade import, or cell by cell.

Every student of the class roll (course_lib.instructor.roll) has a row, whatever became of
their work; scores come from the grading results, names, e-mails and Moodle ID numbers from
nbgrader's gradebook (the roster).
"""

from __future__ import annotations

import csv
from pathlib import Path

from course_lib import results as R
from course_lib.course import course_root
from course_lib.errors import CourseError
from course_lib.instructor.roll import Standing, Student, class_roll, gradebook_students, max_score, require_work
from course_lib.instructor.moodle_worksheet import fill_worksheet
from course_lib.instructor.output import ExportedFile, graded_results, number, output_path
from course_lib.safe_text import spreadsheet_cell

FORMATS = ("csv", "moodle", "moodle-worksheet")

Table = tuple[list[str], list[list[str]]]


def export(
    *,
    course_dir: str | Path = ".",
    output: str | Path | None = None,
    format: str = "csv",
    detail: bool = False,
    assignment: str | None = None,
    include_provisional: bool = False,
    worksheet: str | Path | None = None,
) -> ExportedFile:
    """Write the grades as CSV and return the file's path (and, for Moodle, who was left out).

    format="csv" (default exports/grades.csv), one row per student of the class roll:
    student_id, first_name, last_name, total, max_total, then per assignment `<a>` (score after
    late penalty, manual answers at their current score; empty when there is no graded
    submission), `<a>_max`, `<a>_status` (not-submitted, rejected, collected (not graded yet),
    graded, manual-pending, tampered, or how grading failed: kernel-died, timeout,
    invalid-notebook, error), `<a>_tampered` (yes/no: the kernel's verdicts disagreed with
    the verifier's, or cells it may not change were changed) and `<a>_late` (empty when on
    time, else "15 h late, -8 points": after course.toml's due date, the penalty of its [late]
    rule), then needs_attention ("<a>:
    reason; …", most severe first, empty when all is in order). A student without a graded
    submission counts 0 of the assignment's maximum in the total.

    `assignment` keeps one assignment's columns (default exports/grades-<assignment>.csv).

    format="moodle" (default exports/grades-moodle-<assignment>.csv), for Moodle's gradebook
    "Import" → "CSV file", one assignment per file (`assignment`, needed when several are
    graded): a column Moodle matches users by, "ID number" (the roster's idnumber) when the
    roster gives any, else "Email address", then the assignment's grade. Only final grades are
    written, never a blank cell (Moodle would clear a grade there): a student whose grade is
    not final (manual grading pending, tampered, grading failed, not graded, rejected, not
    submitted) or who has no identifier is left out and listed in `left_out`.
    `include_provisional` also writes the manual-pending and tampered grades at their current
    score.

    format="moodle-worksheet" (default exports/grading-worksheet-<assignment>.csv): the grading
    worksheet `worksheet` downloaded from the Moodle assignment, filled by participant id with
    the final grades (course_lib.instructor.moodle_worksheet), for its "Upload grading
    worksheet"; needs students collected from that assignment's "Download all submissions".

    detail=True (csv only, default exports/grades-detail[-<assignment>].csv): one row per graded cell:
    student_id, assignment, notebook, grade_id, title, kind, points, max_points, status
    (passed, partial, failed, error, timeout, missing, manual-pending, not-answered), knock_on
    (the check failed for want of a cell above) and the check's message (the student's, in
    French); a row of kind "cause" before them names the first cell that raised, and its error;
    a row of kind "tampering" after them, each disagreement between the kernel and the verifier
    and each cell changed that may not be (status and report show the first three).
    """
    if format not in FORMATS:
        raise CourseError(f"unknown export format {format!r}: choose one of {', '.join(FORMATS)}")
    if (format == "moodle-worksheet") != (worksheet is not None):
        raise CourseError("--worksheet goes with --format moodle-worksheet: the grading worksheet "
                          "downloaded from the Moodle assignment")
    if detail and format != "csv":
        raise CourseError(f"the detail of each cell exists only in the csv format, not {format}")
    root = course_root(course_dir)
    left_out: list[str] = []
    of = f"-{assignment}" if assignment else ""
    if detail:
        table, name = _detail_table(graded_results(root, assignment)), f"grades-detail{of}.csv"
    else:
        students = gradebook_students(root)
        standings = class_roll(root, students)
        require_work(root, standings)
        if assignment is not None:
            standings = _of_assignment(standings, assignment)
        if format == "moodle-worksheet":
            assignment = _moodle_assignment(standings, assignment)
            return fill_worksheet(
                root=root, standings=[s for s in standings if s.assignment == assignment], assignment=assignment,
                worksheet=Path(worksheet), include_provisional=include_provisional,
                output=output_path(root, output, f"exports/grading-worksheet-{assignment}.csv"))
        if format == "moodle":
            assignment = _moodle_assignment(standings, assignment)
            table, left_out = _moodle_table(standings, students, assignment, include_provisional)
            name = f"grades-moodle-{assignment}.csv"
        else:
            table, name = _grades_table(root, standings, students), f"grades{of}.csv"
    header, rows = table
    path = output_path(root, output, f"exports/{name}")
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([[spreadsheet_cell(cell) for cell in row] for row in [header, *rows]])
    return ExportedFile(path, left_out)


def _grades_table(root: Path, standings: list[Standing], known: dict[str, Student]) -> Table:
    assignments = sorted({s.assignment for s in standings})
    maxima = {a: max_score(root, a, standings) for a in assignments}
    header = ["student_id", "first_name", "last_name", "total", "max_total"]
    for assignment in assignments:
        header += [assignment, f"{assignment}_max", f"{assignment}_status", f"{assignment}_tampered",
                   f"{assignment}_suspect", f"{assignment}_late"]
    header.append("needs_attention")
    by_student: dict[str, dict[str, Standing]] = {}
    for standing in standings:
        by_student.setdefault(standing.student, {})[standing.assignment] = standing
    rows = []
    for student, mine in sorted(by_student.items()):
        names = known.get(student, Student(student))
        total = max_total = 0.0
        columns = []
        for assignment in assignments:
            standing = mine.get(assignment)  # only files that named no student lack one
            result = standing.result if standing else None
            total += result.score if result else 0.0
            maximum = result.max_score if result else maxima[assignment]
            max_total += maximum
            columns += [number(result.score) if result else "", number(maximum),
                        standing.state if standing else "",
                        ("yes" if result.tampered else "no") if result else "",
                        ", ".join(s.kind for s in result.suspicions) if result else "",
                        result.late.short() if result and result.late else ""]
        reasons = sorted(((a.rank, f"{s.assignment}: {a.text}") for s in mine.values() for a in s.attention))
        rows.append([
            student, names.first_name, names.last_name, number(total), number(max_total),
            *columns, "; ".join(text for _, text in reasons),
        ])
    return header, rows


def _of_assignment(standings: list[Standing], assignment: str) -> list[Standing]:
    mine = [s for s in standings if s.assignment == assignment]
    if not mine:
        raise CourseError(f"unknown assignment {assignment}: the course has "
                          f"{', '.join(sorted({s.assignment for s in standings}))}")
    return mine


def _moodle_assignment(standings: list[Standing], assignment: str | None) -> str:
    graded = sorted({s.assignment for s in standings if s.result})
    if assignment is not None:
        return assignment
    if not graded:
        raise CourseError("nothing is graded yet: a Moodle file carries grades (run `course grade` first)")
    if len(graded) != 1:
        raise CourseError(
            "Moodle imports one grade item at a time (a blank cell would clear a grade): "
            f"choose --assignment ({', '.join(graded)})"
        )
    return graded[0]


def _moodle_table(
    standings: list[Standing], known: dict[str, Student], assignment: str, include_provisional: bool
) -> tuple[Table, list[str]]:
    """Final grades by the identifier Moodle matches; who is left out, and why."""
    mine = [s for s in standings if s.assignment == assignment]
    with_idnumber = any(student.idnumber for student in known.values())
    column, field_name = ("ID number", "idnumber") if with_idnumber else ("Email address", "email")
    rows, left_out = [], []
    for standing in mine:
        identifier = getattr(known.get(standing.student, Student(standing.student)), field_name)
        if not standing.exportable(include_provisional):
            left_out.append(f"{standing.student} ({standing.not_final})")
        elif not identifier:
            left_out.append(f"{standing.student} (no {'ID number' if with_idnumber else 'e-mail'} "
                            "in the roster: Moodle could not match the row)")
        else:
            rows.append([identifier, number(standing.result.score)])
    if not rows and not any(getattr(student, field_name) for student in known.values()):
        raise CourseError(f"no grade of {assignment} can go to Moodle: no student of the gradebook has an "
                          "e-mail or an ID number, which Moodle matches rows by (collect with --roster "
                          "id,first_name,last_name,email[,idnumber]; or fill Moodle's own grading "
                          "worksheet: --format moodle-worksheet)")
    if not rows:
        example = f", e.g. {left_out[0]}" if left_out else ""
        raise CourseError(f"no grade of {assignment} can go to Moodle ({len(left_out)} students "
                          f"left out{example})")
    return ([column, assignment], rows), left_out


def _detail_table(results: list[R.SubmissionResult]) -> Table:
    """One row per graded cell; before them, the first cell of the submission that raised
    (kind "cause"), which the knock-on rows (knock_on "yes") depend on."""
    header = ["student_id", "assignment", "notebook", "grade_id", "title", "kind", "points", "max_points",
              "status", "knock_on", "message"]
    rows = []
    for result in results:
        first, notebook = result.first_error, next((c.notebook for c in result.cells), "")
        if first:
            rows.append([result.student, result.assignment, notebook, first.grade_id, first.title,
                         "cause", "", "", "error", "", result.first_error_line()])
        rows.extend(
            [result.student, result.assignment, cell.notebook, cell.grade_id, cell.title,
             cell.kind, number(cell.points), number(cell.max_points), cell.status,
             "yes" if cell.knock_on else "no", cell.message]
            for cell in result.cells
        )
        rows.extend([result.student, result.assignment, notebook, "", "", "tampering", "", "", "", "", line]
                    for line in result.tampering_lines())
        rows.extend([result.student, result.assignment, notebook, "", "", "suspect", number(s.statistic),
                     number(s.threshold), s.kind, "", s.evidence] for s in result.suspicions)
    return header, rows
