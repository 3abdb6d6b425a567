"""Running a command in a bubblewrap sandbox: what student code (and the verifier) may touch.

The sandbox has its own user, PID, network, IPC, UTS and mount namespaces: no network but its
own loopback, no view of the host's processes, read-only views of the Python installation,
the virtual environment, course_lib (its `specs` package, the hidden checks, hidden under an
empty folder unless asked for) and the data it is given; writable: its folder `/home/sandbox`
(its home and working directory), the folders it is given (the kernel's sockets) and an empty
`/tmp` of at most `disk_mb`. A seccomp filter (course_lib.sandbox.seccomp) refuses tracing,
key rings, new namespaces and mounts. Limits: memory and processes through a cgroup (rlimits
where no cgroup can be written), CPU time, file size, open files, and a wall clock after which
every process of the sandbox is killed. When the command returns, nothing it started
survives: the PID namespace dies with its first process, and the cgroup is emptied.

Run as root, bubblewrap makes the mounts and `setpriv` then drops to a uid leased for this
sandbox alone (course_lib.sandbox.uids), with no capabilities and `no_new_privs`; run as
another user, the sandbox is a user namespace of that user, one per sandbox.
"""

from __future__ import annotations

import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import course_lib
from course_lib.errors import CourseError
from course_lib.sandbox import seccomp, uids
from course_lib.sandbox.cgroups import Cgroup

SANDBOX_UID = SANDBOX_GID = 65534  # nobody / nogroup: the user inside a user namespace
WORK = "/home/sandbox"  # must not hold any host path mounted read-only
HOME = WORK
# Host folders the interpreter and its libraries need, read-only (those that exist).
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/fonts", "/etc/mime.types")


@dataclass(frozen=True)
class Limits:
    """What one sandboxed run may use (course.toml's [sandbox] section, see `limits_from`)."""

    memory_mb: int = 6144
    max_pids: int = 512
    cpu_seconds: int = 3600
    wall_seconds: float = 1800.0
    file_size_mb: int = 512
    disk_mb: int = 1024  # the notebook's folder (a tmpfs, as root) and /tmp, each
    open_files: int = 1024
    stdout_mb: int = 64


@dataclass(frozen=True)
class Outcome:
    """How a sandboxed run ended; its stdout (bounded), the tail of its stderr."""

    returncode: int | None
    stdout: bytes
    stderr: str
    seconds: float
    timed_out: bool = False
    oom_killed: bool = False


@dataclass(frozen=True)
class Mounts:
    """What the sandbox sees besides the system: `work` as /home/sandbox, and host path →
    sandbox path, read-only (`ro`) or writable (`rw`)."""

    work: Path
    ro: Mapping[str, str] = field(default_factory=dict)
    rw: Mapping[str, str] = field(default_factory=dict)
    show_specs: bool = False


def bubblewrap() -> str:
    """The bwrap executable, or a one-line error naming the package."""
    found = shutil.which("bwrap")
    if found is None:
        raise CourseError(
            "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap): "
            "student code is never run without a sandbox unless you pass --unsafe-no-sandbox"
        )
    return found


def start(
    command: Sequence[str], *, mounts: Mounts, limits: Limits, env: Mapping[str, str],
    sandbox: bool = True, interactive: bool = False, pass_fds: Sequence[int] = (), quiet: bool = False,
) -> Running:
    """Start `command` (its paths as seen inside) in a new sandbox; `Running.finish` gives it
    its standard input and waits, or, `interactive`, `Running.ask` sends it one line at a time
    and reads its one-line answers. `pass_fds` stay open in it; `quiet`: its output goes
    nowhere (a notebook's kernel could write without end). Without `sandbox`
    (--unsafe-no-sandbox), the same command runs with the same limits in `mounts.work`, but
    without any namespace."""
    if not sandbox:
        env = {**_base_env(), "HOME": str(mounts.work), **env}
        return Running([*command], limits, env, mounts.work, interactive, pass_fds, quiet)
    lease = uids.lease() if os.geteuid() == 0 else None
    rules = seccomp.filter_fd() if seccomp.supported() else None
    try:
        arguments = _bwrap_arguments(mounts, env, limits, rules) + list(command)
        if lease is not None:
            for folder in (mounts.work, *map(Path, mounts.rw)):
                os.chown(folder, lease.uid, lease.uid)
            arguments = _as_root(arguments, lease.uid)
        fds = (*pass_fds, *([rules] if rules is not None else []))
        return Running(arguments, limits, None, None, interactive, fds, quiet, lease)
    except BaseException:
        if lease is not None:
            lease.release()
        raise
    finally:
        if rules is not None:
            os.close(rules)  # bubblewrap has read it, or holds its own copy


