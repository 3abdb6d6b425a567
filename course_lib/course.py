"""A course folder: where nbgrader's config, sources and releases of the practicals live."""

from __future__ import annotations

import os
import sysconfig
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course_lib.errors import CourseError
from course_lib.verdicts import TEST_BLOCKS, TEST_IMAGES

NBGRADER_CONFIG = "nbgrader_config.py"


@dataclass(frozen=True)
class IntegrityThresholds:
    """A practical's thresholds of the trained-on-the-test-set signals
    (course_lib.pipeline.integrity), course.toml [assignments.<name>.integrity], calibrated on
    honest runs by bench/calibrate.py. Without `test_blocks` (the honest models' loss on each
    block of the test set, relative to their whole test loss) the blocks are not compared;
    without `ceiling` no accuracy is too high; without `hard_images` (the test images honest
    models mostly get wrong) none is looked at. `judged_from` is no setting: the
    practical's partial accuracy threshold, below which a model earns no accuracy point (it
    gains nothing from the test set) and errs unlike the calibrated ones: its blocks and hard
    images are not judged."""

    test_position: float = 0.3  # where the test set may sit between seen (0) and unseen (1) images
    test_blocks: tuple[float, ...] = ()
    block_gap: float = 2.0  # how far apart two neighbouring blocks may be, relative to test_blocks
    ceiling: float | None = None  # a test accuracy beyond what the practical's network reaches honestly
    hard_images: tuple[int, ...] = ()
    hard_recovered: float = 0.3  # the share of hard_images an honest model may get right
    judged_from: float = 0.0  # the least accuracy of a model whose blocks and hard images are judged

    @classmethod
    def from_toml(cls, section: Any, where: str, judged_from: float) -> "IntegrityThresholds":
        settings = ("test_position", "test_blocks", "block_gap", "ceiling", "hard_images", "hard_recovered")
        if not isinstance(section, dict) or set(section) - set(settings):
            raise CourseError(f"{where}: its settings are {', '.join(settings)}")
        numbers = {key: value for key, value in section.items() if key not in ("test_blocks", "hard_images")}
        if not all(_positive(v) for v in numbers.values()):
            raise CourseError(f"{where}: test_position, block_gap, ceiling and hard_recovered are positive numbers")
        hard = section.get("hard_images", [])
        if not isinstance(hard, list) or any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < TEST_IMAGES
                                             for v in hard):
            raise CourseError(f"{where}: hard_images is a list of test image numbers (0–9999)")
        blocks = section.get("test_blocks", [])
        if blocks and (not isinstance(blocks, list) or len(blocks) != TEST_BLOCKS or not all(map(_positive, blocks))):
            raise CourseError(f"{where}: test_blocks is a list of {TEST_BLOCKS} positive numbers")
        if numbers.get("ceiling", 1) > 1 or numbers.get("hard_recovered", 1) > 1 or numbers.get("block_gap", 1) < 1:
            raise CourseError(f"{where}: ceiling and hard_recovered are shares (at most 1), block_gap a ratio (at least 1)")
        return cls(**{key: float(value) for key, value in numbers.items()},
                   test_blocks=tuple(float(v) for v in blocks), hard_images=tuple(hard), judged_from=judged_from)


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def course_root(course_dir: str | Path) -> Path:
    """The course folder, checked: it must hold nbgrader_config.py."""
    root = Path(course_dir).resolve()
    if not (root / NBGRADER_CONFIG).is_file():
        raise CourseError(f"{root} is not a course folder: it has no {NBGRADER_CONFIG}")
    return root


def scripts_on_path() -> None:
    """nbgrader runs the `alembic` command to create a gradebook: it must be found even when
    the virtual environment is not activated (`.venv/bin/course`, `make test`). Called where
    nbgrader is used (the gradebook, nbgrader's API)."""
    scripts = sysconfig.get_path("scripts")
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(filter(None, [scripts, path]))


