"""`course release`: the student versions of the practicals, made by nbgrader, and on request
published to nbgrader's exchange (where students' `nbgrader fetch_assignment` finds them)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat

from course_lib.course import (
    NBGRADER_CONFIG, check_assignments, course_root, due_date, last_line, nbgrader_api, nbgrader_config,
    released_notebook,
)
from course_lib.gradebook import open_gradebook
from course_lib.errors import CourseError
from course_lib.specs.protocol import checked_spec


def release(
    *, assignments: list[str] | None = None, course_dir: str | Path = ".", exchange: bool = False
) -> list[Path]:
    """Generate release/<assignment>/ from source/<assignment>/ for each assignment (all by
    default) and return the released folders; with `exchange`, also publish each to nbgrader's
    exchange (c.Exchange.root, created if missing, writable by every user as nbgrader wants)."""
    root = course_root(course_dir)
    api = nbgrader_api(root)
    wanted = check_assignments(root, assignments)
    if exchange:
        _ensure_exchange(root)
    released = []
    for assignment in wanted:
        _check(assignment, "generate", api.generate_assignment(assignment, force=True, create=True))
        checked_spec(assignment, nbformat.read(released_notebook(root, assignment), as_version=4))
        _set_due_date(root, assignment)
        if exchange:
            _check(assignment, "publish", api.release_assignment(assignment))
        released.append(root / "release" / assignment)
    return released


def _ensure_exchange(root: Path) -> None:
    """nbgrader's exchange folder, as the course's nbgrader_config.py sets it, made if missing."""
    from nbgrader.exchange.default.exchange import Exchange

    folder = Path(Exchange(config=nbgrader_config(root)).root)
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True)
            os.chmod(folder, 0o777)  # nbgrader: "writable to everyone" (students submit there)
        except OSError as error:
            raise CourseError(f"cannot create nbgrader's exchange {folder}: {error.strerror} "
                              "(set c.Exchange.root in nbgrader_config.py)") from None


def _check(assignment: str, action: str, result: dict) -> None:
    if not result["success"]:
        raise CourseError(
            f"nbgrader could not {action} {assignment}: "
            + (last_line(result.get("error") or result.get("log") or "") or "no log")
        )


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
