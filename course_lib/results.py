"""The grading result of one submission, as plain JSON: what every later step reads.

`course grade` writes one `autograded/<student>/<assignment>/grading.json` per submission;
`course feedback`, `course export` and `course report` read them (the gradebook keeps the
official scores for nbgrader's formgrader, these files keep the messages and statuses).

A result:
    {
      "student": "alice", "assignment": "tp1_dense",
      "status": "graded" | "kernel-died" | "timeout" | "invalid-notebook" | "error",
      "message": "one line for the instructor ('' when graded normally)",
      "submission_sha256": "digest of the submitted files (re-grading skips unchanged work)",
      "seconds": 61.2,                       # wall time of the autograde
      "score": 17.0, "max_score": 24.0,      # after the late penalty, manual answers counted
      "late_penalty": 0.0,                   #   at their current (possibly pending) score
      "accuracy": 0.9764 | null,             # measured by the grader on the reference test set
      "cells": [
        {"notebook": "TP1_MNIST_dense", "grade_id": "test_accuracy", "kind": "auto" | "manual",
         "points": 4.0 | null, "max_points": 4.0,
         "status": "passed" | "partial" | "failed" | "error" | "timeout" | "missing"
                   | "manual-pending",
         "message": "accuracy 0.9764 reaches 0.97: 4 of 4 points"}
      ],
      "files": {"history": "history.json" | null, "model": "model.keras" | null}
    }
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULT_FILE = "grading.json"

# Statuses of a submission.
GRADED, KERNEL_DIED, TIMEOUT, INVALID_NOTEBOOK, ERROR = (
    "graded", "kernel-died", "timeout", "invalid-notebook", "error",
)
# How a cell is graded: by its tests, or by the instructor (written answers).
AUTO, MANUAL = "auto", "manual"
# Statuses of a graded cell.
PASSED, PARTIAL, FAILED, CELL_ERROR, CELL_TIMEOUT, MISSING, MANUAL_PENDING = (
    "passed", "partial", "failed", "error", "timeout", "missing", "manual-pending",
)


def result_path(course_root: Path, assignment: str, student: str) -> Path:
    return course_root / "autograded" / student / assignment / RESULT_FILE


def write_result(course_root: Path, result: dict[str, Any]) -> Path:
    path = result_path(course_root, result["assignment"], result["student"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def read_result(course_root: Path, assignment: str, student: str) -> dict[str, Any] | None:
    path = result_path(course_root, assignment, student)
    return json.loads(path.read_text()) if path.is_file() else None


def read_results(course_root: Path, assignment: str | None = None) -> list[dict[str, Any]]:
    """Every stored result (of one assignment, or all), sorted by assignment then student."""
    pattern = f"*/{assignment or '*'}/{RESULT_FILE}"
    results = [json.loads(p.read_text()) for p in (course_root / "autograded").glob(pattern)]
    return sorted(results, key=lambda r: (r["assignment"], r["student"]))


def total_score(cells: list[dict[str, Any]], late_penalty: float) -> float:
    """The submission's score: its cells' points (pending answers count 0), less the penalty."""
    return max(sum(cell["points"] or 0.0 for cell in cells) - late_penalty, 0.0)
