"""A course folder: where nbgrader's config, sources and releases of the practicals live."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course_lib.errors import CourseError

NBGRADER_CONFIG = "nbgrader_config.py"


def course_root(course_dir: str | Path) -> Path:
    """The course folder, checked: it must hold nbgrader_config.py."""
    root = Path(course_dir).resolve()
    if not (root / NBGRADER_CONFIG).is_file():
        raise CourseError(f"{root} is not a course folder: it has no {NBGRADER_CONFIG}")
    return root


def nbgrader_config(root: Path) -> Config:
    """The course's nbgrader settings, with the course folder as nbgrader's root."""
    config = PyFileConfigLoader(NBGRADER_CONFIG, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


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
