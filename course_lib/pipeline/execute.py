"""The work of one submission, wherever it runs: the sandboxed run, then the verifier.

`run_job` is what a grading worker does (in this process, or on a Dask worker of another
machine): it takes a job of plain data (the prepared notebook, the submitted notebook's bytes,
the verifier's request, the limits; built by course_lib.pipeline.jobs) and returns plain data:
the execution (the runner's report, how the run ended, the exported files as one zip) and the
verifier's verdicts with the grader's files as bytes. It reads no course folder and writes
nothing that outlives it, so workers need no view of the course, the gradebook or the results:
the coordinator (course_lib.pipeline.grade) turns the answer into the result and records it.
A job that carries a cached execution (course_lib.pipeline.cache) skips the run: only the
verifier works again.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError
from course_lib.pipeline.kernel_export import exports_dir
from course_lib.pipeline.sandbox import Limits, Mounts, Running, start

HISTORY, MODEL, PREDICTIONS = "history.json", "model.keras", "predictions.json"
RUNNER, VERIFIER = "course_lib.pipeline.runner", "course_lib.pipeline.verify"
VERIFIER_SECONDS = 600  # the verifier's time for one submission
VERIFIER_LIFETIME = 7 * 24 * 3600  # it serves a whole batch
MAX_OUTPUT_BYTES = 4 << 20
MAX_EXPORT_BYTES = 1 << 30
# This interpreter, by a path that exists in the sandbox too (no "..": its folders are not there).
PYTHON = os.path.abspath(sys.executable)
# The scratch folders of runs and verifiers, in the host's temporary folder.
RUN_SCRATCH, VERIFIER_SCRATCH = "course-grade-", "course-verify-"


def run_job(job: dict[str, Any], verifiers: Verifiers) -> dict[str, Any]:
    """Run `job`'s notebook in a sandbox (unless it carries its execution), verify its exports
    with `verifiers`' verifier of the assignment; return {"execution", "verdicts", "files"}."""
    from course_lib.pipeline.cache import fingerprint

    if job["fingerprint"] != fingerprint():
        raise CourseError("this worker runs another course_lib or TensorFlow than the coordinator")
    settings = worker_settings(job)
    # Started first: the verifier loads Keras and the reference while the notebook runs.
    verifier = verifiers.get(job["assignment"], settings, job["sandbox"])
    execution = job["execution"] or _execute(job, settings)
    verdicts, files = verifier.verify(execution["exports"], job["request"])
    return {"execution": execution, "verdicts": verdicts, "files": files}


def worker_settings(job: dict[str, Any]) -> dict[str, Any]:
    """The job's limits and timeout; this machine's MNIST ($COURSE_MNIST_DIR, else the
    coordinator's path); TensorFlow's threads: the job's share of this machine's cores."""
    from course_lib.data import MNIST_DIR_ENV

    mnist = Path(os.environ.get(MNIST_DIR_ENV) or job["mnist_dir"])
    if not mnist.is_dir():
        raise CourseError(f"this worker has no MNIST in {mnist}: set ${MNIST_DIR_ENV}")
    return {"limits": Limits(**job["limits"]), "cell_timeout": job["cell_timeout"],
            "mnist_dir": mnist.resolve(), "threads": job.get("threads")}


def _execute(job: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The sandboxed run of the prepared notebook, in a scratch folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=RUN_SCRATCH) as scratch:
        work = Path(scratch) / "work"
        work.mkdir()
        (work / job["notebook_name"]).write_bytes(job["notebook_bytes"])
        with _start(RUNNER, job["assignment"], work, settings, job["sandbox"], specs=False) as runner:
            outcome = runner.finish(json.dumps({
                "notebook": job["prepared"], "cell_timeout": settings["cell_timeout"],
                "max_output_bytes": MAX_OUTPUT_BYTES,
            }).encode())
        return {
            "report": _parse(outcome.stdout), "seconds": outcome.seconds,
            "timed_out": outcome.timed_out, "oom_killed": outcome.oom_killed,
            "exports": pack_exports(work, list(job["request"]["exports"])),
        }


