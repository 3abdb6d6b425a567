"""Where a notebook is running: in a student's Jupyter, or re-executed by the autograder."""

from __future__ import annotations

import os

# Seconds one cell may run when a notebook is graded (nbgrader_config.py's c.Execute.timeout
# is this number) and when a student checks it (`course check`): training cells take minutes
# on a 2-core machine.
CELL_TIMEOUT = 900


def autograding() -> bool:
    """True while nbgrader autogrades the notebook (it sets NBGRADER_EXECUTION=autograde).

    Demonstration cells (repeated trainings) test this to be skipped during grading, so that
    grading a submission costs about one training, while students still run them.
    """
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def grading_seed(default: int) -> int:
    """The seed the notebook's seed cell sets: `default` in the student's Jupyter, and while
    the grader runs the notebook the student's own seed (course_lib.seeds), which it gives the
    kernel as $COURSE_SEED."""
    given = os.environ.get("COURSE_SEED", "")
    return int(given) if autograding() and given.isdigit() else default
