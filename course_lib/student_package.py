"""`course student-package`: what students install, without what they must not see.

The course's repository holds the masters with their solutions (source/), the hidden checks
(course_lib/specs/), the fixtures with their solutions and the grader; it is never given to
students. The student package is a wheel built from a staging copy of the modules a released
notebook imports and `course check` runs (STUDENT_FILES: an explicit list, so that a new module
is the instructor's until it is added here), with packaging/student/pyproject.toml, and a zip
of the released notebooks with the sample digits. A test installs the wheel in a fresh
virtual environment and checks that `course check` works and that no solution line and no
hidden check is in either file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import course_lib
from course_lib.course import course_root, released_assignments, released_notebook
from course_lib.errors import CourseError

PACKAGE = Path(course_lib.__file__).parent
PACKAGING = PACKAGE.parent / "packaging" / "student"
# What students need, relative to course_lib/: the helpers the notebooks import, the
# self-check and the parts of the grader's runner it shares (never specs/, never the sandbox,
# the verifier or the instructor's side).
STUDENT_FILES = (
    "__init__.py", "__main__.py", "atomic.py", "errors.py", "french.py", "safe_text.py", "runtime.py", "stubs.py",
    "titles.py", "cells.py", "data.py", "digits.py", "plots.py", "selfcheck.py", "student_cli.py",
    "checks/*.py", "kernel/__init__.py", "kernel/runner.py", "pipeline/__init__.py", "pipeline/diagnosis.py",
    "pipeline/prepare.py", "digit_samples/*.png", "digit_samples/README.md",
)
SAMPLE_DIGITS = "chiffres_exemple"


@dataclass(frozen=True)
class StudentPackage:
    wheel: Path
    notebooks: Path  # the zip of the released notebooks and the sample digits


def student_package(*, course_dir: str | Path = ".", output: str | Path | None = None) -> StudentPackage:
    """Build the wheel and the zip into `output` (default dist/student/ of the course)."""
    root = course_root(course_dir)
    if not (PACKAGING / "pyproject.toml").is_file():
        raise CourseError(f"{PACKAGING} is missing: the student package is built from the course's repository")
    out = Path(output) if output is not None else root / "dist" / "student"
    out.mkdir(parents=True, exist_ok=True)
    notebooks = [released_notebook(root, assignment) for assignment in released_assignments(root)]
    if not notebooks:
        raise CourseError(f"nothing is released in {root / 'release'}: run `course release` first")
    with tempfile.TemporaryDirectory(prefix="student-package-") as staging:
        stage = Path(staging)
        for pattern in STUDENT_FILES:
            for path in sorted(PACKAGE.glob(pattern)):
                target = stage / "course_lib" / path.relative_to(PACKAGE)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        for name in ("pyproject.toml", "LISEZMOI.md"):
            shutil.copyfile(PACKAGING / name, stage / name)
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--wheel-dir", str(stage / "wheel"), str(stage)],
            capture_output=True, text=True)
        if built.returncode != 0:
            last = (built.stderr.strip().splitlines() or ["no message"])[-1]
            raise CourseError(f"building the student wheel failed: {last}")
        [wheel] = (stage / "wheel").glob("*.whl")
        wheel_path = Path(shutil.copy(wheel, out / wheel.name))
    archive = out / f"mnist-course-notebooks-{course_lib.__version__}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for notebook in notebooks:
            zipped.write(notebook, notebook.name)
        for digit in sorted((PACKAGE / "digit_samples").glob("*.png")):
            zipped.write(digit, f"{SAMPLE_DIGITS}/{digit.name}")
        zipped.write(PACKAGING / "LISEZMOI.md", "LISEZMOI.md")
    return StudentPackage(wheel_path, archive)
