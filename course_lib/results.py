"""The grading result of one submission, as plain JSON: what every later step reads.

`course grade` writes one `autograded/<student>/<assignment>.grading/grading.json` per
submission, beside the grader's private files (training history, trained model); nbgrader's
`autograded/<student>/<assignment>/` holds only the executed notebook, so that nothing private
is copied by nbgrader's feedback. `course feedback`, `export` and `report` read these results
(the gradebook keeps the official scores for formgrader, the results the messages and statuses).

A result:
    {
      "student": "alice", "assignment": "tp1_dense",
      "status": "graded" | "kernel-died" | "timeout" | "invalid-notebook" | "error",
      "message": "one line for the instructor ('' when graded normally)",
      "submission_sha256": "digest of the submitted files (re-grading skips unchanged work)",
      "seconds": 61.2,                       # wall time of the sandboxed run
      "cached": false,                       # the run came from the execution cache
      "verify_seconds": 1.8,                 # the verifier's time on its exports
      "cell_seconds": {"train": 41.3, …},    # each grade id's cell: its wall time in the run
      "score": 17.0, "max_score": 24.0,      # after the late penalty, manual answers counted
      "late_penalty": 0.0,                   #   at their current (possibly pending) score
      "late": {"due": "2026-12-18T18:00:00", "submitted": "2026-12-19T09:12:00",  # UTC
               "penalty": 8.0, "rule": "a late submission scores 0"} | null,  # course_lib.late
      "accuracy": 0.9764 | null,             # measured by the verifier on the reference test set
      "tampered": false,                     # the kernel's verdicts disagree with the verifier's
      "tampering": [{"grade_id": "test_accuracy", "kernel": "passed", "verifier": "failed"}],
      "notes": ["cell test_load was edited (the released cell was run)"],
      "earlier_release": false,              # made from an earlier release (its cells older)
      "first_error": {"grade_id": "load", "title": "3. Les données MNIST",  # the first cell
                      "error": "Exception: URL fetch failure …"} | null,   # outside the tests
      "unanswered": [{"grade_id": "build", "title": "5. Le réseau dense"}],  # stubs left
                                                                            # that raised
      "sandbox": "bubblewrap" | "none (--unsafe-no-sandbox)",
      "cells": [
        {"notebook": "TP1_MNIST_dense", "grade_id": "test_accuracy", "kind": "auto" | "manual",
         "title": "Précision atteinte par le réseau entraîné",  # course_lib.titles
         "points": 4.0 | null, "max_points": 4.0,
         "status": "passed" | "partial" | "failed" | "error" | "timeout" | "missing"
                   | "manual-pending" | "not-answered",
         "knock_on": false,                  # failed for want of the data of a cell above
         "message": "précision 97,64 % : au moins 97 %, 4 points sur 4"}  # French: students'
      ],
      "files": {"history": "history.json" | null, "model": "model.keras" | null,
                "predictions": "predictions.json" | null}  # in the .grading folder
    }
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_lib.atomic import write_atomic
from course_lib.titles import cell_phrase, cell_titles

if TYPE_CHECKING:
    from course_lib.pipeline.diagnosis import Diagnosis

RESULT_FILE = "grading.json"

# Statuses of a submission.
GRADED, KERNEL_DIED, TIMEOUT, INVALID_NOTEBOOK, ERROR = (
    "graded", "kernel-died", "timeout", "invalid-notebook", "error",
)
# A graded submission's state, beside the statuses above: the word status, export, report and
# grade all print (course_lib.instructor.roll adds the states of work not graded).
MANUAL_PENDING_STATE, TAMPERED_STATE = "manual-pending", "tampered"
# How a cell is graded: by its tests, or by the instructor (written answers).
AUTO, MANUAL = "auto", "manual"
# Statuses of a graded cell.
PASSED, PARTIAL, FAILED, CELL_ERROR, CELL_TIMEOUT, MISSING, MANUAL_PENDING, NOT_ANSWERED = (
    "passed", "partial", "failed", "error", "timeout", "missing", "manual-pending", "not-answered",
)


@dataclass(frozen=True)
class CellResult:
    """One graded cell: its points (None while a written answer waits for the instructor)."""

    notebook: str
    grade_id: str
    title: str
    kind: str
    points: float | None
    max_points: float
    status: str
    message: str
    knock_on: bool = False


def cell_status(points: float, max_points: float, ran: bool) -> str:
    """The one rule for an autograded cell's status."""
    if not ran:
        return MISSING
    if points >= max_points:
        return PASSED
    return PARTIAL if points > 0 else FAILED


