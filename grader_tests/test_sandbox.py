"""The sandbox on small commands: where its user may write (course_lib.sandbox.bubblewrap)."""

from __future__ import annotations

import json

from course_lib.pipeline.worker import PYTHON
from course_lib.sandbox.bubblewrap import Limits, Mounts, start

PROBE = """
import json, os, pathlib
can = {}
for folder in ("/tmp", "/home/sandbox", "/usr", os.path.dirname(os.__file__)):
    try:
        (pathlib.Path(folder) / "probe").write_text("x")
        can[folder] = True
    except OSError:
        can[folder] = False
print(json.dumps({"uid": os.getuid(), "can": can}))
"""


def test_the_sandbox_user_writes_its_tmp_and_its_folder_only(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with start([PYTHON, "-I", "-c", PROBE], mounts=Mounts(work=work), limits=Limits(), env={}) as running:
        outcome = running.finish()
    assert outcome.returncode == 0, outcome.stderr
    found = json.loads(outcome.stdout)
    assert found["uid"] != 0
    assert list(found["can"].values()) == [True, True, False, False]
    assert (work / "probe").read_text() == "x"  # the one folder shared with the host


GRADER = """
import sys, time
from pathlib import Path
from course_lib.pipeline.worker import PYTHON
from course_lib.sandbox.bubblewrap import Limits, Mounts, start
running = start([PYTHON, "-I", "-c", "import time; time.sleep(300)"], mounts=Mounts(work=Path(sys.argv[1])),
                limits=Limits(), env={})
print(running.process.pid, *(running.cgroup.folders if running.cgroup else ()), flush=True)
time.sleep(300)
"""


def test_a_sandbox_does_not_outlive_its_grader_killed_without_warning(tmp_path):
    """A Dask worker killed with its coordinator: its sandboxes die too, and their control
    groups go (the group's watchdog; bwrap's --die-with-parent alone leaves the group behind)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import pytest

    (tmp_path / "work").mkdir()
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(tmp_path / "work")], stdout=subprocess.PIPE, text=True)
    pid, *groups = grader.stdout.readline().split()
    if not groups:
        grader.kill()
        pytest.skip("no writable cgroup here (not root): the sandbox relies on bwrap's --die-with-parent")
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}")
    while any(os.path.exists(group) for group in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(os.path.exists(group) for group in groups)
