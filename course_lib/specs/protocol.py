"""What a practical's spec is: the contract between a notebook's test cells and the grader.

A practical is a master notebook (source/<assignment>/) and one module here,
course_lib/specs/<assignment>.py, that defines:

- `CHECKS`: {grade id of a test cell: `Check`}, exactly the release's autograded test cells
  (`contract_problems` says where they differ; `course release` and `course grade` refuse a
  practical whose spec and release differ, a fast test checks the committed ones);
- `KEEP`: which exports the pipeline keeps for the feedback pages and the instructor (`Keep`);
- `Context` (this module's, or a subclass): the settings and reference data a check reads, and
  what it measured (`accuracy` on the reference test set, the `predictions` there, and the
  `evidence` the integrity signals read: course_lib.verdicts.ModelEvidence).

A `Check` has three functions. `exports(draw)`: the items the export cell after the test cell
saves (`value`, `array`, `model`, `call`, `file` below), given a random generator so that
sampled rows and function inputs are drawn afresh at each grading. `public(data, context)`:
the student's own self-check, reproduced on the exported data (it raises AssertionError when
it fails). `hidden(data, context, points)`: what only the grader checks; it raises
AssertionError (0 points, its message the student's), or returns None (full points) or a
course_lib.checks.Grade (partial credit). `data` is the verifier's reader of the exports
(course_lib.verifier.exports.Exported: `value`, `array`, `model`, `file`, `saved_model`,
`items`); no check runs student code. Messages are French: the student reads them.

This package is hidden from the sandbox: student code never sees it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.cells import test_cells
from course_lib.checks import Grade
from course_lib.errors import CourseError
from course_lib.verdicts import ModelEvidence

Items = list[dict[str, Any]]
# The metadata a released test cell carries: whether its check has a hidden part.
HIDDEN_CHECK = "hidden_check"


@dataclass(frozen=True)
class Check:
    exports: Callable[[np.random.Generator], Items]
    public: Callable[[Any, "Context"], None]
    hidden: Callable[[Any, "Context", float], Grade | None]


def no_hidden_check(data: Any, context: "Context", points: float) -> None:
    return None


@dataclass(frozen=True)
class Keep:
    """The exports the pipeline keeps, each as (test cell's grade id, item key): the training
    history (a dict of lists of numbers: the feedback page's curves) and the trained model
    (kept for the instructor when the verifier measured its accuracy)."""

    history: tuple[str, str] | None = None
    model: tuple[str, str] | None = None


@dataclass
class Context:
    """The settings of the grading (thresholds), the reference data, what was measured."""

    settings: dict[str, Any] = field(default_factory=dict)
    accuracy: float | None = None
    predictions: list[int] | None = None
    evidence: ModelEvidence | None = None

    @property
    def mnist(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        return reference_mnist()

    @property
    def sample_digits(self) -> np.ndarray:
        return reference_sample_digits()


@functools.cache
def reference_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST, loaded once per verifier process (it serves a whole batch)."""
    from course_lib.data import load_mnist

    return load_mnist()


@functools.cache
def reference_sample_digits() -> np.ndarray:
    """The course's sample handwritten digits as the practicals prepare them (28 × 28, uint8),
    once per verifier process (0.3 s each time)."""
    from course_lib.digits import load_digit_images, sample_digits_dir

    images, _, _ = load_digit_images(sample_digits_dir())
    images.setflags(write=False)  # shared by every submission of the batch
    return images


# Export items: the expression is evaluated in the student's namespace by the export cell.
def value(key: str, expr: str) -> dict[str, Any]:
    return {"key": key, "kind": "value", "expr": expr}


def array(key: str, expr: str, rows: Sequence[int] | None = None) -> dict[str, Any]:
    item = {"key": key, "kind": "array", "expr": expr}
    if rows is not None:
        item["rows"] = [int(row) for row in rows]
    return item


def model(key: str, expr: str) -> dict[str, Any]:
    return {"key": key, "kind": "model", "expr": expr}


def call(key: str, expr: str, *args: Any) -> dict[str, Any]:
    """The result of calling `expr` on `args`: arrays (sent as lists), ints or strings."""
    plain = [a.tolist() if isinstance(a, np.ndarray) else a for a in args]
    return {"key": key, "kind": "call", "expr": expr, "args": plain}


def file(key: str, path: str) -> dict[str, Any]:
    return {"key": key, "kind": "file", "expr": path}


def load_spec(assignment: str) -> Any:
    """course_lib.specs.<assignment>, with its CHECKS, KEEP and Context; CourseError if none."""
    try:
        spec = importlib.import_module(f"course_lib.specs.{assignment}")
    except ModuleNotFoundError as error:
        if error.name != f"course_lib.specs.{assignment}":
            raise
        raise CourseError(f"{assignment} has no hidden checks (course_lib/specs/{assignment}.py)") from None
    lacking = [name for name in ("CHECKS", "KEEP", "Context") if not hasattr(spec, name)]
    if lacking:
        raise CourseError(f"course_lib/specs/{assignment}.py defines no {', '.join(lacking)} "
                          "(course_lib.specs.protocol says what a spec is)")
    return spec


def contract_problems(notebook: Any, spec: Any) -> list[str]:
    """Where a practical's notebook (its release or master) and its spec differ, one line each:
    a test cell without a check would stay at 0 ("missing") for every student."""
    cells, checks = test_cells(notebook), spec.CHECKS
    problems = [f"test cell {grade_id} has no check in CHECKS: it would score 0 for everyone"
                for grade_id in cells if grade_id not in checks]
    problems += [f"CHECKS has {grade_id}, which is no test cell of the notebook" for grade_id in checks
                 if grade_id not in cells]
    for grade_id, cell in cells.items():
        said = cell.metadata.get("course_lib", {}).get(HIDDEN_CHECK)
        if grade_id in checks and said != (checks[grade_id].hidden is not no_hidden_check):
            problems.append(f"test cell {grade_id}: its metadata course_lib.{HIDDEN_CHECK} is {said}, "
                            "its check says otherwise")
    draw = np.random.default_rng(0)
    for kind, kept in (("history", spec.KEEP.history), ("model", spec.KEEP.model)):
        if kept is not None:
            grade_id, key = kept
            keys = {item["key"] for item in checks[grade_id].exports(draw)} if grade_id in checks else set()
            if key not in keys:
                problems.append(f"KEEP.{kind} names {grade_id}/{key}, which no check of CHECKS exports")
    return problems


def checked_spec(assignment: str, notebook: Any) -> Any:
    """The spec of `assignment`, whose CHECKS are `notebook`'s test cells (CourseError, one
    line, where they differ: grading would give 0 to a cell for everyone)."""
    spec = load_spec(assignment)
    problems = contract_problems(notebook, spec)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CourseError(f"{assignment}: the release and course_lib/specs/{assignment}.py differ: {problems[0]}{more}")
    return spec
