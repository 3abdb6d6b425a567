"""A third practical, built by docs/adding-a-practical.md's steps only, and graded end to end.

The practical is `mini` (its master notebook is the adversarial corpus's, its spec
course_lib/specs/mini.py): a course folder gets the master in source/, the thresholds in
course.toml, then the instructor's commands, as the guide gives them, do the rest."""

from __future__ import annotations

import csv
import shutil

import pytest

from conftest import PROJECT
from e2e import ADVERSARIAL, MINI, MINI_SETTINGS

from course_lib.cli import main
from course_lib.results import CellStatus, GraderFiles, State, read_result

pytestmark = pytest.mark.slow


def test_a_practical_made_of_a_notebook_and_a_spec_is_graded(tmp_path, mnist_dir):
    guide = (PROJECT / "docs" / "adding-a-practical.md").read_text()
    for step in ("source/<assignment>/<Notebook>.ipynb", "course_lib/specs/<assignment>.py",
                 "[assignments.<assignment>.accuracy]", "course release <assignment>", "course grade <assignment>"):
        assert step in guide
    course = tmp_path / "course"
    course.mkdir()
    config = (PROJECT / "nbgrader_config.py").read_text() + "\nc.Execute.timeout = 30\n"
    (course / "nbgrader_config.py").write_text(config)
    # 1. the master notebook; 2. its spec is course_lib/specs/mini.py; 3. the settings.
    master = ADVERSARIAL / "course" / "source" / MINI / f"{MINI}.ipynb"
    (course / "source" / MINI).mkdir(parents=True)
    shutil.copy(master, course / "source" / MINI)
    (course / "course.toml").write_text(f'[data]\nmnist_dir = "{mnist_dir.resolve()}"\n{MINI_SETTINGS}')
    where = ["--course-dir", str(course)]
    # 4. release; 5. grade: a student hands in the master's answers.
    assert main(["release", MINI, *where]) == 0
    assert (course / "release" / MINI / f"{MINI}.ipynb").is_file()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(master, incoming / f"alice_{MINI}.ipynb")
    assert main(["collect", MINI, str(incoming), *where]) == 0
    assert main(["grade", MINI, *where]) == 0
    result = read_result(course, MINI, "alice")
    assert result.state == State.MANUAL_PENDING, (result.status, result.message, result.tampering_lines())
    auto = {c.grade_id: (c.points, c.max_points) for c in result.cells if c.status != CellStatus.MANUAL_PENDING}
    assert auto and all(points == top for points, top in auto.values()), auto
    assert [c.grade_id for c in result.cells_with(CellStatus.MANUAL_PENDING)] == ["answer_why"]
    assert result.accuracy_cell == "test_accuracy" and result.accuracy > 0.85
    assert result.files == GraderFiles("history.json", "model.keras", "predictions.json")  # the spec's KEEP
    assert main(["feedback", MINI, *where]) == 0
    page = (course / "feedback" / "alice" / MINI / f"{MINI}.html").read_text()
    assert "Pas de courbes" not in page and "Pas de matrice de confusion" not in page
    assert main(["export", *where]) == 0
    [row] = csv.DictReader((course / "exports" / "grades.csv").open())
    assert (row["student_id"], float(row[MINI]), row[f"{MINI}_status"]) == ("alice", result.score, "manual-pending")
