"""course_lib.instructor.export, .report and .feedback on a course folder of hand-written results.

No grading runs here: the results are written with `write_result` as the grader writes them,
and the predictions are made up, so that the whole file takes seconds.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from course_lib.errors import CourseError
from course_lib.instructor.export import export
from course_lib.instructor.feedback import feedback
from course_lib.instructor.report import report
from course_lib.course import scripts_on_path
from course_lib.results import (
    SCHEMA, CellKind, CellRef, CellResult, CellStatus, GraderFiles, Status, SubmissionResult, Tampering, private_dir,
    read_result, result_path, total_score, write_result,
)

PROJECT = Path(__file__).resolve().parents[1]
TP1, TP2 = "tp1_dense", "tp2_convol"
NOTEBOOK = "TP1_MNIST_dense"
HIDDEN_TEST = "assert SECRET_HIDDEN_THRESHOLD == 0.97"
SCRIPT = "<script>alert(1)</script>"
PNG = '<img src="data:image/png;base64,'


def cell(grade_id: str, points: float | None, max_points: float, status: str,
         message: str = "", kind: str = "auto") -> CellResult:
    return CellResult(notebook=NOTEBOOK, grade_id=grade_id, title=grade_id, kind=CellKind(kind), points=points,
                      max_points=max_points, status=CellStatus(status), message=message)


def result(student: str, assignment: str, cells: list[CellResult], *, status: str = "graded",
           message: str = "", accuracy: float | None = None, seconds: float = 60.0,
           files: dict[str, str | None] | None = None) -> SubmissionResult:
    return SubmissionResult(
        student=student, assignment=assignment, status=Status(status), message=message,
        submission_sha256="0" * 64, cells=cells, max_score=sum(c.max_points for c in cells),
        score=total_score(cells, 0.0), seconds=seconds, accuracy=accuracy,
        accuracy_cell=None if accuracy is None else "test_accuracy", files=GraderFiles(**(files or {})),
    )


def tp1_cells(statuses: dict[str, tuple[float | None, str, str]]) -> list[CellResult]:
    """The four graded cells of TP1, each (points, status, message) as given."""
    maxima = {"test_data": 4.0, "test_model": 6.0, "test_accuracy": 4.0, "q_explain": 2.0}
    cells = []
    for grade_id, max_points in maxima.items():
        points, status, message = statuses[grade_id]
        kind = "manual" if grade_id == "q_explain" else "auto"
        cells.append(cell(grade_id, points, max_points, status, message, kind))
    return cells


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """alice: complete (two assignments, history and predictions); bob: partial, a hostile
    message and unreadable predictions; carol: kernel died; dave: manual answer pending."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(PROJECT / "nbgrader_config.py", root)

    alice = private_dir(root, TP1, "alice")
    alice.mkdir(parents=True)
    (alice / "predictions.json").write_text(json.dumps([7, 2, 1, 0, 4] * 2000))
    (alice / "history.json").write_text(json.dumps(
        {"loss": [0.5, 0.3], "accuracy": [0.85, 0.92],
         "val_loss": [0.4, 0.35], "val_accuracy": [0.88, 0.9]}))
    # Were the autograded notebook to hold hidden tests, the page must not show any of it.
    notebook = root / "autograded" / "alice" / TP1
    notebook.mkdir(parents=True)
    (notebook / f"{NOTEBOOK}.ipynb").write_text(json.dumps({"cells": [{"source": HIDDEN_TEST}]}))
    results = [
        result("alice", TP1, tp1_cells({
            "test_data": (4.0, "passed", "x_train has the shape (60000, 784)"),
            "test_model": (6.0, "passed", "the architecture matches"),
            "test_accuracy": (4.0, "passed", "précision 97,64\u00a0% : au moins 97\u00a0%, 4 points sur 4"),
            "q_explain": (2.0, "passed", ""),
        }), accuracy=0.9764, seconds=61.2,
            files={"history": "history.json", "model": None, "predictions": "predictions.json"}),
        result("alice", TP2, [cell("test_conv", 8.0, 10.0, "partial", "7 of 8 layers match")],
               accuracy=0.9871, seconds=120.0),
        result("bob", TP1, tp1_cells({
            "test_data": (4.0, "passed", "x_train has the shape (60000, 784)"),
            "test_model": (0.0, "failed", f"layer 2 differs: {SCRIPT}"),
            "test_accuracy": (2.0, "partial", "précision 93,12\u00a0% : au moins 92\u00a0% mais moins de 97\u00a0%, 2 points sur 4"),
            "q_explain": (1.0, "passed", ""),
        }), accuracy=0.9312, seconds=58.0,
            files={"history": None, "model": None, "predictions": "predictions.json"}),
        result("carol", TP1, tp1_cells({
            grade_id: (0.0, "missing", "the kernel died before this cell")
            for grade_id in ("test_data", "test_model", "test_accuracy")
        } | {"q_explain": (None, "manual-pending", "")}), status="kernel-died",
            message="kernel died (out of memory?) in cell 12", seconds=300.0),
        result("dave", TP1, tp1_cells({
            "test_data": (4.0, "passed", "x_train has the shape (60000, 784)"),
            "test_model": (6.0, "passed", "the architecture matches"),
            "test_accuracy": (0.0, "failed", "précision 88,00\u00a0% : moins de 90\u00a0%, 0 point sur 4"),
            "q_explain": (None, "manual-pending", ""),
        }), accuracy=0.88, seconds=64.0),
    ]
    for item in results:
        write_result(root, item)
    (private_dir(root, TP1, "bob") / "predictions.json").write_text("[not the predictions")
    return root


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An nbgrader gradebook knowing alice, bob (no e-mail) and erin (no submission), made once:
    creating one costs seconds."""
    from nbgrader.api import Gradebook

    scripts_on_path()
    database = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with Gradebook(f"sqlite:///{database}", course_id="mnist_tf2") as gradebook:
        gradebook.add_student("alice", first_name="Alice", last_name="Martin",
                              email="alice@example.org")
        gradebook.add_student("bob", first_name="Bob", last_name="Durand")
        gradebook.add_student("erin", first_name="Erin", last_name="Petit",
                              email="erin@example.org")
    return database


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_export_totals_are_the_sums_of_the_assignments(course, gradebook):
    shutil.copy(gradebook, course)
    path = export(course_dir=course).path
    assert path == course / "exports" / "grades.csv"
    rows = {row["student_id"]: row for row in read_csv(path)}
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin"]  # erin: gradebook only
    for row in rows.values():
        scores = [float(row[a] or 0) for a in (TP1, TP2)]
        assert float(row["total"]) == pytest.approx(sum(scores))
        maxima = [float(row[f"{a}_max"]) for a in (TP1, TP2)]
        assert float(row["max_total"]) == pytest.approx(sum(maxima))
    assert (rows["alice"]["first_name"], rows["alice"]["last_name"]) == ("Alice", "Martin")
    assert rows["carol"]["first_name"] == ""  # not in the gradebook
    assert (rows["alice"][TP1], rows["alice"][TP2], rows["alice"]["total"]) == ("16", "8", "24")
    bob = rows["bob"]
    assert (bob[TP1], bob[TP2], bob[f"{TP2}_status"]) == ("7", "", "not-submitted")
    assert rows["bob"]["max_total"] == "26"
    assert rows["alice"]["needs_attention"] == ""
    assert rows["bob"]["needs_attention"] == f"{TP2}: not submitted"
    assert rows["carol"][f"{TP1}_status"] == "kernel-died"
    assert rows["carol"]["needs_attention"] == (  # most severe first
        f"{TP1}: kernel-died: kernel died (out of memory?) in cell 12; "
        f"{TP1}: manual grading pending: q_explain; {TP2}: not submitted")
    assert rows["dave"]["needs_attention"] == (
        f"{TP1}: manual grading pending: q_explain; {TP2}: not submitted")
    assert (rows["dave"][f"{TP1}_status"], rows["erin"][f"{TP1}_status"]) == (
        "manual-pending", "not-submitted")
    assert rows["dave"][TP1] == "10"  # the pending answer counts at its current score, 0


def test_export_moodle_writes_only_final_grades_by_the_email_moodle_matches(course, gradebook):
    with pytest.raises(CourseError, match=r"one grade item at a time .*choose --assignment "
                                          r"\(tp1_dense, tp2_convol\)"):
        export(course_dir=course, format="moodle")
    with pytest.raises(CourseError, match="no grade of tp1_dense can go to Moodle"):
        export(course_dir=course, format="moodle", assignment=TP1)  # no roster: no identifier
    shutil.copy(gradebook, course)
    exported = export(course_dir=course, format="moodle", assignment=TP1)
    assert exported.path == course / "exports" / "grades-moodle-tp1_dense.csv"
    assert read_csv(exported.path) == [{"Email address": "alice@example.org", TP1: "16"}]
    assert exported.left_out == [
        "bob (no e-mail in the roster: Moodle could not match the row)",
        "carol (kernel-died: kernel died (out of memory?) in cell 12)",
        "dave (manual grading pending: q_explain)",
        "erin (not submitted)",
    ]


def test_export_moodle_prefers_the_id_number_and_writes_provisional_grades_on_request(
        course, tmp_path):
    from nbgrader.api import Gradebook

    scripts_on_path()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="mnist_tf2") as gradebook:
        gradebook.add_student("alice", email="alice@example.org", lms_user_id="E2026-001")
        gradebook.add_student("dave", email="dave@example.org", lms_user_id="E2026-004")
        gradebook.add_student("bob", email="bob@example.org")
    exported = export(course_dir=course, format="moodle", assignment=TP1)
    assert read_csv(exported.path) == [{"ID number": "E2026-001", TP1: "16"}]
    assert exported.left_out[0] == "bob (no ID number in the roster: Moodle could not match the row)"
    provisional = export(course_dir=course, format="moodle", assignment=TP1,
                         include_provisional=True, output=tmp_path / "moodle.csv")
    rows = read_csv(provisional.path)
    assert rows == [{"ID number": "E2026-001", TP1: "16"}, {"ID number": "E2026-004", TP1: "10"}]
    assert all(value != "" for row in rows for value in row.values())  # never a blank grade
    assert "carol (kernel-died: kernel died (out of memory?) in cell 12)" in provisional.left_out


def test_export_detail_has_one_row_per_graded_cell(course, tmp_path):
    path = export(course_dir=course, detail=True, output=tmp_path / "cells.csv").path
    assert path == tmp_path / "cells.csv"
    rows = read_csv(path)
    assert len(rows) == 4 + 1 + 4 + 4 + 4
    statuses = {(r["student_id"], r["assignment"], r["grade_id"]): r["status"] for r in rows}
    assert statuses["bob", TP1, "test_accuracy"] == "partial"
    assert statuses["dave", TP1, "q_explain"] == "manual-pending"
    assert {s for (student, _, _), s in statuses.items() if student == "carol"} == {
        "missing", "manual-pending"}
    bob_model = next(r for r in rows if r["student_id"] == "bob" and r["grade_id"] == "test_model")
    assert (bob_model["points"], bob_model["max_points"], bob_model["message"]) == (
        "0", "6", f"layer 2 differs: {SCRIPT}")
    pending = next(r for r in rows if r["student_id"] == "dave" and r["grade_id"] == "q_explain")
    assert pending["points"] == ""


def test_export_rejects_an_unknown_format_and_an_empty_course(course, tmp_path):
    with pytest.raises(CourseError, match="unknown export format 'xlsx'"):
        export(course_dir=course, format="xlsx")
    with pytest.raises(CourseError, match="only in the csv format"):
        export(course_dir=course, format="moodle", detail=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(PROJECT / "nbgrader_config.py", empty)
    for make in (export, report):
        with pytest.raises(CourseError, match="no grading result"):
            make(course_dir=empty)
    with pytest.raises(CourseError, match="no grading result of tp1_dense"):
        feedback(course_dir=empty, assignment=TP1)


def test_report_has_the_headings_the_plots_and_the_submissions_to_look_at(course):
    path = report(course_dir=course)
    assert path == course / "reports" / "report.html"
    page = path.read_text()
    for heading in ("Summary", "Submissions needing attention", "Score distribution — tp1_dense",
                    "Pass rate per graded cell — tp1_dense", "Accuracy reached — tp1_dense",
                    "Grading time per submission — tp2_convol"):
        assert f">{heading}</h" in page
    assert page.count(PNG) == 4 + 4  # per assignment: scores, pass rates, accuracy, time
    alts = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)">', page)
    assert len(alts) == 8 and all(len(alt) > 40 for alt in alts)
    assert "Histogram of the scores of tp1_dense: 4 submissions, mean 8.25" in alts[0]
    attention = page.split("Submissions needing attention")[1].split("<h2>")[0]
    rows = re.findall(r"<tr>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", attention)
    assert rows == [  # most severe first, then by assignment and student
        (TP1, "carol", "kernel-died"),
        (TP1, "dave", "manual-pending"),
        (TP2, "bob", "not-submitted"), (TP2, "carol", "not-submitted"), (TP2, "dave", "not-submitted"),
    ]
    assert "failed: 1 · manual grading pending: 2 · not submitted: 3" in attention
    assert "manual grading pending: q_explain" in attention
    assert SCRIPT not in page


def test_feedback_page_shows_points_messages_and_the_graders_plots(course, mnist_dir,
                                                                  monkeypatch):
    monkeypatch.setenv("COURSE_MNIST_DIR", str(mnist_dir))
    [path] = feedback(course_dir=course, assignment=TP1, students=["alice"])
    assert path == course / "feedback" / "alice" / TP1 / f"{NOTEBOOK}.html"
    page = path.read_text()
    assert "<h1>Retour sur tp1_dense</h1>" in page and 'lang="fr"' in page
    assert "16 / 16" in page and "6 / 6" in page
    assert "précision 97,64\u00a0% : au moins 97\u00a0%, 4 points sur 4" in page
    assert "97,64\u00a0%" in page
    assert page.count(PNG) == 2
    assert "<h2>Courbes d&#39;apprentissage" in page
    assert "<h2>Matrice de confusion sur le jeu de test</h2>" in page
    assert "SECRET_HIDDEN_THRESHOLD" not in page


def test_feedback_escapes_messages_and_explains_missing_plots(course, mnist_dir, monkeypatch):
    monkeypatch.setenv("COURSE_MNIST_DIR", str(mnist_dir))
    # bob's own cell, added after a given one, raised first: the page names it by that cell.
    bob = read_result(course, TP1, "bob")
    write_result(course, replace(bob, first_error=CellRef("", "Préparer les données", f"NameError: {SCRIPT}")))
    paths = feedback(course_dir=course, assignment=TP1)
    assert [p.parts[-3] for p in paths] == ["alice", "bob", "carol", "dave"]
    bob = paths[1].read_text()
    assert SCRIPT not in bob and "&lt;script&gt;alert(1)&lt;/script&gt;" in bob
    assert "La cellule ajoutée après « Préparer les données » a échoué" in bob
    assert "Pas de courbes" in bob
    assert "le modèle enregistré n&#39;a pas pu être évalué" in bob
    assert str(course) not in bob  # the server's paths stay on the server
    assert bob.count(PNG) == 0
    carol = paths[2].read_text()
    assert "Le noyau Python s&#39;est arrêté" in carol and "— / 2" in carol
    assert "aucun modèle n&#39;a été enregistré" in carol


def test_results_carry_no_source_code(course):
    """The pages are made from grading.json alone: it holds messages, never a test's source."""
    for path in (course / "autograded").glob("*/*.grading/grading.json"):
        text = path.read_text()
        assert "SECRET_HIDDEN_THRESHOLD" not in text and "assert " not in text


