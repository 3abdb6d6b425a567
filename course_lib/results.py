"""The grading result of one submission: one typed record from the verifier's answer to the
exports, the only thing every later step reads.

`course grade` writes one `autograded/<student>/<assignment>.grading/grading.json` per
submission, beside the grader's private files (training history, trained model); nbgrader's
`autograded/<student>/<assignment>/` holds only the executed notebook, so that nothing private
is copied by nbgrader's feedback. `course feedback`, `export` and `report` read these results
(the gradebook keeps the official scores for formgrader, the results the messages and
statuses). JSON is only the file's form: `write_result` and `read_result` are the boundary,
and a file of another schema version is refused with one line (grading again writes it anew).

The statuses are decided here, one enum per level: a submission's `Status` (how its grading
ended), a cell's `CellStatus` (`cell_status`, `not_answered`), a student's `State` in an
assignment (`SubmissionResult.state`; course_lib.instructor.roll adds the states of work not
graded). The messages of cells are the students' (French), the others the instructor's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from course_lib.atomic import write_atomic
from course_lib.cells import grade_id, is_answer, is_graded, points
from course_lib.errors import CourseError
from course_lib.late import Late
from course_lib.titles import cell_titles
from course_lib.typed_json import from_json, to_json
from course_lib.verdicts import ModelEvidence, Verdict

RESULT_FILE = "grading.json"
SCHEMA = 4  # grading.json's version: 1 the untyped dict of before (no "schema" key), 2 without seeds,
# 3 without the test set's blocks


class Status(StrEnum):
    """How a submission's grading ended."""

    GRADED = "graded"
    KERNEL_DIED = "kernel-died"
    TIMEOUT = "timeout"
    INVALID_NOTEBOOK = "invalid-notebook"
    ERROR = "error"


class CellStatus(StrEnum):
    """Where a graded cell stands."""

    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"
    MISSING = "missing"  # its test did not run (the notebook stopped before it)
    MANUAL_PENDING = "manual-pending"  # a written answer the instructor has not graded yet
    NOT_ANSWERED = "not-answered"  # the release's stub is still there


class CellKind(StrEnum):
    """How a cell is graded: by its tests, or by the instructor (written answers)."""

    AUTO = "auto"
    MANUAL = "manual"


class State(StrEnum):
    """The one word for where a student stands in an assignment (grade, status, export,
    report): a graded submission's, or (course_lib.instructor.roll) work not graded."""

    GRADED = "graded"
    MANUAL_PENDING = "manual-pending"
    TAMPERED = "tampered"
    KERNEL_DIED = "kernel-died"
    TIMEOUT = "timeout"
    INVALID_NOTEBOOK = "invalid-notebook"
    ERROR = "error"
    COLLECTED = "collected"
    REJECTED = "rejected"
    NOT_SUBMITTED = "not-submitted"


@dataclass
class CellResult:
    """One graded cell: its points (None while a written answer waits for the instructor)."""

    notebook: str
    grade_id: str
    title: str  # course_lib.titles
    kind: CellKind
    points: float | None
    max_points: float
    status: CellStatus
    message: str  # French: the student reads it
    knock_on: bool = False  # failed for want of the data of a cell above


@dataclass(frozen=True)
class Tampering:
    """A test cell whose kernel said it passed where the verifier's reproduction fails."""

    grade_id: str
    kernel: str
    verifier: str

    def line(self) -> str:
        return f"{self.grade_id}: the kernel said {self.kernel}, the verifier {self.verifier}"


class SuspicionKind(StrEnum):
    """An integrity signal (course_lib.pipeline.integrity): for the instructor, never points."""

    TRAINED_ON_TEST = "trained-on-test"
    PASTED_LITERAL = "pasted-literal"
    HISTORY_MISMATCH = "history-mismatch"
    TEST_BLOCKS = "test-blocks"  # trained on part of the test set
    BEYOND_CEILING = "beyond-ceiling"  # a test accuracy no honest run reaches
    HARD_IMAGES = "hard-images"  # right on test images honest models get wrong


@dataclass(frozen=True)
class Suspicion:
    """One signal, its statistic and the threshold it crossed, and the instructor's line."""

    kind: SuspicionKind
    statistic: float
    threshold: float
    evidence: str

    def line(self) -> str:
        return f"suspect ({self.kind}): {self.evidence}"


