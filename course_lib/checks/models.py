"""Getting a usable Keras model out of a student's variable, with a message when we cannot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .namespace import assert_defined

if TYPE_CHECKING:
    import keras


def require_model(model: Any, *, built: bool = True) -> keras.Model:
    """Return model if it is a Keras model (built, unless built=False) or fail with one sentence."""
    import keras  # lazy: importing the checks must not start TensorFlow

    assert_defined(model, "le modèle")
    if not isinstance(model, keras.Model):
        raise AssertionError(f"le modèle n'est pas un modèle Keras (type reçu : {type(model).__name__})")
    if built and not model.built:
        # A Sequential without Input (nor input_shape=) has no shapes until first called.
        raise AssertionError("le modèle n'est pas construit : il lui manque une couche Input")
    return model


def model_input_shape(model: keras.Model) -> tuple[int | None, ...]:
    """Shape of one input sample (batch dimension dropped) of a built model."""
    return tuple(model.inputs[0].shape[1:])
