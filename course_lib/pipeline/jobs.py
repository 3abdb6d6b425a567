"""The coordinator's side of one submission: the job a worker runs, and the result made of its
answer.

`make_job` reads the course (release, submission, settings), merges the answers into the
release (course_lib.pipeline.prepare), draws the verifier's sample and looks up the execution
cache; what it hands a worker is plain data (course_lib.pipeline.worker.run_job). `finish`
turns the worker's answer into the result (course_lib.results): it writes the executed
notebook for formgrader, the grader's private files and the cache entry, never the gradebook:
the batch records results. Nothing here trusts what the student's kernel says: the points are
the verifier's, and where the kernel's own test cells disagree with the verifier, the
submission is marked tampered.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from course_lib import results as R
from course_lib.cells import graded_points, grade_id, is_answer
from course_lib.course import released_notebook
from course_lib.data import load_mnist
from course_lib.errors import CourseError
from course_lib.late import lateness
from course_lib.pipeline import cache
from course_lib.pipeline.diagnosis import assigned_names, diagnose, read_names
from course_lib.pipeline.explain import explain
from course_lib.pipeline.worker import HISTORY, MAX_OUTPUT_BYTES, MODEL, PREDICTIONS
from course_lib.pipeline.inert import rebuilt_notebook
from course_lib.pipeline.integrity import hard_recovered, pasted_literals, signals
from course_lib.pipeline.prepare import kernel_verdicts, prepare, read_submission, without_exports
from course_lib.seeds import course_secret, student_seed
from course_lib.specs.protocol import load_spec
from course_lib.submissions import submission_digest, submission_time, submitted_dir
from course_lib.titles import cell_titles
from course_lib.typed_json import from_json
from course_lib.verdicts import Verdicts

CACHE_FOLDER = "execution"
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$", flags=re.M)


@dataclass
class Pending:
    """A submission on its way: the job for a worker (None when there is nothing to run: the
    result is final), the result so far, and what `finish` needs of the prepared notebook."""

    student: str
    job: dict[str, Any] | None
    result: R.SubmissionResult
    test_cells: dict[str, int] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)
    titles: dict[str, str] = field(default_factory=dict)  # grade_id → title (course_lib.titles)
    key: str = ""
    cached: bool = False
    release: Any = None  # the released notebook
    answers: dict[str, set[str]] = field(default_factory=dict)  # answer → the names the master's defines
    literals: list[tuple[str, int]] = field(default_factory=list)  # cells holding pasted data
    settings: dict[str, Any] = field(default_factory=dict)  # course_lib.course.grading_settings


def make_job(*, root: Path, assignment: str, student: str, settings: dict[str, Any], sandbox: bool,
             use_cache: bool = True) -> Pending:
    """The job grading submitted/<student>/<assignment>/, or its final result if unreadable."""
    submitted = submitted_dir(root, student, assignment)
    release_path = released_notebook(root, assignment)
    notebooks = sorted(submitted.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"no submission of {assignment} by {student} in {submitted.parent}")
    release = nbformat.read(release_path, as_version=4)
    result = R.empty_result(student, assignment, submission_digest(submitted), release, release_path.stem)
    result.sandbox = "bubblewrap" if sandbox else "none (--unsafe-no-sandbox)"
    try:
        submission_time(submitted)
    except ValueError as error:  # graded all the same; the instructor checks when it came
        result.notes.append(f"{error}: no late penalty could be applied")
    try:
        if notebooks[0].is_symlink():  # never followed: it could lead to the gradebook
            raise ValueError("the submitted notebook is a symbolic link")
        submission = read_submission(notebooks[0])
    except ValueError as error:  # nothing in it can be graded, by the verifier or by hand
        R.not_answered(result, {cell.grade_id for cell in result.cells})
        return Pending(student, None, result.finish(R.Status.INVALID_NOTEBOOK,
                                                    f"the submitted notebook cannot be read: {error}"))
    notebook_bytes = notebooks[0].read_bytes()
    limits = asdict(settings["limits"])
    result.seed = student_seed(course_secret(root), assignment, student)
    key = cache.execution_key(
        prepared_without_exports=prepare(release, submission, {}).notebook, notebook_bytes=notebook_bytes,
        limits=limits, cell_timeout=settings["cell_timeout"], sandbox=sandbox, seed=result.seed,
    )
    hit = cache.load(R.private_dir(root, assignment, student) / CACHE_FOLDER, key) if use_cache else None
    execution, requests = hit if hit else (None, _draw_requests(assignment))
    prepared = prepare(release, submission, requests)
    result.notes += prepared.notes
    result.earlier_release = prepared.earlier_release
    job = {
        "assignment": assignment, "student": student, "sandbox": sandbox, "fingerprint": cache.fingerprint(),
        # The file in the kernel's folder is the notebook that runs, not the submitted one: the
        # submission's outputs, attachments and metadata never reach the kernel.
        "notebook_name": release_path.name, "notebook_file": nbformat.writes(without_exports(prepared.notebook)).encode(),
        "prepared": prepared.notebook,
        "limits": limits, "cell_timeout": settings["cell_timeout"], "mnist_dir": str(settings["mnist_dir"]),
        "request": _request(assignment, requests, release, settings), "execution": execution, "seed": result.seed,
    }
    titles = cell_titles(release)
    return Pending(student, job, result, prepared.test_cells, prepared.unanswered, titles, key,
                   cached=hit is not None, release=release, answers=_master_answers(root, assignment, release_path.name),
                   literals=pasted_literals(prepared.notebook), settings=settings)


def finish(root: Path, pending: Pending, answer: dict[str, Any]) -> R.SubmissionResult:
    """The result of `pending`'s job from the worker's `answer` (course_lib.pipeline.worker);
    the executed notebook, the grader's files and the cache entry are written here."""
    job, result = pending.job, pending.result
    assignment, student = job["assignment"], job["student"]
    execution = answer["execution"]
    verdicts = from_json(Verdicts, answer["verdicts"], "the verifier's answer")
    private = R.private_dir(root, assignment, student)
    ran = execution["cells_run"]
    if not pending.cached and ran and not (execution["timed_out"] or execution["oom_killed"]):
        # Only a run that ended by itself: a time limit met on a busy machine is not replayed.
        cache.store(private / CACHE_FOLDER, pending.key, execution, job["request"]["exports"])
    executed = rebuilt_notebook(job["prepared"], ran["notebook"] if ran else None, pending.release, MAX_OUTPUT_BYTES)
    output_dir = clear_outputs(root, assignment, student)
    output_dir.mkdir(parents=True)
    nbformat.write(without_exports(executed), output_dir / job["notebook_name"])
    for name, data in answer["files"].items():
        if name in (HISTORY, MODEL, PREDICTIONS):
            (private / name).write_bytes(data)
    result.seconds, result.cached = execution["seconds"], pending.cached
    result.cell_seconds = _cell_seconds(job["prepared"], ran)
    result.verify_seconds = round(sum(v.seconds for v in verdicts.cells.values()), 1)
    status, message = _status(execution)
    if ran is None and not (execution["oom_killed"] or execution["timed_out"]):
        # The runner is out of the notebook's reach: a run without its report (or with one from
        # a runner that did not end well) is not trusted. Its points stand, it is flagged.
        result.notes.append(f"the runner ended without a usable report (exit status {execution['runner_exit']})")
    result.notes += [f"cell {grade_id}: its exports killed the verifier twice (refused)"
                     for grade_id in verdicts.refused]
    unfinished = {ran["timeout_cell"], ran["dead_cell"]} if ran else set()
    kernel = kernel_verdicts(executed, pending.test_cells, unfinished) if ran else {}
    R.fill_cells(result, verdicts.cells, kernel)
    R.not_answered(result, pending.unanswered)
    if ran:
        reads = {gid: {name for item in items if item["kind"] != "file"
                       and gid in verdicts.cells and item["key"] in verdicts.cells[gid].absent
                       for name in read_names(item["expr"])}
                 for gid, items in job["request"]["exports"].items()}  # the export each test lacked
        explain(result, diagnose(executed, pending.unanswered, pending.titles, pending.answers),
                verdicts.cells, reads)
        if status == R.Status.GRADED:
            message = result.first_error_line() or result.unanswered_line()
    if result.earlier_release:
        message = "; ".join(filter(None, ["made from an earlier release (graded with the current one)", message]))
    result.accuracy, result.accuracy_cell, result.evidence = verdicts.accuracy, verdicts.accuracy_cell, verdicts.evidence
    thresholds = pending.settings["integrity"]
    result.suspicions = signals(evidence=verdicts.evidence, accuracy=verdicts.accuracy,
                                recovered=hard_recovered(mistakes(verdicts.predictions, pending.settings["mnist_dir"]),
                                                         thresholds.hard_images),
                                literals=pending.literals, thresholds=thresholds)
    result.late = lateness(root, assignment, student, R.total_score(result.cells, 0.0))
    result.late_penalty = result.late.penalty if result.late else 0.0
    result.files = R.GraderFiles(*(name if name in answer["files"] else None for name in (HISTORY, MODEL, PREDICTIONS)))
    return result.finish(status, message)


