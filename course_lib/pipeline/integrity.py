"""Integrity signals beyond what a notebook's checks see: a model trained on the test set, a
model pasted in. Each is evidence for the instructor (« suspect »), never points taken: the
grade stays what the verifier decided, the attention list and the export say why to look.

- trained on the test set: an honest model does better on the images it trained on than on
  the test set; one trained on the test set too does as well there. The verifier measures the
  model's mean cross-entropy on 5,000 training images drawn afresh (seen), on the last tenth
  of the training images (unseen: validation_split=0.1 holds them out), on the test set and on
  each of its ten consecutive blocks; the coordinator compares its predictions with the
  practical's hard images. Four rules, calibrated on honest runs by bench/calibrate.py
  (course.toml `[assignments.<a>.integrity]`, course.IntegrityThresholds):
  * position: where the test set sits between seen and unseen (`test_position`: 0 as seen, 1
    as unseen; honest runs land near 1), flagged below `test_position`. A model that does not
    do clearly better on seen images than on unseen ones (undertrained, or not validated on the
    last tenth) tells nothing here; then a test-set loss under TEST_BETTER of both others is
    flagged (trained on the test set alone). Catches train + test validated on the last tenth.
  * blocks: the test set's blocks differ in difficulty, by the same amounts for every honest
    model (`test_blocks`: each block's share of the loss); a model trained on some blocks
    does far better on them than their share says. Each block's loss over its share, sorted:
    honest models' sit close together, a model trained on some blocks falls into two groups;
    the largest ratio between neighbours (among blocks of a share over LEAST_SHARE) is flagged
    above `block_gap`, for a model that earns accuracy points (`judged_from`, the practical's
    partial threshold: a weaker one gains nothing, and errs unlike the calibrated ones).
    Catches np.concatenate([x_train, x_test]) with validation_split (the first 3,000 test
    images trained on, the last 7,000 validating) and any consecutive part of the test set.
  * hard images: the test images most honest models get wrong (`hard_images`: those
    70 % of the calibration's honest models misclassify) stay wrong for an honest model of any
    recipe; a model trained on them learned them. The share it gets right is flagged above
    `hard_recovered` (for a model that earns accuracy points, as the blocks). Catches the
    test set trained on in any order, whole or in part (a part of it recovers about as large
    a part of them), for a model that memorises what it trains on.
  * ceiling: a test accuracy above what the practical's network reaches honestly (`ceiling`,
    above every honest run and the published results for the architecture). Catches a model
    that learned most of the test set, however it was shuffled in.
  Misses: a small part of the test set trained on by a network that learns it no better than
  the training images (none of the rules sees a gain it did not make); losses flattened by the
  student's own training (label smoothing, a scaled last layer) weaken the two loss rules
  (position, blocks), not the other two; a validation split that holds the test set out (it
  judges nothing then, costs nothing).
- pasted literal: a cell the student wrote that holds more than LITERAL_BYTES of data
  (literals and comments of code: weights as base64, hex, a list of floats; the text of a
  written answer). The sandbox has no network, and the kernel's folder holds only the notebook
  that runs (the submission's outputs, attachments and metadata never reach it), so weights
  trained elsewhere can only come in through the cells the student wrote. Catches weights
  pasted in any encoding; misses a model small enough to fit under the limit (none of the
  practicals' networks does: TP1's has 623,290 weights).
- history mismatch: the kept model does better on the last tenth of the training images
  (validation_split=0.1's) and on the test set (validation_data=(x_test, …)'s) than every
  validation accuracy its training history reports, by more than HISTORY_TOLERANCE: the model
  was not the one that training made. Only better counts: a model that does worse than its
  history on the course's preprocessing (a student who did not normalise) gains nothing. Catches weights loaded after
  an honest-looking fit; misses pasted weights fine-tuned by a last fit, and says nothing when
  the history reports no validation; flags a model trained further by a second fit.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Any

import numpy as np
from course_lib.course import IntegrityThresholds
from course_lib.pipeline.prepare import student_cells
from course_lib.results import Suspicion, SuspicionKind
from course_lib.verdicts import TEST_IMAGES, ModelEvidence

LITERAL_BYTES = 32 * 1024  # TP1's weights are 2.5 MB as float32, 3.3 MB as base64
DATA_TOKENS = {tokenize.STRING, tokenize.NUMBER, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
TEST_BETTER = 0.5  # a test-set loss under this share of both others: far better than on anything it saw
# (an honest convnet's test loss is down to 0.7 of its held-out loss: MNIST's test images are easier)
HISTORY_TOLERANCE = 0.02
LEAST_SHARE = 0.5  # of the mean block's loss: a block under it is too easy to tell anything
LEAST_LOSS = 1e-5  # a block's loss as recorded at the least (the verifier rounds to 6 decimals)
WORD = re.compile(r"[A-Za-z0-9+/=_-]{64,}")  # base64 or hex outside Python code (a magic)


@dataclass(frozen=True)
class BlockGap:
    """The test set's blocks, each by its loss over its honest share, sorted: the largest ratio
    between two neighbours (honest models' blocks sit close together; a model trained on some
    falls into two groups) and the image ranges of the blocks below it."""

    ratio: float
    below: str


def block_gap(blocks: list[float], shares: tuple[float, ...]) -> BlockGap | None:
    """The gap in a model's test-set blocks (None without honest shares to compare with).
    Blocks honest models get nearly all right (a share under LEAST_SHARE of the mean) are left
    out: their loss is a handful of images, and training on them gains nothing. The blocks
    below the gap are at most half of those judged: a model trained on some blocks does better
    there; one block worse than its share (an honest network's weak spot) is no evidence."""
    if not shares or len(blocks) != len(shares):
        return None
    mean_share = sum(shares) / len(shares)
    relative = sorted((max(loss, LEAST_LOSS) * mean_share / share, block)
                      for block, (loss, share) in enumerate(zip(blocks, shares)) if share >= LEAST_SHARE * mean_share)
    if len(relative) < 2:
        return None
    ratio, at = max((relative[at + 1][0] / relative[at][0], at) for at in range(len(relative) // 2))
    size = TEST_IMAGES // len(blocks)
    return BlockGap(ratio, ", ".join(f"{block * size:,}–{(block + 1) * size - 1:,}"
                                     for block in sorted(block for _, block in relative[:at + 1])))


def literal_bytes(source: str) -> int:
    """How much data a cell's code carries as literals and comments (strings, bytes, numbers
    of any base, `# …`: all readable back by the code, `In` holding every cell's source)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):  # IPython magics: long base64-like runs
        return sum(len(run) for run in WORD.findall(source))
    return sum(len(token.string) for token in tokens
               if token.type in DATA_TOKENS)


def pasted_literals(prepared: Any) -> list[tuple[str, int]]:
    """(the cell's name, its data bytes) for each cell the student wrote over the limit: code
    by its literals and comments, text by its length (the kernel's folder holds the notebook
    that runs, so a written answer is readable too)."""
    found = []
    for name, cell in student_cells(prepared):
        source = cell.get("source", "")
        size = literal_bytes(source) if cell.get("cell_type") == "code" else len(source.encode())
        if size > LITERAL_BYTES:
            found.append((name, size))
    return found


def hard_recovered(wrong: np.ndarray | None, hard_images: tuple[int, ...]) -> float | None:
    """The share of the practical's hard test images a model gets right (`wrong`: its mistakes
    on the test set, image by image); None without both."""
    if wrong is None or not hard_images or len(wrong) <= max(hard_images):
        return None
    return round(1.0 - float(np.mean(wrong[list(hard_images)])), 4)


def signals(*, evidence: ModelEvidence | None, accuracy: float | None, recovered: float | None,
            literals: list[tuple[str, int]], thresholds: IntegrityThresholds) -> list[Suspicion]:
    """The suspicions a graded submission raises, by the practical's `thresholds`
    (`recovered`: hard_recovered of its predictions)."""
    found = [Suspicion(SuspicionKind.PASTED_LITERAL, float(size), float(LITERAL_BYTES),
                       f"cell {name} holds {size / 1024:,.0f} KB of literals, more than weights need to be "
                       f"pasted in ({LITERAL_BYTES // 1024} KB)") for name, size in literals]
    judged = (accuracy or 0.0) >= thresholds.judged_from
    if recovered is not None and recovered > thresholds.hard_recovered and judged:
        found.append(Suspicion(
            SuspicionKind.HARD_IMAGES, recovered, thresholds.hard_recovered,
            f"the model is right on {100 * recovered:.0f} % of the {len(thresholds.hard_images)} test images that "
            f"most honest models get wrong (flagged above {100 * thresholds.hard_recovered:.0f} %): "
            "was it trained on the test set?"))
    if accuracy is not None and thresholds.ceiling is not None and accuracy > thresholds.ceiling:
        found.append(Suspicion(
            SuspicionKind.BEYOND_CEILING, accuracy, thresholds.ceiling,
            f"the model scores {100 * accuracy:.2f} % on the test set, more than this practical's network reaches "
            f"honestly ({100 * thresholds.ceiling:.2f} %): was it trained on the test set?"))
    if evidence is None:
        return found
    position, training_loss = evidence.test_position, min(evidence.train_loss, evidence.validation_loss)
    if position is None and evidence.test_loss < TEST_BETTER * training_loss:
        found.append(Suspicion(
            SuspicionKind.TRAINED_ON_TEST, round(evidence.test_loss / training_loss, 4), TEST_BETTER,
            f"the model does better on the test set than on any training image (cross-entropy {evidence.test_loss:.4f} "
            f"on the test set, {evidence.train_loss:.4f} and {evidence.validation_loss:.4f} on training images): "
            "was it trained on the test set?"))
    if position is not None and position < thresholds.test_position:
        found.append(Suspicion(
            SuspicionKind.TRAINED_ON_TEST, round(position, 4), thresholds.test_position,
            f"the model does on the test set as on images it trained on (cross-entropy {evidence.test_loss:.4f} "
            f"on the test set, {evidence.train_loss:.4f} on training images, {evidence.validation_loss:.4f} on "
            f"held-out ones: position {position:.2f} < {thresholds.test_position:g}): was it trained on the test set?"))
    gap = block_gap(evidence.test_blocks, thresholds.test_blocks)
    if gap is not None and gap.ratio > thresholds.block_gap and judged:
        found.append(Suspicion(
            SuspicionKind.TEST_BLOCKS, round(gap.ratio, 3), thresholds.block_gap,
            f"the model does {gap.ratio:.1f} times better on test images {gap.below} than on the other blocks of the "
            f"test set, relative to what honest models do there (at most {thresholds.block_gap:g} times): was it "
            "trained on part of the test set?"))
    kept = [value for value in (evidence.validation_accuracy, accuracy) if value is not None]
    reported = evidence.history_validation  # the student's word (finite values only: the verifier's)
    if reported and kept:
        # Better on every set its validation may have been (the held-out tenth, the test set):
        # worse is no gain (a preprocessing of its own), and a set of another difficulty is no proof.
        better = min(kept) - max(reported)
        if better > HISTORY_TOLERANCE:
            found.append(Suspicion(
                SuspicionKind.HISTORY_MISMATCH, round(better, 5), HISTORY_TOLERANCE,
                f"the kept model scores {100 * evidence.validation_accuracy:.2f} % on the held-out training images"
                + (f" and {100 * accuracy:.2f} % on the test set" if accuracy is not None else "")
                + f", its training history says {', '.join(f'{100 * a:.2f}' for a in reported[-3:])} % in "
                "validation: the model is not the one that training made (weights loaded or pasted?)"))
    return found
