"""Make course_lib/digit_samples/: handwritten digits that are not MNIST, drawn like ink on paper.

Source: the UCI ML hand-written digits that scikit-learn bundles (`load_digits`, 8×8, grey
levels 0..16). Each one is upscaled smoothly and inked onto an off-white sheet of its own size,
position, tilt, lighting and colour (RGB or grey), so that `course_lib.digits.to_mnist` must do
all of MNIST's preprocessing to read it, as on a student's photo. The first PER_DIGIT examples of
each digit are used, and every random choice comes from a generator seeded by the file's name:
running the script twice writes identical files.

    python scripts/make_digit_samples.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

PER_DIGIT = 5
OUT = Path(__file__).resolve().parents[1] / "course_lib" / "digit_samples"
# (width, height) of the sheets, in turn: landscape, portrait and square photos.
SIZES = ((300, 200), (180, 240), (240, 240), (260, 190), (200, 280))
# UCI's levels count the "on" pixels of 4×4 blocks: a block half covered is at the stroke's edge.
EDGE_LEVEL = 0.5
EDGE_SOFTNESS = 0.15


def render(
    digit: np.ndarray, size: tuple[int, int], colour: bool, rng: np.random.Generator
) -> Image.Image:
    """Ink the 8×8 `digit` (0..16) on a sheet of `size`: a scan or photo of a handwritten digit."""
    width, height = size
    digit_height = int(min(width, height) * rng.uniform(0.45, 0.75))
    digit_width = int(digit_height * rng.uniform(0.8, 1.05))
    levels = Image.fromarray((digit / 16.0).astype(np.float32))
    smooth = levels.resize((digit_width, digit_height), Image.Resampling.BICUBIC)
    tilted = smooth.rotate(rng.uniform(-8.0, 8.0), Image.Resampling.BICUBIC, expand=True)
    ink = np.clip((np.asarray(tilted) - EDGE_LEVEL) / EDGE_SOFTNESS + 0.5, 0.0, 1.0)
    coverage = np.zeros((height, width))
    top = int(rng.integers(0, height - ink.shape[0] + 1))
    left = int(rng.integers(0, width - ink.shape[1] + 1))
    coverage[top : top + ink.shape[0], left : left + ink.shape[1]] = ink

    rows, cols = np.mgrid[0:height, 0:width]
    slope = rng.uniform(-12.0, 12.0, size=2)  # uneven lighting across the sheet
    paper = rng.uniform(215.0, 245.0) + slope[0] * rows / height + slope[1] * cols / width
    if colour:
        paper_rgb = paper[..., None] + np.array([0.0, -3.0, -12.0])  # warm, slightly yellow paper
        ink_rgb = np.array([35.0, 40.0, rng.uniform(60.0, 110.0)])  # black to blue ballpoint
        pixels = paper_rgb * (1.0 - coverage[..., None]) + ink_rgb * coverage[..., None]
        return Image.fromarray(np.rint(np.clip(pixels, 0, 255)).astype(np.uint8), mode="RGB")
    pixels = paper * (1.0 - coverage) + rng.uniform(30.0, 70.0) * coverage  # pencil or pen
    return Image.fromarray(np.rint(np.clip(pixels, 0, 255)).astype(np.uint8), mode="L")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write to (default {OUT})")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    for label in range(10):
        for number, index in enumerate(np.flatnonzero(digits.target == label)[:PER_DIGIT]):
            name = f"{label}_{number + 1:02d}.png"
            rng = np.random.default_rng(zlib.crc32(name.encode()))
            size = SIZES[number % len(SIZES)]
            picture = render(digits.images[index], size, colour=(label + number) % 2 == 0, rng=rng)
            picture.save(out / name, optimize=True)
    print(f"wrote {10 * PER_DIGIT} digits to {out}")


if __name__ == "__main__":
    main()
