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

from course_lib.errors import CourseError

SECRET_ENV = "COURSE_SECRET"
SECRET_FILE = "course.secret"
SEED_ENV = "COURSE_SEED"  # how the kernel gets the student's seed (course_lib.runtime)
LEAST = 16  # characters of a secret


def course_secret(root: Path) -> bytes:
    """$COURSE_SECRET, else the course's secret file, made (owner-only) when missing, unless
    submissions were graded already: a new secret would give every student a new seed."""
    given = os.environ.get(SECRET_ENV)
    if given is not None:
        if len(given) < LEAST:
            raise CourseError(f"${SECRET_ENV} is shorter than {LEAST} characters: not a secret")
        return given.encode()
    path = root / SECRET_FILE
    if not path.exists():
        if any((root / "autograded").glob("*/*.grading/grading.json")):
            raise CourseError(f"{SECRET_FILE} is missing, yet submissions were graded with one: restore it (or set "
                              f"${SECRET_ENV}); a new secret would give every student a new seed")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32) + "\n")
    try:
        secret = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path} cannot be read ({type(error).__name__}): set ${SECRET_ENV} or restore it") from None
    if len(secret) < LEAST:
        raise CourseError(f"{path} holds no secret ({LEAST} characters at least): restore it")
    return secret.encode()


def student_seed(secret: bytes, assignment: str, student: str) -> int:
    """The seed of `student` in `assignment`: an HMAC of both by the secret, below 2**31."""
    digest = hmac.new(secret, f"{assignment}\0{student}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % 2**31
