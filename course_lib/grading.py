"""Grading one submission: the unit of work of every batch, returning plain JSON-ready data.

`grade_submission` runs nbgrader's autograde in a scratch copy of the course (its own copy of
the gradebook, so it never writes the instructor's), re-checks the trained model in this
process rather than trusting the student's kernel, copies the autograded files to
`output_dir`, and returns a result in the format of course_lib.results. Only the batch that
called it records the result in the gradebook: so the same function can later run in a
sandbox or on a remote worker.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

from course_lib import results as R
from course_lib.course import NBGRADER_CONFIG, course_root, last_line, nbgrader_api
from course_lib.data import configured_mnist_dir
from course_lib.errors import CourseError
from course_lib.gradebook import open_gradebook

from course_lib.checks.artifacts import GRADER_HISTORY, GRADER_MODEL


def submission_digest(folder: Path) -> str:
    """SHA-256 of a submission folder's files (names and contents): unchanged work is skipped."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def grade_submission(
    *, course_dir: str | Path, assignment: str, student: str, output_dir: str | Path
) -> dict[str, Any]:
    """Autograde submitted/<student>/<assignment>/ and return its result (course_lib.results).

    The autograded notebook and the files the hidden tests saved are copied to `output_dir`.
    A kernel that dies, a cell that times out or an invalid notebook gives a status and zero
    for what could not be graded; it never raises for the student's fault.
    """
    root = course_root(course_dir)
    submitted = root / "submitted" / student / assignment
    if not submitted.is_dir():
        raise CourseError(f"no submission of {assignment} by {student} in {submitted.parent}")
    output_dir = Path(output_dir)
    with tempfile.TemporaryDirectory(prefix="course-grade-") as scratch:
        scratch_root = _scratch_course(root, Path(scratch), assignment, student)
        started = time.perf_counter()
        outcome = _autograde(scratch_root, assignment, student)
        seconds = round(time.perf_counter() - started, 1)
        autograded = scratch_root / "autograded" / student / assignment
        if output_dir.exists():
            shutil.rmtree(output_dir)
        if autograded.is_dir():
            shutil.copytree(autograded, output_dir)
        else:
            output_dir.mkdir(parents=True)
        cells, late_penalty = _graded_cells(scratch_root, assignment, student, output_dir)
    status, message = _status(outcome, cells)
    if status != R.GRADED:
        cells = [_ungraded(cell, status) for cell in cells]
    accuracy = reference_accuracy(output_dir / GRADER_MODEL)
    return {
        "student": student,
        "assignment": assignment,
        "status": status,
        "message": message,
        "submission_sha256": submission_digest(submitted),
        "seconds": seconds,
        "score": R.total_score(cells, late_penalty),
        "max_score": sum(cell["max_points"] for cell in cells),
        "late_penalty": late_penalty,
        "accuracy": accuracy,
        "cells": cells,
        "files": {
            "history": GRADER_HISTORY if (output_dir / GRADER_HISTORY).is_file() else None,
            "model": GRADER_MODEL if (output_dir / GRADER_MODEL).is_file() else None,
        },
    }


def _scratch_course(root: Path, scratch: Path, assignment: str, student: str) -> Path:
    """A course holding only what autograde needs: config, gradebook copy, this submission."""
    shutil.copy(root / NBGRADER_CONFIG, scratch)
    mnist = configured_mnist_dir(root)
    if mnist is not None:
        (scratch / "course.toml").write_text(f'[data]\nmnist_dir = "{mnist}"\n')
    if not (root / "gradebook.db").is_file():
        raise CourseError(f"{root} has no gradebook.db: run `course release` first")
    shutil.copy(root / "gradebook.db", scratch)
    shutil.copytree(root / "source" / assignment, scratch / "source" / assignment)
    shutil.copytree(
        root / "submitted" / student / assignment, scratch / "submitted" / student / assignment
    )
    return scratch


def _autograde(root: Path, assignment: str, student: str) -> dict[str, Any]:
    return nbgrader_api(root).autograde(assignment, student, force=True, create=True)


