"""The students' `course` command, the one of the student package: `course check` only.

The student package (`make student-package`, course_lib/student_package.py) holds what a released
notebook imports and what `course check` runs, nothing of the instructor's side; this is its
entry point. In the course's own install, `course` (course_lib.cli) has `check` too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from course_lib import __version__
from course_lib.safe_text import say
from course_lib.selfcheck import add_check_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description="Vérifier un notebook du cours MNIST avant de le rendre.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} (paquet étudiant)")
    add_check_command(parser.add_subparsers(dest="command", required=True, metavar="COMMANDE"))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except Exception as error:  # noqa: BLE001 (a bug of the package: one line, for the instructor)
        say(f"course : erreur interne : {type(error).__name__}: {error} (signale-le à ton enseignant)",
            file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
