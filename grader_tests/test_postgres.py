"""The gradebook on a real PostgreSQL server: release → collect → grade → export unchanged.

The test starts a throw-away cluster of its own (initdb, pg_ctl) on 127.0.0.1 and a free port;
outside CI, a machine without PostgreSQL's server binaries skips it and says why.
"""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PROJECT
from e2e import ADVERSARIAL, MINI, mini_course

from course_lib.cli import main
from course_lib.gradebook import gradebook_url, open_gradebook

pytestmark = pytest.mark.slow
CASES = ADVERSARIAL / "cases"


def _server_binaries() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them off PATH, in its versioned folder)."""
    found = shutil.which("initdb")
    for folder in [*([Path(found).resolve().parent] if found else []),
                   *map(Path, sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))]:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 with an empty database, stopped after the module."""
    binaries = _server_binaries()
    if binaries is None:
        message = "PostgreSQL's server binaries (initdb, pg_ctl) are missing: apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # initdb refuses to run as root: the cluster then belongs to the `postgres` user (or nobody).
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = next((name for name in ("postgres", "nobody") if _has_user(name)))
        as_user = ["runuser", "-u", owner, "--"]
    folder = Path(tempfile.mkdtemp(prefix="course-pg-"))
    if as_user:
        entry = pwd.getpwnam(as_user[2])
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data, port = folder / "data", _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, cwd=folder)
        assert done.returncode == 0, f"{command[0]} failed: {done.stderr}"

    run(str(binaries / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8")
    run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "start",
        "-o", f"-h 127.0.0.1 -p {port} -k {folder}")
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres",
                             autocommit=True) as server:
            server.execute("CREATE DATABASE mnist_tf2")
        yield f"postgresql://grader@127.0.0.1:{port}/mnist_tf2"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_the_whole_workflow_on_a_postgresql_gradebook(tmp_path, mnist_dir, postgres_url, capsys):
    course = mini_course(tmp_path / "course", mnist_dir)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    assert gradebook_url(course) == postgres_url
    (course / "gradebook.db").unlink(missing_ok=True)  # the mini course's own release made one
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(CASES / "twin_solution.ipynb", incoming / f"alice_{MINI}.ipynb")
    shutil.copy(CASES / "twin_partial.ipynb", incoming / f"bruno_{MINI}.ipynb")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nalice,Alice,Martin,alice@example.org\n"
                      "bruno,Bruno,Petit,bruno@example.org\nchloe,Chloé,Roy,chloe@example.org\n")

    course_dir = ["--course-dir", str(course)]
    assert main([*course_dir, "release", MINI]) == 0
    assert main([*course_dir, "collect", MINI, str(incoming), "--roster", str(roster)]) == 0
    assert main([*course_dir, "grade", MINI]) == 0
    assert main([*course_dir, "export"]) == 0
    capsys.readouterr()

    assert not (course / "gradebook.db").exists()  # nothing went to a sqlite file
    rows = {r["student_id"]: r for r in csv.DictReader((course / "exports" / "grades.csv").open())}
    assert {s: rows[s][f"{MINI}_status"] for s in rows} == {
        "alice": "manual-pending", "bruno": "manual-pending", "chloe": "not-submitted"}
    with open_gradebook(course) as gradebook:
        assert {s.id: s.email for s in gradebook.students} == {
            "alice": "alice@example.org", "bruno": "bruno@example.org", "chloe": "chloe@example.org"}
        for student in ("alice", "bruno"):
            submission = gradebook.find_submission(MINI, student)
            assert submission.score == float(rows[student][MINI])
        assert gradebook.find_submission(MINI, "alice").score == 10  # every autograded point
    assert float(rows["bruno"][MINI]) < 10