class Running:
    """A started run under its limits; on the wall clock (counted from the start) its process
    group is killed (bwrap's sandbox dies with it), then whatever is left in its cgroup."""

    def __init__(self, arguments: list[str], limits: Limits, env: Mapping[str, str] | None,
                 cwd: Path | None, interactive: bool = False, pass_fds: Sequence[int] = (),
                 quiet: bool = False, lease: uids.Lease | None = None) -> None:
        self.limits, self.lease = limits, lease
        self.cgroup = Cgroup.create(memory_bytes=limits.memory_mb << 20, max_pids=limits.max_pids)
        self.started = time.perf_counter()
        self.out, self.err = (None, None) if quiet else (tempfile.TemporaryFile(), tempfile.TemporaryFile())
        cgroup = self.cgroup
        stdout = subprocess.PIPE if interactive else (self.out or subprocess.DEVNULL)
        self.process = subprocess.Popen(
            arguments, stdin=subprocess.PIPE, stdout=stdout, stderr=self.err or subprocess.DEVNULL,
            env=env, cwd=cwd, pass_fds=pass_fds,
            preexec_fn=lambda: _limit_self(limits, cgroup), start_new_session=True,
        )
        self.watchdog = cgroup.watchdog() if cgroup else None

    def ask(self, line: bytes, timeout: float) -> bytes | None:
        """Send one line, read the one-line answer; None when the process died or took longer
        than `timeout` (it is then killed)."""
        try:
            self.process.stdin.write(line.rstrip(b"\n") + b"\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            answer = self.process.stdout.readline(self.limits.stdout_mb << 20) if ready else b""
        except (BrokenPipeError, OSError):
            answer = b""
        if not answer.endswith(b"\n"):
            self.__exit__()
            return None
        return answer

    def stderr_tail(self) -> str:
        return _read_tail(self.err, 8192) if self.err else ""

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        """Whatever happened, nothing of the run is left (a no-op after `finish`)."""
        self.stop()

    def stop(self) -> bool:
        """Kill the run if it is still going and free what it held; whether its cgroup saw the
        kernel's OOM killer."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        oom = self.cgroup.oom_killed() if self.cgroup else False
        if self.cgroup:
            self.cgroup.destroy()
        if self.watchdog is not None:
            self.watchdog.communicate()  # its input ends: it finds the group gone, and exits
        if self.lease is not None:
            self.lease.release()
        return oom

    def finish(self, stdin: bytes = b"") -> Outcome:
        timed_out = False
        left = self.limits.wall_seconds - (time.perf_counter() - self.started)
        try:
            self.process.communicate(stdin, timeout=max(left, 0.1))
        except subprocess.TimeoutExpired:
            timed_out = True
        except BrokenPipeError:  # it ended before reading its input
            self.process.wait()
        finally:
            oom = self.stop()
        seconds = time.perf_counter() - self.started
        stdout = _read_bounded(self.out, self.limits.stdout_mb << 20) if self.out else b""
        stderr = self.stderr_tail()
        for stream in (self.out, self.err):
            if stream:
                stream.close()
        return Outcome(
            returncode=None if timed_out else self.process.returncode, stdout=stdout,
            stderr=stderr, seconds=round(seconds, 1), timed_out=timed_out, oom_killed=oom,
        )


def _bwrap_arguments(mounts: Mounts, env: Mapping[str, str], limits: Limits, rules: int | None) -> list[str]:
    args = [
        bubblewrap(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session",
        # /tmp as on any machine, writable by the sandbox's user (bwrap makes it root's 0755).
        "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
        "--perms", "1777", "--size", str(limits.disk_mb << 20), "--tmpfs", "/tmp",
    ]
    if rules is not None:
        args += ["--seccomp", str(rules)]
    if os.geteuid() != 0:
        args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID)]
    binds: list[tuple[str, str, str]] = []
    for path in SYSTEM_PATHS + SYSTEM_FILES:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            binds.append(("--ro-bind", path, path))
    binds += [("--ro-bind", path, path) for path in _python_paths()]
    package = str(Path(course_lib.__file__).resolve().parent)
    binds.append(("--ro-bind", package, package))
    binds += [("--ro-bind", host, inside) for host, inside in mounts.ro.items()]
    binds += [("--bind", host, inside) for host, inside in mounts.rw.items()]
    binds.append(("--bind", str(mounts.work), WORK))
    for kind, host, inside in binds:
        args += _parents(inside) + [kind, host, inside]
    if not mounts.show_specs:
        args += ["--tmpfs", f"{package}/specs"]
    args += ["--clearenv"]
    for name, value in {**_base_env(), **env}.items():
        args += ["--setenv", name, value]
    # The work folder belongs to the sandbox's user: enter it once that user.
    return args + ["--", "env", f"--chdir={WORK}"]


def _parents(path: str) -> list[str]:
    """Folders leading to a mount point, traversable by the sandbox's user (bwrap would make
    them private to root)."""
    args: list[str] = []
    for parent in reversed(Path(path).parents[:-1]):
        if not os.path.islink(parent) and str(parent) not in SYSTEM_PATHS:
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _python_paths() -> list[str]:
    """The interpreter's installation and the virtual environment (read-only)."""
    paths = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}
    paths |= {os.path.realpath(sysconfig.get_path(k)) for k in ("purelib", "platlib", "stdlib")}
    top = sorted(paths)
    return [p for p in top if not any(p != q and p.startswith(q + os.sep) for q in top)]


def _base_env() -> dict[str, str]:
    scripts = os.path.dirname(os.path.abspath(sys.executable))
    return {
        "PATH": f"{scripts}:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME, "USER": "sandbox", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def _as_root(arguments: list[str], uid: int) -> list[str]:
    """Mounts are made by bwrap as root; the command then runs as `uid`, without privileges."""
    at = arguments.index("--")  # setpriv goes before `env --chdir`
    drop = [
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
    ]
    return arguments[: at + 1] + drop + arguments[at + 1 :]


def _limit_self(limits: Limits, cgroup: Cgroup | None) -> None:
    """In the child before bwrap starts: join the cgroup, set the rlimits its tree inherits."""
    if cgroup is not None:
        cgroup.add(os.getpid())
    else:  # no cgroup: the address space is the only bound left (generous: TensorFlow)
        memory = (limits.memory_mb << 20) * 4
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_pids, limits.max_pids))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
    size = limits.file_size_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_bounded(stream, limit: int) -> bytes:
    stream.seek(0)
    return stream.read(limit)


def _read_tail(stream, size: int) -> str:
    stream.seek(0, os.SEEK_END)
    stream.seek(max(stream.tell() - size, 0))
    return stream.read().decode(errors="replace")
