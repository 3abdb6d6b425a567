"""The student package: a wheel and a zip that hold what students need and nothing they must
not see, and whose `course check` works in a virtual environment of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import PROJECT

from course_lib.cli import main
from test_cli import _hidden_check_lines
from test_release import _secret_lines

pytestmark = pytest.mark.slow
NOTEBOOK = "TP1_MNIST_dense.ipynb"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    assert main(["--course-dir", str(PROJECT), "student-package", "-o", str(out)]) == 0
    [wheel], [notebooks] = out.glob("*.whl"), out.glob("*.zip")
    return wheel, notebooks


def _texts(archive: Path) -> dict[str, str]:
    with zipfile.ZipFile(archive) as zipped:
        return {name: zipped.read(name).decode("utf-8", "replace") for name in zipped.namelist()}


def test_the_package_holds_no_solution_no_hidden_check_no_model(package):
    secrets = set().union(*(_secret_lines(path) for path in sorted(PROJECT.glob("source/*/*.ipynb"))))
    # A line a spec shares with the public helpers (course_lib/checks) is no secret.
    public = {line.strip() for path in (PROJECT / "course_lib").rglob("*.py") if "specs" not in path.parts
              for line in path.read_text().splitlines()}
    hidden = _hidden_check_lines() - public
    assert len(secrets) > 40 and len(hidden) > 40, "the leak check must have something to look for"
    for archive in package:
        texts = _texts(archive)
        assert not [name for name in texts if any(part in name for part in (
            "specs/", "source/", "fixtures", "grader_tests", "solution", ".keras", ".h5", "instructor/",
            "verifier/", "sandbox/", "pipeline/grade", "results.py"))]
        found = {line.strip() for text in texts.values() for line in text.splitlines()}
        assert not found & secrets, sorted(found & secrets)[:3]
        assert not found & hidden, sorted(found & hidden)[:3]
    wheel, notebooks = map(_texts, package)
    assert "course_lib/selfcheck.py" in wheel and "course_lib/checks/__init__.py" in wheel
    assert {NOTEBOOK, "TP2_MNIST_convol.ipynb", "LISEZMOI.md"} <= set(notebooks)
    assert sum(name.startswith("chiffres_exemple/") for name in notebooks) == 50


def test_course_check_works_from_the_wheel_in_a_fresh_environment(package, tmp_path, mnist_dir):
    """A new virtual environment with the wheel alone; the third-party libraries (TensorFlow,
    nbclient…) are this environment's, reached by a path entry, so nothing is downloaded and
    the course's own course_lib (an editable install, whose hook a path entry does not run)
    stays out of sight."""
    wheel, notebooks = package
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "third_parties.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    work = tmp_path / "etudiant"
    with zipfile.ZipFile(notebooks) as zipped:
        zipped.extractall(work)
    env = {**os.environ, "COURSE_MNIST_DIR": str(mnist_dir), "PATH": f"{fresh / 'bin'}:{os.environ['PATH']}"}
    where = subprocess.run([python, "-c", "import course_lib; print(course_lib.__file__)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout
    assert where.startswith(site)
    for instructor_side in ("course_lib.specs", "course_lib.verifier.main", "course_lib.results", "course_lib.cli"):
        missing = subprocess.run([python, "-c", f"import {instructor_side}"], cwd=work, env=env, capture_output=True)
        assert missing.returncode == 1 and b"ModuleNotFoundError" in missing.stderr
    checked = subprocess.run([fresh / "bin" / "course", "check", NOTEBOOK], cwd=work, env=env,
                             capture_output=True, text=True, timeout=600)
    assert checked.returncode == 1, checked.stderr  # the released notebook: nothing answered yet
    assert "« 5. Le réseau dense » (build) : non répondu" in checked.stdout
    assert checked.stdout.rstrip().splitlines()[-1].startswith("0 point sur ")
    assert (work / NOTEBOOK).read_bytes() == zipfile.ZipFile(notebooks).read(NOTEBOOK)  # never written
    version = subprocess.run([fresh / "bin" / "course", "--version"], env=env, capture_output=True, text=True)
    assert version.stdout.strip().endswith("(paquet étudiant)")
