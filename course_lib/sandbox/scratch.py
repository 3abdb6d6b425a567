"""The scratch folders of runs and verifiers: bounded while in use, removed whatever they hold.

A run's folders (its notebook, the files the student's code writes, the kernel's sockets) are
made in the host's temporary folder. Grading as root, the folder the notebook writes is a tmpfs
of its own, bounded in bytes and in files (`Limits.disk_mb`, `INODES`): a notebook cannot fill
the host's disk, and unmounting it drops whatever it made without walking it. Elsewhere (and
for the other folders) removal walks the tree with `rm`, which needs no recursion: a tree of
thousands of levels costs time, never a RecursionError, and nothing of it is kept.

A grader killed by SIGKILL leaves its scratch folders (and mounts): the next grader removes
those older than any grading process keeps one (`sweep`); a failure there is never a grader's.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RUN, VERIFIER = "course-grade-", "course-verify-"
LIFETIME = 7 * 24 * 3600  # a verifier serves a whole batch: no scratch folder is kept longer
INODES = 200_000
MS_NOSUID, MS_NODEV, MNT_DETACH = 0x2, 0x4, 0x2


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A new folder in the host's temporary folder, private to this process, removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        remove(folder)


@contextmanager
def bounded_folder(path: Path, *, size_mb: int) -> Iterator[Path]:
    """`path` made as a tmpfs of `size_mb` and INODES files (as root: the sandbox that uses it
    is given it), else a plain folder; unmounted (or removed) at the end."""
    path.mkdir(mode=0o700)
    mounted = os.geteuid() == 0 and _mount_tmpfs(path, size_mb)
    try:
        yield path
    finally:
        if mounted:
            _unmount(path)
        remove(path)


def remove(path: Path) -> None:
    """Remove `path` and everything below it without recursion in this process: folders a
    notebook made unreadable are opened first, links are never followed."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    subprocess.run(["chmod", "-R", "u+rwx", "--", str(path)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)


def sweep(folder: Path | None = None) -> None:
    """Remove the scratch folders that killed graders left in `folder` (default: the host's
    temporary folder), once older than LIFETIME: a folder still in use is never touched.
    Nothing here stops a grading: whatever fails is left for the next sweep."""
    folder = folder or Path(tempfile.gettempdir())
    now = time.time()
    for prefix in (RUN, VERIFIER):
        for path in folder.glob(f"{prefix}*"):
            try:
                if path.is_symlink() or not path.is_dir() or now - path.stat().st_mtime <= LIFETIME:
                    continue
                for mount in _mounts_below(path):
                    _unmount(mount)
                remove(path)
            except Exception:  # noqa: BLE001 (a sweep never stops a grading)
                continue


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(path: Path, size_mb: int) -> bool:
    options = f"size={size_mb}m,nr_inodes={INODES},mode=0700"
    done = _libc().mount(b"tmpfs", str(path).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode())
    return done == 0


def _unmount(path: Path) -> None:
    _libc().umount2(str(path).encode(), MNT_DETACH)


def _mounts_below(path: Path) -> list[Path]:
    """The mount points at or below `path` (deepest first), from this process's mount table."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    points = [Path(line.split()[1].encode().decode("unicode_escape")) for line in lines if len(line.split()) > 1]
    below = [p for p in points if p == path or path in p.parents]
    return sorted(below, key=lambda p: len(p.parts), reverse=True)
