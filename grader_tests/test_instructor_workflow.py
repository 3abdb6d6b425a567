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


@pytest.mark.parametrize("settings, score, hours, penalty", [
    ("", 20.0, 0.5, 20.0),  # the default: zero
    ('penalty = "none"', 20.0, 30, 0.0),
    ('penalty = "per-hour"\npoints_per_hour = 2', 20.0, 2.5, 6.0),  # 3 started hours
    ('penalty = "per-hour"\npoints_per_hour = 2', 5.0, 30, 5.0),  # never below 0
])
def test_the_late_rule_of_course_toml(fresh_clone, settings, score, hours, penalty):
    from course_lib.late import late_rule

    (fresh_clone / "course.toml").write_text(f"[late]\n{settings}\n")
    assert late_rule(fresh_clone).penalty(score, hours * 3600) == penalty
    assert late_rule(fresh_clone).penalty(score, 0) == 0


@pytest.mark.parametrize("settings", ['[late]\npenalty = "half"', '[late]\npenalty = "per-hour"',
                                      '[late]\npenality = "zero"', 'late = "zero"',
                                      '[late]\npenalty = "per-hour"\npoints_per_hour = nan'])
def test_a_wrong_late_rule_is_one_line_before_anything_is_collected(fresh_clone, settings, capsys):
    (fresh_clone / "course.toml").write_text(f"{settings}\n")
    incoming = fresh_clone / "incoming"
    incoming.mkdir()
    shutil.copy(fresh_clone / "release" / "tp1_dense" / NOTEBOOK, incoming / f"alice_{NOTEBOOK}")
    assert main(["--course-dir", str(fresh_clone), "collect", "tp1_dense", str(incoming)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("course: error: course.toml") and "late" in err and err.count("\n") == 1
    assert not (fresh_clone / "submitted").exists()


def test_the_late_penalty_follows_the_written_answers_graded_by_hand():
    """"zero" stays 0 once the instructor gives the written answer its points; "per-hour" is
    taken from the new total (course_lib.gradebook applies formgrader's manual scores)."""
    from course_lib.gradebook import _apply_manual
    from course_lib.late import Late

    from course_lib.results import CellKind, CellResult, CellStatus, Status, SubmissionResult

    cells = [CellResult("nb", "test", "Test", CellKind.AUTO, 3.0, 4.0, CellStatus.PARTIAL, ""),
             CellResult("nb", "answer", "Réponse", CellKind.MANUAL, None, 4.0, CellStatus.MANUAL_PENDING, "")]
    for method, per_hour, expected in (("zero", 0.0, (0.0, 7.0)), ("per-hour", 2.0, (3.0, 4.0)),
                                       ("none", 0.0, (7.0, 0.0))):
        late = Late(due="2026-01-05T18:00:00", submitted="2026-01-05T19:30:00", penalty=0.0, method=method,
                    points_per_hour=per_hour).for_score(3.0)
        result = SubmissionResult("alice", "tp", Status.GRADED, "", "0" * 64, cells, max_score=8.0,
                                  score=3.0 - late.penalty, late=late, late_penalty=late.penalty)
        graded = _apply_manual(result, {("nb", "answer"): 4.0}, {})
        assert (graded.score, graded.late_penalty) == expected, method
        assert graded.late.penalty == expected[1]
    assert "pas de pénalité" in Late(due="2026-01-05T18:00:00", submitted="2026-01-05T19:30:00", penalty=0.0,
                                     method="none").french()
