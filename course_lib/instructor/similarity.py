"""`course similarity ASSIGNMENT`: which students' work is alike, in code and in their models.

Two measures per pair of graded students, both read from what grading kept (nothing of a
student runs here):
- code: copydetect's winnowed fingerprints (the Moss method) of the code each student wrote
  (answers and added cells of the collected notebook), variable and function names abstracted
  away, the release's own code given as boilerplate so that the cells everyone receives do not
  count; a pair's similarity is the larger of the two shares of copied code.
- models: Cohen's κ between their mistakes on the reference test set (the classes the verifier
  predicted, predictions.json): since each student trains with a seed of their own
  (course_lib.seeds), honest networks err on many of the same hard digits but far from all of
  them; a copied model errs on the same ones.

The report (reports/similarity-<assignment>.html) ranks the pairs, shows the top ones side by
side with the copied code marked, and reports/similarity-<assignment>.json keeps the pairs
over either threshold: course_lib.instructor.roll puts them on the attention list ("similar to
…"). A similarity is a reason to look, never a verdict.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import nbformat
import numpy as np

from course_lib.cells import grade_id, is_answer
from course_lib.course import course_root, released_notebook
from course_lib.errors import CourseError
from course_lib.instructor.output import graded_results, output_path, reference_test_labels, write_html
from course_lib.pipeline.prepare import read_submission
from course_lib.results import private_dir
from course_lib.submissions import submitted_dir
from course_lib.typed_json import from_json, to_json

CODE_THRESHOLD = 0.8  # share of a student's own code found in the other's
KAPPA_THRESHOLD = 0.9  # agreement of two models' mistakes beyond chance
SHOWN = 20  # pairs shown side by side
LISTED = 100  # pairs in the ranking
NOISE, GUARANTEE = 25, 30  # copydetect's k-gram length and the match length always found


@dataclass(frozen=True)
class SimilarPair:
    first: str
    second: str
    code: float  # the larger share of either's code found in the other's (0–1)
    kappa: float | None  # Cohen's κ of their mistakes on the test set (None: a model is missing)

    @property
    def flagged(self) -> bool:
        return self.code >= CODE_THRESHOLD or (self.kappa is not None and self.kappa >= KAPPA_THRESHOLD)

    def line(self, student: str) -> str:
        """The attention list's line for one of the two."""
        other = self.second if student == self.first else self.first
        kappa = "no model to compare" if self.kappa is None else f"mistakes κ {self.kappa:.2f}"
        return f"similar to {other} (code {100 * self.code:.0f} %, {kappa}): `course similarity` report"


@dataclass(frozen=True)
class SimilarityFile:
    """What reports/similarity-<assignment>.json keeps: the flagged pairs, for the roll."""

    assignment: str
    students: int
    flagged: list[SimilarPair]


@dataclass(frozen=True)
class SimilarityReport:
    path: Path
    pairs: list[SimilarPair]  # every pair, most alike first


def similarity(*, course_dir: str | Path = ".", assignment: str, output: str | Path | None = None) -> SimilarityReport:
    """Compare every pair of graded students of `assignment`; write the report and the flagged
    pairs; return the report's path and the ranked pairs."""
    from copydetect import CodeFingerprint, compare_files

    root = course_root(course_dir)
    results = graded_results(root, assignment)
    codes = {r.student: student_code(root, assignment, r.student) for r in results}
    codes = {student: code for student, code in codes.items() if code is not None}
    if len(codes) < 2:
        raise CourseError(f"{assignment}: fewer than two graded notebooks to compare")
    boilerplate = CodeFingerprint("release.py", NOISE, GUARANTEE - NOISE + 1, fp=io.StringIO(release_code(root, assignment)),
                                  language="python").hashes
    prints = {student: CodeFingerprint(f"{student}.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=list(boilerplate),
                                       fp=io.StringIO(code), language="python")
              for student, code in sorted(codes.items())}
    kappas = _mistake_kappas(root, assignment, sorted(prints))
    pairs, slices = [], {}
    for first, second in combinations(sorted(prints), 2):
        _, shares, copied = compare_files(prints[first], prints[second])
        pair = SimilarPair(first, second, round(float(max(shares)), 4), kappas.get((first, second)))
        pairs.append(pair)
        slices[first, second] = copied
    pairs.sort(key=lambda p: (-max(p.code, p.kappa or 0.0), p.first, p.second))
    shown = [_side_by_side(pair, prints, slices[pair.first, pair.second]) for pair in pairs[:SHOWN]]
    flagged = [pair for pair in pairs if pair.flagged]
    record = output_path(root, None, f"reports/similarity-{assignment}.json")
    record.write_text(json.dumps(to_json(SimilarityFile(assignment, len(prints), flagged)), indent=1) + "\n")
    path = write_html(output_path(root, output, f"reports/similarity-{assignment}.html"), "similarity.html",
                      assignment=assignment, students=len(prints), pairs=pairs[:LISTED], shown=shown,
                      flagged=len(flagged), code_threshold=CODE_THRESHOLD, kappa_threshold=KAPPA_THRESHOLD)
    return SimilarityReport(path, pairs)


