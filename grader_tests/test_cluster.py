"""The parts of distributed grading that need no training: the execution cache's key and
entries, the exports' zip, where jobs run, and the command line's one-line errors."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import PROJECT

from course_lib.cli import main
from course_lib.errors import CourseError
from course_lib.pipeline import cache
from course_lib.pipeline.cluster import DaskBackend, LocalBackend, _slots_by_host, backend
from course_lib.pipeline.worker import pack_exports, unpack_exports
from course_lib.kernel.export import exports_dir
from course_lib.pipeline.prepare import prepare

MINI = PROJECT / "grader_tests" / "adversarial"
LIMITS = {"memory_mb": 3072, "max_pids": 256}


def key(notebook, submitted: bytes = b"{}", **changed) -> str:
    settings = {"limits": LIMITS, "cell_timeout": 30, "sandbox": True, "seed": 7, **changed}
    return cache.execution_key(prepared_without_exports=prepare(RELEASE, notebook, {}).notebook,
                               notebook_bytes=submitted, **settings)


RELEASE = nbformat.read(MINI / "course" / "source" / "mini" / "mini.ipynb", 4)
ANSWER = nbformat.read(MINI / "cases" / "twin_solution.ipynb", 4)


def test_the_key_is_stable_and_covers_what_the_run_depends_on():
    assert key(ANSWER) == key(ANSWER)  # new cells' random ids are not part of it
    other = nbformat.from_dict(ANSWER)
    cell = next(c for c in other.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    cell.source += "\nx = 1"
    assert len({key(ANSWER), key(other), key(ANSWER, b"[]"), key(ANSWER, cell_timeout=60),
                key(ANSWER, sandbox=False), key(ANSWER, limits={**LIMITS, "memory_mb": 1024}),
                key(ANSWER, seed=8)}) == 7


def test_an_entry_is_found_only_under_its_key_and_whole(tmp_path):
    execution = {"cells_run": {"notebook": {}}, "runner_exit": 0, "seconds": 12.5, "timed_out": False, "oom_killed": False,
                 "exports": b"PK-zip-bytes"}
    requests = {"test_load": [{"key": "x", "kind": "value", "expr": "x"}]}
    cache.store(tmp_path, "k1", execution, requests)
    assert cache.load(tmp_path, "k1") == (execution, requests)
    assert cache.load(tmp_path, "k2") is None
    (tmp_path / cache.EXPORTS).write_bytes(b"cut short")  # a crash between its two files
    assert cache.load(tmp_path, "k1") is None
    assert cache.load(tmp_path / "nowhere", "k1") is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_exports_travel_as_regular_files_only(tmp_path):
    work = tmp_path / "work"
    cell = exports_dir(work) / "test_load"
    cell.mkdir(parents=True)
    (cell / "index.json").write_text("{}")
    (cell / "x.npy").write_bytes(b"\x93NUMPY")
    (cell / "unasked.npy").write_bytes(b"x" * 1000)  # no item of the request names it
    (cell / "link.npy").symlink_to(tmp_path / "secret")
    (cell / "back\\slash.npy").write_bytes(b"x")  # a name the zip could not give back
    (cell / b"\xff.npy".decode("utf-8", "surrogateescape")).write_bytes(b"x")
    (cell / "folder").mkdir()
    (exports_dir(work) / "test_other").mkdir()
    (exports_dir(work) / "test_other" / "index.json").write_text("{}")
    items = [{"key": "x", "kind": "array", "expr": "x"}, {"key": "link", "kind": "array", "expr": "y"},
             {"key": "folder", "kind": "file", "expr": "f"}]
    packed = pack_exports(work, {"test_load": items, "test_missing": items})
    assert sorted(zipfile.ZipFile(io.BytesIO(packed)).namelist()) == ["test_load/index.json", "test_load/x.npy"]
    target = tmp_path / "target"
    target.mkdir()
    unpack_exports(packed, target)
    assert (target / "test_load" / "x.npy").read_bytes() == b"\x93NUMPY"

    for name in ("../escape", "a/b/c", "/abs", "a/.."):
        forged = io.BytesIO()
        with zipfile.ZipFile(forged, "w") as archive:
            archive.writestr(name, b"x")
        with pytest.raises(CourseError, match="unexpected entry"):
            unpack_exports(forged.getvalue(), target)
    assert not (tmp_path / "escape").exists()


def test_where_jobs_run():
    assert isinstance(backend(workers=1), LocalBackend)
    with pytest.raises(CourseError, match="--workers must be 1 or more"):
        backend(workers=0)
    workers = {"tcp://10.0.0.1:1": {"host": "10.0.0.1", "nthreads": 1},
               "tcp://10.0.0.1:2": {"host": "10.0.0.1", "nthreads": 1},
               "tcp://10.0.0.2:1": {"host": "10.0.0.2", "nthreads": 4}}
    assert _slots_by_host(workers) == {"10.0.0.1": 2, "10.0.0.2": 4}


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    with pytest.raises(CourseError, match=r"cannot reach the Dask scheduler tcp://127\.0\.0\.1:9"):
        DaskBackend(scheduler="tcp://127.0.0.1:9")


@pytest.fixture
def one_submission(tmp_path, mnist_dir):
    from course_lib.release import copy_course

    course = copy_course(origin=PROJECT, folder=tmp_path / "course", assignments=["tp1_dense"], mnist_dir=mnist_dir)
    submitted = course / "submitted" / "ana" / "tp1_dense"
    submitted.mkdir(parents=True)
    (submitted / "TP1_MNIST_dense.ipynb").write_text("{}")
    return course


def test_bad_worker_options_are_one_line(one_submission, capsys):
    course = str(one_submission)
    assert main(["--course-dir", course, "grade", "tp1_dense", "--workers", "0"]) == 2
    assert capsys.readouterr().err == "course: error: --workers must be 1 or more (got 0)\n"
    with pytest.raises(SystemExit) as stopped:
        main(["--course-dir", course, "grade", "tp1_dense", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"])
    assert stopped.value.code == 2
    assert "argument --scheduler: not allowed with argument --workers" in capsys.readouterr().err
    assert not (one_submission / "autograded").exists()


def test_groups_left_by_killed_graders_are_swept_once_stale(tmp_path):
    from course_lib.sandbox.cgroups import PREFIX, STALE_SECONDS, _sweep

    old, fresh, busy, other = (tmp_path / f"{PREFIX}old", tmp_path / f"{PREFIX}fresh",
                               tmp_path / f"{PREFIX}busy", tmp_path / "someone-else")
    for folder in (old, fresh, busy, other):
        folder.mkdir()
    (busy / "cgroup.procs").write_text("1234")  # stands for a group that cannot be removed
    long_ago = time.time() - STALE_SECONDS - 60
    for folder in (old, busy, other):
        os.utime(folder, (long_ago, long_ago))
    _sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, busy.name, other.name])


def deep_tree(folder: Path, levels: int) -> None:
    """`levels` nested folders in `folder`, made through file descriptors (their path is far
    longer than any system call takes)."""
    fd = os.open(folder, os.O_RDONLY)
    for _ in range(levels):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)


def test_scratch_folders_left_by_killed_graders_are_swept_once_stale(tmp_path):
    from course_lib.sandbox import scratch

    old_run, old_verifier = tmp_path / f"{scratch.RUN}old", tmp_path / f"{scratch.VERIFIER}old"
    in_use, other = tmp_path / f"{scratch.VERIFIER}in-use", tmp_path / "someone-else"
    for folder in (old_run, old_verifier, in_use, other):
        (folder / "work").mkdir(parents=True)
        (folder / "work" / "notebook.ipynb").write_text("{}")
    deep_tree(old_run / "work", 3000)  # deeper than Python's recursion limit
    (old_run / "work" / "locked").mkdir(mode=0o000)  # a folder a notebook made unreadable
    long_ago = time.time() - scratch.LIFETIME - 60
    for folder in (old_run, old_verifier, other):
        os.utime(folder, (long_ago, long_ago))
    scratch.sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([in_use.name, other.name])
