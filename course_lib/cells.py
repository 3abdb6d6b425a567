"""Facts about a notebook's cells, read from nbgrader's metadata in one place: which cells are
graded, tests or answers, their grade id and points. Works on nbformat nodes and on plain
dicts (the prepared notebook a job carries)."""

from __future__ import annotations

from typing import Any


def nbgrader(cell: Any) -> dict[str, Any]:
    """The cell's nbgrader metadata ({} when it has none, or when a submission's is not a
    mapping: submitted notebooks are untrusted)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: Any) -> str:
    """The cell's grade id ('' when it has none)."""
    found = nbgrader(cell).get("grade_id")
    return found if isinstance(found, str) else ""


def is_graded(cell: Any) -> bool:
    return bool(nbgrader(cell).get("grade"))


def is_test(cell: Any) -> bool:
    """An autograded test cell: graded code with a grade id, not an answer."""
    return is_graded(cell) and cell.get("cell_type") == "code" and not is_answer(cell) and bool(grade_id(cell))


def is_answer(cell: Any) -> bool:
    """A cell the student writes (code or text)."""
    return bool(nbgrader(cell).get("solution"))


def points(cell: Any) -> float:
    return float(nbgrader(cell).get("points", 0))


def test_cells(notebook: Any) -> dict[str, Any]:
    """The autograded test cells of a notebook: {grade id: cell}."""
    return {grade_id(cell): cell for cell in notebook["cells"] if is_test(cell)}


def graded_points(notebook: Any) -> dict[str, float]:
    """{grade id: points} of every graded cell (tests and written answers)."""
    return {grade_id(cell): points(cell) for cell in notebook["cells"] if is_graded(cell)}
