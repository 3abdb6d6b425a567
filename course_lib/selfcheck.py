"""`course check`: a student checks a notebook before handing it in, from any folder.

The notebook runs as the grader runs it (course_lib.kernel.runner: a fresh python3 kernel,
every cell even after an error, NBGRADER_EXECUTION=autograde so that the demonstration cells
are skipped, the course's per-cell timeout), but in its own folder, where the student's files
are (mes_chiffres/), with no sandbox and no course folder around. Only the public tests exist
there, so a test passes (✅) only where the grader checks nothing more; a test whose public part
passes but that the grader also checks on drawn inputs or the reference data (its cell's
metadata `course_lib.hidden_check`, set from the specs) is « vérifié à la correction », its
points outside the total. A test cell that is not the release's (nbgrader's checksum) is
reported as modified and not counted: grading runs the original. The file itself is never
written (a copy runs in memory). Everything the student reads is French.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from course_lib.french import decimal, points_text
from course_lib.cells import grade_id as _grade_id, is_test as _is_test, nbgrader, points as cell_points
from course_lib.errors import CourseError
from course_lib.runtime import CELL_TIMEOUT
from course_lib.safe_text import say
from course_lib.stubs import still_stub
from course_lib.titles import cell_phrase, cell_titles

# Outputs kept for the whole notebook: far more than a practical prints, plots included; it
# bounds the memory a runaway print loop takes. Past it the runner drops outputs, error
# messages included, so a test below that point can no longer be told passed.
MAX_OUTPUT_BYTES = 64 << 20

Status = Literal["passed", "at-grading", "failed", "not-run", "unknown", "modified"]
StopReason = Literal["timeout", "kernel-died"]


@dataclass(frozen=True)
class PublicTest:
    """One public test cell: its title, its points, how it ended and why (French)."""

    grade_id: str
    title: str
    points: float
    status: Status
    message: str = ""  # why it failed or did not run; for a passed test, the last line it printed


@dataclass(frozen=True)
class Cell:
    """A cell as the student knows it (course_lib.titles), with its grade id."""

    grade_id: str
    title: str


@dataclass(frozen=True)
class CellError(Cell):
    """The first cell outside the tests that raised: the tests below it depend on it."""

    error: str  # the first line of "Type: message"


@dataclass(frozen=True)
class Stop(Cell):
    """The cell where the run ended early: it ran past the timeout, or the kernel died in it."""

    reason: StopReason


@dataclass(frozen=True)
class CheckReport:
    """What `course check` found, JSON-ready through dataclasses.asdict."""

    notebook: str
    cell_timeout: int
    tests: list[PublicTest]  # every public test cell, in notebook order
    unanswered: list[Cell]  # answers still holding the release's stub
    first_error: CellError | None
    stopped: Stop | None
    points: float  # of the tests passed here, that the grader checks no further
    max_points: float  # of all the tests that the grader checks no further
    at_grading: float  # points of the tests whose public part passed, checked further at grading
    ok: bool  # every test passed here, or passed its public part


def check(*, notebook: str | Path, timeout: int | None = None,
          say: Callable[[str], None] | None = None) -> CheckReport:
    """Run `notebook` as the grader would (public tests only) and report on it; `timeout` is
    the per-cell limit in seconds (default: the course's, CELL_TIMEOUT). `say` hears one line
    when the run starts, since it may take minutes. Bad input raises CourseError (French)."""
    path = Path(notebook)
    cell_timeout = CELL_TIMEOUT if timeout is None else timeout
    if cell_timeout <= 0:
        raise CourseError(f"le temps limite par cellule doit être positif (reçu : {cell_timeout} s)")
    running = _read(path)
    if not any(_is_test(cell) for cell in running.cells):
        raise CourseError(f"{path.name} ne contient aucune cellule de vérification du cours : "
                          "est-ce bien le notebook du TP ?")
    for cell in running.cells:  # outputs of the student's own session would pass for this run's
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if say is not None:
        say(f"Exécution de {path.name} (au plus {cell_timeout} s par cellule)…")
    outcome = _run(running, path.resolve().parent, cell_timeout)
    return _report(path, running, outcome, cell_timeout)


def _run(notebook: Any, folder: Path, cell_timeout: int) -> dict[str, Any]:
    """The grader's runner, in the notebook's folder, with the demonstration cells skipped."""
    from jupyter_client.kernelspec import NoSuchKernel

    from course_lib.kernel.runner import run_notebook

    try:
        return run_notebook(notebook, cell_timeout=cell_timeout, max_output_bytes=MAX_OUTPUT_BYTES,
                       cwd=str(folder), env={**os.environ, "NBGRADER_EXECUTION": "autograde"})
    except NoSuchKernel:
        raise CourseError("le noyau Jupyter « python3 » est introuvable : installe ipykernel "
                          "(pip install ipykernel)") from None


def _report(path: Path, executed: Any, outcome: dict[str, Any], cell_timeout: int) -> CheckReport:
    """What the run of `executed` (the runner's `outcome`) says of each public test."""
    from course_lib.pipeline.diagnosis import diagnose
    from course_lib.pipeline.prepare import kernel_verdicts

    titles = cell_titles(executed)
    tests = {_grade_id(cell): index for index, cell in enumerate(executed.cells) if _is_test(cell)}
    unanswered = {_grade_id(cell) for cell in executed.cells if _grade_id(cell) and still_stub(cell)}
    diagnosis = diagnose(executed, unanswered, titles)
    stop_index = outcome["timeout_cell"] if outcome["timeout_cell"] is not None else outcome["dead_cell"]
    stopped = None if stop_index is None else Stop(
        *_named(executed, stop_index, titles),
        reason="timeout" if outcome["timeout_cell"] is not None else "kernel-died")
    verdicts = kernel_verdicts(executed, tests, set() if stop_index is None else {stop_index})
    cut = _truncated_at(executed) if outcome["truncated"] else None

    results = []
    for grade_id, index in tests.items():
        cell = executed.cells[index]
        status, message = _outcome(
            cell, verdicts[grade_id], lost=cut is not None and index >= cut,
            stop=stopped.reason if stopped is not None and index == stop_index else None,
            stopped_above=stopped is not None, cell_timeout=cell_timeout,
        )
        if _modified(cell):
            status, message = "modified", "cellule de vérification modifiée : la correction utilisera l'originale"
        elif status == "passed" and _hidden_check(cell):
            status = "at-grading"
        points = cell_points(cell)
        results.append(PublicTest(grade_id, titles.get(grade_id, grade_id), points, status, message))
    first = diagnosis.first_error
    public = [r for r in results if not _hidden_check(executed.cells[tests[r.grade_id]])]
    return CheckReport(
        notebook=str(path), cell_timeout=cell_timeout, tests=results,
        unanswered=[Cell(c.grade_id, c.title) for c in diagnosis.unanswered],
        first_error=None if first is None else CellError(first.grade_id, first.title, first.error),
        stopped=stopped,
        points=sum(r.points for r in public if r.status == "passed"),
        max_points=sum(r.points for r in public),
        at_grading=sum(r.points for r in results if r.status == "at-grading"),
        ok=all(r.status in ("passed", "at-grading") for r in results),
    )


def _hidden_check(cell: Any) -> bool:
    """Whether the grader checks more than the cell does (unknown: yes)."""
    return cell.get("metadata", {}).get("course_lib", {}).get("hidden_check", True) is not False


def _modified(cell: Any) -> bool:
    """A test cell whose source or grading fields are not those nbgrader released."""
    from nbgrader.utils import compute_checksum

    stored = nbgrader(cell).get("checksum")
    return stored is not None and compute_checksum(cell) != stored


def _read(path: Path) -> Any:
    """The notebook at `path`, or CourseError in one French line."""
    from course_lib.pipeline.prepare import read_submission

    if not path.exists():
        raise CourseError(f"{path} : fichier introuvable")
    if not path.is_file():
        raise CourseError(f"{path} n'est pas un fichier")
    try:
        return read_submission(path)
    except ValueError as error:
        raise CourseError(f"{path.name} n'est pas un notebook Jupyter lisible ({error})") from None


def _named(notebook: Any, index: int, titles: dict[str, str]) -> tuple[str, str]:
    """(grade id, title) of a cell; a cell the student added has no grade id and is known by
    the cell above it, as course_lib.pipeline.diagnosis names it."""
    for above in range(index, -1, -1):
        grade_id = _grade_id(notebook.cells[above])
        if grade_id:
            return ("" if above < index else grade_id), titles.get(grade_id, grade_id)
    return "", "début du notebook"


def _truncated_at(notebook: Any) -> int | None:
    """The index of the cell where the runner started dropping outputs."""
    from course_lib.kernel.runner import TRUNCATED

    for index, cell in enumerate(notebook.cells):
        if any(out.get("text") == TRUNCATED for out in cell.get("outputs", [])):
            return index
    return None


def _outcome(cell: Any, verdict: str | None, *, lost: bool, stop: StopReason | None,
             stopped_above: bool, cell_timeout: int) -> tuple[Status, str]:
    """The status of one test cell and what to tell the student about it. `lost`: its outputs
    were dropped; `stop`: the run ended in this cell."""
    if verdict == "passed" and lost:
        return "unknown", (f"résultat inconnu : le notebook a affiché plus de {MAX_OUTPUT_BYTES >> 20} Mo "
                           "de sorties avant cette vérification")
    if verdict == "passed":
        return "passed", _printed(cell)
    if verdict == "failed":
        return "failed", _error_text(cell)
    if stop == "timeout":
        return "failed", f"a dépassé le temps limite de {cell_timeout} s par cellule"
    if stop == "kernel-died":
        return "failed", "le noyau Python s'est arrêté pendant cette vérification"
    return "not-run", "non exécutée" + (" (le calcul s'est arrêté plus haut)" if stopped_above else "")


def _printed(cell: Any) -> str:
    """The last line a passing test printed: the accuracy cells print the student's accuracy."""
    text = "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _error_text(cell: Any) -> str:
    """Why a test cell failed: its assertion's message, else "Type: message"."""
    error = next((out for out in cell.get("outputs", []) if out.get("output_type") == "error"), None)
    if error is None:
        return "échouée"
    name, value = error.get("ename", "Exception"), " ".join(str(error.get("evalue", "")).split())
    if name == "AssertionError":
        return value or "vérification non satisfaite (assertion sans message)"
    return f"{name}: {value}" if value else name


def format_report(report: CheckReport) -> str:
    """The French summary `course check` prints."""
    name = Path(report.notebook).name
    lines = [f"Vérification de {name} (tests publics : ✅ réussi, la correction ne vérifie rien de plus ; "
             "☑️ partie publique réussie, le reste est vérifié à la correction)", ""]
    causes = []  # the cause first: what to fix before reading the tests below
    if report.first_error is not None:
        first = report.first_error
        causes.append(f"{cell_phrase(first.title, first.grade_id, 'La')} a échoué : {first.error} ; "
                      "les vérifications qui suivent en dépendent.")
    if report.stopped is not None:
        stopped = report.stopped
        if stopped.reason == "timeout":
            causes.append(f"{cell_phrase(stopped.title, stopped.grade_id, 'La')} a dépassé le temps limite de "
                          f"{report.cell_timeout} s par cellule : le calcul s'est arrêté là, les vérifications "
                          "suivantes n'ont pas été exécutées.")
        else:
            causes.append(f"Le noyau Python s'est arrêté pendant {cell_phrase(stopped.title, stopped.grade_id)} "
                          "(mémoire épuisée ? os._exit ?) : les vérifications suivantes n'ont pas été exécutées.")
    lines += [*causes, ""] if causes else []
    marks = {"passed": "✅", "at-grading": "☑️", "failed": "❌", "not-run": "⚪", "unknown": "❔", "modified": "✏️"}
    for test in report.tests:
        line = f"{marks[test.status]} {test.title} ({points_text(test.points)})"
        detail = test.message
        if test.status == "at-grading":
            detail = " ; ".join(filter(None, [test.message, "vérifié à la correction"]))
        lines.append(line + (f" : {detail}" if detail else ""))
    lines.append("")
    if report.unanswered:
        lines.append(f"À compléter ({len(report.unanswered)}) :")
        lines.extend(f"  – « {cell.title} » ({cell.grade_id}) : non répondu" for cell in report.unanswered)
        lines.append("")
    lines.append(f"{points_text(report.points)} sur {decimal(report.max_points)} aux tests entièrement vérifiés ici ; "
                 f"{points_text(report.at_grading)} de plus à confirmer à la correction")
    return "\n".join(lines)



def add_check_command(commands: Any) -> None:
    """`course check`, in the instructor's `course` (course_lib.cli) and in the students' own
    (course_lib.student_cli, the student package): one definition."""
    check = commands.add_parser(
        "check", help="(étudiants) vérifier son notebook avant de le rendre, depuis n'importe quel "
        "dossier : tests publics seulement, cellules de démonstration sautées comme à la correction",
        epilog="code de sortie : 0 si tous les tests publics sont réussis, 1 si l'un a échoué ou n'a pas "
        "été exécuté, ou si une cellule de test a été modifiée, 2 si le fichier n'est pas un notebook lisible")
    check.add_argument("notebook", metavar="NOTEBOOK", help="le notebook à vérifier, ex. TP1_MNIST_dense.ipynb")
    check.add_argument("--timeout", type=int, metavar="SECONDES",
                       help=f"temps limite par cellule (par défaut celui de la correction, {CELL_TIMEOUT} s)")
    check.set_defaults(run=run_check)


def run_check(args: Any) -> int:
    """A student's self-check: its own French error line (the instructor's commands speak English)."""
    def progress(line: str) -> None:
        say(line, file=sys.stderr, flush=True)

    try:
        report = check(notebook=args.notebook, timeout=args.timeout, say=progress)
    except CourseError as error:
        say(f"course check : erreur : {error}", file=sys.stderr)
        return 2
    say(format_report(report))
    return 0 if report.ok else 1
