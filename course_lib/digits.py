"""Turn a student's own photo, scan or drawing of a digit into a 28×28 image made like MNIST's.

A network trained on MNIST only knows digits prepared the way MNIST prepared them (LeCun et al.):
the black-and-white NIST digit was scaled, keeping its aspect ratio, to fit a 20×20 box (the
anti-aliasing makes the grey levels), then placed in a 28×28 frame so that its centre of mass
falls at the frame's centre; white digit on black. A raw photo (dark ink on grey paper, any size,
digit anywhere) is a different input, and the network's answer on it means little. `to_mnist`
redoes MNIST's recipe on any image, so that students can test their model on their own digits.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from course_lib.french import integer, shape_text

ImageLike = str | os.PathLike | Image.Image | np.ndarray

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FRAME = 28
BOX = 20
# Where MNIST put the centre of mass, in array-index coordinates (row, column) of the 28×28
# frame: (14.0, 14.0) ± 0.3 over its training images, measured with
# scipy.ndimage.center_of_mass. It is pixel (14, 14), not the geometric centre 13.5.
CENTRE = 14.0
# Stroke width is normalised at a working size where the digit's longest side is WORK pixels
# (4 × the 20-pixel box). MNIST's median stroke width is 13.5 % of the digit's longest side
# (measured as 2 × area / boundary length on its digits upscaled to that working size): a pen
# line in a 2000-pixel photo would otherwise shrink to a faint hairline, a marker to a blob.
WORK = 80
STROKE = 0.135
# Below this spread of grey levels (out of 255) an image holds no digit, only paper or noise.
MIN_CONTRAST = 32
# Connected ink regions smaller than this fraction of the largest are dust or paper grain.
SPECK = 0.05
# A label is the file name's first character, a digit not followed by another digit.
LABEL_RULE = re.compile(r"([0-9])(?![0-9])")


def to_mnist(image: ImageLike) -> np.ndarray:
    """Return `image` (path to a PNG/JPG, PIL image or array) as a 28×28 uint8 MNIST-like digit.

    Arrays are (H, W), (H, W, 3) or (H, W, 4), integers in 0..255 or floats in 0..1. Either
    polarity is accepted (the background is what the border mostly shows); transparent pixels
    count as white paper. Steps, as MNIST: grey levels; white digit on black; Otsu threshold,
    which turns the paper to 0; crop to the digit; stroke width set to MNIST's; anti-aliased
    scaling into a 20×20 box keeping the aspect ratio; centre of mass moved to pixel (14, 14).
    Raises ValueError for an unreadable file or an image without a digit.
    """
    gray, name = _read_gray(image)
    lo, hi = float(gray.min()), float(gray.max())
    if hi - lo < MIN_CONTRAST:
        raise ValueError(f"{name} ne contient aucun chiffre : elle est vierge")
    border = np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]))
    if border - lo > hi - border:
        gray = 255.0 - gray
    threshold = _otsu(gray)
    ink = gray > threshold
    digit = _drop_specks(ink)
    gray = np.where(ink & ~digit, 0.0, gray)
    mask = _at_work_size(_crop(gray, digit), threshold)
    mask = _normalise_stroke(mask)
    return _centre_in_frame(_fit_box(_crop(mask, mask)))


def load_digit_images(folder: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Read every PNG/JPG of `folder` (sorted by name) as MNIST-like digits, with their labels.

    Naming rule: a file's name starts with the digit it shows, followed by anything but another
    digit: `3_anne.png`, `7-02.jpg`, `0.png`; `12.png` is refused (label 1 or 12?). Returns
    images (N, 28, 28) uint8, labels (N,) uint8 and the paths. Every badly named, unreadable or
    blank file is listed in one ValueError, so that all can be fixed at once. Messages are in
    French: students load their own digits in the notebooks.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"le dossier {folder} n'existe pas")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"le dossier {folder} ne contient aucune image PNG ou JPG")
    bad_names = [p.name for p in paths if not LABEL_RULE.match(p.name)]
    if bad_names:
        raise ValueError(
            f"dans le dossier {folder}, le nom de chaque fichier doit commencer par le chiffre "
            "que montre l'image, suivi d'un caractère qui n'est pas un chiffre (par exemple "
            f"3_anne.png, 7-02.jpg) ; fichiers à renommer : {', '.join(bad_names)}"
        )
    images, problems = [], []
    for path in paths:
        try:
            images.append(to_mnist(path))
        except (ValueError, OSError) as error:
            problems.append(str(error))
    if problems:
        listing = "\n  ".join(problems)
        count = integer(len(problems))
        unusable = "image est inutilisable" if len(problems) == 1 else "images sont inutilisables"
        raise ValueError(f"dans le dossier {folder}, {count} {unusable} :\n  {listing}")
    labels = np.array([int(p.name[0]) for p in paths], dtype=np.uint8)
    return np.stack(images), labels, paths


def sample_digits_dir() -> Path:
    """The folder of handwritten digits shipped with course_lib: not MNIST's (see its README)."""
    return Path(__file__).parent / "digit_samples"


