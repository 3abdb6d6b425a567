"""nbgrader settings of the MNIST course (read by nbgrader from the course's root folder)."""

import os

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "mnist_tf2"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The gradebook stays at nbgrader's default place: sqlite:///<root>/gradebook.db.

# What a student finds in place of a solution (the notebooks are in French).
c.ClearSolutions.code_stub = {"python": "# VOTRE CODE ICI\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "VOTRE RÉPONSE ICI"

# The per-cell time limit of a graded run (`course grade` reads it; the sandbox also bounds the
# whole notebook, course.toml). Training cells take minutes on a 2-core machine.
c.Execute.timeout = 900

# Kernels inherit this process's environment: TensorFlow's C++ logging stays quiet. (Points
# never depend on a kernel's stderr: the verifier decides them from exported data, README.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Formgrader's Generate Feedback (nbgrader generate_feedback) writes the course's own feedback
# page, made from the grading result only: never the notebook, never a file beside it.
c.GenerateFeedback.preprocessors = []
c.GenerateFeedback.exporter_class = "course_lib.instructor.feedback.FeedbackExporter"

# Late submissions (after the due date of course.toml): "none" keeps the points, "zero" gives 0.
# A custom rule is a subclass of nbgrader.plugins.LateSubmissionPlugin set here.
c.LateSubmissionPlugin.penalty_method = "zero"
