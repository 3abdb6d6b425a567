"""Inside the runner's sandbox: execute the prepared notebook, cell by cell, in the kernel's sandbox.

Reads {"notebook", "cell_timeout", "max_output_bytes", "connection", "alive_fd"} as JSON on
stdin and writes {"notebook", "kernel_died", "timeout_cell", "dead_cell", "truncated",
"cell_seconds"} as JSON on stdout (the index of the cell that timed out, and of the cell running
when the kernel died; the wall time of each cell run, as this process saw it: what
bench/training_speed.py reads of a grading's training).
The kernel is not this process's child: it runs in a sandbox of its own, as another user
(course_lib.pipeline.worker starts both), and is reached through the ZeroMQ sockets of its
`connection` (IPC files in the one folder both sandboxes see). It cannot signal, trace or
write to this process, whose report is therefore the grader's own; `alive_fd` is a pipe the
grader closes when the kernel's sandbox ends, which is how a dead kernel is told from a slow
one. Errors in cells are recorded as their outputs and execution goes on (nbgrader's autograde
does the same); a cell that runs past `cell_timeout` ends the run, as does a kernel that dies.
Outputs beyond `max_output_bytes` (for the whole notebook, every kind of output message
counted, updates of a display included) are dropped, with a note in the cell that went over.

`course check` runs the same cells with a kernel of its own (`run_notebook` without `connection`).
"""

from __future__ import annotations

import ctypes
import json
import select
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

TRUNCATED = "[sortie tronquée : ce notebook a dépassé la taille maximale des sorties]\n"
OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "error", "update_display_data"}
STARTUP_SECONDS = 120
PR_SET_DUMPABLE = 4


class BoundedClient(NotebookClient):
    """A notebook client that keeps at most `max_output_bytes` of outputs in all: every output
    message counts, an update of a display once per output it replaces. Past the bound,
    outputs are dropped, but for errors, kept without their traceback (a test cell's verdict
    is whether it raised)."""

    def __init__(self, notebook: Any, *, max_output_bytes: int, **kwargs: Any) -> None:
        super().__init__(notebook, **kwargs)
        self.max_output_bytes = max_output_bytes
        self.output_bytes = 0
        self.truncated = False

    def process_message(self, msg: dict, cell: Any, cell_index: int) -> Any:
        kind, content = msg.get("msg_type"), msg.get("content", {})
        if kind not in OUTPUT_MESSAGES:
            return super().process_message(msg, cell, cell_index)
        transient = content.get("transient") or {}
        shown = self._display_id_map.get(transient.get("display_id"), {}) if isinstance(transient, dict) else {}
        copies = 1 + sum(len(indices) for indices in shown.values())
        self.output_bytes += len(json.dumps(content, default=str)) * copies
        if self.output_bytes <= self.max_output_bytes:
            return super().process_message(msg, cell, cell_index)
        if not self.truncated:
            self.truncated = True
            cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=TRUNCATED))
        if kind == "error":
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=str(content.get("ename", "Error"))[:100],
                evalue=str(content.get("evalue", ""))[:300], traceback=[]))
        return None


class ExternalKernelClient(AsyncKernelClient):
    """A client of a kernel this process did not start: alive while `alive_fd` is open."""

    alive_fd = -1

    async def _async_is_alive(self) -> bool:
        ended, _, _ = select.select([self.alive_fd], [], [], 0)
        return not ended

    is_alive = _async_is_alive


@contextmanager
def _external_kernel(client: BoundedClient, connection: dict[str, Any], alive_fd: int) -> Iterator[None]:
    """`client` connected to the kernel of `connection`, as nbclient connects to one it starts."""
    kc = ExternalKernelClient()
    kc.load_connection_info(connection)
    kc.alive_fd = alive_fd
    kc.start_channels()
    try:
        run_sync(kc.wait_for_ready)(timeout=STARTUP_SECONDS)
        kc.allow_stdin = False
        client.kc = kc
        yield
    finally:
        kc.stop_channels()


def run_notebook(
    notebook: Any, *, cell_timeout: int, max_output_bytes: int, connection: dict[str, Any] | None = None,
    alive_fd: int = -1, cwd: str | None = None, env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run the cells of `notebook` in place, until one times out or the kernel dies: in the
    kernel of `connection` (grading), or in a kernel started here in `cwd` with `env` (default:
    this process's folder and environment): `course check` runs a student's notebook so."""
    client = BoundedClient(
        notebook, max_output_bytes=max_output_bytes, timeout=cell_timeout, allow_errors=True,
        kernel_name="python3", startup_timeout=STARTUP_SECONDS, record_timing=False,
        # Every output is in once the last cell has answered, and the exports are on disk: a
        # graceful shutdown would only wait (about 2.5 s) for TensorFlow's threads to end.
        shutdown_kernel="immediate",
    )
    kernel_died, timeout_cell, dead_cell, index, cell_seconds = False, None, None, 0, []
    if connection is not None:
        session = _external_kernel(client, connection, alive_fd)
    else:
        from subprocess import DEVNULL

        options: dict[str, Any] = {"stdout": DEVNULL, "stderr": DEVNULL}
        options.update({k: v for k, v in (("cwd", cwd), ("env", env)) if v is not None})
        session = client.setup_kernel(**options)
    try:
        with session:
            for index, cell in enumerate(notebook.cells):
                started = time.perf_counter()
                try:
                    client.execute_cell(cell, index)
                    cell_seconds.append(round(time.perf_counter() - started, 3))
                except CellTimeoutError:
                    timeout_cell = index
                    break
                except DeadKernelError:
                    kernel_died, dead_cell = True, index
                    break
    except RuntimeError:  # the kernel died (or never answered) while starting, or stopping
        kernel_died, dead_cell = True, index
    return {
        "notebook": notebook, "kernel_died": kernel_died, "timeout_cell": timeout_cell,
        "dead_cell": dead_cell, "truncated": client.truncated, "cell_seconds": cell_seconds,
    }


def main() -> None:
    # Not dumpable: no process of another sandbox (nor of this one) may trace it or read its memory.
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    request = json.load(sys.stdin)
    notebook = nbformat.from_dict(request["notebook"])
    outcome = run_notebook(
        notebook, cell_timeout=request["cell_timeout"], max_output_bytes=request["max_output_bytes"],
        connection=request["connection"], alive_fd=request["alive_fd"],
    )
    json.dump(outcome, sys.stdout)


if __name__ == "__main__":
    main()
