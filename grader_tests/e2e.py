"""Grading fixture submissions with real nbgrader, once per module, for the end-to-end tests."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import PROJECT

from course_lib.pipeline.collect import place_submission
from course_lib.release import copy_course
from course_lib.pipeline.grade import grade
from course_lib.results import read_result

FIXTURES = PROJECT / "grader_tests" / "fixtures"
# Another CPU, or another number of threads, trains the same seed to another accuracy: a
# solution graded in the tests must land in the range the calibration measured over its seeds
# (bench/results/calibration-<assignment>.json), give or take this.
CALIBRATION_TOLERANCE = 0.005
# How far from T_full and T_part every fixture's accuracy stays (0.3 point).
THRESHOLD_MARGIN = 0.003
UNTOUCHED = "untouched_release"


@dataclass(frozen=True)
class Batch:
    """The fixtures of one practical, graded: the course folder and fixture name → result."""

    course: Path
    results: dict[str, dict[str, Any]]


def grade_fixtures(folder: Path, mnist: Path, assignment: str) -> Batch:
    """Grade every fixture of `assignment` and its untouched release with `course grade`'s
    function, in a fresh course, as one batch on two local Dask workers."""
    course = copy_course(origin=PROJECT, folder=folder, assignments=[assignment], mnist_dir=mnist)
    submissions = {p.stem: p for p in sorted((FIXTURES / assignment).glob("*.ipynb"))}
    [submissions[UNTOUCHED]] = (course / "release" / assignment).glob("*.ipynb")
    for student, notebook in submissions.items():
        place_submission(course_dir=course, assignment=assignment, student=student, notebook=notebook)
    grade(assignment=assignment, course_dir=course, workers=2)  # one batch on two local workers
    return Batch(course, {student: read_result(course, assignment, student) for student in submissions})


def in_calibrated_range(assignment: str, accuracy: float) -> tuple[bool, tuple[float, float]]:
    """Whether `accuracy` lands in the calibration's [min, max], widened by the tolerance."""
    import json

    calibration = json.loads((PROJECT / "bench" / "results" / f"calibration-{assignment}.json").read_text())
    low, high = calibration["min"] - CALIBRATION_TOLERANCE, calibration["max"] + CALIBRATION_TOLERANCE
    return low <= accuracy <= high, (low, high)


def points(result: dict[str, Any]) -> dict[str, float]:
    """grade_id → points of the autograded cells (written answers are graded by hand)."""
    return {c.grade_id: c.points for c in result.cells if c.kind == "auto"}


def lost(result: dict[str, Any], full: dict[str, float]) -> dict[str, float]:
    """grade_id → points lost against `full`, only where some were lost."""
    got = points(result)
    return {cell: full[cell] - got[cell] for cell in full if got[cell] != full[cell]}


ADVERSARIAL = PROJECT / "grader_tests" / "adversarial"
MINI = "mini"
# The small practical's course: short limits, so that bombs and loops end in seconds. A sandbox
# of it ran at most 37 processes and threads on 2 cores (TensorFlow's pools grow with the cores);
# the fewer a fork bomb may start, the sooner its kernel dies (21 s at 64, 55 s at 256).
MAX_PIDS = 56 + 4 * (os.cpu_count() or 2)
MINI_SETTINGS = f"""
[assignments.mini.accuracy]
full = 0.85
partial = 0.5

[sandbox]
memory_mb = 3072
max_pids = {MAX_PIDS}
cpu_seconds = 300
wall_seconds = 150
file_size_mb = 64
"""


def mini_course(folder: Path, mnist: Path) -> Path:
    """A released course holding only `mini` (grader_tests/adversarial/course), cells cut at 30 s."""
    from course_lib.release import release

    folder.mkdir(parents=True)
    config = (PROJECT / "nbgrader_config.py").read_text() + "\nc.Execute.timeout = 30\n"
    (folder / "nbgrader_config.py").write_text(config)
    (folder / "course.toml").write_text(f'[data]\nmnist_dir = "{mnist.resolve()}"\n{MINI_SETTINGS}')
    shutil.copytree(ADVERSARIAL / "course" / "source", folder / "source")
    release(assignments=[MINI], course_dir=folder)
    return folder


def sandbox_processes() -> list[str]:
    """Processes of a sandbox that is over: a uid of the sandboxes' pool (course_lib.sandbox.uids)
    whose lease nobody holds. A sandbox still running, this suite's or another grading's on
    the same machine, holds its lease and is not counted. As another user than root the
    sandboxes are user namespaces, whose processes their PID namespace ends: nothing to see."""
    import fcntl

    from course_lib.sandbox import uids

    alive = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            uid = int(fields.get("Uid", "").split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if uid not in uids.pool_range():
            continue
        try:
            with (uids.FOLDER / str(uid)).open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: its sandbox is over
        except BlockingIOError:
            continue  # a running sandbox's
        except OSError:
            pass
        alive.append(f"{status.parent.name} {fields.get('Name', '').strip()} (uid {uid})")
    return alive


def sandboxes_left(within: float = 60.0) -> list[str]:
    """The sandbox processes still alive `within` seconds from now ([] as soon as none is):
    a killed grader's sandboxes die with it, a moment later."""
    deadline = time.monotonic() + within
    while (alive := sandbox_processes()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return alive
