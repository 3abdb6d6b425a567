"""nbgrader settings of the MNIST course (read by nbgrader from the course's root folder)."""

import os

from jupyter_core.paths import jupyter_data_dir

from course_lib.runtime import CELL_TIMEOUT
from course_lib.stubs import CODE_STUB, TEXT_STUB

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "mnist_tf2"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The gradebook: nbgrader's default, sqlite:///<root>/gradebook.db, unless $COURSE_DB_URL names
# another database, e.g. postgresql://grader@127.0.0.1:5432/mnist_tf2 (docs/instructor-guide.md: PostgreSQL).
if os.environ.get("COURSE_DB_URL"):
    c.CourseDirectory.db_url = os.environ["COURSE_DB_URL"]

# nbgrader's exchange (`course release --exchange`, students' `nbgrader fetch_assignment` and
# `nbgrader submit`, `course collect ASSIGNMENT exchange`). nbgrader's default,
# /usr/local/share/nbgrader/exchange, needs root to create; this one does not. On a JupyterHub,
# set it here and in the students' nbgrader_config.py to a folder every user can write, e.g.
# /srv/nbgrader/exchange, or set $NBGRADER_EXCHANGE_ROOT (docs/instructor-guide.md: nbgrader's exchange).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT") or os.path.join(
    jupyter_data_dir(), "nbgrader", "exchange"
)

# What a student finds in place of a solution (the notebooks are in French; `course check`
# recognises unanswered cells by them).
c.ClearSolutions.code_stub = {"python": CODE_STUB}
c.ClearSolutions.text_stub = TEXT_STUB

# The per-cell time limit of a graded run (`course grade` reads it; the sandbox also bounds the
# whole notebook, course.toml), the same as a student's `course check`: course_lib.runtime.
c.Execute.timeout = CELL_TIMEOUT

# Kernels inherit this process's environment: TensorFlow's C++ logging stays quiet. (Points
# never depend on a kernel's stderr: the verifier decides them from exported data, docs/grading.md.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Formgrader's Generate Feedback (nbgrader generate_feedback) writes the course's own feedback
# page, made from the grading result only: never the notebook, never a file beside it.
c.GenerateFeedback.preprocessors = []
c.GenerateFeedback.exporter_class = "course_lib.instructor.feedback.FeedbackExporter"

# Late submissions: the due dates and the penalty rule are course.toml's ([assignments.<name>]
# due, [late]); `course grade` applies them (course_lib.late), not nbgrader's autograde.
