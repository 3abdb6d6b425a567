"""The verifier's answer on one submission: a verdict per test cell and what it measured.

Made by the verifier (course_lib.pipeline.verify), sent as one line of JSON out of its
sandbox, read back with course_lib.typed_json on the coordinator, where it becomes the cells of
the submission's result (course_lib.results.fill_cells)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    """The verifier's decision on one test cell."""

    points: float
    public: bool  # whether the student's public self-check holds on the exported data
    message: str
    missing: bool = False  # the data the check needs was not exported (a cell above failed?)
    unloadable: bool = False  # the model it needs is one the verifier does not load
    absent: tuple[str, ...] = ()  # the export whose lack decided the verdict (when `missing`)
    seconds: float = 0.0  # the check's time


@dataclass(frozen=True)
class Verdicts:
    """Every test cell's verdict; the accuracy of the student's model on the reference test
    set, measured by the check of `accuracy_cell`, and the classes it predicted there; the
    checks refused because their data killed the verifier twice."""

    cells: dict[str, Verdict]
    accuracy: float | None = None
    accuracy_cell: str | None = None
    predictions: list[int] | None = None
    refused: list[str] = field(default_factory=list)
