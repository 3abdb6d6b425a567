"""Where grading jobs run: here, one after the other (`--workers 1`), or on Dask.

`--workers N` starts a Dask LocalCluster of N worker processes on this machine, one job each
at a time; `--scheduler ADDRESS` uses a Dask cluster that exists already, however its workers
were started (`dask worker`, SSH, dask-jobqueue, Kubernetes). Either way a job and its answer
are plain data (JSON-ready values and bytes: course_lib.pipeline.worker), sent over Dask's
own connections rather than a shared folder, because a cluster's workers need not see the
coordinator's disk; nothing of the student's is ever unpickled here. A worker keeps one
verifier per assignment (a worker plugin) and gives each running job its share of the
machine's cores as TensorFlow's threads. A worker that dies mid-job has the job run again
elsewhere; a job that kills more workers than the scheduler allows fails alone (Dask's
`distributed.scheduler.allowed-failures`: ALLOWED_FAILURES on a LocalCluster, the scheduler's
own setting on another cluster), and the batch goes on.
"""

from __future__ import annotations

import logging
import os
import traceback
import uuid
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker
from distributed.comm import get_address_host

from course_lib.errors import CourseError
from course_lib.pipeline.worker import Verifiers, run_job
from course_lib.pipeline.jobs import Pending
from course_lib.safe_text import printable

PLUGIN = "course-verifiers"
ALLOWED_FAILURES = 2  # a job is tried on at most 3 workers
CONNECT_SECONDS = 10
WORKER_MEMORY = "4GiB"  # the worker process itself; student code is bounded by its sandbox


class LocalBackend:
    """Jobs one after the other in this process: what `course grade` did before Dask. Each job's
    TensorFlow gets all the cores this process may use, set as a Dask worker's share is."""

    def __init__(self) -> None:
        self.verifiers = Verifiers()

    def results(self, pendings: Iterable[Pending]) -> Iterator[tuple[Pending, dict | BaseException]]:
        for pending in pendings:
            try:
                yield pending, run_job({**pending.job, "threads": len(os.sched_getaffinity(0))}, self.verifiers)
            except Exception as error:  # the batch goes on; the result says why
                yield pending, error

    def close(self) -> None:
        self.verifiers.close()


class DaskBackend:
    """Jobs on a Dask cluster: a LocalCluster of `workers` processes, or the one at `scheduler`.
    One job per worker thread is in flight: the next one goes to the first worker that frees,
    never into the queue of a busy one (where a TP2 job once waited 3 minutes behind a long one
    while the other worker sat idle), and a batch of 200 submissions never holds 200 jobs'
    files in memory at once."""

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None) -> None:
        import dask

        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=CONNECT_SECONDS)
            except OSError as error:
                raise CourseError(f"cannot reach the Dask scheduler {scheduler}: {error}") from None
        else:
            # Read by the LocalCluster's scheduler when it starts: no setting outlives it.
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                self.cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, memory_limit=WORKER_MEMORY,
                    dashboard_address=None, silence_logs=logging.ERROR,
                )
            self.client = Client(self.cluster)
        self.client.register_plugin(VerifierPlugin(), name=PLUGIN)

    def results(self, pendings: Iterable[Pending]) -> Iterator[tuple[Pending, dict | BaseException]]:
        slots = _slots_by_host(self.client.scheduler_info()["workers"])
        window = max(sum(slots.values()), 1)
        queue, running = iter(pendings), {}
        done = as_completed()

        def submit() -> bool:
            pending = next(queue, None)
            if pending is None:
                return False
            # The job goes in the task itself, not scattered: the scheduler keeps it, so that
            # the task can run again elsewhere when its worker dies (scattered data dies with it).
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*large graph", category=UserWarning)
                future = self.client.submit(
                    grade_on_worker, {**pending.job, "slots_by_host": slots}, pure=False,
                    key=f"grade-{pending.job['assignment']}-{pending.student}-{uuid.uuid4().hex}")
            running[future.key] = pending
            done.add(future)
            return True

        while len(running) < window and submit():
            pass
        for future in done:
            pending = running.pop(future.key)
            try:
                answer: dict | BaseException = future.result()
            except Exception as error:  # a failed job, or one that killed its workers
                answer = error
            future.release()
            yield pending, answer
            submit()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def backend(*, workers: int = 1, scheduler: str | None = None) -> LocalBackend | DaskBackend:
    """Where this batch's jobs run (see the module's docstring)."""
    if workers < 1:
        raise CourseError(f"--workers must be 1 or more (got {workers})")
    if scheduler:
        return DaskBackend(scheduler=scheduler)
    return LocalBackend() if workers == 1 else DaskBackend(workers=workers)


def failure_message(error: BaseException) -> str:
    """The instructor's one line for a job that ended in an exception."""
    if isinstance(error, KilledWorker):
        return ("grading failed: its job killed the Dask workers that ran it, more times than the "
                "scheduler's distributed.scheduler.allowed-failures")
    return f"grading failed: {printable(traceback.format_exception_only(error)[-1].strip())[:500]}"


def grade_on_worker(job: dict[str, Any]) -> dict[str, Any]:
    """The Dask task: `job` on this worker, its TensorFlow threads this job's share of the
    machine's cores (all the worker threads of this host run a job at once)."""
    worker = get_worker()
    slots = job["slots_by_host"].get(get_address_host(worker.address), worker.state.nthreads)
    threads = max(1, len(os.sched_getaffinity(0)) // max(slots, 1))
    return run_job({**job, "threads": threads}, worker.plugins[PLUGIN].verifiers)


def _slots_by_host(workers: dict[str, dict[str, Any]]) -> dict[str, int]:
    """How many jobs each host runs at once: the threads of its workers."""
    slots: Counter[str] = Counter()
    for info in workers.values():
        slots[info["host"]] += info["nthreads"]
    return dict(slots)


class VerifierPlugin(WorkerPlugin):
    """On each Dask worker: its verifiers, started on first use, closed with the worker."""

    def setup(self, worker: Any) -> None:
        self.verifiers = Verifiers()

    def teardown(self, worker: Any) -> None:
        self.verifiers.close()