class Verifiers:
    """The verifiers a grading process keeps, one per assignment and settings, each started on
    first use and serving every later job (Keras and the reference are loaded once)."""

    def __init__(self) -> None:
        self.started: dict[str, Verifier] = {}
        self.lock = threading.Lock()  # a Dask worker may run several jobs at once

    def get(self, assignment: str, settings: dict[str, Any], sandbox: bool) -> Verifier:
        key = json.dumps([assignment, repr(settings), sandbox])
        with self.lock:
            if key not in self.started:
                self.started[key] = Verifier(assignment, settings, sandbox)
            return self.started[key]

    def close(self) -> None:
        for verifier in self.started.values():
            verifier.close()
        self.started.clear()

    def __enter__(self) -> Verifiers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Verifier:
    """The verifier of one assignment in its own sandbox (course_lib.pipeline.verify): one
    process answers one request per submission. Each submission's exports are unpacked into a
    folder of its own, removed once verified; a verifier that dies or hangs is replaced, and
    that submission's grading fails."""

    def __init__(self, assignment: str, settings: dict[str, Any], sandbox: bool) -> None:
        self.assignment, self.settings, self.sandbox = assignment, settings, sandbox
        sweep_scratch(Path(tempfile.gettempdir()))  # once per batch and worker, not per run
        self.folder = Path(tempfile.mkdtemp(prefix=VERIFIER_SCRATCH))
        self.lock = threading.Lock()  # one request at a time
        self.running = self._start()

    def _start(self) -> Running:
        # Made again if a sweep took it: a worker may keep this verifier past its lifetime.
        self.folder.mkdir(mode=0o700, exist_ok=True)
        limits = replace(self.settings["limits"], wall_seconds=VERIFIER_LIFETIME)
        return _start(VERIFIER, self.assignment, self.folder, self.settings, self.sandbox,
                      specs=True, limits=limits)

    def verify(self, exports: bytes, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The verdicts on one submission's exports, and the grader's files (name → bytes)."""
        folder = self.folder / secrets.token_hex(8)
        folder.mkdir()
        try:
            unpack_exports(exports, folder)
            with self.lock:
                answer = self.running.ask(json.dumps({**request, "folder": folder.name}).encode(),
                                          VERIFIER_SECONDS)
                if answer is None:
                    reason = self.running.stderr_tail().strip().splitlines()[-1:] or ["no answer"]
                    self.running = self._start()
                    raise CourseError(f"the verifier failed: {reason[0][:300]}")
            verdicts = json.loads(answer)
            return verdicts, _grader_files(folder, verdicts.get("predictions"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self.running.__exit__()
        shutil.rmtree(self.folder, ignore_errors=True)


def sweep_scratch(folder: Path) -> None:
    """Remove the scratch folders that killed graders left in `folder` (a SIGKILL leaves its
    temporary folders, with a submission's notebook and exports), once older than any grading
    process keeps one (a verifier's lifetime): a folder still in use is never touched."""
    now = time.time()
    for prefix in (RUN_SCRATCH, VERIFIER_SCRATCH):
        for path in folder.glob(f"{prefix}*"):
            try:
                if not path.is_symlink() and path.is_dir() and now - path.stat().st_mtime > VERIFIER_LIFETIME:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def _start(module: str, assignment: str, work: Path, settings: dict[str, Any], sandbox: bool,
           *, specs: bool, limits: Limits | None = None) -> Running:
    """Start the runner or the verifier in its own sandbox, MNIST visible read-only (the
    grader's own cache may be private: each sandbox verifies MNIST into a cache in its /tmp);
    only the verifier sees the hidden checks (course_lib.specs). With a share of the cores,
    TensorFlow and its math libraries use that many threads."""
    mnist = settings["mnist_dir"]
    env = {"COURSE_MNIST_DIR": str(mnist), "COURSE_LIB_CACHE": "/tmp/course_lib-cache"}
    if settings.get("threads"):
        threads = str(settings["threads"])
        env.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads,
                   OMP_NUM_THREADS=threads)
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
    except ValueError:
        return None
    keys = {"notebook", "kernel_died", "timeout_cell", "dead_cell"}
    return ran if isinstance(ran, dict) and keys <= set(ran) and isinstance(ran["notebook"], dict) else None


def pack_exports(work: Path, grade_ids: list[str]) -> bytes:
    """The exports of the requested cells as one zip (`<grade_id>/<name>`): regular files
    only, never through a link (the folder is the student's), at most MAX_EXPORT_BYTES."""
    source, left = work, MAX_EXPORT_BYTES
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as archive:
        for part in exports_dir(work).relative_to(work).parts:
            source = source / part
            if source.is_symlink() or not source.is_dir():
                return packed.getvalue()
        for grade_id in grade_ids:
            cell = source / grade_id
            if cell.is_symlink() or not cell.is_dir():
                continue
            for path in sorted(cell.iterdir()):
                size = path.lstat().st_size
                if path.is_symlink() or not path.is_file() or size > left or not _plain_name(path.name):
                    continue
                left -= size
                archive.write(path, f"{grade_id}/{path.name}")
    return packed.getvalue()


def _plain_name(name: str) -> bool:
    """A file or folder name the exports' zip can hold: printable (a name that is not UTF-8 is
    not: its bytes are surrogates), no separator."""
    return name not in ("", ".", "..") and name.isprintable() and "/" not in name and "\\" not in name


def unpack_exports(exports: bytes, target: Path) -> None:
    """Unpack `pack_exports`' zip into `target`: only `<grade_id>/<name>` entries."""
    with zipfile.ZipFile(io.BytesIO(exports)) as archive:
        for entry in archive.infolist():
            parts = entry.filename.split("/")
            if len(parts) != 2 or not all(_plain_name(p) for p in parts):
                raise CourseError(f"unexpected entry in the exports: {entry.filename[:100]}")
            (target / parts[0]).mkdir(exist_ok=True)
            (target / parts[0] / parts[1]).write_bytes(archive.read(entry))


def _grader_files(verify_dir: Path, predictions: list[int] | None) -> dict[str, bytes]:
    """For the feedback pages (course_lib.instructor.feedback), as plain data: the training
    history (numbers only), the classes the verifier's run of the trained model predicted for
    the test set; and the trained model itself, for the instructor."""
    files = {}
    try:
        entry = json.loads((verify_dir / "test_train" / "index.json").read_text()).get("history", {})
        curves = {str(k): [float(v) for v in values][:1000] for k, values in entry["value"].items()}
        files[HISTORY] = json.dumps(curves).encode()
    except (OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
        pass  # no usable history: the page says so
    if predictions is not None:
        files[PREDICTIONS] = json.dumps(predictions).encode()
    model = verify_dir / "test_accuracy" / "model.keras"
    if model.is_file() and not model.is_symlink():
        files[MODEL] = model.read_bytes()
    return files