def similar_pairs(root: Path, assignment: str) -> list[SimilarPair]:
    """The flagged pairs of the last `course similarity` of `assignment` (none if not run)."""
    path = root / "reports" / f"similarity-{assignment}.json"
    if not path.is_file():
        return []
    try:
        return from_json(SimilarityFile, json.loads(path.read_text())).flagged
    except ValueError as error:
        raise CourseError(f"{path.relative_to(root)}: {str(error)[:200]}: run `course similarity {assignment}` again") from None


def student_code(root: Path, assignment: str, student: str) -> str | None:
    """The code the student wrote: the collected notebook's answers and added cells."""
    notebooks = sorted(submitted_dir(root, student, assignment).glob("*.ipynb"))
    if not notebooks or notebooks[0].is_symlink():
        return None
    try:
        notebook = read_submission(notebooks[0])
    except ValueError:
        return None
    return "\n\n".join(cell.source for cell in notebook.cells
                       if cell.cell_type == "code" and (is_answer(cell) or not grade_id(cell)))


def release_code(root: Path, assignment: str) -> str:
    release = nbformat.read(released_notebook(root, assignment), as_version=4)
    return "\n\n".join(cell.source for cell in release.cells if cell.cell_type == "code")


def _mistake_kappas(root: Path, assignment: str, students: list[str]) -> dict[tuple[str, str], float]:
    """Cohen's κ of every two students' mistakes on the reference test set (those with the
    predictions grading kept), computed at once from their mistake vectors."""
    labels = reference_test_labels(root)
    wrong, named = [], []
    for student in students:
        try:
            predicted = np.asarray(json.loads((private_dir(root, assignment, student) / "predictions.json").read_text()))
        except (OSError, ValueError):
            continue
        if predicted.shape == labels.shape:
            wrong.append(predicted != labels)
            named.append(student)
    if len(named) < 2:
        return {}
    errors = np.asarray(wrong, dtype=np.float64)  # students × images
    count = errors.shape[1]
    both = errors @ errors.T / count  # both wrong
    rate = errors.mean(axis=1)
    agree = 1 - rate[:, None] - rate[None, :] + 2 * both  # both wrong or both right
    chance = rate[:, None] * rate[None, :] + (1 - rate[:, None]) * (1 - rate[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(chance < 1, (agree - chance) / (1 - chance), 1.0)
    index = {student: i for i, student in enumerate(named)}
    return {(a, b): round(float(kappa[index[a], index[b]]), 4)
            for a, b in combinations(students, 2) if a in index and b in index}


def _segments(code: str, copied: np.ndarray) -> list[tuple[str, bool]]:
    """The code cut into (text, copied?) pieces; the template escapes every piece."""
    pieces, at = [], 0
    for start, end in zip(*copied) if len(copied) and len(copied[0]) else []:
        pieces += [(code[at:int(start)], False), (code[int(start):int(end)], True)]
        at = int(end)
    return [*pieces, (code[at:], False)]


def _side_by_side(pair: SimilarPair, prints: dict, copied: tuple) -> dict:
    return {"pair": pair, "left": _segments(prints[pair.first].raw_code, copied[0]),
            "right": _segments(prints[pair.second].raw_code, copied[1])}
