"""The `course` command on real notebooks in a temporary course: a batch that survives a dead
kernel and an invalid notebook, re-runs that skip graded work, and every output after it."""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import PROJECT

from course_lib.cli import main
from course_lib.results import SubmissionResult, read_result
from course_lib.release import copy_course
from course_lib.gradebook import open_gradebook
from test_release import _secret_lines

pytestmark = pytest.mark.slow
FIXTURES = PROJECT / "grader_tests" / "fixtures" / "cli"
NOTEBOOK = "TP1_MNIST_dense.ipynb"


def run(capsys, course: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--course-dir", str(course), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def course(tmp_path_factory, mnist_dir) -> Path:
    folder = tmp_path_factory.mktemp("cli-course")
    return copy_course(origin=PROJECT, folder=folder, assignments=["tp1_dense"], mnist_dir=mnist_dir)


STUDENTS = 6  # the batch of `graded`
ON_TIME = 1767600000  # 2026-01-05 08:00 UTC, before the deadline set below


@pytest.fixture(scope="module")
def graded(course) -> Path:
    """Collected from flat files, one batch on two local workers; the invalid notebook is put
    straight into submitted/, as a student's file can arrive through nbgrader's exchange
    without our checks. Every file but late's was handed in before the deadline."""
    with (course / "course.toml").open("a") as config:
        config.write("\n[assignments.tp1_dense]\ndue = 2026-01-05T18:00:00Z\n")
    incoming = course / "incoming"
    incoming.mkdir()
    for student in ("paula", "early", "late"):
        shutil.copy(FIXTURES / "partial.ipynb", incoming / f"{student}_{NOTEBOOK}")
    shutil.copy(FIXTURES / "kernel_dies.ipynb", incoming / f"kevin_{NOTEBOOK}")
    shutil.copy(course / "release" / "tp1_dense" / NOTEBOOK, incoming / f"rita_{NOTEBOOK}")
    for path in incoming.iterdir():
        if not path.name.startswith("late_"):
            os.utime(path, (ON_TIME, ON_TIME))
    assert main(["--course-dir", str(course), "collect", "tp1_dense", str(incoming)]) == 0
    invalid = course / "submitted" / "ivan" / "tp1_dense"
    invalid.mkdir(parents=True)
    shutil.copy(FIXTURES / "invalid_json.ipynb", invalid / NOTEBOOK)
    assert main(["--course-dir", str(course), "grade", "tp1_dense", "--workers", "2"]) == 0
    return course


def _result(course: Path, student: str) -> SubmissionResult:
    return read_result(course, "tp1_dense", student)


def _hidden_check_lines() -> set[str]:
    """Lines of the verifier's hidden checks (course_lib/specs) that say something specific."""
    specs = PROJECT / "course_lib" / "specs"
    lines = {line.strip() for path in specs.glob("*.py") for line in path.read_text().splitlines()}
    return {line for line in lines if len(line) > 30 and not line.startswith(("#", "from ", "import ", '"""'))}


def test_a_dead_kernel_and_an_invalid_notebook_do_not_stop_the_batch(graded):
    kevin, ivan = _result(graded, "kevin"), _result(graded, "ivan")
    # Its kernel dies in the loading cell: what the tests of the numpy functions exported
    # before still counts, no later test cell ran.
    assert kevin.status == "kernel-died" and kevin.score == 4
    statuses = {c.grade_id: c.status for c in kevin.cells if c.kind == "auto"}
    before = ("test_activations", "test_heaviside", "test_softmax", "test_cross_entropy")
    assert [statuses.pop(t) for t in before] == ["passed"] * 4 and set(statuses.values()) == {"missing"}
    assert ivan.status == "invalid-notebook" and ivan.score == 0
    assert "cannot be read" in ivan.message

    paula, rita = _result(graded, "paula"), _result(graded, "rita")
    assert paula.status == rita.status == "graded"
    passed = {c.grade_id for c in paula.cells if c.status == "passed"}
    assert passed == {"test_activations", "test_heaviside", "test_softmax", "test_cross_entropy",
                      "test_load", "test_prepare", "test_onehot"}
    assert paula.score == 8 and rita.score == 0


def test_a_rerun_skips_graded_work_unless_changed_or_forced(graded, capsys):
    before = {s: _result(graded, s) for s in ("paula", "rita")}
    code, out, _ = run(capsys, graded, "grade", "tp1_dense")
    assert code == 0
    assert len(re.findall(r"^\w+\s.*skipped: already graded", out, flags=re.M)) == STUDENTS
    assert {s: _result(graded, s) for s in ("paula", "rita")} == before

    notebook = nbformat.read(graded / "submitted" / "rita" / "tp1_dense" / NOTEBOOK, as_version=4)
    notebook.cells[0].source += "\n"  # a changed submission is graded again
    nbformat.write(notebook, graded / "submitted" / "rita" / "tp1_dense" / NOTEBOOK)
    code, out, _ = run(capsys, graded, "grade", "tp1_dense", "--student", "rita", "--student", "paula")
    assert re.search(r"^rita\s+graded\s", out, flags=re.M)
    assert re.search(r"^paula\s.*skipped: already graded", out, flags=re.M)
    code, out, _ = run(capsys, graded, "grade", "tp1_dense", "--student", "paula", "--force")
    assert re.search(r"^paula\s+graded\s+8/29", out, flags=re.M)


def test_exports(graded, capsys):
    for args, name in ((["export"], "grades.csv"), (["export", "--detail"], "grades-detail.csv")):
        code, out, _ = run(capsys, graded, *args)
        assert code == 0 and out.strip() == f"exported {graded / 'exports' / name}"
    rows = {r["student_id"]: r for r in csv.DictReader((graded / "exports" / "grades.csv").open())}
    assert {s: rows[s]["tp1_dense_status"] for s in rows} == {
        "early": "graded", "ivan": "invalid-notebook", "kevin": "kernel-died", "late": "graded",
        "paula": "graded", "rita": "graded",
    }
    assert rows["paula"]["total"] == "8" and rows["paula"]["max_total"] == "29"
    detail = list(csv.DictReader((graded / "exports" / "grades-detail.csv").open()))
    assert len(detail) == STUDENTS * 22  # 17 autograded cells and 5 written answers each
    # Untouched written answers get 0 from nbgrader; none of these students wrote one.
    assert not [r for r in detail if r["status"] == "manual-pending"]
    # Collected without a roster: no e-mail nor ID number that Moodle could match.
    code, out, err = run(capsys, graded, "export", "--format", "moodle")
    assert code == 2 and err.startswith("course: error: no grade of tp1_dense can go to Moodle")


def test_feedback_never_shows_hidden_test_source(graded, capsys):
    code, out, _ = run(capsys, graded, "feedback", "tp1_dense")
    assert code == 0 and len(out.splitlines()) == STUDENTS
    secrets = _secret_lines(PROJECT / "source" / "tp1_dense" / NOTEBOOK) | _hidden_check_lines()
    pages = sorted((graded / "feedback").glob(f"*/tp1_dense/{NOTEBOOK[:-6]}.html"))
    assert len(pages) == STUDENTS
    for page in pages:
        text = page.read_text()
        assert not [line for line in secrets if line in text], page
        assert "HIDDEN TESTS" not in text and "ref_im_test" not in text
    paula = (graded / "feedback" / "paula" / "tp1_dense" / f"{NOTEBOOK[:-6]}.html").read_text()
    assert "8 / 29" in paula


def test_formgraders_generate_feedback_writes_the_same_page_and_nothing_else(graded, capsys):
    """nbgrader's generate_feedback (formgrader's button) renders the course's page."""
    from course_lib.course import nbgrader_api

    run(capsys, graded, "feedback", "tp1_dense", "--student", "paula")
    page = graded / "feedback" / "paula" / "tp1_dense" / f"{NOTEBOOK[:-6]}.html"
    ours = page.read_text()
    page.unlink()
    outcome = nbgrader_api(graded).generate_feedback("tp1_dense", "paula", force=True)
    assert outcome["success"], outcome["error"]
    assert sorted(p.name for p in page.parent.iterdir()) == [page.name]  # no model, no result file
    strip = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
    assert strip.sub("", page.read_text()) == strip.sub("", ours)


def test_report_contains_its_plots(graded, capsys):
    code, out, _ = run(capsys, graded, "report")
    assert code == 0
    html = (graded / "reports" / "report.html").read_text()
    # Scores, pass rate per cell and grading time; nobody here trained a model, so the
    # accuracy plot is replaced by a note.
    assert html.count('<img src="data:image/png;base64,') == 3
    assert "No accuracy was measured for tp1_dense." in html
    assert "kernel-died" in html and "invalid-notebook" in html


@pytest.mark.parametrize(
    "args, message",
    [
        (["grade", "tp9"], "course: error: unknown assignment tp9: the course has tp1_dense\n"),
        (["grade", "tp1_dense", "--student", "zoe"], "course: error: no submission of tp1_dense by zoe\n"),
        (["feedback", "tp1_dense", "--student", "zoe"], None),
        (["collect", "tp1_dense", "nowhere"], None),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(graded, capsys, args, message):
    code, out, err = run(capsys, graded, *args)
    assert code == 2 and out == ""
    assert err.startswith("course: error: ") and err.count("\n") == 1
    if message:
        assert err == message


def test_missing_config_and_empty_folder(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path, "grade", "tp1_dense")
    assert code == 2 and err == f"course: error: {tmp_path} is not a course folder: it has no nbgrader_config.py\n"
    (tmp_path / "zip.zip").write_bytes(b"not a zip")
    shutil.copy(PROJECT / "nbgrader_config.py", tmp_path)
    (tmp_path / "source" / "tp1_dense").mkdir(parents=True)
    shutil.copy(PROJECT / "source" / "tp1_dense" / NOTEBOOK, tmp_path / "source" / "tp1_dense")
    code, _, err = run(capsys, tmp_path, "report")
    assert code == 2 and "grade the submissions first" in err and err.count("\n") == 1


def test_a_late_submission_gets_the_late_penalty(graded):
    """course.toml's deadline and its [late] rule ("zero") take the late student's points, in
    the stored result and in the gradebook; the result says when and by how much."""
    early, late = _result(graded, "early"), _result(graded, "late")
    assert (early.score, early.late_penalty) == (8, 0)
    assert (late.score, late.late_penalty) == (0, 8)
    assert (early.late, late.late.due, late.late.penalty) == (None, "2026-01-05T18:00:00", 8)
    with open_gradebook(graded) as gradebook:
        late_submission = gradebook.find_submission("tp1_dense", "late")
        assert (late_submission.score, late_submission.late_submission_penalty) == (8, 8)
        assert gradebook.find_submission("tp1_dense", "early").late_submission_penalty == 0


def test_a_changed_late_rule_grades_the_late_submission_again(graded, capsys):
    """The last test of the module: it changes course.toml. The next `course grade` grades
    again what the new rule concerns (its run comes from the execution cache), skips the rest."""
    settings = graded / "course.toml"
    assert '[late]\npenalty = "zero"' in settings.read_text()
    settings.write_text(settings.read_text().replace('[late]\npenalty = "zero"',
                                                     '[late]\npenalty = "per-hour"\npoints_per_hour = 0.25'))
    code, out, err = run(capsys, graded, "grade", "tp1_dense")
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "skipped: already graded" in lines["early"] and "skipped" not in lines["late"]
    late = _result(graded, "late")
    assert late.cached and late.late.method == "per-hour"
    hours = -(-(late.late.penalty / 0.25) // 1)  # started hours, from the penalty
    assert late.score == 8 - late.late.penalty and 0 < late.late.penalty <= 8 and hours >= 1
    assert "late: submitted" in lines["late"] and "0.25 point(s) per started hour late" in lines["late"]
