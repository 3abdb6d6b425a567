"""`python -m course_lib` is the `course` command: the instructor's, or in the student package
(which holds no course_lib.cli) the students' `course check`."""

import sys

try:
    from course_lib.cli import main
except ModuleNotFoundError as missing:  # the student package has no course_lib.cli
    if missing.name != "course_lib.cli":
        raise
    from course_lib.student_cli import main

sys.exit(main())
