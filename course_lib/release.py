"""`course release`: the student versions of the practicals, made by nbgrader."""

from __future__ import annotations

from pathlib import Path

from course_lib.course import check_assignments, course_root, due_date, last_line, nbgrader_api
from course_lib.gradebook import open_gradebook
from course_lib.errors import CourseError


def release(*, assignments: list[str] | None = None, course_dir: str | Path = ".") -> list[Path]:
    """Generate release/<assignment>/ from source/<assignment>/ for each assignment (all by
    default) and return the released folders."""
    root = course_root(course_dir)
    api = nbgrader_api(root)
    released = []
    for assignment in check_assignments(root, assignments):
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise CourseError(
                f"nbgrader could not generate {assignment}: "
                + (last_line(result.get("error") or result.get("log") or "") or "no log")
            )
        _set_due_date(root, assignment)
        released.append(root / "release" / assignment)
    return released


def _set_due_date(root: Path, assignment: str) -> None:
    due = due_date(root, assignment)
    if due is not None:
        with open_gradebook(root) as gradebook:
            gradebook.update_or_create_assignment(assignment, duedate=due)

