"""The work of one submission, wherever it runs: the sandboxed run, then the verifier.

`run_job` is what a grading worker does (in this process, or on a Dask worker of another
machine): it takes a job of plain data (the prepared notebook, the copy of it the kernel's folder holds,
the verifier's request, the limits; built by course_lib.pipeline.jobs) and returns plain data:
the execution (the runner's report, how the run ended, the exported files as one zip) and the
verifier's verdicts with the grader's files as bytes. A run is two sandboxes, each its own
user: the notebook's kernel (course_lib.kernel.main), whose folder holds the notebook
and what it writes, and the runner (course_lib.kernel.runner), which sends it the cells
through the kernel's sockets and reports what they did; the kernel cannot reach the runner. It reads no course folder and writes
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
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError
from course_lib.seeds import SEED_ENV
from course_lib.sandbox import scratch
from course_lib.kernel.export import INDEX, export_names, exports_dir
from course_lib.sandbox.bubblewrap import Limits, Mounts, Running, start
from course_lib.verifier.main import PROGRESS
from course_lib.typed_json import from_json, to_json
from course_lib.verdicts import Verdict, Verdicts

HISTORY, MODEL, PREDICTIONS = "history.json", "model.keras", "predictions.json"
KERNEL, RUNNER, VERIFIER = "course_lib.kernel.main", "course_lib.kernel.runner", "course_lib.verifier.main"
VERIFIER_SECONDS = 600  # the verifier's time for one submission
MAX_OUTPUT_BYTES = 4 << 20
VERIFIER_KILLED = ("les données exportées pour cette vérification ont fait échouer le correcteur "
                   "(mémoire ou temps dépassés) : elle est refusée")
MAX_EXPORT_BYTES = 256 << 20  # a submission's exports in all (TP2's solution: about 40 MB)
# This interpreter, by a path that exists in the sandbox too (no "..": its folders are not there).
PYTHON = os.path.abspath(sys.executable)
# The kernel's sockets, in the one folder its sandbox shares with the runner's.
SOCKETS = "/run/kernel"
# The runner's own bounds: nbclient, the notebook and at most MAX_OUTPUT_BYTES of outputs.
RUNNER_MEMORY_MB, RUNNER_PIDS, RUNNER_DISK_MB = 1024, 64, 64


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
    return {"execution": execution, "verdicts": to_json(verdicts), "files": files}


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
    """The sandboxed run of the prepared notebook: the kernel's sandbox and the runner's, in
    a scratch folder removed afterwards (the notebook's folder: a bounded tmpfs, as root)."""
    limits, sandbox = settings["limits"], job["sandbox"]
    with scratch.scratch_folder(scratch.RUN) as folder:
        sockets, runner_home = folder / "kernel", folder / "runner"
        sockets.mkdir(mode=0o755)
        runner_home.mkdir(mode=0o700)
        with scratch.bounded_folder(folder / "work", size_mb=limits.disk_mb) as work:
            (work / job["notebook_name"]).write_bytes(job["notebook_file"])
            inside = SOCKETS if sandbox else str(sockets)
            connection = _connection(inside)
            (sockets / "connection.json").write_text(json.dumps(connection))
            kernel = _start(KERNEL, job["assignment"], work, settings, sandbox, specs=False, seed=job["seed"],
                            arguments=[f"{inside}/connection.json"], rw={str(sockets): SOCKETS})
            alive, ended = os.pipe()  # `ended` is closed when the kernel's sandbox ends
            watcher = threading.Thread(target=_close_when_done, args=(kernel, ended), daemon=True)
            watcher.start()
            try:
                runner_limits = replace(limits, memory_mb=RUNNER_MEMORY_MB, max_pids=RUNNER_PIDS,
                                        disk_mb=RUNNER_DISK_MB)
                runner = start([PYTHON, "-I", "-m", RUNNER], mounts=Mounts(work=runner_home, ro={str(sockets): SOCKETS}),
                               limits=runner_limits, env={}, sandbox=sandbox, pass_fds=[alive])
                outcome = runner.finish(json.dumps({
                    "notebook": job["prepared"], "cell_timeout": settings["cell_timeout"],
                    "max_output_bytes": MAX_OUTPUT_BYTES, "connection": connection, "alive_fd": alive,
                }).encode())
            finally:
                os.close(alive)
                oom = kernel.stop()
                watcher.join()
            exports = pack_exports(work, job["request"]["exports"])
        return {
            # A report counts only from a runner that ended by itself, and well.
            "cells_run": _parse(outcome.stdout) if outcome.returncode == 0 else None,
            "runner_exit": outcome.returncode, "seconds": outcome.seconds,
            "timed_out": outcome.timed_out, "oom_killed": oom or outcome.oom_killed, "exports": exports,
        }


def _connection(folder: str) -> dict[str, Any]:
    """The kernel's connection: ZeroMQ over IPC files in `folder`, a fresh key."""
    ports = {f"{name}_port": number for number, name in enumerate(("shell", "iopub", "stdin", "control", "hb"), 1)}
    return {"transport": "ipc", "ip": f"{folder}/kernel", **ports, "key": secrets.token_hex(32),
            "signature_scheme": "hmac-sha256", "kernel_name": "python3"}


def _close_when_done(kernel: Running, fd: int) -> None:
    kernel.process.wait()
    os.close(fd)


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
    """The verifier of one assignment in its own sandbox (course_lib.verifier.main): one
    process answers one request per submission. Each submission's exports are unpacked into a
    folder of its own, removed once verified; a verifier that dies or hangs is replaced, and
    that submission's grading fails."""

    def __init__(self, assignment: str, settings: dict[str, Any], sandbox: bool) -> None:
        self.assignment, self.settings, self.sandbox = assignment, settings, sandbox
        scratch.sweep()  # once per batch and worker, not per run
        self.folder = Path(tempfile.mkdtemp(prefix=scratch.VERIFIER))
        self.lock = threading.Lock()  # one request at a time
        self.running = self._start()

    def _start(self) -> Running:
        # Made again if a sweep took it: a worker may keep this verifier past its lifetime.
        self.folder.mkdir(mode=0o700, exist_ok=True)
        limits = replace(self.settings["limits"], wall_seconds=scratch.LIFETIME)
        return _start(VERIFIER, self.assignment, self.folder, self.settings, self.sandbox,
                      specs=True, limits=limits)

    def verify(self, exports: bytes, request: dict[str, Any]) -> tuple[Verdicts, dict[str, bytes]]:
        """The verdicts on one submission's exports, and the grader's files (name → bytes)."""
        folder = self.folder / secrets.token_hex(8)
        folder.mkdir()
        try:
            unpack_exports(exports, folder)
            with self.lock:
                verdicts = self._ask(request, folder.name)
            return verdicts, _grader_files(folder, request, verdicts)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _ask(self, request: dict[str, Any], folder: str) -> Verdicts:
        """The verifier's verdicts on `request`. When it dies or hangs, the check it was in
        (its progress line on stderr) is asked again of a fresh verifier; if that one dies on
        it too, the submission's data for that check is what kills a verifier: the check is
        refused (`refused`), and the others are asked. A death outside any check is the
        grader's failure."""
        exports, refused, suspects = dict(request["exports"]), {}, set()
        while True:
            line = json.dumps({**request, "exports": exports, "folder": folder}).encode()
            answer = self.running.ask(line, VERIFIER_SECONDS)
            if answer is not None:
                verdicts = from_json(Verdicts, json.loads(answer), "the verifier's answer")
                return replace(verdicts, cells={**verdicts.cells, **refused}, refused=sorted(refused))
            tail = self.running.stderr_tail().strip().splitlines()
            checks = [entry[len(PROGRESS):] for entry in tail if entry.startswith(PROGRESS)]
            self.running = self._start()
            culprit = checks[-1] if checks else None
            if culprit not in exports:
                raise CourseError(f"the verifier failed: {(tail[-1:] or ['no answer'])[0][:300]}")
            if culprit in suspects:
                refused[culprit] = Verdict(0.0, False, VERIFIER_KILLED)
                del exports[culprit]
            suspects.add(culprit)

    def close(self) -> None:
        self.running.stop()
        scratch.remove(self.folder)


def _start(module: str, assignment: str, work: Path, settings: dict[str, Any], sandbox: bool,
           *, specs: bool, limits: Limits | None = None, arguments: tuple | list = (),
           rw: dict[str, str] | None = None, seed: int | None = None) -> Running:
    """Start the notebook's kernel or the verifier in its own sandbox, MNIST visible read-only
    (the grader's own cache may be private: each sandbox verifies MNIST into a cache in its
    /tmp); only the verifier sees the hidden checks (course_lib.specs). With a share of the
    cores, TensorFlow and its math libraries use that many threads. The kernel's output goes
    nowhere: what its cells print reaches the runner as messages, bounded there; it trains with
    the student's `seed` (course_lib.seeds)."""
    mnist = settings["mnist_dir"]
    env = {"COURSE_MNIST_DIR": str(mnist), "COURSE_LIB_CACHE": "/tmp/course_lib-cache"}
    if settings.get("threads"):
        threads = str(settings["threads"])
        env.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads,
                   OMP_NUM_THREADS=threads)
    if module == KERNEL:
        env["NBGRADER_EXECUTION"] = "autograde"
        if seed is not None:
            env[SEED_ENV] = str(seed)
        command = [PYTHON, "-m", module, *arguments]  # the notebook imports from its folder, as in Jupyter
    else:
        # -I: the working folder (the exports) is not on the import path.
        command = [PYTHON, "-I", "-m", module, assignment]
    mounts = Mounts(work=work, ro={str(mnist): str(mnist)}, rw=rw or {}, show_specs=specs)
    return start(command, mounts=mounts, limits=limits or settings["limits"], env=env, sandbox=sandbox,
                 interactive=module == VERIFIER, quiet=module == KERNEL)


