"""Why tests failed: the first cell that raised, the answers left unfilled, the knock-ons.

One failing cell (a loading cell without network, a typo) makes every later test fail for want
of its variables; shown as a row of errors, the real cause is lost. Read from the executed
notebook (course_lib.pipeline.prepare's cells), this finds the first cell outside the tests
that raised, and the solution cells still holding the release's stub. A test whose data was
missing is then a knock-on of the nearest such cause above it, or "not answered" when the
answer it checks was never written. Nothing here decides points: only what the messages say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from course_lib.pipeline.prepare import EXPORT_MARK
from course_lib.results import NOT_ANSWERED
from course_lib.safe_text import printable

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ERROR = "error"


@dataclass(frozen=True)
class Cause:
    """A cell the tests below it depend on: it raised (`error`), or still holds the stub."""

    kind: str
    grade_id: str
    title: str
    error: str = ""


@dataclass
class Diagnosis:
    first_error: Cause | None = None  # the first cell that raised, unless a stub raised before
    unanswered: list[Cause] = field(default_factory=list)
    upstream: dict[str, Cause] = field(default_factory=dict)  # test grade_id → nearest cause above it
    own_unanswered: dict[str, Cause] = field(default_factory=dict)  # test → its own answer, unfilled
    own_raised: set[str] = field(default_factory=set)  # tests whose own cells raised


def diagnose(executed: Any, unanswered: set[str], titles: dict[str, str]) -> Diagnosis:
    """The causes in `executed` (the prepared notebook after its run); `unanswered`: the
    solution cells still holding the stub; `titles`: course_lib.titles.cell_titles of the release.

    The cells between two tests are the second test's own: when one of its answers there is a
    stub, it is "not answered" (the last one named, the nearest); when one of them raised
    after a cause above, a knock-on."""
    found = Diagnosis()
    nearest: Cause | None = None  # the last stub or first error met so far
    stubs: list[Cause] = []  # the test's own answers still holding the stub
    raised = False
    previous_id = ""
    for cell in executed.cells:
        if EXPORT_MARK in cell.get("metadata", {}):
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id") or ""
        title = titles.get(grade_id or previous_id, grade_id)
        previous_id = grade_id or previous_id
        if meta.get("grade") and not meta.get("solution"):  # a test cell
            if nearest is not None:
                found.upstream[grade_id] = nearest
            if stubs:
                found.own_unanswered[grade_id] = stubs[-1]
            if raised:
                found.own_raised.add(grade_id)
            stubs, raised = [], False
            continue
        if meta.get("solution") and grade_id in unanswered:
            found.unanswered.append(Cause(NOT_ANSWERED, grade_id, title))
        if cell.cell_type != "code":
            continue
        error = _error(cell)
        raised = raised or bool(error)
        if meta.get("solution") and grade_id in unanswered:
            if error:  # a stub in a demonstration skipped by grading is no cause
                stubs.append(found.unanswered[-1])
                nearest = found.unanswered[-1]
        elif error and nearest is None:
            found.first_error = nearest = Cause(ERROR, grade_id, title, error)
    return found


def _error(cell: Any) -> str:
    """The cell's error as its last traceback line says it ("NameError: name 'x' …")."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip().rstrip(":")
            line = ANSI.sub("", text).splitlines()[0] if text else "Error"
            return printable(line)[:300]
    return ""