def mistakes(predictions: list[int] | None, mnist_dir: Path) -> np.ndarray | None:
    """Where the model's predicted classes differ from the reference test labels."""
    if predictions is None:
        return None
    _, (_, labels) = load_mnist(mnist_dir)
    return np.asarray(predictions) != labels if len(predictions) == len(labels) else None


def clear_outputs(root: Path, assignment: str, student: str) -> Path:
    """Remove an earlier grading's executed notebook and grader's files (not its cached
    execution); return nbgrader's autograded folder of the submission."""
    output_dir, private = root / "autograded" / student / assignment, R.private_dir(root, assignment, student)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    private.mkdir(parents=True, exist_ok=True)
    for name in (HISTORY, MODEL, PREDICTIONS):
        (private / name).unlink(missing_ok=True)
    return output_dir


def _master_answers(root: Path, assignment: str, name: str) -> dict[str, set[str]]:
    """The names each answer of the master notebook defines (none without a master)."""
    master = root / "source" / assignment / name
    if not master.is_file():
        return {}
    answers = {}
    for cell in nbformat.read(master, as_version=4).cells:
        if is_answer(cell) and cell.cell_type == "code":
            answers[grade_id(cell)] = assigned_names(SOLUTION_MARKER.sub("", cell.source))
    return answers


