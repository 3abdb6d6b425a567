"""Why tests failed: the first cell that raised, the answers left unfilled, the knock-ons.

One failing cell (a loading cell without network, a typo) makes every later test fail for want
of its variables; shown as a row of errors, the real cause is lost. Read from the executed
notebook (course_lib.pipeline.prepare's cells), this finds the first cell outside the tests
that raised, the solution cells still holding the release's stub, and, for each test, which
cell above it last defined each variable, and how that cell ended. A failed test is then traced
through the variables it reads (course_lib.pipeline.explain): to its own answer (below the test
above it) that defines them, left unfilled ("not answered"), or to a cell that failed or was
left unfilled above (a knock-on of that cause). Nothing here decides points: only what the
messages say.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from course_lib.cells import grade_id as cell_grade_id, nbgrader
from course_lib.pipeline.prepare import EXPORT_MARK
from course_lib.safe_text import printable

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CauseKind(StrEnum):
    ERROR = "error"  # the cell raised
    NOT_ANSWERED = "not-answered"  # the answer still holds the release's stub


@dataclass(frozen=True)
class Cause:
    """A cell the tests below it depend on: it raised (`error`), or still holds the stub."""

    kind: CauseKind
    grade_id: str
    title: str
    error: str = ""


@dataclass(frozen=True)
class Provider:
    """The last cell above a test that defined a variable (`position`: its index): its `cause`
    None when it ran well, else what it failed for (its own stub or error, or the first cause
    above it); `direct`: that cause is the cell itself."""

    cause: Cause | None
    direct: bool
    position: int


@dataclass
class Diagnosis:
    first_error: Cause | None = None  # the first cell that raised, unless a stub raised before
    unanswered: list[Cause] = field(default_factory=list)
    upstream: dict[str, Cause] = field(default_factory=dict)  # test grade_id → nearest cause above it
    providers: dict[str, dict[str, Provider]] = field(default_factory=dict)  # test → variable → its provider
    since: dict[str, int] = field(default_factory=dict)  # test → the test cell above (-1): answers below it are its own


def diagnose(executed: Any, unanswered: set[str], titles: dict[str, str],
             answers: dict[str, set[str]] | None = None) -> Diagnosis:
    """The causes in `executed` (the prepared notebook after its run); `unanswered`: the
    solution cells still holding the stub; `titles`: course_lib.titles.cell_titles of the
    release; `answers`: the variables each answer defines in the master (a stub defines
    nothing, but it stands for those)."""
    found = Diagnosis()
    nearest: Cause | None = None  # the last stub or first error met so far
    defined: dict[str, Provider] = {}
    previous_id, previous_test = "", -1
    for position, cell in enumerate(executed.cells):
        if EXPORT_MARK in cell.get("metadata", {}):
            continue
        meta = nbgrader(cell)
        grade_id = cell_grade_id(cell)
        title = titles.get(grade_id or previous_id, grade_id)
        previous_id = grade_id or previous_id
        if meta.get("grade") and not meta.get("solution"):  # a test cell
            if nearest is not None:
                found.upstream[grade_id] = nearest
            found.providers[grade_id] = dict(defined)
            found.since[grade_id], previous_test = previous_test, position
            continue
        stub = bool(meta.get("solution")) and grade_id in unanswered
        if stub:
            found.unanswered.append(Cause(CauseKind.NOT_ANSWERED, grade_id, title))
        if cell.cell_type != "code":
            continue
        error = _error(cell)
        names = assigned_names(cell.get("source", ""))
        if stub and error:  # a stub in a demonstration skipped by grading is no cause
            nearest = found.unanswered[-1]
            provider = Provider(nearest, True, position)
            names |= (answers or {}).get(grade_id, set())
        elif error and nearest is None:
            found.first_error = nearest = Cause(CauseKind.ERROR, grade_id, title, error)
            provider = Provider(nearest, True, position)
        elif error:
            provider = Provider(nearest, False, position)
        else:
            provider = Provider(None, True, position)
        defined.update(dict.fromkeys(names, provider))
    return found


def assigned_names(source: str) -> set[str]:
    """The names a cell's code binds at its top level or below (assignments, for loops,
    imports, functions, classes); none when it is not Python (IPython magics, a syntax error)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def read_names(expression: str) -> set[str]:
    """The variables an export's expression reads (course_lib.specs: `hist.history` reads hist)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _error(cell: Any) -> str:
    """The cell's error as its last traceback line says it ("NameError: name 'x' …")."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip().rstrip(":")
            line = ANSI.sub("", text).splitlines()[0] if text else "Error"
            return printable(line)[:300]
    return ""
