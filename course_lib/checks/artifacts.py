"""What hidden tests leave for the grader: the trained model and its training history.

The grader re-measures the model in its own process (the student's kernel may have changed
anything in itself) and draws the curves and the confusion matrix of the feedback pages.
"""

from __future__ import annotations

import json
from typing import Any

GRADER_MODEL, GRADER_HISTORY = "grader_model.keras", "grader_history.json"


def save_for_grader(*, model: Any = None, history: Any = None) -> None:
    """Save `model` (.keras) and `history` (JSON) in the working directory, if possible.

    Never raises: a model that cannot be saved costs the feedback its plots, not the student
    their points.
    """
    if model is not None:
        try:
            model.save(GRADER_MODEL)
        except Exception:
            pass
    curves = getattr(history, "history", history)
    if isinstance(curves, dict):
        try:
            plain = {str(k): [float(v) for v in values] for k, values in curves.items()}
        except (TypeError, ValueError):
            return
        with open(GRADER_HISTORY, "w") as stream:
            json.dump(plain, stream)


def load_saved_model(path: Any) -> Any:
    """A model saved for the grader, in safe mode (no lambda or pickled code of the student
    runs) and uncompiled (the grader only predicts)."""
    import keras

    return keras.models.load_model(path, safe_mode=True, compile=False)


def model_inputs(model: Any, images: Any) -> Any:
    """uint8 images prepared as the practicals ask: the model's input shape, values in [0, 1]."""
    return images.reshape(-1, *model.input_shape[1:]) / 255