def _parse(stdout: bytes) -> dict[str, Any] | None:
    """The runner's report, or None when its output is not one."""
    try:
        ran = json.loads(stdout)
    except ValueError:
        return None
    keys = {"notebook", "kernel_died", "timeout_cell", "dead_cell"}
    return ran if isinstance(ran, dict) and keys <= set(ran) and isinstance(ran["notebook"], dict) else None


def pack_exports(work: Path, requests: dict[str, list[dict[str, Any]]]) -> bytes:
    """The exports the verifier asked for as one zip (`<grade_id>/<name>`): for each test
    cell, its index and the files of its items only; regular files only, never through a link
    (the folder is the student's); at most MAX_EXPORT_BYTES in all, counted by their length
    (what the zip and the cache keep, whatever the sandbox's disk held: a sparse file is as
    long as it says)."""
    left, packed = MAX_EXPORT_BYTES, io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as archive:
        for grade_id, items in requests.items() if _real_folder(work, exports_dir(work)) else ():
            cell = exports_dir(work) / grade_id
            if cell.is_symlink() or not cell.is_dir():
                continue
            for name in sorted(export_names(items) | {INDEX}):
                path = cell / name
                if path.is_symlink() or not path.is_file() or path.lstat().st_size > left:
                    continue
                left -= path.lstat().st_size
                archive.write(path, f"{grade_id}/{name}")
    return packed.getvalue()  # the archive is closed: whole, even when empty


