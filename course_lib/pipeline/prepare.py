"""The notebook the sandbox runs: the release's cells, the student's answers, the grader's exports.

Only the answers come from the submission: every other cell (instructions, given code, test
cells) is the released one, with its metadata, so that a submission cannot skip, edit or delete
a test, nor change its points or tags; what it changed is reported as an integrity note. Cells
the student added are kept where they stand (they are the student's code like any answer),
without their metadata. After each test cell comes an export cell
(course_lib.kernel.export) that saves what the verifier needs; the test cells keep
only their public part, since the release never holds hidden tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course_lib.cells import nbgrader

EXPORT_MARK = "course_export"


@dataclass
class Prepared:
    """The notebook to run, the grade_id of each test cell in it, and what was tampered with."""

    notebook: Any
    test_cells: dict[str, int]  # grade_id → index in notebook
    notes: list[str] = field(default_factory=list)
    unanswered: set[str] = field(default_factory=set)  # answers still holding the release's stub
    earlier_release: bool = False  # made from an earlier release of the practical (not tampering)


def read_submission(path: Path) -> Any:
    """The submitted notebook, or ValueError with a one-line reason."""
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # JSON, schema or encoding: the notebook cannot be graded
        raise ValueError(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}") from None
    return notebook


def prepare(release: Any, submission: Any, exports: dict[str, list[dict[str, Any]]]) -> Prepared:
    """Merge `submission`'s answers into `release` and add an export cell after each test."""
    answers, added = _student_cells(release, submission)
    notes, earlier_release = _integrity_notes(release, submission)
    # Before any student code: the exporter keeps the builtins as they were, and keras's MNIST
    # loader reads the course's copy (grading has no network).
    first = nbformat.v4.new_code_cell(
        '__import__("course_lib.kernel.export")\n'
        '__import__("course_lib.kernel.mnist", fromlist=["_"]).offline_keras_mnist()'
    )
    first.metadata[EXPORT_MARK] = "import"
    cells, test_cells = [first, *(_added_cell(extra) for extra in added.get(None, []))], {}
    unanswered: set[str] = set()
    for cell in release.cells:
        meta = nbgrader(cell)
        grade_id = meta.get("grade_id")
        run = nbformat.from_dict(json.loads(json.dumps(cell)))
        if meta.get("solution") and grade_id in answers:
            run.source = answers[grade_id].source
        if meta.get("solution") and _same(run.source, cell.source):
            unanswered.add(grade_id)
        if run.cell_type == "code":
            run.outputs, run.execution_count = [], None
        cells.append(run)
        if meta.get("grade") and not meta.get("solution"):
            test_cells[grade_id] = len(cells) - 1
            cells.append(_export_cell(grade_id, exports.get(grade_id, [])))
        if grade_id is not None:
            cells.extend(_added_cell(extra) for extra in added.get(grade_id, []))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=json.loads(json.dumps(release.metadata)))
    return Prepared(notebook, test_cells, notes, unanswered, earlier_release)


def _student_cells(release: Any, submission: Any) -> tuple[dict[str, Any], dict[str | None, list]]:
    """The student's answer per solution grade_id, and the cells they added, keyed by the
    grade_id of the released cell they follow (None: before the first one)."""
    released = {nbgrader(c).get("grade_id"): nbgrader(c) for c in release.cells}
    answers: dict[str, Any] = {}
    added: dict[str | None, list] = {}
    previous = None
    for cell in submission.cells:
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id in released and grade_id is not None:
            if released[grade_id].get("solution") and grade_id not in answers:
                answers[grade_id] = cell
            previous = grade_id
        elif cell.cell_type in ("code", "markdown"):
            added.setdefault(previous, []).append(cell)
    return answers, added


def _added_cell(cell: Any) -> Any:
    """A cell the student added: its source only (no tags, no nbgrader metadata)."""
    if cell.cell_type == "code":
        return nbformat.v4.new_code_cell(cell.source)
    return nbformat.v4.new_markdown_cell(cell.source)