def _read_gray(image: ImageLike) -> tuple[np.ndarray, str]:
    """Grey levels (float, 0..255) of `image`, and how error messages should name it."""
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        try:
            with Image.open(path) as opened:
                opened.load()
                picture = ImageOps.exif_transpose(opened)  # phone photos store their rotation
        except FileNotFoundError:
            raise FileNotFoundError(f"le fichier {path} n'existe pas") from None
        except (UnidentifiedImageError, OSError):
            raise ValueError(
                f"le fichier {path} ne peut pas être lu comme une image (PNG ou JPG attendu)"
            ) from None
        return _pil_gray(picture), f"l'image {path}"
    if isinstance(image, Image.Image):
        return _pil_gray(image), "l'image"
    if isinstance(image, np.ndarray):
        return _pil_gray(_array_to_pil(image)), "l'image"
    kind = type(image).__name__
    raise TypeError(
        "to_mnist attend un chemin de fichier, une image PIL ou un tableau numpy "
        f"(type reçu : {kind})"
    )


def _array_to_pil(array: np.ndarray) -> Image.Image:
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))):
        raise ValueError(
            f"le tableau de l'image a la forme {shape_text(array.shape)}, attendu "
            "(hauteur, largeur), (hauteur, largeur, 3) ou (hauteur, largeur, 4)"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == bool or np.issubdtype(array.dtype, np.floating):
        array = array * 255.0
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def _pil_gray(picture: Image.Image) -> np.ndarray:
    """Luminance as float; transparent parts become white paper."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        paper = Image.new("RGBA", picture.size, "white")
        picture = Image.alpha_composite(paper, picture.convert("RGBA"))
    return np.asarray(picture.convert("L"), dtype=np.float64)


def _otsu(gray: np.ndarray) -> float:
    """Otsu's threshold: the grey level that best splits the pixels into paper and ink."""
    counts = np.bincount(np.rint(gray).astype(np.uint8).ravel(), minlength=256).astype(np.float64)
    weight = np.cumsum(counts) / counts.sum()
    mean = np.cumsum(counts * np.arange(256)) / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean[-1] * weight - mean) ** 2 / (weight * (1.0 - weight))
    return float(np.argmax(np.nan_to_num(between)))


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    """Keep the digit's strokes, drop dust: regions much smaller than the largest one."""
    regions, _ = ndimage.label(ink, structure=np.ones((3, 3)))
    sizes = np.bincount(regions.ravel())[1:]
    kept = np.flatnonzero(sizes >= SPECK * sizes.max()) + 1
    return np.isin(regions, kept)


def _crop(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`image` cut to the bounding box of `mask`'s true pixels."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _at_work_size(gray: np.ndarray, threshold: float) -> np.ndarray:
    """The digit as black and white (like NIST's originals), its longest side WORK pixels."""
    height, width = gray.shape
    scale = WORK / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(gray.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(resized) > threshold


def _normalise_stroke(mask: np.ndarray) -> np.ndarray:
    """Thicken or thin the strokes to MNIST's width (2 × area / boundary length)."""
    boundary = mask & ~ndimage.binary_erosion(mask)
    width = 2.0 * mask.sum() / boundary.sum()
    radius = (STROKE * WORK - width) / 2.0
    padded = np.pad(mask, int(np.ceil(max(radius, 0.0))) + 1)
    if radius > 0:
        return ndimage.distance_transform_edt(~padded) <= radius
    thinned = ndimage.distance_transform_edt(padded) > -radius
    return thinned if thinned.any() else padded


def _fit_box(mask: np.ndarray) -> np.ndarray:
    """Anti-aliased scaling of the digit into the 20×20 box, aspect ratio kept."""
    height, width = mask.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(picture)


def _centre_in_frame(digit: np.ndarray) -> np.ndarray:
    """Paste into a black 28×28 frame with the centre of mass at pixel (14, 14), kept inside."""
    height, width = digit.shape
    row, col = ndimage.center_of_mass(digit.astype(np.float64))
    top = int(np.clip(round(CENTRE - row), 0, FRAME - height))
    left = int(np.clip(round(CENTRE - col), 0, FRAME - width))
    frame = np.zeros((FRAME, FRAME), dtype=np.uint8)
    frame[top : top + height, left : left + width] = digit
    return frame
