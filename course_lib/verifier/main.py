"""The verifier: a clean process that decides every autograded point from exported data.

It never imports or runs student code: it reads the exports (course_lib.verifier.exports) and
compares them with the reference (MNIST, the course's digit samples) as the assignment's spec
(course_lib.specs.<assignment>) says. For each test cell it reproduces the public check (the
student's self-check: compared with what the kernel said, to detect tampering) and the hidden
one, and returns points and a message (course_lib.verdicts).

Run as `python -m course_lib.verifier.main ASSIGNMENT` in a sandbox: each request comes as a
line of JSON on stdin ({"assignment", "exports": {grade_id: items}, "points": {grade_id: max},
"settings", "folder"}), the exports are read from that folder, the verdicts go as one line of
JSON to stdout.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from course_lib.safe_text import printable
from course_lib.specs.protocol import load_spec
from course_lib.typed_json import to_json
from course_lib.verdicts import Verdict, Verdicts
from course_lib.verifier.exports import Exported, NotExported, Unloadable, forget_models

PROGRESS = "checking "  # the line the verifier writes on stderr before each test cell's check


def verify(request: dict[str, Any], exports_root: Path) -> Verdicts:
    """Verdicts for every test cell of the request, and what the verifier measured."""
    spec = load_spec(request["assignment"])
    context = spec.Context(settings=request["settings"])
    forget_models()
    verdicts, accuracy_cell = {}, None
    for grade_id, items in request["exports"].items():
        print(f"{PROGRESS}{grade_id}", file=sys.stderr, flush=True)  # which check a crash was in
        started = time.perf_counter()
        data = Exported(exports_root / grade_id, items)
        verdict = _judge(spec.CHECKS[grade_id], data, context, request["points"][grade_id])
        verdicts[grade_id] = replace(verdict, seconds=round(time.perf_counter() - started, 2))
        if accuracy_cell is None and context.accuracy is not None:
            accuracy_cell = grade_id
    return Verdicts(verdicts, context.accuracy, accuracy_cell, context.predictions, evidence=context.evidence)


def _judge(check: Any, data: Exported, context: Any, points: float) -> Verdict:
    """The check's verdict; its messages are the students' (in French), cut to a line's length
    (they may quote the student's values)."""
    public = False
    try:
        check.public(data, context)
        public = True
        earned = check.hidden(data, context, points)
    except AssertionError as error:  # NotExported and Unloadable included
        missing = isinstance(error, NotExported)
        return Verdict(0.0, public, printable(str(error))[:300], missing=missing,
                       unloadable=isinstance(error, Unloadable), absent=(error.key,) if missing and error.key else ())
    except Exception as error:  # a malformed export: the check could not hold
        return Verdict(0.0, public, f"vérification impossible ({type(error).__name__})")
    if earned is None:
        return Verdict(float(points), True, "")
    return Verdict(float(earned.points), True, printable(earned.message))


def main() -> None:
    """`python -m course_lib.verifier.main ASSIGNMENT`: it is started before the notebooks
    run and loads Keras, the checks and the reference meanwhile; then each line of its input is
    a request whose exports are in the folder it names (below the working directory), and each
    answer is one line of JSON. It serves a whole batch of one assignment."""
    import keras  # noqa: F401 (the slow import, done while the first notebook runs)

    spec = load_spec(sys.argv[1])
    spec.Context().mnist  # noqa: B018 (loaded now, kept for every request)
    for line in sys.stdin:
        request = json.loads(line)
        folder = Path.cwd() / request["folder"]
        if request["assignment"] != sys.argv[1] or folder.parent != Path.cwd():
            raise SystemExit("the request is for another assignment or folder")
        print(json.dumps(to_json(verify(request, folder))), flush=True)


if __name__ == "__main__":
    main()