def private_dir(course_root: Path, assignment: str, student: str) -> Path:
    """The grader's files of one submission, beside nbgrader's autograded folder."""
    return course_root / "autograded" / student / f"{assignment}.grading"


def result_path(course_root: Path, assignment: str, student: str) -> Path:
    return private_dir(course_root, assignment, student) / RESULT_FILE


def empty_result(student: str, assignment: str, digest: str, release: Any, name: str) -> dict[str, Any]:
    """A result with every graded cell of `release` (notebook `name`) at zero ("missing")."""
    cells, titles = [], cell_titles(release)
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            manual = bool(meta.get("solution"))
            cells.append(asdict(CellResult(
                notebook=name, grade_id=meta["grade_id"], title=titles[meta["grade_id"]],
                kind=MANUAL if manual else AUTO,
                points=None if manual else 0.0, max_points=float(meta.get("points", 0)),
                status=MANUAL_PENDING if manual else MISSING, message="",
            )))
    return {
        "student": student, "assignment": assignment, "status": GRADED, "message": "",
        "submission_sha256": digest, "seconds": 0.0, "cached": False, "verify_seconds": 0.0, "cell_seconds": {},
        "score": 0.0,
        "max_score": sum(c["max_points"] for c in cells), "late_penalty": 0.0, "late": None, "accuracy": None,
        "tampered": False, "tampering": [], "notes": [], "earlier_release": False, "first_error": None,
        "unanswered": [],
        "sandbox": "", "cells": cells,
        "files": {"history": None, "model": None, "predictions": None},
    }


def fill_cells(result: dict[str, Any], verdicts: dict[str, dict], kernel: dict[str, str | None]) -> None:
    """Put the verifier's points in the autograded cells; mark where the kernel claimed a pass
    the verifier does not find."""
    for cell in result["cells"]:
        verdict = verdicts.get(cell["grade_id"])
        if cell["kind"] != AUTO or verdict is None:
            continue
        said = kernel.get(cell["grade_id"])
        ran = said is not None or verdict["public"]
        cell.update(points=verdict["points"], message=verdict["message"],
                    status=cell_status(verdict["points"], cell["max_points"], ran))
        # Only a kernel that says it passed where the verifier's reproduction of the same check
        # fails hints at a forged verdict; a model the verifier does not load leaves nothing
        # to compare.
        if said == "passed" and not verdict["public"] and not verdict["unloadable"]:
            result["tampering"].append({
                "grade_id": cell["grade_id"], "kernel": said,
                "verifier": "passed" if verdict["public"] else "failed",
            })


def not_answered(result: dict[str, Any], grade_ids: set[str]) -> None:
    """Written answers still holding the release's stub: 0 (as nbgrader gives them), not
    waiting for the instructor."""
    for cell in result["cells"]:
        if cell["kind"] == MANUAL and cell["grade_id"] in grade_ids:
            cell.update(points=0.0, status=NOT_ANSWERED, message="")


