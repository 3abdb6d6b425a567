"""Each student's feedback page, in French: points, the checks' messages and the grader's plots.

The page is made only from the grading result (grading.json) and the files the grader kept
beside it (training history, model), never from a notebook, so no test source can reach a
student. `course feedback` writes it where nbgrader's own feedback goes,
`feedback/<student>/<assignment>/<notebook>.html`; formgrader's Generate Feedback button
(nbgrader's generate_feedback) writes the very same page there, through `FeedbackExporter`
(nbgrader_config.py), and copies no file beside it (the grader's files are not in nbgrader's
autograded folder).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
from nbconvert.exporters import Exporter

from course_lib import french
from course_lib.course import course_root, released_notebook
from course_lib.errors import CourseError
from course_lib.plots import plot_confusion_matrix, plot_loss_accuracy
from course_lib.instructor.output import (
    reference_test_labels,
    ExportedFile, figure_data_uri, graded_results, output_path, render_html, write_html,
)
from course_lib.submissions import read_moodle_identity
from course_lib.results import CellResult, CellStatus, Status, SubmissionResult, result_path
from course_lib.titles import cell_phrase, practical_title

CELL_STATUS = {
    CellStatus.PASSED: "réussi", CellStatus.PARTIAL: "partiel", CellStatus.FAILED: "échoué",
    CellStatus.MISSING: "absent", CellStatus.MANUAL_PENDING: "correction en attente",
    CellStatus.NOT_ANSWERED: "non répondu",
}
SUBMISSION_STATUS = {
    Status.GRADED: "",
    Status.KERNEL_DIED: "Le noyau Python s'est arrêté pendant la correction (mémoire épuisée ?) : "
                 "les questions suivantes n'ont pas pu être vérifiées.",
    Status.TIMEOUT: "La correction a dépassé le temps maximal : les questions suivantes n'ont pas pu "
             "être vérifiées.",
    Status.INVALID_NOTEBOOK: "Le notebook rendu n'a pas pu être corrigé (fichier illisible, ou cellules "
                      "de correction modifiées).",
    Status.ERROR: "La correction de ton rendu a échoué ; ton enseignant en est informé.",
}


def feedback(
    *, course_dir: str | Path = ".", assignment: str, students: list[str] | None = None
) -> list[Path]:
    """Write feedback/<student>/<assignment>/<notebook>.html for each student (default: every
    graded student of the assignment) and return the paths."""
    root = course_root(course_dir)
    results = {r.student: r for r in graded_results(root, assignment)}
    wanted = students or sorted(results)
    unknown = [student for student in wanted if student not in results]
    if unknown:
        raise CourseError(
            f"no grading result of {assignment} for {', '.join(unknown)}: "
            f"the graded students are {', '.join(sorted(results))}"
        )
    paths = []
    for student in wanted:
        result = results[student]
        notebook = next((c.notebook for c in result.cells), assignment)
        path = root / "feedback" / student / assignment / f"{notebook}.html"
        paths.append(write_html(path, "feedback.html", **_page(root, result)))
    return paths


def feedback_page(root: Path, assignment: str, student: str) -> str:
    """The HTML of one student's page (what `feedback` writes)."""
    results = {r.student: r for r in graded_results(root, assignment)}
    if student not in results:
        raise CourseError(f"no grading result of {assignment} for {student}: run `course grade` first")
    return render_html("feedback.html", **_page(root, results[student]))


def moodle_feedback_zip(
    *, course_dir: str | Path = ".", assignment: str, output: str | Path | None = None
) -> ExportedFile:
    """Pack the feedback pages of `assignment` (written by `feedback`) into the zip that
    Moodle's "Upload multiple feedback files in a zip" takes (default
    exports/feedback-moodle-<assignment>.zip): one file per participant, named
    `<Full Name>_<participant id>_assignfeedback_file_<notebook>.html`, Moodle matching the
    participant id it gave the submission (mod/assign/feedback/file/importziplib.php).
    Students not collected from a Moodle zip, or without a page yet, are left out and listed."""
    root = course_root(course_dir)
    graded = sorted(r.student for r in graded_results(root, assignment))
    path = output_path(root, output, f"exports/feedback-moodle-{assignment}.zip")
    left_out = []
    temporary = path.with_name(f".{path.name}.partial")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for student in graded:
            identity = read_moodle_identity(root, student, assignment)
            pages = sorted((root / "feedback" / student / assignment).glob("*.html"))
            if identity is None:
                left_out.append(f"{student} (not collected from a Moodle zip: no participant id)")
            elif not pages:
                left_out.append(f"{student} (no feedback page: run `course feedback {assignment}`)")
            else:
                name = re.sub(r'[_/\\:*?"<>|]', " ", identity.full_name).strip() or "Participant"
                for page in pages:
                    archive.write(page, f"{name}_{identity.participant_id}_assignfeedback_file_{page.name}")
    if len(left_out) == len(graded):
        temporary.unlink()
        raise CourseError(f"no feedback page of {assignment} can go to Moodle: " + "; ".join(left_out[:3])
                          + ("; …" if len(left_out) > 3 else ""))
    temporary.replace(path)
    return ExportedFile(path, left_out)