def test_feedback_for_an_unknown_student_is_a_course_error(course):
    with pytest.raises(CourseError, match="no grading result of tp1_dense for zoe"):
        feedback(course_dir=course, assignment=TP1, students=["alice", "zoe"])
    assert not (course / "feedback").exists()  # nothing is written when one name is wrong


def _overlapping_ticks(figure) -> list[tuple[str, str]]:
    """Pairs of neighbouring tick labels of one axis whose boxes overlap, once drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)  # the report renders its figures with Agg too
    canvas.draw()
    renderer = canvas.get_renderer()
    pairs = []
    for axis in figure.axes:
        for ticks in (axis.get_xticklabels(), axis.get_yticklabels()):
            shown = [t for t in ticks if t.get_visible() and t.get_text()]
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in shown]
            boxes.sort(key=lambda item: (item[1].x0, item[1].y0))
            pairs += [(a, b) for (a, box_a), (b, box_b) in zip(boxes, boxes[1:]) if box_a.overlaps(box_b)]
    return pairs


def test_the_report_of_a_class_of_200_has_readable_axes(tmp_path):
    """200 synthetic results, accuracies in a narrow band as a real class's are: every plot's
    tick labels stand apart, and the page holds every student who needs attention."""
    import random

    from course_lib.instructor.report import section_plots

    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(PROJECT / "nbgrader_config.py", root)
    draw = random.Random(200)
    results = []
    for number in range(200):
        accuracy = draw.uniform(0.970, 0.974)  # a narrow band, as a class of TP1 reaches
        pending = number % 3 == 0
        cells = tp1_cells({
            "test_data": (4.0, "passed", ""),
            "test_model": (draw.choice([0.0, 6.0]), "passed", ""),
            "test_accuracy": (draw.choice([2.0, 4.0]), "passed", ""),
            "q_explain": (None, "manual-pending", "") if pending else (2.0, "passed", ""),
        })
        results.append(result(f"student{number:03d}", TP1, cells, accuracy=accuracy,
                              seconds=draw.uniform(50, 95)))
        write_result(root, results[-1])
    plots = section_plots(TP1, results)
    assert [heading for heading, _, _ in plots] == [
        "Score distribution", "Pass rate per graded cell", "Accuracy reached", "Grading time per submission"]
    for heading, figure, _ in plots:
        assert _overlapping_ticks(figure) == [], heading
    page = report(course_dir=root).read_text()
    assert page.count("<td>manual-pending</td>") == 67
    assert "manual grading pending: 67" in page


def test_status_has_a_line_per_student_and_the_counts(course, gradebook, capsys):
    from course_lib.cli import main
    from course_lib.instructor.status import status

    shutil.copy(gradebook, course)
    lines = {line.student: line for line in status(course_dir=course, assignment=TP1)}
    assert {s: (l.state, l.score, l.seconds, l.reason) for s, l in lines.items()} == {
        "alice": ("graded", 16.0, 61.2, ""), "bob": ("graded", 7.0, 58.0, ""),
        "carol": ("kernel-died", 0.0, 300.0, "kernel-died: kernel died (out of memory?) in cell 12"),
        "dave": ("manual-pending", 10.0, 64.0, "manual grading pending: q_explain"),
        "erin": ("not-submitted", None, None, "not submitted"),
    }
    assert lines["dave"].pending == 1 and not lines["dave"].tampered
    assert main(["status", TP1, "--course-dir", str(course)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["student", "assignment", "state", "score", "time", "why"]
    assert re.fullmatch(r"dave +tp1_dense +manual-pending +10/16 +64 s  manual grading pending: q_explain", out[4])
    assert out[-1] == f"{TP1}: graded 2, kernel-died 1, manual-pending 1, not-submitted 1"
    assert main(["status", "--course-dir", str(course)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{TP2}: graded 1, not-submitted 4"


def test_late_work_is_said_in_status_export_report_and_the_students_page(course, mnist_dir, monkeypatch):
    """The result's late record (course_lib.late, made when grading) reaches every output."""
    from course_lib.instructor.status import status
    from course_lib.late import Late

    monkeypatch.setenv("COURSE_MNIST_DIR", str(mnist_dir))
    late = Late(due="2026-01-05T18:00:00", submitted="2026-01-06T09:12:00", penalty=10.0, method="zero")
    dave = read_result(course, TP1, "dave")
    write_result(course, replace(dave, late=late, late_penalty=10.0, score=0.0))
    said = "late: submitted 2026-01-06 09:12 UTC, due 2026-01-05 18:00 UTC (15 h late): -10 points"
    [line] = [line for line in status(course_dir=course, assignment=TP1) if line.student == "dave"]
    assert line.reason.startswith(said)  # before the pending answer: late ranks above it
    rows = {row["student_id"]: row for row in read_csv(export(course_dir=course).path)}
    assert rows["dave"][f"{TP1}_late"] == "2026-01-06 09:12 UTC (due 2026-01-05 18:00 UTC): 15 h late, -10 points"
    assert rows["alice"][f"{TP1}_late"] == ""
    assert said in rows["dave"]["needs_attention"]
    assert said in report(course_dir=course).read_text()
    [page] = feedback(course_dir=course, assignment=TP1, students=["dave"])
    assert ("Rendu le 06/01/2026 à 09:12 (UTC), après la date limite du 05/01/2026 à 18:00 (UTC ; un rendu "
            "en retard vaut 0) : pénalité de retard de 10 points.") in page.read_text().replace("&#39;", "'")


