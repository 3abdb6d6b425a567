"""Integrity signals beyond what a notebook's checks see: a model trained on the test set, a
model pasted in. Each is evidence for the instructor (« suspect »), never points taken: the
grade stays what the verifier decided, the attention list and the export say why to look.

- trained on the test set: an honest model does better on the images it trained on than on
  the test set; one trained on the test set too does as well there. The verifier measures the
  model's mean cross-entropy on 5,000 training images drawn afresh (seen), on the last tenth
  of the training images (unseen: validation_split=0.1 holds them out) and on the test set; the
  statistic is where the test set sits between the two (`test_position`: 0 as seen, 1 as
  unseen; honest runs land near 1). Below the practical's threshold (course.toml
  `[assignments.<a>.integrity] test_position`, calibrated on honest runs by bench/calibrate.py)
  it is flagged. A model that does not do clearly better on seen images than on unseen ones
  (undertrained, or not validated on the last tenth) tells nothing and is never flagged.
  Catches a training on train + test (or on the test set) validated on the last tenth; misses
  one whose validation split holds the test set out, or that shuffles everything together.
- pasted literal: a cell the student wrote that holds more than LITERAL_BYTES of literals
  (strings, bytes, numbers: weights as base64, hex, or a list of floats). The sandbox has no
  network and the notebook's folder starts empty, so weights trained elsewhere can only come in
  through the notebook. Catches weights pasted in any encoding; misses a model small enough
  to fit under the limit (none of the practicals' networks does: TP1's has 623,290 weights).
- history mismatch: the kept model's accuracy on the last tenth of the training images
  (validation_split=0.1's) and on the test set is more than HISTORY_TOLERANCE away from every
  validation accuracy its training history reports: the model was not the one that training
  made. Catches weights loaded after an honest-looking fit; misses pasted weights fine-tuned
  by a last fit, and says nothing when the history reports no validation.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from course_lib.cells import grade_id, is_answer
from course_lib.pipeline.prepare import EXPORT_MARK
from course_lib.results import Suspicion, SuspicionKind
from course_lib.verdicts import ModelEvidence

LITERAL_BYTES = 32 * 1024  # TP1's weights are 2.5 MB as float32, 3.3 MB as base64
HISTORY_TOLERANCE = 0.02
NUMBER_BYTES = 8  # what a numeric literal counts for
WORD = re.compile(r"[A-Za-z0-9+/=_-]{64,}")  # base64 or hex outside Python code (a magic)


def literal_bytes(source: str) -> int:
    """How much data a cell's code carries as literals."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # IPython magics: count long runs of base64-like text
        return sum(len(run) for run in WORD.findall(source))
    total = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            value = node.value
            total += len(value) if isinstance(value, (str, bytes)) else NUMBER_BYTES
    return total


def pasted_literals(prepared: Any, titles: dict[str, str]) -> list[tuple[str, int]]:
    """(the cell's name, its literal bytes) for each cell the student wrote over the limit;
    an added cell is named after the released cell above it."""
    found, above = [], ""
    for cell in prepared["cells"]:
        if EXPORT_MARK in cell.get("metadata", {}):
            continue
        name = grade_id(cell)
        if cell.get("cell_type") == "code" and (is_answer(cell) or not name):
            size = literal_bytes(cell.get("source", ""))
            if size > LITERAL_BYTES:
                found.append((name or f"a cell added after {titles.get(above, above) or 'the start'}", size))
        above = name or above
    return found


def signals(*, evidence: ModelEvidence | None, accuracy: float | None, literals: list[tuple[str, int]],
            test_position: float) -> list[Suspicion]:
    """The suspicions a graded submission raises (`test_position`: the practical's threshold)."""
    found = [Suspicion(SuspicionKind.PASTED_LITERAL, float(size), float(LITERAL_BYTES),
                       f"cell {name} holds {size / 1024:,.0f} KB of literals, more than weights need to be "
                       f"pasted in ({LITERAL_BYTES // 1024} KB)") for name, size in literals]
    if evidence is None:
        return found
    position = evidence.test_position
    if position is not None and position < test_position:
        found.append(Suspicion(
            SuspicionKind.TRAINED_ON_TEST, round(position, 4), test_position,
            f"the model does on the test set as on images it trained on (cross-entropy {evidence.test_loss:.4f} "
            f"on the test set, {evidence.train_loss:.4f} on training images, {evidence.validation_loss:.4f} on "
            f"held-out ones: position {position:.2f} < {test_position:g}): was it trained on the test set?"))
    kept = [value for value in (evidence.validation_accuracy, accuracy) if value is not None]
    reported = evidence.history_validation
    if reported and kept:
        distance = min(abs(a - b) for a in reported for b in kept)
        if distance > HISTORY_TOLERANCE:
            found.append(Suspicion(
                SuspicionKind.HISTORY_MISMATCH, round(distance, 5), HISTORY_TOLERANCE,
                f"the kept model scores {100 * evidence.validation_accuracy:.2f} % on the validation images, "
                f"its training history says {', '.join(f'{100 * a:.2f}' for a in reported[-3:])} %: the "
                "model is not the one that training made (weights loaded or pasted?)"))
    return found
