"""Accuracy computed by the checker from the model itself, never from the student's variables."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.french import percent, shape_text, threshold_percent
from .arrays import shape_matches
from .models import model_input_shape, require_model


# Images per call of the model: large enough that calling it costs little beside the
# arithmetic (256 took 0.3 s more per TP1 submission), small enough for a convnet's activations:
# fewer for a model whose layers output more, so that one call holds at most BATCH_VALUES
# numbers per layer (256 MB of float32).
BATCH = 2000
BATCH_VALUES = 64_000_000


def predicted_probabilities(model: Any, x: Any, labels: Any, batch_size: int = BATCH) -> np.ndarray:
    """The model's outputs (one row of class probabilities per image) for each of x.

    x and labels are the checker's own data: a mistake there is a ValueError, while a model
    that does not fit the data is the student's AssertionError. The model is called directly,
    not through `model.predict`: the student's kernel may have replaced `predict`, or left it
    compiled for inputs of another rank (a model trained on (N, 28, 28) images then checked on
    (N, 28, 28, 1) ones fails inside Keras's cached predict function).
    """
    model = require_model(model)
    data = np.asarray(x)
    labels = np.asarray(labels)
    if labels.shape != data.shape[:1]:
        raise ValueError(
            f"labels must be integer classes of shape {shape_text(data.shape[:1])}, "
            f"got shape {shape_text(labels.shape)}"
        )
    expected = model_input_shape(model)
    if not shape_matches(data.shape[1:], expected):
        raise AssertionError(
            f"le modèle prend des entrées de forme {shape_text(expected)}, "
            f"mais les données de test ont la forme {shape_text(data.shape)}"
        )
    batch_size = min(batch_size, max(1, BATCH_VALUES // _largest_output(model)))
    predictions = np.concatenate([
        np.asarray(model(data[start : start + batch_size], training=False))
        for start in range(0, len(data), batch_size)
    ])
    if predictions.ndim != 2:
        raise AssertionError(
            f"le modèle produit des sorties de forme {shape_text((None, *predictions.shape[1:]))}, "
            "attendu (N, nombre de classes)"
        )
    return predictions


def _largest_output(model: Any) -> int:
    """The most numbers one of the model's layers outputs for one image (1 when unknown)."""
    sizes = [1]
    for layer in getattr(model, "layers", []):
        try:
            sizes.append(int(np.prod([d for d in layer.output.shape[1:] if d])))
        except (AttributeError, ValueError, TypeError):
            continue
    return max(sizes)


def assert_accuracy(model: Any, x: Any, labels: Any, *, full: float, partial: float) -> float:
    """The notebooks' accuracy check on the student's own test data: printed, and at least
    `full` (the course's thresholds: all the points from `full`, half from `partial`)."""
    labels = np.asarray(labels)
    measured = float(np.mean(predicted_probabilities(model, x, labels).argmax(axis=1) == labels))
    print(f"ta précision sur x_test : {percent(measured)}")
    if measured < full:
        half = (f"la moitié des points à partir de {threshold_percent(partial)}" if measured >= partial
                else f"aucun point sous {threshold_percent(partial)}")
        raise AssertionError(f"précision {percent(measured)} : moins de {threshold_percent(full)}, "
                             f"le seuil de tous les points ({half})")
    return measured


def model_inputs(model: Any, images: Any) -> Any:
    """uint8 images prepared as the practicals ask: the model's input shape, values in [0, 1]."""
    return images.reshape(-1, *model.input_shape[1:]) / 255
