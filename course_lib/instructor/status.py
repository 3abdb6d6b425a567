"""`course status`: where every student of the class stands, one line each, and the counts.

Read from the class roll (course_lib.instructor.roll), so it agrees with export and report;
nothing is written, nothing is graded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from course_lib.course import check_assignments, course_root
from course_lib.errors import CourseError
from course_lib.instructor.roll import class_roll
from course_lib.instructor.output import number
from course_lib.results import CellStatus, State


@dataclass(frozen=True)
class StatusLine:
    student: str
    assignment: str
    state: State  # as in the export's <assignment>_status column
    score: float | None
    max_score: float | None
    tampered: bool
    pending: int  # written answers waiting for the instructor
    seconds: float | None  # the sandboxed run's wall time
    reason: str  # the most severe reason for attention, '' when all is in order


def status(*, course_dir: str | Path = ".", assignment: str | None = None) -> list[StatusLine]:
    """One line per student and assignment (all, or `assignment`), sorted."""
    root = course_root(course_dir)
    standings = class_roll(root)
    if assignment is not None:
        known = {s.assignment for s in standings}
        if assignment not in known:
            check_assignments(root, [assignment])  # an unknown name: its one-line error
            raise CourseError(f"nothing of {assignment} is released, collected or graded yet")
        standings = [s for s in standings if s.assignment == assignment]
    if not standings:
        raise CourseError(f"no student and no submission in {root}: collect with --roster first")
    return [
        StatusLine(
            student=s.student, assignment=s.assignment, state=s.state,
            score=s.result.score if s.result else None,
            max_score=s.result.max_score if s.result else None,
            tampered=bool(s.result and s.result.tampered),
            pending=len(s.result.cells_with(CellStatus.MANUAL_PENDING)) if s.result else 0,
            seconds=s.result.seconds if s.result else None,
            reason=s.attention[0].text if s.attention else "",
        )
        for s in standings
    ]


def format_status(lines: list[StatusLine]) -> str:
    """The table `course status` prints, then the count of each state per assignment."""
    width = max([7, *(len(line.student) for line in lines)])
    header = f"{'student':<{width}} {'assignment':<12} {'state':<16} {'score':>9} {'time':>6}  why"
    rows = [
        f"{line.student:<{width}} {line.assignment:<12} {line.state:<16} "
        f"{_score(line):>9} {_seconds(line):>6}  {line.reason}".rstrip()
        for line in lines
    ]
    totals = []
    for assignment in sorted({line.assignment for line in lines}):
        counts = Counter(line.state for line in lines if line.assignment == assignment)
        totals.append(f"{assignment}: " + ", ".join(f"{state} {n}" for state, n in sorted(counts.items())))
    return "\n".join([header, *rows, "", *totals])


def _score(line: StatusLine) -> str:
    return "" if line.score is None else f"{number(line.score)}/{number(line.max_score)}"


def _seconds(line: StatusLine) -> str:
    return "" if line.seconds is None else f"{line.seconds:.0f} s"
