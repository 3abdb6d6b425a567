"""A user of its own for every sandbox that runs at the same time on this machine.

Grading as root, a sandbox drops to a uid leased from a pool that no account uses. Two
sandboxes never share one: a notebook's kernel cannot signal, trace or read the files of the
runner that reports on it, nor of another student's kernel graded beside it, and key rings and
other per-user state are not shared either. A lease is an exclusive `flock` on a file of a
folder only root may write, so every grading process of the machine (the coordinator, Dask
workers, two courses at once) draws from one pool, and a lease ends with the process that held
it (its sandboxes die with it: bubblewrap's --die-with-parent).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import tempfile
from pathlib import Path

from course_lib.errors import CourseError

BASE, SIZE = 1_900_000_000, 4096  # far above any account or container range in use
FOLDER = Path(tempfile.gettempdir()) / "course-sandbox-uids"


def pool_range() -> range:
    return range(BASE, BASE + SIZE)


class Lease:
    """One uid (its gid the same number) for one sandbox, until `release`."""

    def __init__(self, uid: int, fd: int) -> None:
        self.uid, self.fd = uid, fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # the lock goes with it
            self.fd = -1


def lease() -> Lease:
    """A uid no other sandbox of this machine holds now (grading as root only)."""
    FOLDER.mkdir(mode=0o700, exist_ok=True)
    if FOLDER.is_symlink() or FOLDER.stat().st_uid != os.geteuid():
        raise CourseError(f"{FOLDER} is not this user's own folder: sandbox uids cannot be leased")
    start = secrets.randbelow(SIZE)
    for step in range(SIZE):
        uid = BASE + (start + step) % SIZE
        fd = os.open(FOLDER / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return Lease(uid, fd)
    raise CourseError(f"all {SIZE} sandbox uids are in use on this machine")