@dataclass(frozen=True)
class CellRef:
    """A cell, by its grade id and title; `error`: the one line it raised, if it did."""

    grade_id: str
    title: str
    error: str = ""


@dataclass(frozen=True)
class GraderFiles:
    """The grader's private files of the submission (in its .grading folder), where kept."""

    history: str | None = None
    model: str | None = None
    predictions: str | None = None


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: Status
    message: str  # one line for the instructor ('' when graded normally)
    submission_sha256: str  # digest of the submitted files (re-grading skips unchanged work)
    cells: list[CellResult]
    max_score: float
    score: float = 0.0  # after the late penalty, manual answers at their current score
    seconds: float = 0.0  # wall time of the sandboxed run
    cached: bool = False  # the run came from the execution cache
    verify_seconds: float = 0.0  # the verifier's time on its exports
    cell_seconds: dict[str, float] = field(default_factory=dict)  # grade id → its cell's wall time
    late_penalty: float = 0.0
    late: Late | None = None  # course_lib.late
    accuracy: float | None = None  # measured by the verifier on the reference test set
    accuracy_cell: str | None = None  # the test cell whose check measured it
    tampered: bool = False  # the kernel disagreed with the verifier, or `notes` say more
    tampering: list[Tampering] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "cell test_load was edited (…)"
    earlier_release: bool = False  # made from an earlier release (its cells older)
    first_error: CellRef | None = None  # the first cell outside the tests that raised
    unanswered: list[CellRef] = field(default_factory=list)  # answers still holding the stub
    sandbox: str = ""  # "bubblewrap" | "none (--unsafe-no-sandbox)"
    seed: int | None = None  # the student's seed the network trained with (course_lib.seeds)
    suspicions: list[Suspicion] = field(default_factory=list)  # integrity signals, never points
    evidence: ModelEvidence | None = None  # what the verifier measured for them
    files: GraderFiles = field(default_factory=GraderFiles)

    @property
    def state(self) -> State:
        """Tampered, how grading failed, manual-pending (written answers to grade by hand) or
        graded."""
        if self.tampered:
            return State.TAMPERED
        if self.status != Status.GRADED:
            return State(self.status.value)
        pending = any(c.status == CellStatus.MANUAL_PENDING for c in self.cells)
        return State.MANUAL_PENDING if pending else State.GRADED

    def cells_with(self, status: CellStatus) -> list[CellResult]:
        return [cell for cell in self.cells if cell.status == status]

    def tampering_lines(self) -> list[str]:
        """Each disagreement between the kernel and the verifier, and each integrity note."""
        return [entry.line() for entry in self.tampering] + self.notes

    def first_error_line(self) -> str:
        """The instructor's one line on the first cell that raised ('' if none did)."""
        first = self.first_error
        return "" if first is None else (f'cell "{first.grade_id}" ({first.title}) failed: {first.error} '
                                         "— the tests below depend on it")

    def unanswered_line(self) -> str:
        """The instructor's one line on the answers left as the release had them."""
        names = [entry.grade_id for entry in self.unanswered]
        return f"not answered ({len(names)}): {', '.join(names)}" if names else ""

    def finish(self, status: Status, message: str) -> SubmissionResult:
        """The final touch: status, total score, and the tampered flag (the kernel disagreed
        with the verifier, or cells the student may not change were changed)."""
        self.status, self.message = status, message
        self.tampered = bool(self.tampering or self.notes)
        self.score = total_score(self.cells, self.late_penalty)
        return self


def empty_result(student: str, assignment: str, digest: str, release: Any, name: str) -> SubmissionResult:
    """A result with every graded cell of `release` (notebook `name`) at zero ("missing")."""
    cells, titles = [], cell_titles(release)
    for cell in release.cells:
        if is_graded(cell):
            manual = is_answer(cell)
            cells.append(CellResult(
                notebook=name, grade_id=grade_id(cell), title=titles[grade_id(cell)],
                kind=CellKind.MANUAL if manual else CellKind.AUTO,
                points=None if manual else 0.0, max_points=points(cell),
                status=CellStatus.MANUAL_PENDING if manual else CellStatus.MISSING, message="",
            ))
    return SubmissionResult(student=student, assignment=assignment, status=Status.GRADED, message="",
                            submission_sha256=digest, cells=cells, max_score=sum(c.max_points for c in cells))


