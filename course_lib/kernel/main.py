"""Inside the kernel's sandbox: the notebook's IPython kernel, on the connection file the grader wrote.

It is ipykernel's own launcher but for one thing: the kernel's sockets are files in a folder
that only this sandbox and the runner's see, and the runner is another user
(course_lib.sandbox.uids), so they are made writable by any user (connecting to a socket file
needs write permission on it). Everything after that runs with the usual umask.

Run as `python -m course_lib.kernel.main CONNECTION_FILE` (course_lib.pipeline.worker).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    usual = os.umask(0)
    try:
        # No history file: nbclient starts its kernels so, and the home folder is the student's.
        app.initialize(["-f", sys.argv[1], "--HistoryManager.hist_file=:memory:"])
    finally:
        os.umask(usual)
    app.start()


if __name__ == "__main__":
    main()
