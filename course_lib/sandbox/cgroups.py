"""A control group per sandbox: the memory and process limits a whole process tree shares.

TensorFlow reserves far more address space than it uses, so RLIMIT_AS cannot bound its memory;
a cgroup counts what the processes really use, and the kernel's OOM killer ends the biggest one
when the group reaches its limit. cgroup v2 is used where its memory controller is enabled and
writable, else the v1 `memory` and `pids` hierarchies; `Cgroup.create` returns None when neither
can be written (e.g. an instructor who is not root), and the sandbox falls back to rlimits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "course-sandbox-"
STALE_SECONDS = 24 * 3600  # a group this old whose grader was killed (e.g. with its Dask worker)


@dataclass(frozen=True)
class Cgroup:
    """One group (one folder per hierarchy) holding a sandbox's processes."""

    folders: tuple[Path, ...]

    @classmethod
    def create(cls, *, memory_bytes: int, max_pids: int) -> Cgroup | None:
        name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
        try:
            return _create_v2(name, memory_bytes, max_pids) or _create_v1(name, memory_bytes, max_pids)
        except OSError:
            return None

    def add(self, pid: int) -> None:
        """Move `pid` into the group (its children are born in it)."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the group for memory."""
        for folder in self.folders:
            for counters in ("memory.events", "memory.oom_control"):  # v2, v1
                try:
                    lines = (folder / counters).read_text().splitlines()
                except OSError:
                    continue
                if any(line.split()[:1] == ["oom_kill"] and int(line.split()[1]) > 0 for line in lines):
                    return True
        return False

    def destroy(self) -> None:
        """Kill whatever is left in the group and remove it."""
        for _ in range(50):
            left = self.pids()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError:
                pass


    def watchdog(self) -> subprocess.Popen:
        """A process outside the sandbox that destroys the group once its standard input ends:
        when the grader closes it, or dies (a Dask worker killed with its coordinator), so that
        no sandbox outlives its grader, whatever became of bwrap's --die-with-parent."""
        return subprocess.Popen([sys.executable, "-I", "-m", __name__, *map(str, self.folders)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)


def _own_group(hierarchy: Path, controller: str | None) -> Path:
    """The group this process is in, in `hierarchy` (sandboxes are made below it)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or (controller in controllers.split(",")):
            return hierarchy / path.lstrip("/")
    return hierarchy


def _create_v2(name: str, memory_bytes: int, max_pids: int) -> Cgroup | None:
    if not (ROOT / "cgroup.controllers").is_file():
        return None
    parent = _own_group(ROOT, None)
    enabled = (parent / "cgroup.subtree_control").read_text().split()
    if "memory" not in enabled or "pids" not in enabled:
        return None
    _sweep(parent)
    folder = parent / name
    folder.mkdir()
    (folder / "memory.max").write_text(str(memory_bytes))
    (folder / "memory.swap.max").write_text("0")
    (folder / "pids.max").write_text(str(max_pids))
    return Cgroup((folder,))


def _create_v1(name: str, memory_bytes: int, max_pids: int) -> Cgroup | None:
    memory_root, pids_root = ROOT / "memory", ROOT / "pids"
    if not (memory_root / "memory.limit_in_bytes").is_file() or not pids_root.is_dir():
        return None
    memory = _own_group(memory_root, "memory") / name
    pids = _own_group(pids_root, "pids") / name
    _sweep(memory.parent)
    _sweep(pids.parent)
    memory.mkdir()
    try:
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = memory / "memory.memsw.limit_in_bytes"
        if swap.is_file():
            swap.write_text(str(memory_bytes))
        pids.mkdir()
        (pids / "pids.max").write_text(str(max_pids))
    except OSError:
        Cgroup((memory, pids)).destroy()
        raise
    return Cgroup((memory, pids))


def _sweep(parent: Path) -> None:
    """Remove the empty groups left by graders that were killed (their processes are dead: a
    group with a process in it cannot be removed), once they are a day old, so that a group
    just made by a grader running beside this one is never touched."""
    now = time.time()
    for folder in parent.glob(f"{PREFIX}*"):
        try:
            if now - folder.stat().st_mtime > STALE_SECONDS:
                folder.rmdir()
        except OSError:
            pass


if __name__ == "__main__":  # Cgroup.watchdog: wait for the end of standard input, then destroy
    sys.stdin.buffer.read()
    Cgroup(tuple(Path(folder) for folder in sys.argv[1:])).destroy()
