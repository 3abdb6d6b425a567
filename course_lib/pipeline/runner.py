"""Inside the sandbox: execute the prepared notebook in a fresh kernel, cell by cell.

Reads {"notebook", "cell_timeout", "max_output_bytes"} as JSON on stdin and writes
{"notebook", "kernel_died", "timeout_cell", "dead_cell", "truncated"} as JSON on stdout (the
index of the cell that timed out, and of the cell running when the kernel died). Errors in cells
are recorded as their outputs and execution goes on (nbgrader's autograde does the same); a
cell that runs past `cell_timeout` ends the run, as does a kernel that dies. Outputs beyond
`max_output_bytes` (for the whole notebook) are dropped, with a note in the cell that went over.

Run as `python -m course_lib.pipeline.runner`; the kernel's own stdout and stderr go nowhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

TRUNCATED = "[sortie tronquée : ce notebook a dépassé la taille maximale des sorties]\n"


class BoundedClient(NotebookClient):
    """A notebook client that keeps at most `max_output_bytes` of outputs in all."""

    def __init__(self, notebook: Any, *, max_output_bytes: int, **kwargs: Any) -> None:
        super().__init__(notebook, **kwargs)
        self.max_output_bytes = max_output_bytes
        self.output_bytes = 0
        self.truncated = False

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        size = len(json.dumps(msg.get("content", {}), default=str))
        self.output_bytes += size
        if self.output_bytes > self.max_output_bytes:
            if not self.truncated:
                self.truncated = True
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=TRUNCATED))
            return None
        return super().output(outs, msg, display_id, cell_index)


def execute(
    notebook: Any, *, cell_timeout: int, max_output_bytes: int, cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run the cells of `notebook` in place, until one times out or the kernel dies. The kernel
    starts in `cwd` with `env` (default: this process's folder and environment, as in the
    sandbox): `course check` runs a student's notebook in its own folder this way."""
    client = BoundedClient(
        notebook, max_output_bytes=max_output_bytes, timeout=cell_timeout, allow_errors=True,
        kernel_name="python3", startup_timeout=120, record_timing=False,
        # Every output is in once the last cell has answered, and the exports are on disk: a
        # graceful shutdown would only wait (about 2.5 s) for TensorFlow's threads to end.
        shutdown_kernel="immediate",
    )
    kernel_died, timeout_cell, dead_cell = False, None, None
    kernel: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if cwd is not None:
        kernel["cwd"] = cwd
    if env is not None:
        kernel["env"] = env
    with client.setup_kernel(**kernel):
        for index, cell in enumerate(notebook.cells):
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                timeout_cell = index
                break
            except DeadKernelError:
                kernel_died, dead_cell = True, index
                break
    return {
        "notebook": notebook, "kernel_died": kernel_died, "timeout_cell": timeout_cell,
        "dead_cell": dead_cell, "truncated": client.truncated,
    }


def main() -> None:
    request = json.load(sys.stdin)
    notebook = nbformat.from_dict(request["notebook"])
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    outcome = execute(
        notebook, cell_timeout=request["cell_timeout"], max_output_bytes=request["max_output_bytes"]
    )
    json.dump(outcome, sys.stdout)


if __name__ == "__main__":
    main()