def _draw_requests(assignment: str) -> dict[str, list[dict[str, Any]]]:
    """What each test cell's export cell saves, with a fresh random sample of rows: a student
    cannot know which rows the verifier compares."""
    draw = np.random.default_rng(secrets.randbits(128))
    return {gid: check.exports(draw) for gid, check in load_spec(assignment).CHECKS.items()}


def _request(assignment: str, exports: dict, release: Any, settings: dict) -> dict[str, Any]:
    """What the verifier checks: each test cell's exports, points and the course's thresholds;
    which exports the pipeline keeps (the spec's KEEP)."""
    points, keep = graded_points(release), load_spec(assignment).KEEP
    return {"assignment": assignment, "exports": exports, "settings": settings["checks"],
            "points": {gid: points.get(gid, 0.0) for gid in exports},
            "keep": {"history": keep.history, "model": keep.model}}


def _cell_seconds(prepared: Any, ran: dict[str, Any] | None) -> dict[str, float]:
    """The wall time of each cell with a grade id in the run, as the runner measured it."""
    seconds = ran.get("cell_seconds") if ran else None
    if not isinstance(seconds, list):
        return {}
    return {grade_id(cell): float(spent) for cell, spent in zip(prepared["cells"], seconds)
            if grade_id(cell) and isinstance(spent, (int, float))}


def _status(execution: dict[str, Any]) -> tuple[R.Status, str]:
    """The submission's status and the instructor's one-line explanation."""
    ran = execution["cells_run"]
    if execution["oom_killed"]:
        return R.Status.KERNEL_DIED, "the notebook went over the sandbox's memory limit"
    if execution["timed_out"]:
        return R.Status.TIMEOUT, "the notebook went over the sandbox's time limit"
    if ran is None:
        return R.Status.KERNEL_DIED, "the run ended without the runner's report"
    if ran["kernel_died"]:
        return R.Status.KERNEL_DIED, "the kernel died while running the notebook (crash, os._exit, memory)"
    if ran["timeout_cell"] is not None:
        return R.Status.TIMEOUT, "a cell did not finish within the time limit"
    return R.Status.GRADED, ""