def _graded_cells(
    root: Path, assignment: str, student: str, autograded: Path
) -> tuple[list[dict[str, Any]], float]:
    """Every graded cell of the assignment with its score (from the scratch gradebook) and its
    message (from the autograded notebook); cells never reached are "missing"."""
    from nbgrader.api import MissingEntry

    cells, late_penalty = [], 0.0
    with open_gradebook(root) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
            notebooks = {nb.name: nb for nb in submission.notebooks}
        except MissingEntry:
            notebooks = {}
        for notebook in gradebook.find_assignment(assignment).notebooks:
            said = _cells_said(autograded / f"{notebook.name}.ipynb")
            submitted = notebooks.get(notebook.name)
            if submitted is not None:
                late_penalty += submitted.late_submission_penalty or 0.0
            grades = {g.name: g for g in submitted.grades} if submitted else {}
            for cell in notebook.grade_cells:
                kind, message = said.get(cell.name, (R.AUTO, ""))
                cells.append(_cell_result(notebook.name, cell, grades.get(cell.name), kind, message))
    return cells, late_penalty


def _cell_result(notebook: str, cell: Any, grade: Any, kind: str, message: str) -> dict[str, Any]:
    if grade is None:
        points, status = 0.0, R.MISSING
    elif grade.needs_manual_grade:
        points, status = None, R.MANUAL_PENDING
    else:
        points = grade.score
        if message.startswith("timeout"):
            status = R.CELL_TIMEOUT
        elif points >= cell.max_score:
            status = R.PASSED
        elif points > 0:
            status = R.PARTIAL
        else:
            status = R.CELL_ERROR if message.startswith("error") else R.FAILED
    return {
        "notebook": notebook,
        "grade_id": cell.name,
        "kind": kind,
        "points": points,
        "max_points": cell.max_score,
        "status": status,
        "message": message,
    }


def _cells_said(path: Path) -> dict[str, tuple[str, str]]:
    """grade_id → (kind, message): "manual" for written answers; for test cells, "auto" and the
    exception's message, else the last line the cell printed."""
    if not path.is_file():
        return {}
    notebook = nbformat.read(path, as_version=4)
    said = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        if meta.get("solution"):
            said[meta["grade_id"]] = (R.MANUAL, "")
            continue
        said[meta["grade_id"]] = (R.AUTO, _cell_message(cell))
    return said


def _cell_message(cell: Any) -> str:
    message = ""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            if output.ename == "CellTimeoutError":
                return "timeout: the cell did not finish within the time limit"
            kind = "failed" if output.ename == "AssertionError" else "error"
            return f"{kind}: {output.ename}: {output.evalue}".strip()
        if output.output_type == "stream" and output.name == "stdout":
            message = last_line(output.text)
    return message


def _status(outcome: dict[str, Any], cells: list[dict[str, Any]]) -> tuple[str, str]:
    """The submission's status and the instructor's one-line explanation."""
    # nbgrader's error is a generic exception; the cause is in its log.
    said = f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}"
    if "DeadKernelError" in said:
        return R.KERNEL_DIED, "the kernel died while running the notebook (crash, os._exit, memory)"
    for cause in ("NotJSONError", "NotebookValidationError", "ValidationError"):
        if cause in said:
            return R.INVALID_NOTEBOOK, "the submitted notebook cannot be read: " + _line_with(said, cause)
    if not outcome["success"]:
        return R.ERROR, "nbgrader could not autograde it: " + last_line(said)
    if any(cell["status"] == R.CELL_TIMEOUT for cell in cells):
        return R.TIMEOUT, "a cell did not finish within the time limit"
    return R.GRADED, ""


def _ungraded(cell: dict[str, Any], status: str) -> dict[str, Any]:
    """A cell of a submission that could not be graded: zero, with the reason."""
    if cell["kind"] == R.MANUAL or status == R.TIMEOUT:
        return cell
    return {**cell, "points": 0.0, "status": R.CELL_ERROR, "message": f"not graded: {status}"}


def reference_accuracy(model_path: Path) -> float | None:
    """The accuracy of the saved model on the reference MNIST test set, measured here.

    The student's kernel may have changed anything in itself; this process has not run their
    code, and loads the model in safe mode (course_lib.checks.load_saved_model).
    """
    if not model_path.is_file():
        return None
    from course_lib.checks import accuracy, load_saved_model, model_inputs
    from course_lib.data import load_mnist

    try:
        model = load_saved_model(model_path)
        _, (images, labels) = load_mnist()
        return round(accuracy(model, model_inputs(model, images), labels), 4)
    except Exception:  # a broken or hostile model file: no accuracy, the grades stand
        return None


def _line_with(text: str, word: str) -> str:
    return next(line.strip() for line in text.splitlines() if word in line)[:300]

