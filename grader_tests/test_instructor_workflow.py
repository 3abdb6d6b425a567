"""The instructor's workflow without traps: what a new instructor does in a fresh clone gets
one line of explanation, never a traceback (fast: nothing is graded here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import PROJECT

from course_lib import __version__
from course_lib.cli import main

NOTEBOOK = "TP1_MNIST_dense.ipynb"


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """A course as a clone has it: the committed source/ and release/, no gradebook."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("nbgrader_config.py", "course.toml"):
        shutil.copy(PROJECT / name, root)
    for folder in ("source", "release"):
        shutil.copytree(PROJECT / folder / "tp1_dense", root / folder / "tp1_dense")
    return root


def test_grading_what_was_never_released_says_what_to_run_before_running_anything(fresh_clone, capsys):
    incoming = fresh_clone / "incoming"
    incoming.mkdir()
    shutil.copy(fresh_clone / "release" / "tp1_dense" / NOTEBOOK, incoming / f"alice_{NOTEBOOK}")
    assert main(["--course-dir", str(fresh_clone), "collect", "tp1_dense", str(incoming)]) == 0
    capsys.readouterr()
    code = main(["--course-dir", str(fresh_clone), "grade", "tp1_dense", "--unsafe-no-sandbox"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("course: error: tp1_dense is not in the gradebook: run `course release tp1_dense` first\n")
    assert not (fresh_clone / "autograded" / "alice").exists()


def test_version_and_an_internal_error_are_one_line(fresh_clone, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"course {__version__}\n"

    def broken(**_):
        raise RuntimeError("something inside\nwent wrong")

    monkeypatch.setattr("course_lib.instructor.status.status", broken)
    monkeypatch.delenv("COURSE_DEBUG", raising=False)
    assert main(["--course-dir", str(fresh_clone), "status"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("course: internal error: RuntimeError: went wrong")
