"""Third-party noise kept off the instructor's terminal, each filtered where it is made, so that
real errors (ours, nbgrader's, a database's) still show.

- nbgrader's gradebook triggers SQLAlchemy "not in session … autoflush" warnings from its own
  code (nbgrader/api.py) on every submission it records: ignored when they come from nbgrader,
  shown from anywhere else;
- TensorFlow's C++ start-up lines ("cudart_stub … GPU will not be used") come from the
  kernels and the verifier, whose output is captured inside the sandbox, never relayed; the
  TF_CPP_MIN_LOG_LEVEL given to their environment (sandbox.py) quiets the rest.
"""

from __future__ import annotations

import warnings


def quiet_third_parties() -> None:
    """Called once by the `course` command before any subcommand runs."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader(\.|$)")
