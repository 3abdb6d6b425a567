"""nbgrader settings of the MNIST course (read by nbgrader from the course's root folder)."""

import os

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "mnist_tf2"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The gradebook stays at nbgrader's default place: sqlite:///<root>/gradebook.db.

# What a student finds in place of a solution (the notebooks are in French).
c.ClearSolutions.code_stub = {"python": "# VOTRE CODE ICI\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "VOTRE RÉPONSE ICI"

# Training cells take minutes on a 2-core machine; 30 s (nbgrader's default) would cut them.
c.Execute.timeout = 900

# nbgrader gives 0 points to a test cell that wrote anything on stderr. TensorFlow and Keras
# write log lines and warnings there on their own, so a correct cell must not lose its points:
# 1. kernels inherit this process's environment, so TensorFlow's C++ logging is silenced;
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# 2. whatever still reaches stderr from TensorFlow, absl, Keras or Python's warnings module is
#    removed from the outputs before grading (a real exception is an "error" output, not stderr,
#    so a failing cell still gets 0).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?m)^(WARNING: All log messages before absl"
    r"|[IWEF]\d{4} \d\d:\d\d:\d\d"  # absl/C++ log lines: I0000 00:00:1795 ...
    r"|WARNING:(tensorflow|absl)"  # TensorFlow's Python logger
    r"|.*\b\w*Warning: "  # warnings.warn(...): "/path/file.py:12: UserWarning: ..."
    r"|To enable the following instructions)"
)

# Late submissions (after the due date of course.toml): "none" keeps the points, "zero" gives 0.
# A custom rule is a subclass of nbgrader.plugins.LateSubmissionPlugin set here.
c.LateSubmissionPlugin.penalty_method = "zero"
