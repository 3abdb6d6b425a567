"""Grading one submission: prepare → run in the sandbox → verify in another sandbox → result.

The unit of work of every batch. It reads the course (release, submission, settings) and
returns plain JSON-ready data; it writes only below `output_dir` (the executed notebook for
formgrader, and the grader's private files), never the gradebook: the batch records results.
Nothing here trusts what the student's kernel says: the points are the verifier's, and where
the kernel's own test cells disagree with the verifier, the submission is marked tampered.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from course_lib import results as R
from course_lib.course import course_root, grading_settings, released_notebook
from course_lib.errors import CourseError
from course_lib.pipeline.kernel_export import exports_dir
from course_lib.pipeline.prepare import kernel_verdicts, prepare, read_submission, without_exports
from course_lib.pipeline.sandbox import Limits, Mounts, Outcome, Running, start
from course_lib.submissions import submission_digest

HISTORY, MODEL, PREDICTIONS = "history.json", "model.keras", "predictions.json"
RUNNER, VERIFIER = "course_lib.pipeline.runner", "course_lib.pipeline.verify"
VERIFIER_SECONDS = 600  # the verifier's time for one submission
VERIFIER_LIFETIME = 7 * 24 * 3600  # it serves a whole batch
MAX_OUTPUT_BYTES = 4 << 20
MAX_EXPORT_BYTES = 1 << 30
# This interpreter, by a path that exists in the sandbox too (no "..": its folders are not there).
PYTHON = os.path.abspath(sys.executable)


def grade_submission(
    *, course_dir: str | Path, assignment: str, student: str, output_dir: str | Path,
    sandbox: bool = True, verifier: Verifier | None = None,
) -> dict[str, Any]:
    """Grade submitted/<student>/<assignment>/ and return its result (course_lib.results).

    `output_dir` receives the executed notebook (nbgrader's autograded folder) and the
    grader's files go to R.private_dir. Without `sandbox` student code runs unconfined
    (--unsafe-no-sandbox), which the result says. A batch passes its `verifier` (one process
    for all its submissions); alone, the submission gets its own, started with its run.
    """
    root = course_root(course_dir)
    submitted = root / "submitted" / student / assignment
    release_path = released_notebook(root, assignment)
    notebooks = sorted(submitted.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"no submission of {assignment} by {student} in {submitted.parent}")
    settings = grading_settings(root, assignment)
    release = nbformat.read(release_path, as_version=4)
    spec = _spec(assignment)
    draw = np.random.default_rng(secrets.randbits(128))
    exports = {gid: check.exports(draw) for gid, check in spec.CHECKS.items()}
    output_dir, private = Path(output_dir), R.private_dir(root, assignment, student)
    for folder in (output_dir, private):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    result = R.empty_result(student, assignment, submission_digest(submitted), release, release_path.stem)
    result["sandbox"] = "bubblewrap" if sandbox else "none (--unsafe-no-sandbox)"
    try:
        if notebooks[0].is_symlink():  # never followed: it could lead to the gradebook
            raise ValueError("the submitted notebook is a symbolic link")
        submission = read_submission(notebooks[0])
    except ValueError as error:  # nothing in it can be graded, by the verifier or by hand
        R.not_answered(result, {cell["grade_id"] for cell in result["cells"]})
        return R.with_status(result, R.INVALID_NOTEBOOK, f"the submitted notebook cannot be read: {error}")
    prepared = prepare(release, submission, exports)
    result["notes"] = prepared.notes
    with tempfile.TemporaryDirectory(prefix="course-grade-") as scratch, ExitStack() as stack:
        work = Path(scratch) / "work"
        work.mkdir()
        shutil.copy(notebooks[0], work / release_path.name, follow_symlinks=False)
        if verifier is None:  # started first: it loads Keras and MNIST while the notebook runs
            verifier = stack.enter_context(Verifier(assignment, settings, sandbox))
        with _start(RUNNER, assignment, work, settings, sandbox, specs=False) as runner:
            outcome = runner.finish(json.dumps({
                "notebook": prepared.notebook, "cell_timeout": settings["cell_timeout"],
                "max_output_bytes": MAX_OUTPUT_BYTES,
            }).encode())
        result["seconds"] = outcome.seconds
        ran = _parse(outcome.stdout)
        executed = ran["notebook"] if ran else prepared.notebook
        nbformat.write(without_exports(executed), output_dir / release_path.name)
        verdicts = verifier.verify(work, _request(assignment, exports, release, settings), private)
        result["verify_seconds"] = round(sum(v["seconds"] for v in verdicts["cells"].values()), 1)
    status, message = _status(outcome, ran)
    if ran is None and not (outcome.oom_killed or outcome.timed_out):
        # Only the notebook's own code can end the runner without a report (e.g. by killing it
        # to hide what its test cells said): its points stand, the submission is flagged.
        result["notes"].append("the run ended without the runner's report (killed from the notebook?)")
    unfinished = {ran["timeout_cell"], ran["dead_cell"]} if ran else set()
    kernel = kernel_verdicts(executed, prepared.test_cells, unfinished) if ran else {}
    R.fill_cells(result, verdicts["cells"], kernel)
    R.not_answered(result, prepared.unanswered)
    result["accuracy"] = verdicts.get("accuracy")
    result["late_penalty"] = _late_penalty(root, assignment, student, R.total_score(result["cells"], 0.0))
    result["files"] = {kind: name if (private / name).is_file() else None
                       for kind, name in (("history", HISTORY), ("model", MODEL), ("predictions", PREDICTIONS))}
    return R.with_status(result, status, message)


def _late_penalty(root: Path, assignment: str, student: str, score: float) -> float:
    """nbgrader's late-submission rule (nbgrader_config.py) after course.toml's due date."""
    from nbgrader.plugins import LateSubmissionPlugin
    from nbgrader.utils import parse_utc

    from course_lib.course import due_date, nbgrader_config

    due, stamp = due_date(root, assignment), root / "submitted" / student / assignment / "timestamp.txt"
    if due is None or not stamp.is_file():
        return 0.0
    late = (parse_utc(stamp.read_text().strip()) - due).total_seconds()
    if late <= 0:
        return 0.0
    plugin = LateSubmissionPlugin(config=nbgrader_config(root))
    return float(plugin.late_submission_penalty(student, score, late) or 0.0)


def _spec(assignment: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"course_lib.specs.{assignment}")
    except ModuleNotFoundError:
        raise CourseError(f"{assignment} has no hidden checks (course_lib/specs/{assignment}.py)") from None


class Verifier:
    """The verifier of one assignment in its own sandbox (course_lib.pipeline.verify): one
    process answers one request per submission, so that a batch loads Keras and the reference
    once. Each submission's exports are copied into a folder of its own, removed once verified;
    a verifier that dies or hangs is replaced, and that submission's grading fails."""

    def __init__(self, assignment: str, settings: dict[str, Any], sandbox: bool) -> None:
        self.assignment, self.settings, self.sandbox = assignment, settings, sandbox
        self.folder = Path(tempfile.mkdtemp(prefix="course-verify-"))
        self.running = self._start()

    def _start(self) -> Running:
        limits = replace(self.settings["limits"], wall_seconds=VERIFIER_LIFETIME)
        return _start(VERIFIER, self.assignment, self.folder, self.settings, self.sandbox,
                      specs=True, limits=limits)

    def verify(self, work: Path, request: dict[str, Any], private: Path) -> dict[str, Any]:
        folder = self.folder / secrets.token_hex(8)
        folder.mkdir()
        try:
            _copy_exports(work, folder, list(request["exports"]))
            answer = self.running.ask(json.dumps({**request, "folder": folder.name}).encode(),
                                      VERIFIER_SECONDS)
            if answer is None:
                reason = self.running.stderr_tail().strip().splitlines()[-1:] or ["no answer"]
                self.running = self._start()
                raise CourseError(f"the verifier failed: {reason[0][:300]}")
            verdicts = json.loads(answer)
            _keep_grader_files(folder, private, verdicts.get("predictions"))
            return verdicts
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.running.__exit__()
        shutil.rmtree(self.folder, ignore_errors=True)


def _start(module: str, assignment: str, work: Path, settings: dict[str, Any], sandbox: bool,
           *, specs: bool, limits: Limits | None = None) -> Running:
    """Start the runner or the verifier in its own sandbox, MNIST visible read-only (the
    grader's own cache may be private: each sandbox verifies MNIST into a cache in its /tmp);
    only the verifier sees the hidden checks (course_lib.specs)."""
    mnist = settings["mnist_dir"]
    env = {"COURSE_MNIST_DIR": str(mnist), "COURSE_LIB_CACHE": "/tmp/course_lib-cache"}
    if module == RUNNER:
        env["NBGRADER_EXECUTION"] = "autograde"
    mounts = Mounts(work=work, ro={str(mnist): str(mnist)}, show_specs=specs)
    # -I: the working folder (the student's files, or their exports) is not on the import path.
    return start([PYTHON, "-I", "-m", module, assignment], mounts=mounts, limits=limits or settings["limits"],
                 env=env, sandbox=sandbox, interactive=module == VERIFIER)


def _parse(stdout: bytes) -> dict[str, Any] | None:
    """The runner's report, or None when it has none (killed, or its output was forged away)."""
    try:
        ran = json.loads(stdout)
        ran["notebook"] = nbformat.from_dict(ran["notebook"])
        return ran
    except (ValueError, KeyError, TypeError):
        return None


def _copy_exports(work: Path, target: Path, grade_ids: list[str]) -> None:
    """Copy the exports of the requested cells out of the student's folder: regular files
    only, never through a link (the folder is the student's), at most MAX_EXPORT_BYTES."""
    source, left = work, MAX_EXPORT_BYTES
    for part in exports_dir(work).relative_to(work).parts:
        source = source / part
        if source.is_symlink() or not source.is_dir():
            return
    for grade_id in grade_ids:
        cell = source / grade_id
        if cell.is_symlink() or not cell.is_dir():
            continue
        (target / grade_id).mkdir()
        for path in cell.iterdir():
            size = path.lstat().st_size
            if path.is_symlink() or not path.is_file() or size > left:
                continue
            left -= size
            shutil.copyfile(path, target / grade_id / path.name, follow_symlinks=False)


def _request(assignment: str, exports: dict, release: Any, settings: dict) -> dict[str, Any]:
    """What the verifier checks: each test cell's exports, points and the course's thresholds."""
    points = {
        cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"].get("points", 0))
        for cell in release.cells if cell.metadata.get("nbgrader", {}).get("grade")
    }
    return {"assignment": assignment, "exports": exports, "settings": settings["checks"],
            "points": {gid: points.get(gid, 0.0) for gid in exports}}


def _keep_grader_files(verify_dir: Path, private: Path, predictions: list[int] | None) -> None:
    """For the feedback pages (course_lib.instructor.feedback), as plain data: the training history
    (numbers only), the classes the verifier's run of the trained model predicted for the
    test set; and the trained model itself, for the instructor."""
    try:
        entry = json.loads((verify_dir / "test_train" / "index.json").read_text()).get("history", {})
        curves = {str(k): [float(v) for v in values][:1000] for k, values in entry["value"].items()}
        (private / HISTORY).write_text(json.dumps(curves))
    except (OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
        pass  # no usable history: the page says so
    if predictions is not None:
        (private / PREDICTIONS).write_text(json.dumps(predictions))
    model = verify_dir / "test_accuracy" / "model.keras"
    if model.is_file() and not model.is_symlink():
        shutil.copyfile(model, private / MODEL)


def _status(outcome: Outcome, ran: dict[str, Any] | None) -> tuple[str, str]:
    """The submission's status and the instructor's one-line explanation."""
    if outcome.oom_killed:
        return R.KERNEL_DIED, "the notebook went over the sandbox's memory limit"
    if outcome.timed_out:
        return R.TIMEOUT, "the notebook went over the sandbox's time limit"
    if ran is None:
        return R.KERNEL_DIED, "the notebook's run ended without a report (killed, or it exited)"
    if ran["kernel_died"]:
        return R.KERNEL_DIED, "the kernel died while running the notebook (crash, os._exit, memory)"
    if ran["timeout_cell"] is not None:
        return R.TIMEOUT, "a cell did not finish within the time limit"
    return R.GRADED, ""
