"""Classes of TP1 submissions without grading them, for the similarity report's tests and
benchmark (bench/similarity.py): a large one made from the fixtures, and the honest one of the
notebooks written independently. Each student starts from one of the fixture notebooks (the
solution, mistakes, the original course's code) and makes a few edits of their own (names,
a hyperparameter, a comment); each gets a result (every cell at zero: similarity reads no
score) and the predictions grading keeps, their mistakes partly on digits every model finds
hard, partly their own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT / "grader_tests" / "fixtures" / "tp1_dense"
BASES = ("solution", "keras_load_data", "wrong_hidden_units", "not_normalised", "undertrained",
         "labels_not_onehot", "crash_in_one_cell")
NAMES = ("early_stop", "slow_down", "results", "predicted", "hist")


def make_class(folder: Path, mnist: Path, students: int, seed: int = 0) -> Path:
    from course_lib.data import load_mnist
    from course_lib.release import copy_course

    course = copy_course(origin=PROJECT, folder=folder / "course", assignments=["tp1_dense"], mnist_dir=mnist)
    _, (_, labels) = load_mnist(mnist)
    draw = np.random.default_rng(seed)
    hard = draw.random(len(labels)) < 0.03  # digits many models get wrong
    bases = {name: nbformat.read(FIXTURES / f"{name}.ipynb", 4) for name in BASES}
    incoming = folder / "incoming"
    incoming.mkdir()
    for number in range(students):
        student = f"student{number:03d}"
        notebook = nbformat.from_dict(json.loads(json.dumps(bases[BASES[number % len(BASES)]])))
        for cell in notebook.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                for name in draw.choice(NAMES, 2, replace=False):
                    cell.source = re.sub(rf"\b{name}\b", f"{name}_{number}", cell.source)
                cell.source = re.sub(r"epochs=(\d+)", lambda m: f"epochs={int(m.group(1)) + int(draw.integers(0, 3))}",
                                     cell.source)
                cell.source += f"\n# {student}"
        wrong = (hard & (draw.random(len(labels)) < 0.5)) | (draw.random(len(labels)) < 0.01)
        hand_in(course, student, notebook, np.where(wrong, (labels + 1 + draw.integers(0, 8, len(labels))) % 10, labels),
                incoming)
    return course


def honest_class(folder: Path, mnist: Path) -> Path:
    """The TP1 notebooks written without one another, handed in: the solution, the original
    course's code and the six independent_* students (their own styles and recipes); their
    predictions without a mistake (no κ: the code alone is compared)."""
    from course_lib.data import load_mnist
    from course_lib.release import copy_course

    course = copy_course(origin=PROJECT, folder=folder / "course", assignments=["tp1_dense"], mnist_dir=mnist)
    _, (_, labels) = load_mnist(mnist)
    for path in [FIXTURES / "solution.ipynb", FIXTURES / "keras_load_data.ipynb",
                 *sorted((FIXTURES / "calibration").glob("independent_*.ipynb"))]:
        hand_in(course, path.stem, nbformat.read(path, 4), labels, folder)
    return course


def hand_in(course: Path, student: str, notebook: nbformat.NotebookNode, predicted: np.ndarray, folder: Path) -> None:
    """`notebook` collected as `student`'s TP1, with a result (every cell at zero, an accuracy
    of 98 %) and the classes its model predicted on the test set, as grading keeps them."""
    from course_lib.pipeline.collect import place_submission
    from course_lib.results import empty_result, private_dir, write_result
    from course_lib.submissions import submission_digest, submitted_dir

    path = folder / f"{student}.ipynb"
    nbformat.write(notebook, path)
    place_submission(course_dir=course, assignment="tp1_dense", student=student, notebook=path)
    [released] = (course / "release" / "tp1_dense").glob("*.ipynb")
    result = empty_result(student, "tp1_dense", submission_digest(submitted_dir(course, student, "tp1_dense")),
                          nbformat.read(released, 4), released.stem)
    result.accuracy = 0.98
    write_result(course, result)
    (private_dir(course, "tp1_dense", student) / "predictions.json").write_text(json.dumps(predicted.tolist()))
