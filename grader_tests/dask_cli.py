"""A Dask cluster started from the command line, as an instructor would on their machines:
`dask scheduler` and `dask worker` processes, here on 127.0.0.1 only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))


@contextmanager
def dask_cli_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """Start a scheduler on a free port of 127.0.0.1 and `workers` single-thread workers, each
    in its own process group; yield the address and the worker processes; stop them all."""
    from distributed import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder,
             "start_new_session": True}
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)
    started = [subprocess.Popen([DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                 "--no-dashboard", "--memory-limit", "4GiB"], **quiet)
               for _ in range(workers)]
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, started
    finally:
        for process in [*started, scheduler]:
            kill_group(process)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL `process` and all it started (a worker's nanny, worker and sandboxes)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
