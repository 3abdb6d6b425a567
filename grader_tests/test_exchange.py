"""nbgrader's exchange, round trip: `course release --exchange`, two students' own
`nbgrader fetch_assignment` and `nbgrader submit` (real nbgrader commands, each student in a
home of their own), then `course collect … exchange` brings exactly what each submitted, with
the exchange's submission time (grading it is grading any collected submission)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT
from e2e import ADVERSARIAL, MINI, mini_course

from course_lib.cli import main

pytestmark = pytest.mark.slow
NBGRADER = [sys.executable, "-m", "nbgrader"]
STUDENTS = {"alice": "twin_solution", "bruno": "twin_partial"}
# carl hands in another practical's notebook under mini's name: collected by nbgrader, rejected.
WRONG_NOTEBOOK = PROJECT / "release" / "tp1_dense" / "TP1_MNIST_dense.ipynb"


def _student_home(tmp_path: Path, student: str, exchange: Path) -> tuple[Path, dict[str, str]]:
    """A student's working folder and environment, with the nbgrader_config.py a JupyterHub
    administrator gives every student (docs/instructor-guide.md: nbgrader's exchange)."""
    home = tmp_path / "home" / student
    home.mkdir(parents=True)
    (home / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'mnist_tf2'\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
    )
    env = {**os.environ, "HOME": str(home), "JUPYTER_DATA_DIR": str(home / ".jupyter-data")}
    return home, env


def _nbgrader(home: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*NBGRADER, *args], cwd=home, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_release_fetch_submit_collect(tmp_path, mnist_dir, capsys):
    exchange = tmp_path / "exchange"  # made by `course release --exchange`
    course = mini_course(tmp_path / "course", mnist_dir)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    assert main(["release", MINI, "--exchange", "--course-dir", str(course)]) == 0
    assert (exchange / "mnist_tf2" / "outbound" / MINI / f"{MINI}.ipynb").is_file()

    for student, work in {**{s: ADVERSARIAL / "cases" / f"{a}.ipynb" for s, a in STUDENTS.items()},
                          "carl": WRONG_NOTEBOOK}.items():
        home, env = _student_home(tmp_path, student, exchange)
        _nbgrader(home, env, "fetch_assignment", MINI, "--course", "mnist_tf2")
        fetched = home / MINI / f"{MINI}.ipynb"
        released = json.loads(fetched.read_text())
        assert released == json.loads((course / "release" / MINI / f"{MINI}.ipynb").read_text())
        shutil.copy(work, fetched)  # the student's work
        _nbgrader(home, env, "submit", MINI, "--course", "mnist_tf2", "--student", student)
    inbound = sorted(p.name.split("+")[0] for p in (exchange / "mnist_tf2" / "inbound").iterdir())
    assert inbound == ["alice", "bruno", "carl"]

    capsys.readouterr()
    assert main(["--course-dir", str(course), "collect", MINI, "exchange"]) == 0
    report = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in report] == [
        ["alice", "collected", f"{MINI}.ipynb"], ["bruno", "collected", f"{MINI}.ipynb"], ["carl", "rejected", f"{MINI}.ipynb"]]
    assert f"was not made from {MINI}'s release: 19 of its 95 graded cells are {MINI}'s, of 25" in report[2]
    assert not (course / "submitted" / "carl").joinpath(MINI).exists() and (course / "rejected" / "carl" / MINI).is_dir()
    for student, answers in STUDENTS.items():
        submitted = course / "submitted" / student / MINI
        assert (submitted / f"{MINI}.ipynb").read_bytes() == (
            ADVERSARIAL / "cases" / f"{answers}.ipynb").read_bytes()
        [sent] = (exchange / "mnist_tf2" / "inbound").glob(f"{student}+{MINI}+*")
        assert (submitted / "timestamp.txt").read_text() == (sent / "timestamp.txt").read_text()
