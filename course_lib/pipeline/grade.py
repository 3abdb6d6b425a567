"""`course grade`: autograde every collected submission of an assignment, batch-safe.

This process is the coordinator: it makes each submission's job (course_lib.pipeline.jobs),
has it run here or on Dask workers (course_lib.pipeline.cluster), turns each answer into the
result, and alone records it (course_lib.pipeline.record): one writer, so no "database is
locked" at any number of workers. One broken submission never stops the batch: its result
says why it was not graded. Each result is recorded, then written whole as soon as its job
ends; a batch stopped midway (killed, a power cut) is resumed by running it again: finished
submissions are skipped, and one whose run had reached the coordinator is only verified again
(the execution cache). Work already graded is skipped unless its files changed, its grading
failed (status `error`: a worker or the verifier, not the student), its due date or the late
rule changed, or `force` is set.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from tqdm import tqdm

from course_lib import results as R
from course_lib.course import check_assignments, course_root, grading_settings, released_notebook
from course_lib.errors import CourseError
from course_lib.gradebook import require_released, with_manual_grades
from course_lib.late import late_rule, lateness
from course_lib.pipeline.cluster import backend, failure_message
from course_lib.pipeline.jobs import Pending, clear_outputs, finish, make_job
from course_lib.pipeline.record import record
from course_lib.sandbox.bubblewrap import bubblewrap
from course_lib.safe_text import printable
from course_lib.specs.protocol import checked_spec
from course_lib.submissions import submission_digest, submitted_dir, submitted_students


def grade(
    *,
    assignment: str,
    students: list[str] | None = None,
    force: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    use_cache: bool = True,
    unsafe_no_sandbox: bool = False,
    course_dir: str | Path = ".",
) -> list[GradeSummary]:
    """Grade the collected submissions of `assignment` (all, or `students`); return a summary
    per student: {"student", "status" (the state `course status` says: graded, manual-pending,
    tampered, or how grading failed), "score", "max_score", "seconds", "cached", "tampered",
    "skipped" (already graded, unchanged), "message" (skipped, late, what went wrong)}, in the
    order of the students.

    Jobs run in this process (`workers` 1), on a local Dask cluster of `workers` processes, or
    on the Dask cluster at `scheduler`. Without `use_cache` every notebook runs again. Student
    code runs in a bubblewrap sandbox; without bubblewrap this refuses to run, unless
    `unsafe_no_sandbox` (the results then say so).
    """
    root = course_root(course_dir)
    check_assignments(root, [assignment])
    sandbox = not unsafe_no_sandbox
    if sandbox:
        bubblewrap()
    todo = _submissions(root, assignment, students)
    require_released(root, assignment)
    checked_spec(assignment, nbformat.read(released_notebook(root, assignment), as_version=4))
    late_rule(root)  # a bad [late] is said before anything runs
    settings = grading_settings(root, assignment)
    finished: dict[str, tuple[R.SubmissionResult, bool]] = {}  # student → (result, skipped)
    where = backend(workers=workers, scheduler=scheduler)
    try:
        with tqdm(total=len(todo), desc=f"grading {assignment}", unit="submission", file=sys.stderr) as bar:
            def done(result: R.SubmissionResult, skipped: bool = False) -> None:
                finished[result.student] = (result, skipped)
                bar.set_postfix_str(printable(result.student))
                bar.update()

            pendings = _pendings(root, assignment, todo, force, settings, sandbox, use_cache, done)
            for pending, answer in where.results(pendings):
                done(_store(root, _result(root, pending, answer)))
    finally:
        where.close()
    # The state said is status's: with the written answers graded so far in formgrader.
    current = with_manual_grades(root, [finished[student][0] for student in todo])
    return [_summary(result, finished[student][1]) for student, result in zip(todo, current)]


def format_summary(summary: GradeSummary) -> str:
    """One line per graded student, as `course grade` prints it."""
    score = f"{summary.score:g}/{summary.max_score:g}"
    flag = "TAMPERED" if summary.tampered else ""
    return f"{summary.student:<24} {summary.state:<16} {score:>8} {flag:<8}  {summary.message}"


def _submissions(root: Path, assignment: str, students: list[str] | None) -> list[str]:
    collected = submitted_students(root, assignment)
    if not collected:
        raise CourseError(f"no submission of {assignment} is collected: run `course collect` first")
    unknown = sorted(set(students or []) - set(collected))
    if unknown:
        raise CourseError(f"no submission of {assignment} by {', '.join(unknown)}")
    return [s for s in collected if not students or s in students]


def _pendings(root: Path, assignment: str, todo: list[str], force: bool, settings: dict[str, Any],
              sandbox: bool, use_cache: bool, done: Any) -> Iterator[Pending]:
    """The jobs to run, made one at a time as the runner asks; what needs no job (unchanged
    work, an unreadable notebook, a failure to make the job) is finished here, through `done`."""
    for student in todo:
        digest = ""
        try:
            digest = submission_digest(submitted_dir(root, student, assignment))
            previous = _previous(root, assignment, student)
            if (previous and previous.submission_sha256 == digest and previous.status != R.Status.ERROR
                    and _same_lateness(root, assignment, student, previous) and not force):
                done(previous, skipped=True)
                continue
            pending = make_job(root=root, assignment=assignment, student=student, settings=settings,
                               sandbox=sandbox, use_cache=use_cache)
            if pending.job is None:  # nothing can run: no earlier run's notebook or files stay
                clear_outputs(root, assignment, student)
                done(_store(root, pending.result))
                continue
        except Exception as error:  # noqa: BLE001 (the batch goes on; the instructor sees why)
            done(_store(root, _failed(root, assignment, student, digest, error)))
            continue
        yield pending


def _same_lateness(root: Path, assignment: str, student: str, previous: R.SubmissionResult) -> bool:
    """Whether the due date and the late rule are still those `previous` was graded with (a
    changed one grades the submission again: the execution cache spares the run)."""
    now = lateness(root, assignment, student, 0.0)
    return now.same_lateness(previous.late) if now else previous.late is None


def _previous(root: Path, assignment: str, student: str) -> R.SubmissionResult | None:
    """The stored result, if it can be read (else, e.g. of an older schema, it is graded again)."""
    try:
        return R.read_result(root, assignment, student)
    except CourseError:
        return None


def _result(root: Path, pending: Pending, answer: dict[str, Any] | BaseException) -> R.SubmissionResult:
    """The result of one job's answer; a job that failed, or whose answer cannot be used, is
    a result too."""
    if not isinstance(answer, BaseException):
        try:
            return finish(root, pending, answer)
        except Exception as error:
            answer = error
    result = pending.result
    return _failed(root, result.assignment, result.student, result.submission_sha256, answer)


def _store(root: Path, result: R.SubmissionResult) -> R.SubmissionResult:
    """Record `result` in the gradebook, then write it: a result on disk is a finished one. A
    failure here is this submission's `error` (graded again by the next run), never the batch's."""
    try:
        record(root, result)
        R.write_result(root, result)
        return result
    except Exception as error:  # noqa: BLE001
        failed = result.finish(R.Status.ERROR, failure_message(error).replace("grading failed", "recording failed"))
        try:
            R.write_result(root, failed)
        except Exception:  # noqa: BLE001 (nothing can be written: the summary still says why)
            pass
        return failed


def _failed(root: Path, assignment: str, student: str, digest: str, error: BaseException) -> R.SubmissionResult:
    """The result of a submission whose grading itself failed: every cell at zero (so that the
    gradebook keeps no earlier score, nor formgrader an earlier run's notebook), and the reason."""
    try:
        clear_outputs(root, assignment, student)
        release = released_notebook(root, assignment)
        result = R.empty_result(student, assignment, digest, nbformat.read(release, 4), release.stem)
    except Exception:  # the release itself is unreadable: a result without cells
        result = R.empty_result(student, assignment, digest, nbformat.v4.new_notebook(), "")
    return result.finish(R.Status.ERROR, failure_message(error))


@dataclass(frozen=True)
class GradeSummary:
    """What `course grade` says of a student: the state `course status` will say, and why."""

    student: str
    state: R.State
    score: float
    max_score: float
    seconds: float
    cached: bool
    tampered: bool
    skipped: bool  # already graded, unchanged
    message: str


def _summary(result: R.SubmissionResult, skipped: bool) -> GradeSummary:
    late = result.late.english() if result.late else ""
    skip = "skipped: already graded, unchanged (--force grades it again)" if skipped else ""
    return GradeSummary(result.student, result.state, result.score, result.max_score, result.seconds,
                        result.cached, result.tampered, skipped,
                        "; ".join(filter(None, [skip, late, result.message])))