def _integrity_notes(release: Any, submission: Any) -> tuple[list[str], bool]:
    """What the submission changed in cells it may not change (the released ones are run), and
    whether it was made from an earlier release of the practical: its locked cells that differ
    from this release are as nbgrader released them (each still matches the checksum nbgrader
    wrote into it), and none differs otherwise. Such a notebook (the instructor fixed a typo
    after students started) is not tampered with: its cells that are not in this release are
    only missing, and its differing locked cells only older."""
    submitted = {}
    for cell in submission.cells:
        submitted.setdefault(nbgrader(cell).get("grade_id"), cell)
    notes, older, edited = [], [], []
    for cell in release.cells:
        meta = nbgrader(cell)
        grade_id = meta.get("grade_id")
        if grade_id is None:
            continue
        theirs = submitted.get(grade_id)
        if theirs is None:
            if not meta.get("solution"):
                notes.append(f"cell {grade_id} was deleted (the released cell was run)")
            continue
        source_changed = cell.cell_type == "code" and not meta.get("solution") and not _same(theirs.source, cell.source)
        fields_changed = _grading_fields(theirs) != _grading_fields(cell)
        if (source_changed or fields_changed) and _as_released(theirs):
            older.append(grade_id)
            continue
        if source_changed:
            edited.append(grade_id)
            notes.append(f"cell {grade_id} was edited (the released cell was run)")
        if fields_changed:
            edited.append(grade_id)
            notes.append(f"cell {grade_id}: nbgrader metadata changed (the released metadata was used)")
        if theirs.get("metadata", {}).get("tags", []) != cell.get("metadata", {}).get("tags", []):
            notes.append(f"cell {grade_id}: tags changed (the released tags were used)")
    earlier = bool(older) and not edited
    if earlier:
        notes = [note for note in notes if not note.endswith("was deleted (the released cell was run)")]
    return notes, earlier


def _as_released(cell: Any) -> bool:
    """The cell still matches the checksum nbgrader computed when it released it."""
    from nbgrader.utils import compute_checksum

    stored = nbgrader(cell).get("checksum")
    try:
        return stored is not None and compute_checksum(cell) == stored
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def _same(source: str, other: str) -> bool:
    """The same text but for trailing white space (editors and nbformat versions differ)."""
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip().splitlines()]
    return lines(source) == lines(other)


def _grading_fields(cell: Any) -> dict[str, Any]:
    """What nbgrader grades a cell by (its release also stores checksums, which may differ)."""
    meta = nbgrader(cell)
    return {key: meta.get(key) for key in ("grade_id", "grade", "solution", "locked", "points")}


def _export_cell(grade_id: str, items: list[dict[str, Any]]) -> Any:
    """A cell calling course_lib.kernel.export.run with this test's items, as data."""
    call = (
        f'__import__("course_lib.kernel.export", fromlist=["run"]).run('
        f'{json.dumps(grade_id)}, __import__("json").loads({json.dumps(json.dumps(items))}))'
    )
    cell = nbformat.v4.new_code_cell(call)
    cell.metadata[EXPORT_MARK] = grade_id
    return cell


def kernel_verdicts(executed: Any, test_cells: dict[str, int], unfinished: set[int]) -> dict[str, str | None]:
    """What the kernel said of each test cell: "passed", "failed", or None when it did not run
    to its end (not reached, or in `unfinished`: the cell that timed out or killed the kernel)."""
    verdicts: dict[str, str | None] = {}
    for grade_id, index in test_cells.items():
        cell = executed.cells[index] if index < len(executed.cells) else None
        if cell is None or cell.get("execution_count") is None or index in unfinished:
            verdicts[grade_id] = None
        elif any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            verdicts[grade_id] = "failed"
        else:
            verdicts[grade_id] = "passed"
    return verdicts


def student_cells(prepared: Any) -> list[tuple[str, Any]]:
    """The cells of a prepared notebook the student wrote, each with its name: the answers (by
    the release's grade id) and the cells added (named after the released cell above them),
    whatever metadata the submission gave them (prepare keeps only their source)."""
    found, above = [], ""
    for cell in prepared["cells"]:
        if EXPORT_MARK in cell.get("metadata", {}):
            continue
        name = nbgrader(cell).get("grade_id") or ""
        if nbgrader(cell).get("solution") or not name:
            found.append((name or f"a cell added after {above or 'the start'}", cell))
        above = name or above
    return found


def without_exports(executed: Any) -> Any:
    """The executed notebook as instructors and formgrader see it: the export cells removed."""
    copy = nbformat.from_dict(json.loads(json.dumps(executed)))
    copy.cells = [c for c in copy.cells if EXPORT_MARK not in c.get("metadata", {})]
    return copy