def test_the_page_has_the_practicals_title_the_pending_points_and_french_numbers(course, mnist_dir, monkeypatch):
    monkeypatch.setenv("COURSE_MNIST_DIR", str(mnist_dir))
    shutil.copytree(PROJECT / "release" / TP1, course / "release" / TP1)
    dave = read_result(course, TP1, "dave")
    dave.cells[2].points, dave.cells[2].status = 0.525, CellStatus.PARTIAL
    write_result(course, replace(dave, score=10.525))
    page = feedback(course_dir=course, assignment=TP1, students=["dave"])[0].read_text()
    title = "TP1 — Reconnaissance de chiffres écrits à la main avec un réseau dense"
    assert f"<h1>Retour sur {title}</h1>" in page and f"<title>Retour sur {title} — dave</title>" in page
    assert re.search(r"<strong>10,53 / 16</strong> ;\s+2 points d'une question rédigée restent à corriger : "
                     r"la note peut encore monter\.", page.replace("&#39;", "'"))
    assert "0,53 / 4" in page and "0.5" not in page and "point(s)" not in page


def test_what_is_not_yet_due_is_out_of_the_attention_list(course):
    """TP2 is graded for alice only: its missing submissions need attention once it is due."""
    from course_lib.instructor.status import status

    def missing_tp2() -> list[str]:
        return [line.student for line in status(course_dir=course, assignment=TP2) if line.reason == "not submitted"]

    assert missing_tp2() == ["bob", "carol", "dave"]
    (course / "course.toml").write_text(f"[assignments.{TP2}]\ndue = 2999-01-01T00:00:00Z\n")
    assert missing_tp2() == []
    assert "not-submitted" not in report(course_dir=course).read_text().split("Submissions needing attention")[1]
    (course / "course.toml").write_text(f"[assignments.{TP2}]\ndue = 2020-01-01T00:00:00Z\n")
    assert missing_tp2() == ["bob", "carol", "dave"]