def _real_folder(top: Path, folder: Path) -> bool:
    """`folder` (below `top`) is a folder, reached through no symbolic link."""
    path = top
    for part in folder.relative_to(top).parts:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return False
    return True


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


def _grader_files(verify_dir: Path, request: dict[str, Any], verdicts: Verdicts) -> dict[str, bytes]:
    """For the feedback pages (course_lib.instructor.feedback), as plain data: the training
    history (numbers only), the classes the verifier's run of the trained model predicted for
    the test set; and the trained model itself, for the instructor, only when the verifier
    loaded it and measured its accuracy (a refused archive is never kept). Which exports are
    the history and the model, the spec says (its KEEP, in the request)."""
    files, keep = {}, request["keep"]
    try:
        grade_id, key = keep["history"]
        entry = json.loads((verify_dir / grade_id / INDEX).read_text()).get(key, {})
        curves = {str(k): [float(v) for v in values][:1000] for k, values in entry["value"].items()}
        files[HISTORY] = json.dumps(curves).encode()
    except (OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
        pass  # no usable history (or none kept): the page says so
    if verdicts.predictions is not None:
        files[PREDICTIONS] = json.dumps(verdicts.predictions).encode()
    if keep["model"] is not None and verdicts.accuracy is not None:
        grade_id, key = keep["model"]
        model = verify_dir / grade_id / f"{key}.keras"
        if model.is_file() and not model.is_symlink():
            files[MODEL] = model.read_bytes()
    return files
