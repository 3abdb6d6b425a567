"""Shared fixtures: the real MNIST of ../shared, a private cache per test session, and the
fixture batches of the practicals, graded once per session."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED_MNIST = PROJECT.parent / "shared" / "data" / "mnist"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Every student's seed comes from the course secret (course_lib.seeds): one secret for the test
# courses, so that a fixture trains with the same seed in every run of the suite.
TEST_SECRET = "grader-tests: the course secret of the test courses"
os.environ["COURSE_SECRET"] = TEST_SECRET


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never touch the user's cache: they fill one of their own, once per session."""
    os.environ["COURSE_LIB_CACHE"] = str(tmp_path_factory.mktemp("mnist-cache"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not SHARED_MNIST.is_dir():
        pytest.fail(f"the real MNIST files are expected in {SHARED_MNIST} (see docs/instructor-guide.md, where MNIST comes from)")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def fixture_batch(tmp_path_factory, mnist_dir) -> Callable[[str], Any]:
    """assignment → e2e.Batch (its course folder, fixture name → result): every fixture of a
    practical and its untouched release, graded at most once per session (e2e.grade_fixtures:
    one batch on two local workers). The end-to-end tests check each fixture's points; the demo's test compares its
    own grading of the same notebooks with them."""
    from e2e import grade_fixtures

    graded: dict[str, Any] = {}

    def batch(assignment: str) -> Any:
        if assignment not in graded:
            graded[assignment] = grade_fixtures(tmp_path_factory.mktemp(assignment), mnist_dir, assignment)
        return graded[assignment]

    return batch