def nbgrader_config(root: Path) -> Config:
    """The course's nbgrader settings, with the course folder as nbgrader's root."""
    config = PyFileConfigLoader(NBGRADER_CONFIG, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def nbgrader_api(root: Path) -> Any:
    """nbgrader's Python API on the course, with the course's own settings."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    scripts_on_path()
    config = nbgrader_config(root)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def last_line(text: str) -> str:
    """The last non-blank line: nbgrader's tracebacks and logs end with what went wrong."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def due_date(root: Path, assignment: str) -> datetime | None:
    """The deadline of `assignment` from course.toml (`[assignments.<name>] due = ...`), if set.

    After this date a submission loses what course.toml's [late] rule says (course_lib.late).
    """
    config_file = root / "course.toml"
    due = course_settings(root).get("assignments", {}).get(assignment, {}).get("due")
    if due is None:
        return None
    if isinstance(due, datetime):
        # nbgrader keeps naive UTC times; a date-time without offset is taken as UTC.
        return due.astimezone(timezone.utc).replace(tzinfo=None) if due.tzinfo else due
    raise CourseError(f"{config_file}: the due date of {assignment} must be a TOML date-time")


def course_settings(root: Path) -> dict[str, Any]:
    """course.toml, read (empty when there is none; one line when it is not TOML)."""
    config_file = root / "course.toml"
    if not config_file.is_file():
        return {}
    try:
        with config_file.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise CourseError(f"{config_file} is not valid TOML: {error}") from None


def grading_settings(root: Path, assignment: str) -> dict[str, Any]:
    """What grading `assignment` uses: the sandbox's limits ([sandbox]), nbgrader's cell
    timeout, the verifier's thresholds ([assignments.<name>.accuracy]): one place each; and
    the local MNIST the sandboxes see; the thresholds of the trained-on-the-test-set signals
    ([assignments.<name>.integrity]: IntegrityThresholds)."""
    from course_lib.sandbox.bubblewrap import Limits

    config = course_settings(root)
    sandbox = config.get("sandbox", {})
    unknown = set(sandbox) - set(Limits.__dataclass_fields__)
    if unknown:
        raise CourseError(f"course.toml [sandbox]: unknown setting {', '.join(sorted(unknown))}")
    accuracy = config.get("assignments", {}).get(assignment, {}).get("accuracy")
    if not accuracy or not {"full", "partial"} <= set(accuracy):
        raise CourseError(f"course.toml has no [assignments.{assignment}.accuracy] full and partial thresholds")
    integrity = IntegrityThresholds.from_toml(config.get("assignments", {}).get(assignment, {}).get("integrity", {}),
                                              f"course.toml [assignments.{assignment}.integrity]",
                                              judged_from=float(accuracy["partial"]))
    timeout = nbgrader_config(root).Execute.get("timeout", 30)
    return {"limits": Limits(**sandbox), "cell_timeout": int(timeout), "mnist_dir": _grading_mnist(root),
            "checks": {"accuracy": {"full": float(accuracy["full"]), "partial": float(accuracy["partial"])}},
            "integrity": integrity}


def _grading_mnist(root: Path) -> Path:
    """The MNIST copy the sandboxes see (they have no network): $COURSE_MNIST_DIR, else the
    course folder's course.toml, as load_mnist finds it."""
    from course_lib.data import MNIST_DIR_ENV, configured_mnist_dir

    named = os.environ.get(MNIST_DIR_ENV)
    folder = Path(named) if named else configured_mnist_dir(root)
    if folder is None or not folder.is_dir():
        raise CourseError("grading needs a local copy of MNIST: set [data] mnist_dir in course.toml "
                          f"or ${MNIST_DIR_ENV} (the sandbox has no network)")
    return folder.resolve()


def released_notebook(root: Path, assignment: str) -> Path:
    """The student version of `assignment` (run `course release` first)."""
    found = sorted((root / "release" / assignment).glob("*.ipynb"))
    if len(found) != 1:
        raise CourseError(f"release/{assignment} must hold one notebook: run `course release {assignment}`")
    return found[0]


def released_assignments(root: Path) -> list[str]:
    """The practicals with a student version in release/."""
    return sorted(p.name for p in (root / "release").glob("*") if p.is_dir() and any(p.glob("*.ipynb")))


def assignments(root: Path) -> list[str]:
    """The practicals of the course: the folders of source/ that hold a notebook."""
    source = root / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def check_assignments(root: Path, wanted: list[str] | None) -> list[str]:
    """`wanted`, or every practical when it is empty; an unknown name is a CourseError."""
    known = assignments(root)
    unknown = [name for name in wanted or [] if name not in known]
    if unknown:
        raise CourseError(
            f"unknown assignment {', '.join(unknown)}: the course has {', '.join(known) or 'none'}"
        )
    return list(wanted or known)
