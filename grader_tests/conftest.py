"""Shared fixtures: the real MNIST of ../shared, and a private cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED_MNIST = PROJECT.parent / "shared" / "data" / "mnist"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never touch the user's cache: they fill one of their own, once per session."""
    os.environ["COURSE_LIB_CACHE"] = str(tmp_path_factory.mktemp("mnist-cache"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not SHARED_MNIST.is_dir():
        pytest.fail(f"the real MNIST files are expected in {SHARED_MNIST} (see README)")
    return SHARED_MNIST