def test_tampering_is_summarised_and_listed_whole_in_the_detail(course, tmp_path):
    from course_lib.instructor.status import status

    bob = read_result(course, TP1, "bob")
    disagreements = [Tampering(f"test_{n}", "passed", "failed") for n in range(50)]
    write_result(course, replace(bob, tampered=True, tampering=disagreements))
    [line] = [line for line in status(course_dir=course, assignment=TP1) if line.student == "bob"]
    assert line.reason == (
        "tampered: 50 findings (first: test_0: the kernel said passed, the verifier failed; "
        "test_1: the kernel said passed, the verifier failed; test_2: the kernel said passed, the "
        "verifier failed; and 47 more: `course export --detail` lists them)")
    rows = read_csv(export(course_dir=course, detail=True, output=tmp_path / "cells.csv").path)
    assert [r["message"] for r in rows if r["kind"] == "tampering"] == [
        f"test_{n}: the kernel said passed, the verifier failed" for n in range(50)]


def test_every_export_keeps_to_the_assignment_asked(course):
    path = export(course_dir=course, assignment=TP1).path
    assert path == course / "exports" / f"grades-{TP1}.csv"
    header = next(csv.reader(path.open()))
    assert TP1 in header and not any(column.startswith(TP2) for column in header)
    detail = export(course_dir=course, detail=True, assignment=TP2).path
    assert {row["assignment"] for row in read_csv(detail)} == {TP2}
    with pytest.raises(CourseError, match="unknown assignment tp9"):
        export(course_dir=course, assignment="tp9")
    # No roster: Moodle's error says that nobody has the identifier it matches, not one case.
    with pytest.raises(CourseError, match="no student of the gradebook has an e-mail or an ID number"):
        export(course_dir=course, format="moodle", assignment=TP1)


