"""`course release`: the student versions of the practicals, made by nbgrader."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from course_lib.course import (
    NBGRADER_CONFIG, check_assignments, course_root, due_date, last_line, nbgrader_api,
)
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


def copy_course(
    *, origin: str | Path, folder: str | Path, assignments: list[str], mnist_dir: str | Path | None
) -> Path:
    """A new course folder with `origin`'s config and the given practicals, released.

    Tests, benchmarks and the demo work in such a copy, never in the instructor's course.
    Without an existing `mnist_dir`, the copy's notebooks get MNIST from keras.
    """
    origin, folder = course_root(origin), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(origin / NBGRADER_CONFIG, folder)
    settings = (origin / "course.toml").read_text() if (origin / "course.toml").is_file() else ""
    # The copy's MNIST is the one given (or none: keras), the rest of the settings are the origin's.
    settings = re.sub(r"(?m)^mnist_dir\s*=.*$", "", settings)
    if mnist_dir is not None and Path(mnist_dir).is_dir():
        settings = settings.replace("[data]", f'[data]\nmnist_dir = "{Path(mnist_dir).resolve()}"', 1)
    (folder / "course.toml").write_text(settings)
    for assignment in check_assignments(origin, assignments):
        shutil.copytree(origin / "source" / assignment, folder / "source" / assignment)
    release(assignments=assignments, course_dir=folder)
    return folder
