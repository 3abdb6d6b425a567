"""The sandbox on small commands: where its user may write (course_lib.pipeline.sandbox)."""

from __future__ import annotations

import json

from course_lib.pipeline.execute import PYTHON
from course_lib.pipeline.sandbox import Limits, Mounts, start

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
