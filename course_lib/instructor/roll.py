"""Every student accounted for: where each student stands in each assignment, and what needs
the instructor's attention, most severe first.

The students are those of the gradebook (the roster), of the results, of submitted/ and of
rejected/; the assignments those released or seen there. Export, report and status read this
one roll, so that they agree on every student's state and on the order of attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from course_lib import results as R
from course_lib.cells import graded_points
from course_lib.course import due_date, released_assignments
from course_lib.errors import CourseError
from course_lib.gradebook import gradebook_exists, open_gradebook, with_manual_grades
from course_lib.instructor.similarity import similar_pairs
from course_lib.student_ids import look_alikes
from course_lib.submissions import (
    UNIDENTIFIED, Rejection, latest_rejections, submission_digest, submitted_dir, submitted_students,
)

# What needs attention, most severe first.
SEVERITY = ("tampered", "suspect", "similar", "look-alike id", "failed", "rejected", "timeout", "cell error", "not graded",
            "late", "manual grading pending", "not submitted")


@dataclass(frozen=True)
class Attention:
    category: str  # one of SEVERITY
    text: str

    @property
    def rank(self) -> int:
        return SEVERITY.index(self.category)


@dataclass(frozen=True)
class Standing:
    """One student in one assignment: the state, the current result (with the manual grades
    given so far) when the collected submission was graded, and why it needs attention."""

    student: str
    assignment: str
    state: R.State
    result: R.SubmissionResult | None
    attention: tuple[Attention, ...]

    @property
    def rank(self) -> int:
        """The severity of the most severe reason (len(SEVERITY) when all is in order)."""
        return min((a.rank for a in self.attention), default=len(SEVERITY))

    def exportable(self, include_provisional: bool) -> bool:
        """Whether a Moodle file may carry this grade: a final one, or with
        `include_provisional` one pending manual grading or tampered, at its current score."""
        provisional = (R.State.MANUAL_PENDING, R.State.TAMPERED)
        return self.state == R.State.GRADED or (include_provisional and self.state in provisional)

    @property
    def not_final(self) -> str:
        """Why the grade is not final (for who is left out of a Moodle file): the first
        reason that is not only a note (late work, a look-alike id)."""
        notes = ("late", "look-alike id", "suspect", "similar")  # for the instructor to look at: the grade stands
        return next((a.text for a in self.attention if a.category not in notes), self.state)


@dataclass(frozen=True)
class Student:
    """What the gradebook knows of a student (empty strings where it knows nothing)."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    idnumber: str = ""  # Moodle's "ID number", from the roster (nbgrader's lms_user_id)


