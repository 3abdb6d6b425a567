"""A verifier killed while it checks a submission's data (course_lib.pipeline.worker.Verifier):
the check it died in is asked again of a fresh verifier, then refused if that one dies too;
the submission's other checks are verified, and the batch goes on.

The verifier is killed for real, from here, each time its progress line says it is checking
the accuracy: the death a hostile model would cause, at a moment the test chooses.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from adversarial.corpus import CASES_DIR
from e2e import MINI, mini_course

from course_lib.course import course_root, grading_settings
from course_lib.pipeline.collect import place_submission
from course_lib.pipeline.worker import PROGRESS, VERIFIER_KILLED, Verifiers, _execute, worker_settings
from course_lib.pipeline.jobs import make_job

pytestmark = pytest.mark.slow


def kill_when_checking(verifiers: Verifiers, grade_id: str, times: int, stop: threading.Event) -> list[int]:
    """Kill the verifier `times` times, each when it starts checking `grade_id`; the pids killed."""
    killed: list[int] = []

    def watch() -> None:
        while len(killed) < times and not stop.is_set():
            for verifier in list(verifiers.started.values()):
                running = verifier.running
                if running.process.pid not in killed and f"{PROGRESS}{grade_id}" in running.stderr_tail():
                    os.killpg(running.process.pid, signal.SIGKILL)
                    killed.append(running.process.pid)
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    return killed


def test_a_check_that_kills_the_verifier_twice_is_refused_and_the_others_verified(tmp_path, mnist_dir):
    course = mini_course(tmp_path / "course", mnist_dir)
    place_submission(course_dir=course, assignment=MINI, student="alice", notebook=CASES_DIR / "twin_solution.ipynb")
    root = course_root(course)
    pending = make_job(root=root, assignment=MINI, student="alice", settings=grading_settings(root, MINI),
                       sandbox=True, use_cache=False)
    job = pending.job
    settings = worker_settings(job)
    execution = _execute(job, settings)
    stop = threading.Event()
    with Verifiers() as verifiers:
        verifier = verifiers.get(MINI, settings, True)
        killed = kill_when_checking(verifiers, "test_accuracy", 2, stop)
        try:
            verdicts, files = verifier.verify(execution["exports"], job["request"])
        finally:
            stop.set()
        assert len(killed) == 2
        assert verdicts.refused == ["test_accuracy"]
        assert verdicts.cells["test_accuracy"].points == 0
        assert verdicts.cells["test_accuracy"].message == VERIFIER_KILLED
        assert {gid: v.points for gid, v in verdicts.cells.items() if gid != "test_accuracy"} == {
            "test_relu": 1, "test_counts": 1, "test_prepare": 2, "test_onehot": 1, "test_architecture": 2,
            "test_predict": 1}
        assert "model.keras" not in files  # never measured: not kept

        # Killed once only: the fresh verifier's answer stands, nothing is refused.
        stop = threading.Event()
        killed = kill_when_checking(verifiers, "test_accuracy", 1, stop)
        try:
            verdicts, _ = verifier.verify(execution["exports"], job["request"])
        finally:
            stop.set()
        assert len(killed) == 1 and verdicts.refused == []
        assert verdicts.cells["test_accuracy"].points == 2
