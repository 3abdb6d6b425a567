"""What a student finds in place of a solution: the course's nbgrader stubs, in French.

nbgrader_config.py gives them to nbgrader (ClearSolutions) when the release is made; the
self-check (course_lib.selfcheck) recognises an answer still missing by them, since a student's
folder has no release to compare with.
"""

from __future__ import annotations

from typing import Any

from course_lib.cells import nbgrader

CODE_STUB = "# TON CODE ICI\nraise NotImplementedError()"
TEXT_STUB = "TA RÉPONSE ICI"
EARLIER_TEXT_STUBS = ("VOTRE RÉPONSE ICI",)  # releases before the notebooks' one register
_RAISE = CODE_STUB.splitlines()[-1]


def still_stub(cell: Any) -> bool:
    """True for a solution cell not answered yet: code that still has the stub's `raise`
    line (the release keeps given lines around it, e.g. a print after it), or a graded written
    answer that is still the stub, or empty."""
    meta = nbgrader(cell)
    if not meta.get("solution"):
        return False
    source = cell.get("source", "")
    if cell.get("cell_type") == "code":
        return not source.strip() or any(line.strip() == _RAISE for line in source.splitlines())
    return bool(meta.get("grade")) and source.strip() in ("", TEXT_STUB, *EARLIER_TEXT_STUBS)