class FeedbackExporter(Exporter):
    """nbgrader's generate_feedback exporter (formgrader's Generate Feedback button): instead
    of rendering the autograded notebook, it renders the student's `course feedback` page."""

    file_extension = ".html"
    output_mimetype = "text/html"

    def from_notebook_node(self, nb: Any, resources: dict | None = None, **kw: Any) -> tuple[str, dict]:
        resources = self._init_resources(resources)
        info = resources["nbgrader"]
        root = Path(self.parent.coursedir.root)
        return feedback_page(root, info["assignment"], info["student"]), resources


def _page(root: Path, result: SubmissionResult) -> dict[str, Any]:
    """What the template shows of one result, in French."""
    folder = result_path(root, result.assignment, result.student).parent
    accuracy_cells = [c for c in result.cells if c.grade_id == result.accuracy_cell]
    first = result.first_error
    return {
        "assignment": result.assignment,
        "title": _practical_title(root, result.assignment),
        "student": result.student,
        "pending": _pending_text(result.cells_with(CellStatus.MANUAL_PENDING)),
        "late": result.late.french() if result.late else "",
        "status_text": SUBMISSION_STATUS[result.status],
        "tampered": [entry.grade_id for entry in result.tampering] + (["cellules verrouillées"] if result.notes else []),
        "score": result.score,
        "max_score": result.max_score,
        "earlier_release": result.earlier_release,
        "cells": [
            {"title": cell.title or cell.grade_id, "grade_id": cell.grade_id, "points": cell.points,
             "max_points": cell.max_points, "message": cell.message, "status": cell.status, "knock_on": cell.knock_on,
             "status_text": "conséquence" if cell.knock_on else CELL_STATUS[cell.status]}
            for cell in result.cells
        ],
        "first_error": first and {"cell": cell_phrase(first.title, first.grade_id, "La"), "error": first.error},
        "unanswered": [f"{entry.title} ({entry.grade_id})" for entry in result.unanswered],
        "accuracy": None if result.accuracy is None else french.percent(result.accuracy),
        "accuracy_message": accuracy_cells[0].message if accuracy_cells else "",
        "curves": _curves(folder, result.files.history),
        "confusion": _confusion(root, folder, result.files.predictions),
    }


def _pending_text(pending: list[CellResult]) -> str:
    """« 6 points de questions rédigées restent à corriger : la note peut encore monter »."""
    if not pending:
        return ""
    points = sum(c.max_points for c in pending)
    questions = "de questions rédigées" if len(pending) > 1 else "d'une question rédigée"
    verb = "restent" if points >= 2 else "reste"
    return f"{french.points_text(points)} {questions} {verb} à corriger : la note peut encore monter"


def _practical_title(root: Path, assignment: str) -> str:
    """The released notebook's title, else the assignment's id."""
    try:
        return practical_title(nbformat.read(released_notebook(root, assignment), 4), assignment)
    except (CourseError, OSError, ValueError):
        return assignment


def _inside(folder: Path, name: str) -> Path:
    """A file the grader saved beside the result: never a path leading elsewhere."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ValueError(f"{name} is outside the result's folder")
    if not path.is_file():
        raise ValueError(f"{name} is missing")
    return path


def _curves(folder: Path, history: str | None) -> dict[str, str]:
    """The loss/accuracy curves of the `hist.history` dict the grader saved as JSON."""
    if history is None:
        return {"uri": "", "problem": "Pas de courbes : l'historique d'entraînement "
                                      "(hist.history) n'a pas été enregistré."}
    try:
        curves = json.loads(_inside(folder, history).read_text())
        return {"uri": figure_data_uri(plot_loss_accuracy(curves)), "problem": ""}
    except (OSError, ValueError, TypeError) as error:
        return {"uri": "", "problem": f"Pas de courbes : l'historique enregistré est "
                                      f"inutilisable ({_first_line(error, folder)})."}


def _confusion(root: Path, folder: Path, predictions: str | None) -> dict[str, str]:
    """The confusion matrix of the classes the verifier's run of the trained model predicted
    for the reference test set (stored as plain JSON: no student model is loaded here)."""
    if predictions is None:
        return {"uri": "", "problem": "Pas de matrice de confusion : aucun modèle n'a été "
                                      "enregistré par la correction."}
    y_test = reference_test_labels(root)
    try:
        classes = np.asarray(json.loads(_inside(folder, predictions).read_text()), dtype=np.int64)
        if classes.shape != y_test.shape or classes.min() < 0 or classes.max() > 9:
            raise ValueError("predictions of another shape")
        return {"uri": figure_data_uri(plot_confusion_matrix(y_test, classes)), "problem": ""}
    except (OSError, ValueError, TypeError) as error:
        return {"uri": "", "problem": f"Pas de matrice de confusion : le modèle enregistré n'a "
                                      f"pas pu être évalué ({_first_line(error, folder)})."}


def _first_line(error: Exception, folder: Path) -> str:
    """The gist of an error, without the grading server's paths (students read it)."""
    text = str(error).replace(f"{folder.resolve()}/", "").strip()
    return text.splitlines()[0] if text else type(error).__name__