def explain(result: dict[str, Any], diagnosis: Diagnosis, verdicts: dict[str, dict],
            reads: dict[str, set[str]]) -> None:
    """Say why tests failed (course_lib.pipeline.diagnosis), only for those whose exported data
    is missing, through the variables of the export they lacked (`reads`: test → names). The
    nearest cell above that defined one of them and failed is either the test's own answer
    (below the test above it), left unfilled ("not answered"), or a cause further up: a cell
    that raised or an answer left unfilled (a knock-on of that cause). When no cell above
    defined them, the nearest cause above is named; when the cells that did ran well, the
    verifier's message stays. A test whose data was exported keeps the verifier's own message.
    The first cell that raised and the stubs left are kept for every report."""
    first = diagnosis.first_error
    result["first_error"] = None if first is None else {
        "grade_id": first.grade_id, "title": first.title, "error": first.error}
    result["unanswered"] = [{"grade_id": c.grade_id, "title": c.title} for c in diagnosis.unanswered]
    for cell in result["cells"]:
        verdict, grade_id = verdicts.get(cell["grade_id"]), cell["grade_id"]
        if cell["kind"] != AUTO or verdict is None or cell["points"] or not verdict["missing"]:
            continue
        providers = diagnosis.providers.get(grade_id, {})
        found = [providers[name] for name in reads.get(grade_id, set()) if name in providers]
        failed = sorted((p for p in found if p.cause is not None), key=lambda provider: -provider.position)
        nearest = failed[0] if failed else None
        if nearest and nearest.direct and nearest.cause.kind == NOT_ANSWERED \
                and nearest.position > diagnosis.since.get(grade_id, -1):
            own = nearest.cause
            cell.update(status=NOT_ANSWERED, message=f"{cell_phrase(own.title, own.grade_id)} n'est pas remplie")
            continue
        cause = nearest.cause if nearest else None if found else diagnosis.upstream.get(grade_id)
        if cause is not None:
            done = "n'est pas remplie" if cause.kind == NOT_ANSWERED else "a échoué"
            cell.update(knock_on=True, message=f"non vérifié : {cell_phrase(cause.title, cause.grade_id)} "
                                               f"plus haut {done}, et cette vérification en dépend")


def first_error_line(first: dict[str, str]) -> str:
    """The instructor's one line on the first cell that raised (course grade, status, export)."""
    return f'cell "{first["grade_id"]}" ({first["title"]}) failed: {first["error"]} — the tests below depend on it'


def unanswered_line(result: dict[str, Any]) -> str:
    """The instructor's one line on the answers left as the release had them."""
    names = [entry["grade_id"] for entry in result.get("unanswered", [])]
    return f"not answered ({len(names)}): {', '.join(names)}" if names else ""


def with_status(result: dict[str, Any], status: str, message: str) -> dict[str, Any]:
    """The final touch: status, total score, and the tampered flag (the kernel disagreed with
    the verifier, or cells the student may not change were changed)."""
    result.update(status=status, message=message)
    result["tampered"] = bool(result["tampering"] or result["notes"])
    result["score"] = total_score(result["cells"], result["late_penalty"])
    return result


def write_result(course_root: Path, result: dict[str, Any]) -> Path:
    """Write atomically: a reader never sees half a result."""
    path = result_path(course_root, result["assignment"], result["student"])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode())
    return path


def read_result(course_root: Path, assignment: str, student: str) -> dict[str, Any] | None:
    path = result_path(course_root, assignment, student)
    return json.loads(path.read_text()) if path.is_file() else None


def read_results(course_root: Path, assignment: str | None = None) -> list[dict[str, Any]]:
    """Every stored result (of one assignment, or all), sorted by assignment then student."""
    pattern = f"*/{assignment or '*'}.grading/{RESULT_FILE}"
    results = [json.loads(p.read_text()) for p in (course_root / "autograded").glob(pattern)]
    return sorted(results, key=lambda r: (r["assignment"], r["student"]))


def state(result: dict[str, Any]) -> str:
    """The one word for where a graded submission stands: tampered, how grading failed,
    manual-pending (written answers to grade by hand) or graded."""
    if result.get("tampered"):
        return TAMPERED_STATE
    if result["status"] != GRADED:
        return result["status"]
    return MANUAL_PENDING_STATE if any(c["status"] == MANUAL_PENDING for c in result["cells"]) else GRADED


def total_score(cells: list[dict[str, Any]], late_penalty: float) -> float:
    """The submission's score: its cells' points (pending answers count 0), less the penalty."""
    return max(sum(cell["points"] or 0.0 for cell in cells) - late_penalty, 0.0)
