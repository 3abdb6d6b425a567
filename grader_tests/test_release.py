"""release/ is what nbgrader makes of source/: up to date, and free of solutions and hidden tests."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conftest import PROJECT

from course_lib.release import copy_course

ASSIGNMENTS = sorted(p.name for p in (PROJECT / "source").iterdir() if p.is_dir())
REGION = re.compile(
    r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", flags=re.S
)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory, mnist_dir) -> Path:
    folder = tmp_path_factory.mktemp("course")
    return copy_course(origin=PROJECT, folder=folder, assignments=ASSIGNMENTS, mnist_dir=mnist_dir)


def _notebooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.ipynb"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_up_to_date_with_source(regenerated, assignment):
    committed = _notebooks(PROJECT / "release" / assignment)
    fresh = _notebooks(regenerated / "release" / assignment)
    assert committed and [p.name for p in committed] == [p.name for p in fresh]
    for old, new in zip(committed, fresh):
        assert old.read_text() == new.read_text(), (
            f"{old.relative_to(PROJECT)} is out of date: run `course release {assignment}` "
            "and commit release/"
        )


def _secret_lines(source: Path) -> set[str]:
    """Lines that only solutions and hidden tests have (not also given elsewhere in source)."""
    notebook = nbformat.read(source, as_version=4)
    secret, public = set(), set()
    for cell in notebook.cells:
        text = cell.source
        for match in REGION.finditer(text):
            secret.update(line.strip() for line in match.group(2).splitlines())
        public.update(line.strip() for line in REGION.sub("", text).splitlines())
    return {line for line in secret - public if len(line) > 3}


def _leaks(source: Path, released: nbformat.NotebookNode) -> list[str]:
    text = "\n".join(cell.source for cell in released.cells)
    markers = [m for m in ("BEGIN SOLUTION", "HIDDEN TESTS") if m in text]
    lines = {line.strip() for line in text.splitlines()}
    return markers + sorted(_secret_lines(source) & lines)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_and_no_hidden_test(assignment):
    for source in sorted((PROJECT / "source" / assignment).glob("*.ipynb")):
        assert len(_secret_lines(source)) > 20, "the leak check must have something to look for"
        released = nbformat.read(PROJECT / "release" / assignment / source.name, as_version=4)
        leaks = _leaks(source, released)
        assert not leaks, f"release/{assignment}/{source.name} leaks: {leaks[:5]}"


def test_leak_check_finds_a_leak():
    """The leak check can fail: a release that kept one hidden-test line is caught."""
    [source] = (PROJECT / "source" / ASSIGNMENTS[0]).glob("*.ipynb")
    released = nbformat.read(PROJECT / "release" / ASSIGNMENTS[0] / source.name, as_version=4)
    secret = sorted(_secret_lines(source))[0]
    released.cells[-1].source += "\n" + secret
    assert _leaks(source, released) == [secret]
