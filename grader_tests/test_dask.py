"""Grading on Dask loses nothing: a real `dask scheduler` and two `dask worker` processes on
127.0.0.1 lose a worker in the middle of a job; a coordinator is killed in the middle of a
batch and the same command run again. Both end with the grades of a sequential run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from dask_cli import dask_cli_cluster, kill_group
from e2e import ADVERSARIAL, MINI, mini_course, points, sandboxes_left

from course_lib.gradebook import open_gradebook
from course_lib.pipeline.collect import place_submission
from course_lib.pipeline.grade import grade
from course_lib.results import read_result, result_path

pytestmark = pytest.mark.slow

BATCH = {"ada": "twin_solution", "ben": "twin_partial", "cleo": "twin_release"}


def grades(course: Path) -> dict[str, tuple]:
    """student → (status, score, the autograded cells' points), as stored."""
    found = {}
    for student in BATCH:
        result = read_result(course, MINI, student)
        found[student] = result and (result.status, result.score, points(result))
    return found


@pytest.fixture(scope="module")
def ungraded(tmp_path_factory, mnist_dir) -> Path:
    """The batch collected, not graded: each test grades a copy of it."""
    course = mini_course(tmp_path_factory.mktemp("dask") / "course", mnist_dir)
    for student, case in BATCH.items():
        place_submission(course_dir=course, assignment=MINI, student=student,
                         notebook=ADVERSARIAL / "cases" / f"{case}.ipynb")
    return course


@pytest.fixture(scope="module")
def sequential(ungraded, tmp_path_factory) -> dict[str, tuple]:
    course = shutil.copytree(ungraded, tmp_path_factory.mktemp("sequential") / "course", symlinks=True)
    grade(assignment=MINI, course_dir=course)
    found = grades(course)
    assert [found[s][0] for s in BATCH] == ["graded"] * len(BATCH)
    return found


def running_a_job(worker: subprocess.Popen) -> bool:
    """Whether this `dask worker` (its nanny, worker and their children) runs a notebook."""
    try:
        tree = psutil.Process(worker.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    return any("course_lib.kernel.runner" in " ".join(p.cmdline()) for p in tree if p.is_running())


def test_a_worker_killed_mid_job_loses_nothing(ungraded, sequential, tmp_path):
    course = shutil.copytree(ungraded, tmp_path / "course", symlinks=True)
    with dask_cli_cluster(tmp_path, workers=2) as (address, workers):
        summaries: list = []
        batch = threading.Thread(target=lambda: summaries.extend(
            grade(assignment=MINI, course_dir=course, scheduler=address)))
        batch.start()
        deadline = time.monotonic() + 120
        while not running_a_job(workers[0]):
            assert time.monotonic() < deadline and batch.is_alive(), f"worker 0 never ran a job: {summaries}"
            time.sleep(0.2)
        time.sleep(2)  # well inside the job: the kernel is running the notebook
        kill_group(workers[0])
        batch.join(timeout=600)
        assert not batch.is_alive()
    assert sorted(s.student for s in summaries) == sorted(BATCH)
    assert grades(course) == sequential
    assert sandboxes_left() == []  # the killed worker's sandbox died with it


def test_a_coordinator_killed_mid_batch_resumes(ungraded, sequential, tmp_path):
    course = shutil.copytree(ungraded, tmp_path / "course", symlinks=True)
    command = [sys.executable, "-m", "course_lib.cli", "grade", MINI, "--workers", "2", "--course-dir", str(course)]
    coordinator = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = [result_path(course, MINI, student) for student in BATCH]
    deadline = time.monotonic() + 300
    while not any(path.is_file() for path in results):
        assert time.monotonic() < deadline and coordinator.poll() is None, "no result was written"
        time.sleep(0.1)
    coordinator.kill()  # SIGKILL: no clean-up of any kind
    coordinator.wait()
    finished = {path.parent.parent.name: path.stat().st_mtime_ns for path in results if path.is_file()}
    assert 0 < len(finished) < len(BATCH)
    assert sandboxes_left() == []  # its workers and their sandboxes die without it

    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    skipped = {line.split()[0] for line in again.stdout.splitlines() if "skipped: already graded" in line}
    assert skipped == set(finished)
    assert {s: result_path(course, MINI, s).stat().st_mtime_ns for s in finished} == finished
    assert grades(course) == sequential
    with open_gradebook(course) as gradebook:
        submissions = gradebook.assignment_submissions(MINI)
        assert sorted(s.student.id for s in submissions) == sorted(BATCH)  # one each, none twice
        assert {s.student.id: s.score for s in submissions} == {s: g[1] for s, g in sequential.items()}
