"""Each student's own seed: what the grader trains a submission's network with.

With one SEED for the class, two students with the same code train bit-identical networks, and
nothing about their models can tell copying from honesty. At grading, the notebook's seed cell
(`SEED = grading_seed(1234)`, course_lib.runtime) takes instead a seed drawn from a course
secret and the student's id: stable from one grading to the next, different for every student
and practical, unknowable without the secret. The secret is the environment's $COURSE_SECRET,
else `course.secret` beside course.toml, made on first use (never committed: .gitignore; never
in the release or a sandbox: only the seed is given to the kernel).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from course_lib.atomic import write_atomic
from course_lib.errors import CourseError

SECRET_ENV = "COURSE_SECRET"
SECRET_FILE = "course.secret"
SEED_ENV = "COURSE_SEED"  # how the kernel gets the student's seed (course_lib.runtime)


def course_secret(root: Path) -> bytes:
    """$COURSE_SECRET, else the course's secret file, made (owner-only) when missing."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode()
    path = root / SECRET_FILE
    if not path.exists():
        write_atomic(path, (secrets.token_hex(32) + "\n").encode())
        path.chmod(0o600)
    try:
        secret = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path} cannot be read ({type(error).__name__}): set ${SECRET_ENV} or remove it") from None
    if len(secret) < 16:
        raise CourseError(f"{path} holds no secret (16 characters at least): remove it, a new one is made")
    return secret.encode()


def student_seed(secret: bytes, assignment: str, student: str) -> int:
    """The seed of `student` in `assignment`: an HMAC of both by the secret, below 2**31."""
    digest = hmac.new(secret, f"{assignment}\0{student}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % 2**31
