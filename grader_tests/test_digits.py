"""to_mnist makes MNIST-like digits of any image; the shipped samples load with their labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from course_lib.digits import CENTRE, load_digit_images, sample_digits_dir, to_mnist

PROJECT = Path(__file__).resolve().parents[1]
PAPER, INK = 225, 30


def seven(size: tuple[int, int] = (300, 200), mode: str = "L") -> Image.Image:
    """A dark "7" drawn on light paper, off-centre, as a photo would show it."""
    opaque = (255,) if mode == "RGBA" else ()
    picture = Image.new(mode, size, PAPER if mode == "L" else (PAPER,) * 3 + opaque)
    ink = INK if mode == "L" else (INK,) * 3 + opaque
    stroke = [(60, 30), (160, 30), (100, 170)]
    ImageDraw.Draw(picture).line(stroke, fill=ink, width=10, joint="curve")
    return picture


def bounding_box(image: np.ndarray) -> tuple[int, int]:
    """(height, width) of the non-zero pixels."""
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_dark_digit_on_light_300x200_becomes_an_mnist_digit() -> None:
    digit = to_mnist(seven())
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() >= 250, "the digit's strokes are white"
    assert (digit == 0).mean() > 0.6, "the background is black"
    assert digit[:3, :3].max() == 0 and digit[-3:, -3:].max() == 0, "the paper's grey is gone"
    # MNIST's convention (measured on its images): centre of mass at array index (14, 14).
    assert CENTRE == 14.0
    row, col = ndimage.center_of_mass(digit.astype(float))
    assert abs(row - CENTRE) <= 1 and abs(col - CENTRE) <= 1
    height, width = bounding_box(digit)
    assert max(height, width) == 20 and height <= 20 and width <= 20


def test_light_on_dark_gives_the_same_digit_as_dark_on_light() -> None:
    dark_on_light = np.asarray(seven())
    assert np.array_equal(to_mnist(255 - dark_on_light), to_mnist(dark_on_light))


def test_rgb_rgba_gray_and_arrays_give_the_same_digit() -> None:
    gray = to_mnist(seven(mode="L"))
    assert np.array_equal(to_mnist(seven(mode="RGB")), gray)
    assert np.array_equal(to_mnist(seven(mode="RGBA")), gray)
    assert np.array_equal(to_mnist(np.asarray(seven(mode="RGB"))), gray)
    assert np.array_equal(to_mnist(np.asarray(seven()) / 255.0), gray)


def test_a_tall_thin_one_keeps_its_aspect_ratio() -> None:
    picture = Image.new("L", (200, 300), PAPER)
    ImageDraw.Draw(picture).line([(95, 40), (95, 260)], fill=INK, width=8)
    height, width = bounding_box(to_mnist(picture))
    assert height == 20 and width <= 5


def test_a_path_is_read_like_the_image(tmp_path: Path) -> None:
    seven().convert("RGB").save(tmp_path / "7_photo.jpg", quality=95)
    from_file = to_mnist(tmp_path / "7_photo.jpg")
    assert np.abs(from_file.astype(int) - to_mnist(seven())).mean() < 5


def test_a_blank_image_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ne contient aucun chiffre : elle est vierge"):
        to_mnist(Image.new("RGB", (300, 200), (240, 238, 230)))
    Image.new("L", (120, 80), 200).save(tmp_path / "4_blank.png")
    with pytest.raises(ValueError, match=r"4_blank\.png ne contient aucun chiffre"):
        to_mnist(tmp_path / "4_blank.png")


def test_a_file_that_is_no_image_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "3_notes.png").write_text("not a picture")
    with pytest.raises(ValueError, match=r"3_notes\.png ne peut pas être lu comme une image"):
        to_mnist(tmp_path / "3_notes.png")
    with pytest.raises(ValueError, match=r"image est inutilisable :\n.*3_notes\.png ne peut pas être lu"):
        load_digit_images(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        to_mnist(tmp_path / "missing.png")


def test_the_shipped_samples_load_with_their_labels() -> None:
    images, labels, paths = load_digit_images(sample_digits_dir())
    assert images.shape == (len(paths), 28, 28) and images.dtype == np.uint8
    assert labels.shape == (len(paths),) and labels.dtype == np.uint8
    assert set(labels.tolist()) == set(range(10))
    assert np.bincount(labels, minlength=10).min() >= 3
    assert [int(p.name[0]) for p in paths] == labels.tolist()
    assert sum(p.stat().st_size for p in sample_digits_dir().iterdir()) < 300_000


def test_the_script_remakes_the_shipped_samples(tmp_path: Path) -> None:
    script = PROJECT / "scripts" / "make_digit_samples.py"
    command = [sys.executable, str(script), "--out", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True)
    shipped = sorted(sample_digits_dir().glob("*.png"))
    assert [p.name for p in sorted(tmp_path.glob("*.png"))] == [p.name for p in shipped]
    for path in shipped:
        remade = np.asarray(Image.open(tmp_path / path.name))
        assert np.array_equal(remade, np.asarray(Image.open(path))), path.name


def test_badly_named_files_are_all_listed(tmp_path: Path) -> None:
    for name in ("3_anne.png", "7-02.png", "anne.png", "12.png"):
        seven().save(tmp_path / name)
    with pytest.raises(ValueError, match="doit commencer par le chiffre") as error:
        load_digit_images(tmp_path)
    assert "anne.png, 12.png" in str(error.value) or "12.png, anne.png" in str(error.value)
    assert "3_anne.png" not in str(error.value).split("à renommer :")[1]


def test_a_missing_or_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"le dossier .*absent n'existe pas"):
        load_digit_images(tmp_path / "absent")
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="ne contient aucune image PNG ou JPG"):
        load_digit_images(tmp_path)


def test_well_named_files_load_in_order(tmp_path: Path) -> None:
    seven().save(tmp_path / "7-02.png")
    seven(size=(240, 240)).convert("RGB").save(tmp_path / "7_anne.JPG")
    images, labels, paths = load_digit_images(tmp_path)
    assert labels.tolist() == [7, 7] and [p.name for p in paths] == ["7-02.png", "7_anne.JPG"]
    assert images.shape == (2, 28, 28)
