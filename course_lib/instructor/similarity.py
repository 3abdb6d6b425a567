"""`course similarity ASSIGNMENT`: which students' work is alike, in code and in their models.

Two measures per pair of graded students, both read from what grading kept (nothing of a
student runs here):
- code: copydetect's winnowed fingerprints (the Moss method) of the code each student wrote
  (answers and added cells of the collected notebook), variable and function names abstracted
  away. What everyone has is no evidence: the release's own code, and every passage found in
  more students than COMMON_SHARE of the class (at least COMMON_LEAST), are boilerplate, as
  Moss ignores passages common to many programs: the course's canonical one-line answers
  (`x_train = im_train.reshape(…) / 255`) match between any two honest students. A pair's
  similarity is the larger of the two shares of the rest of a student's code found in the
  other's, counted only when they share at least LEAST_TOKENS characters of it.
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
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import nbformat
import numpy as np

from course_lib.course import course_root, released_notebook
from course_lib.errors import CourseError
from course_lib.instructor.output import graded_results, output_path, reference_test_labels, write_html
from course_lib.pipeline.prepare import prepare, read_submission, student_cells
from course_lib.results import private_dir
from course_lib.safe_text import printable
from course_lib.submissions import submitted_dir
from course_lib.typed_json import from_json, to_json

CODE_THRESHOLD = 0.8  # share of a student's own (uncommon) code found in the other's
LEAST_TOKENS = 150  # shared uncommon code (filtered characters) below which a share means nothing
COMMON_SHARE, COMMON_LEAST = 0.1, 3  # a passage in more students than this is the class's idiom
KAPPA_THRESHOLD = 0.9  # agreement of two models' mistakes beyond chance
SHOWN = 20  # pairs shown side by side
LISTED = 100  # pairs in the ranking
NOISE, GUARANTEE = 25, 30  # copydetect's k-gram length and the match length always found
LEAST_ACCURACY, LEAST_MISTAKES = 0.5, 20  # models whose mistakes are compared


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
    """What reports/similarity-<assignment>.json keeps for the roll: the flagged pairs, and the
    digest of each compared submission (a pair of which one was collected again is stale)."""

    assignment: str
    students: int
    flagged: list[SimilarPair]
    digests: dict[str, str]


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
    def fingerprint(name: str, code: str, boilerplate: set[int]) -> CodeFingerprint:
        return CodeFingerprint(f"{name}.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=list(boilerplate),
                               fp=io.StringIO(code), language="python")

    release = fingerprint("release", release_code(root, assignment), set()).hashes
    plain = {student: fingerprint(student, code, release).hashes for student, code in codes.items()}
    counts = Counter(h for hashes in plain.values() for h in hashes)
    common = {h for h, count in counts.items() if count > max(COMMON_LEAST, COMMON_SHARE * len(codes))}
    prints = {student: fingerprint(student, code, release | common) for student, code in sorted(codes.items())}
    kappas = _mistake_kappas(root, assignment, sorted(prints), {r.student: r.accuracy for r in results})
    pairs, slices = [], {}
    for first, second in combinations(sorted(prints), 2):
        overlap, shares, copied = compare_files(prints[first], prints[second])
        code = round(float(max(shares)), 4) if overlap >= LEAST_TOKENS else 0.0
        pair = SimilarPair(first, second, code, kappas.get((first, second)))
        pairs.append(pair)
        slices[first, second] = copied
    pairs.sort(key=lambda p: (-max(p.code, p.kappa or 0.0), p.first, p.second))
    shown = [_side_by_side(pair, prints, slices[pair.first, pair.second]) for pair in pairs[:SHOWN]]
    flagged = [pair for pair in pairs if pair.flagged]
    record = output_path(root, None, f"reports/similarity-{assignment}.json")
    digests = {r.student: r.submission_sha256 for r in results if r.student in prints}
    record.write_text(json.dumps(to_json(SimilarityFile(assignment, len(prints), flagged, digests)), indent=1) + "\n")
    path = write_html(output_path(root, output, f"reports/similarity-{assignment}.html"), "similarity.html",
                      assignment=assignment, students=len(prints), pairs=pairs[:LISTED], shown=shown,
                      flagged=len(flagged), code_threshold=CODE_THRESHOLD, kappa_threshold=KAPPA_THRESHOLD)
    return SimilarityReport(path, pairs)


def similar_pairs(root: Path, assignment: str, digests: dict[str, str]) -> list[SimilarPair]:
    """The flagged pairs of the last `course similarity` of `assignment` (none if not run)
    whose two submissions are still the ones graded (`digests`: student → digest)."""
    path = root / "reports" / f"similarity-{assignment}.json"
    if not path.is_file():
        return []
    try:
        found = from_json(SimilarityFile, json.loads(path.read_text()))
    except ValueError as error:
        raise CourseError(f"{path.relative_to(root)}: {str(error)[:200]}: run `course similarity {assignment}` again") from None
    return [pair for pair in found.flagged
            if all(digests.get(s) == found.digests.get(s) for s in (pair.first, pair.second))]


def student_code(root: Path, assignment: str, student: str) -> str | None:
    """The code the student wrote, as grading ran it: the answers and the cells added to the
    release (course_lib.pipeline.prepare: whatever metadata the submission gave them)."""
    notebooks = sorted(submitted_dir(root, student, assignment).glob("*.ipynb"))
    if not notebooks or notebooks[0].is_symlink():
        return None
    try:
        submission = read_submission(notebooks[0])
    except ValueError:
        return None
    prepared = prepare(nbformat.read(released_notebook(root, assignment), as_version=4), submission, {}).notebook
    return "\n\n".join(cell.source for _, cell in student_cells(prepared) if cell.cell_type == "code")


def release_code(root: Path, assignment: str) -> str:
    """The code every student receives, which no one's code is judged by. (The master's
    answers are not: a copy of a leaked solution is a copy; what honest students converge to
    is left out by being common in the class.)"""
    release = nbformat.read(released_notebook(root, assignment), as_version=4)
    return "\n\n".join(cell.source for cell in release.cells if cell.cell_type == "code")


def _mistake_kappas(root: Path, assignment: str, students: list[str],
                    accuracies: dict[str, float | None]) -> dict[tuple[str, str], float]:
    """Cohen's κ of every two students' mistakes on the reference test set, computed at once
    from their mistake vectors; only for models that learned (LEAST_ACCURACY) and still err
    (LEAST_MISTAKES): two models predicting one class, or two perfect ones, agree by nature."""
    labels = reference_test_labels(root)
    wrong, named = [], []
    for student in students:
        try:
            predicted = np.asarray(json.loads((private_dir(root, assignment, student) / "predictions.json").read_text()))
        except (OSError, ValueError):
            continue
        mistakes = predicted != labels if predicted.shape == labels.shape else None
        if mistakes is not None and (accuracies.get(student) or 0.0) >= LEAST_ACCURACY and mistakes.sum() >= LEAST_MISTAKES:
            wrong.append(mistakes)
            named.append(student)
    if len(named) < 2:
        return {}
    kappa = mistake_kappas(np.asarray(wrong))
    index = {student: i for i, student in enumerate(named)}
    return {(a, b): round(float(kappa[index[a], index[b]]), 4)
            for a, b in combinations(students, 2) if a in index and b in index}


def mistake_kappas(mistakes: np.ndarray) -> np.ndarray:
    """Cohen's κ of every two rows' mistakes (models × images, True where a model errs), at
    once: agreement beyond what their error rates alone would give."""
    errors = mistakes.astype(np.float64)
    both = errors @ errors.T / errors.shape[1]  # both wrong
    rate = errors.mean(axis=1)
    agree = 1 - rate[:, None] - rate[None, :] + 2 * both  # both wrong or both right
    chance = rate[:, None] * rate[None, :] + (1 - rate[:, None]) * (1 - rate[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1, (agree - chance) / (1 - chance), 1.0)


def _segments(code: str, copied: np.ndarray) -> list[tuple[str, bool]]:
    """The code cut into (text, copied?) pieces, control and bidirectional characters written
    as escapes (the template escapes the markup)."""
    pieces, at = [], 0
    for start, end in zip(*copied) if len(copied) and len(copied[0]) else []:
        pieces += [(code[at:int(start)], False), (code[int(start):int(end)], True)]
        at = int(end)
    return [(printable(text, newlines=True), copied) for text, copied in [*pieces, (code[at:], False)]]


def _side_by_side(pair: SimilarPair, prints: dict, copied: tuple) -> dict:
    return {"pair": pair, "left": _segments(prints[pair.first].raw_code, copied[0]),
            "right": _segments(prints[pair.second].raw_code, copied[1])}