def gradebook_students(root: Path) -> dict[str, Student]:
    """The gradebook's students; a missing gradebook is not created (nbgrader would)."""
    if not gradebook_exists(root):
        return {}
    with open_gradebook(root) as gradebook:
        return {
            s.id: Student(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
            for s in gradebook.students
        }


def class_roll(root: Path, students: dict[str, Student] | None = None) -> list[Standing]:
    """Every (student, assignment) standing, sorted by assignment then student."""
    known = gradebook_students(root) if students is None else students
    results = {(r.student, r.assignment): r for r in with_manual_grades(root, R.read_results(root))}
    assignments = sorted({a for _, a in results} | set(released_assignments(root)) | _seen(root))
    rejections = {a: latest_rejections(root, a) for a in assignments}
    submitted = {a: set(submitted_students(root, a)) for a in assignments}
    everyone = set(known) | {s for s, _ in results}
    everyone |= {s for a in assignments for s in (*submitted[a], *rejections[a])}
    alike = look_alikes(sorted(everyone))
    similar = {a: _similar_lines(root, a, {s: r.submission_sha256 for (s, b), r in results.items() if b == a})
               for a in assignments}
    expected = {a: _expected(root, a, bool(submitted[a] or rejections[a]) or any(k[1] == a for k in results))
                for a in assignments}
    return [
        _standing(root, student, assignment, results.get((student, assignment)),
                  student in submitted[assignment], rejections[assignment].get(student), alike.get(student, []),
                  expected[assignment], similar[assignment].get(student, []))
        for assignment in assignments
        for student in sorted(everyone)
        # Files that named no student stand only where they were refused.
        if student != UNIDENTIFIED or student in rejections[assignment]
    ]


def require_work(root: Path, standings: list[Standing]) -> None:
    """A CourseError when nothing was collected, rejected nor graded: nothing to export or report."""
    if not any(s.result or s.state != R.State.NOT_SUBMITTED for s in standings):
        raise CourseError(f"no grading result nor collected submission in {root}: "
                          "collect and grade the submissions first")


def max_score(root: Path, assignment: str, standings: list[Standing]) -> float:
    """The assignment's maximum: its results', else the release's points, else 0."""
    scores = [s.result.max_score for s in standings if s.assignment == assignment and s.result]
    if scores:
        return max(scores)
    released = sorted((root / "release" / assignment).glob("*.ipynb"))  # none: 0
    return sum(sum(graded_points(nbformat.read(path, 4)).values()) for path in released)


def attention_counts(standings: list[Standing]) -> list[tuple[str, int]]:
    """(category, number of standings with that reason), in order of severity, non-zero only."""
    counts = {category: 0 for category in SEVERITY}
    for standing in standings:
        for category in {a.category for a in standing.attention}:
            counts[category] += 1
    return [(category, count) for category, count in counts.items() if count]


def _expected(root: Path, assignment: str, handed_in: bool) -> bool:
    """Whether a missing submission of `assignment` needs attention: its due date has passed,
    or, without one, some work of it was handed in. A release alone (release/ is committed
    with every practical) or a due date still to come asks nothing of anyone yet."""
    due = due_date(root, assignment)
    return due < datetime.now(timezone.utc).replace(tzinfo=None) if due else handed_in


def tampering_summary(result: R.SubmissionResult, shown: int = 3) -> str:
    """'tampered: 50 findings (first: …; …; …; and 47 more: export --detail lists them)'."""
    lines = result.tampering_lines()
    if len(lines) <= shown:
        return "tampered: " + "; ".join(lines)
    return (f"tampered: {len(lines)} findings (first: {'; '.join(lines[:shown])}; and {len(lines) - shown} "
            "more: `course export --detail` lists them)")


def _standing(
    root: Path, student: str, assignment: str, result: R.SubmissionResult | None, submitted: bool,
    rejection: Rejection | None, look_alikes: list[str], expected: bool, similar: list[str],
) -> Standing:
    if result is not None and submitted:
        folder = submitted_dir(root, student, assignment)
        if result.submission_sha256 != submission_digest(folder):
            result = None  # collected again since it was graded
    if result is not None:
        state, attention = result.state, _attention(result) + [Attention("similar", line) for line in similar]
    elif submitted:
        state, attention = R.State.COLLECTED, [Attention("not graded", "collected, not graded yet")]
    elif rejection is not None:
        state, attention = R.State.REJECTED, [Attention("rejected", f"rejected: {rejection.reason}")]
    else:
        state = R.State.NOT_SUBMITTED
        attention = [Attention("not submitted", "not submitted")] if expected else []
    if look_alikes and (result is not None or submitted):
        attention.append(Attention("look-alike id", f"this id looks like {', '.join(look_alikes)}: "
                                                    "check they are different students"))
    attention.sort(key=lambda a: a.rank)
    return Standing(student, assignment, state, result, tuple(attention))


def _attention(result: R.SubmissionResult) -> list[Attention]:
    """Why a graded submission needs attention."""
    attention = []
    if result.tampered:
        attention.append(Attention("tampered", tampering_summary(result)))
    attention.extend(Attention("suspect", suspicion.line()) for suspicion in result.suspicions)
    if result.status != R.Status.GRADED:
        category = "timeout" if result.status == R.Status.TIMEOUT else "failed"
        attention.append(Attention(category, ": ".join(filter(None, (result.status, result.message)))))
    elif result.first_error:
        attention.append(Attention("cell error", result.first_error_line()))
    if result.late:
        attention.append(Attention("late", result.late.english()))
    pending = [cell.grade_id for cell in result.cells_with(R.CellStatus.MANUAL_PENDING)]
    if pending:
        attention.append(Attention("manual grading pending", f"manual grading pending: {', '.join(pending)}"))
    return attention


def _similar_lines(root: Path, assignment: str, digests: dict[str, str]) -> dict[str, list[str]]:
    """student → a line for each student of the last `course similarity` found alike."""
    lines: dict[str, list[str]] = {}
    for pair in similar_pairs(root, assignment, digests):
        for student in (pair.first, pair.second):
            lines.setdefault(student, []).append(pair.line(student))
    return lines


def _seen(root: Path) -> set[str]:
    """Assignments with a collected or rejected upload."""
    return {p.name for folder in ("submitted", "rejected") for p in (root / folder).glob("*/*")
            if p.is_dir() and "." not in p.name}