def cell_status(points: float, max_points: float, ran: bool) -> CellStatus:
    """The one rule for a graded cell's status."""
    if not ran:
        return CellStatus.MISSING
    if points >= max_points:
        return CellStatus.PASSED
    return CellStatus.PARTIAL if points > 0 else CellStatus.FAILED


def fill_cells(result: SubmissionResult, verdicts: dict[str, Verdict], kernel: dict[str, str | None]) -> None:
    """Put the verifier's points in the autograded cells; mark where the kernel claimed a pass
    the verifier does not find."""
    for cell in result.cells:
        verdict = verdicts.get(cell.grade_id)
        if cell.kind != CellKind.AUTO or verdict is None:
            continue
        said = kernel.get(cell.grade_id)
        ran = said is not None or verdict.public
        cell.points, cell.message = verdict.points, verdict.message
        cell.status = cell_status(verdict.points, cell.max_points, ran)
        # Only a kernel that says it passed where the verifier's reproduction of the same check
        # fails hints at a forged verdict; a model the verifier does not load leaves nothing
        # to compare.
        if said == "passed" and not verdict.public and not verdict.unloadable:
            result.tampering.append(Tampering(cell.grade_id, said, "failed"))


def not_answered(result: SubmissionResult, grade_ids: set[str]) -> None:
    """Written answers still holding the release's stub: 0 (as nbgrader gives them), not
    waiting for the instructor."""
    for cell in result.cells:
        if cell.kind == CellKind.MANUAL and cell.grade_id in grade_ids:
            cell.points, cell.status, cell.message = 0.0, CellStatus.NOT_ANSWERED, ""


def total_score(cells: list[CellResult], late_penalty: float) -> float:
    """The submission's score: its cells' points (pending answers count 0), less the penalty."""
    return max(sum(cell.points or 0.0 for cell in cells) - late_penalty, 0.0)


def private_dir(course_root: Path, assignment: str, student: str) -> Path:
    """The grader's files of one submission, beside nbgrader's autograded folder."""
    return course_root / "autograded" / student / f"{assignment}.grading"


def result_path(course_root: Path, assignment: str, student: str) -> Path:
    return private_dir(course_root, assignment, student) / RESULT_FILE


def write_result(course_root: Path, result: SubmissionResult) -> Path:
    """Write atomically: a reader never sees half a result."""
    path = result_path(course_root, result.assignment, result.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"schema": SCHEMA, **to_json(result)}
    write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    return path


def read_result(course_root: Path, assignment: str, student: str) -> SubmissionResult | None:
    """The stored result (None when there is none); CourseError, one line, when it cannot be
    read: another schema version, or a damaged file."""
    path = result_path(course_root, assignment, student)
    return _read(path, course_root) if path.is_file() else None


def read_results(course_root: Path, assignment: str | None = None) -> list[SubmissionResult]:
    """Every stored result (of one assignment, or all), sorted by assignment then student."""
    pattern = f"*/{assignment or '*'}.grading/{RESULT_FILE}"
    results = [_read(path, course_root) for path in (course_root / "autograded").glob(pattern)]
    return sorted(results, key=lambda r: (r.assignment, r.student))


def _read(path: Path, course_root: Path) -> SubmissionResult:
    where = path.relative_to(course_root) if path.is_relative_to(course_root) else path
    again = f"grade {path.parent.name.removesuffix('.grading')} again (`course grade`) to write it anew"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CourseError(f"{where} cannot be read ({type(error).__name__}): {again}") from None
    schema = data.pop("schema", 1) if isinstance(data, dict) else None
    if schema != SCHEMA:
        raise CourseError(f"{where} is a result of schema {str(schema)[:20]}, this course_lib reads schema "
                          f"{SCHEMA}: {again}")
    try:
        return from_json(SubmissionResult, data, "grading.json")
    except ValueError as error:
        raise CourseError(f"{where}: {str(error)[:200]}: {again}") from None