# Moodle's offline grading worksheet, as its French interface writes it: comma-separated,
# "Participant<id>" (the French hiddenuser string has no space), decimal commas, dates in words.
WORKSHEET_FR = (
    'Identifiant,"Nom complet","Adresse de courriel",Statut,Note,"Note maximale",'
    '"La note peut être modifiée","Dernière modification (travail remis)",'
    '"Dernière modification (note)","Feedback par commentaires"\n'
    'Participant5001,"Alice Martin",alice@example.org,"Remis pour évaluation",,"20,00",Oui,'
    '"lundi 5 janvier 2026, 17:02",-,\n'
    'Participant5002,"Bob Durand",bob@example.org,"Remis pour évaluation","12,00","20,00",Oui,'
    '"lundi 5 janvier 2026, 17:40","mardi 6 janvier 2026, 10:00","Vu en séance"\n'
    'Participant5004,"Dave Petit",dave@example.org,"Remis pour évaluation",,"20,00",Oui,'
    '"lundi 5 janvier 2026, 16:10",-,\n'
    'Participant5009,"=HYPERLINK(""http://127.0.0.1/"")",x@example.org,"Aucun travail remis",,"20,00",Oui,-,-,\n'
)


def test_moodles_grading_worksheet_is_filled_by_participant_id_in_its_own_language(course, tmp_path):
    from course_lib.submissions import MoodleIdentity, submission_digest, submitted_dir, write_moodle_identity

    for student, participant in (("alice", "5001"), ("bob", "5002"), ("dave", "5004")):
        folder = submitted_dir(course, student, TP1)
        folder.mkdir(parents=True)
        (folder / f"{NOTEBOOK}.ipynb").write_text("{}")
        write_moodle_identity(folder, MoodleIdentity(participant, student.title()))
        write_result(course, replace(read_result(course, TP1, student), submission_sha256=submission_digest(folder)))
    worksheet = tmp_path / "Notes-TP1.csv"
    worksheet.write_text(WORKSHEET_FR, encoding="utf-8")
    exported = export(course_dir=course, format="moodle-worksheet", worksheet=worksheet, assignment=TP1)
    assert exported.path == course / "exports" / f"grading-worksheet-{TP1}.csv"
    written = list(csv.reader(exported.path.open(encoding="utf-8")))
    original = list(csv.reader(io.StringIO(WORKSHEET_FR)))
    assert written[0] == original[0]  # headers verbatim: Moodle finds its columns by them
    alice, bob, dave, unknown = written[1:]
    # alice 16/16 scaled to Moodle's 20; bob 7/16 → 8,75; dave's answer waits: untouched.
    assert (alice[4], bob[4]) == ("20,00", "8,75")
    assert alice[9] == "Note du correcteur automatique : 16 / 16 ; le détail est dans ta page de retour."
    assert bob[9] == "Vu en séance"  # the instructor's own comment stays
    assert dave == original[3]  # nothing written where no final grade
    assert unknown == original[4][:1] + ["'" + original[4][1]] + original[4][2:]  # a name is never a formula
    assert [cell for row in (alice, bob) for n, cell in enumerate(row) if n not in (4, 9)] == [
        cell for row in original[1:3] for n, cell in enumerate(row) if n not in (4, 9)]
    assert "dave (manual grading pending: q_explain)" in exported.left_out
    # One participant collected as two students (with and without a roster): neither is written.
    folder = submitted_dir(course, "bob2", TP1)
    folder.mkdir(parents=True)
    (folder / f"{NOTEBOOK}.ipynb").write_text("{}")
    write_moodle_identity(folder, MoodleIdentity("5002", "Bob"))
    write_result(course, replace(read_result(course, TP1, "bob"), student="bob2", submission_sha256=submission_digest(folder)))
    again = export(course_dir=course, format="moodle-worksheet", worksheet=worksheet, assignment=TP1)
    assert list(csv.reader(again.path.open(encoding="utf-8")))[2][4] == "12,00"  # Moodle's, untouched
    assert any(line.startswith("bob, bob2 (one Moodle participant, 5002") for line in again.left_out)
    with pytest.raises(CourseError, match="not a Moodle grading worksheet: no column Identifier"):
        (tmp_path / "other.csv").write_text("id,grade\n1,2\n")
        export(course_dir=course, format="moodle-worksheet", worksheet=tmp_path / "other.csv", assignment=TP1)
    with pytest.raises(CourseError, match="--worksheet goes with --format moodle-worksheet"):
        export(course_dir=course, format="moodle-worksheet", assignment=TP1)


def test_a_result_of_another_schema_or_damaged_is_refused_in_one_line(course):
    """grading.json is read strictly: an old (untyped, schema 1) result or one missing a field
    stops the reader with one line saying how to write it anew, never a guessed default."""
    path = result_path(course, TP1, "alice")
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA
    path.write_text(json.dumps({key: value for key, value in data.items() if key != "schema"}))
    with pytest.raises(CourseError) as error:
        export(course_dir=course)
    assert str(error.value) == (f"autograded/alice/tp1_dense.grading/grading.json is a result of schema 1, this "
                                f"course_lib reads schema {SCHEMA}: grade tp1_dense again (`course grade`) to write it anew")
    del data["cells"][0]["kind"]
    path.write_text(json.dumps(data))
    with pytest.raises(CourseError, match=r"grading.json: grading.json.cells\[0\]: missing kind: grade tp1_dense"):
        report(course_dir=course)
