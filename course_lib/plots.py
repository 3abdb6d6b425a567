"""The course's figures: image grids, training curves, confusion matrices.

Each function returns its matplotlib Figure: a notebook shows it, a test inspects it, and the
grader can save it into a student's feedback. Students read the figures and the errors, so
both are in French.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from course_lib.french import percent, shape_text


def plot_images(
    images: np.ndarray,
    start: int = 0,
    rows: int = 4,
    cols: int = 6,
    labels: Sequence[Any] | None = None,
) -> Figure:
    """Show up to `rows` × `cols` images from index `start`, each titled by its label if given.

    A grid larger than what is left after `start` shows the images there are, then blanks.
    """
    images = np.asarray(images)
    if not 0 <= start < len(images):
        raise ValueError(f"impossible de commencer à l'image {start} : il y a {len(images)} images")
    figure, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.5 * rows), squeeze=False)
    for offset, axis in enumerate(axes.flat):
        index = start + offset
        axis.set_xticks([])
        axis.set_yticks([])
        if index >= len(images):
            axis.set_axis_off()
            continue
        axis.imshow(_as_2d(images[index]), cmap="gray_r")
        axis.set_title(f"{labels[index]}" if labels is not None else f"#{index}", fontsize=9)
    figure.tight_layout()
    return figure


def _as_2d(image: np.ndarray) -> np.ndarray:
    """A flattened (784,) or channel-last (28, 28, 1) image as the 28 × 28 grid to draw."""
    image = np.squeeze(image)
    if image.ndim == 1:
        side = int(round(np.sqrt(image.size)))
        image = image.reshape(side, side)
    return image


def plot_loss_accuracy(history: Any) -> Figure:
    """Loss and accuracy per epoch, training and validation, side by side.

    Accepts a keras `History` or its `.history` dict, so the grader can plot a JSON copy.
    """
    curves: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    if "loss" not in curves:
        raise ValueError(
            "cet historique n'a pas de 'loss' : il faut passer l'objet renvoyé par model.fit"
        )
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(curves["loss"]) + 1)
    for axis, metric, name in ((loss_axis, "loss", "perte"), (accuracy_axis, "accuracy", "précision")):
        for prefix, label in (("", "entraînement"), ("val_", "validation")):
            if prefix + metric in curves:
                axis.plot(epochs, curves[prefix + metric], marker="o", label=label)
        axis.set_title(f"{name} ({metric})")
        axis.set_xlabel("epoch")
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return figure


def plot_confusion_matrix(
    labels: Sequence[int] | np.ndarray, predictions: Sequence[int] | np.ndarray
) -> Figure:
    """The confusion matrix of integer labels vs predicted classes (scikit-learn's display)."""
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(
            f"labels {shape_text(labels.shape)} et predictions {shape_text(predictions.shape)} "
            "doivent être deux tableaux à une dimension de même longueur "
            "(argmax transforme des lignes one-hot en classes)"
        )
    classes = np.arange(10)
    matrix = confusion_matrix(labels, predictions, labels=classes)
    figure, axis = plt.subplots(figsize=(7, 6))
    ConfusionMatrixDisplay(matrix, display_labels=classes).plot(
        ax=axis, cmap="Blues", colorbar=False, values_format="d"
    )
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axis.set_xlabel("prédiction")
    axis.set_ylabel("label")
    axis.set_title(f"matrice de confusion — précision {percent(accuracy)}")
    figure.tight_layout()
    return figure
