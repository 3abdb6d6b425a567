"""Architecture of a Keras model as plain data, and its comparison with the expected one.

The signature is read from the layers' objects and configs (never from model.summary() text)
so that equivalent spellings of the same network (Input vs input_shape=, activation=
vs an activation layer of its own — Activation, ReLU, Softmax, LeakyReLU —, an int vs a tuple
size, defaults written out, Sequential vs functional, with or without layers that change
nothing at prediction such as Dropout) compare equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from course_lib.french import integer, shape_text
from .models import model_input_shape, require_model

if TYPE_CHECKING:
    import keras

Signature = list[dict[str, Any]]

# Config keys copied into a layer's entry when the layer's config has them.
_CONFIG_FIELDS = ("units", "filters", "kernel_size", "strides", "padding", "pool_size")

# How each field reads in a short description, in the order it is shown.
_DESCRIPTIONS = {
    "units": str,
    "filters": str,
    "kernel_size": lambda size: "×".join(map(str, size)),
    "pool_size": lambda size: "×".join(map(str, size)),
    "strides": lambda strides: "strides " + "×".join(map(str, strides)),
    "padding": str,
    "activation": str,
    "output_shape": lambda shape: "sortie " + shape_text(shape),
    "params": lambda count: f"{integer(count)} paramètres",
}


# Layers that change nothing at prediction (regularisation and augmentation act only while
# training): a network with them is the one asked for, so the signature leaves them out.
INFERENCE_IDENTITY = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
    "GaussianNoise", "AlphaDropout", "ActivityRegularization", "Identity", "RandomFlip",
    "RandomRotation", "RandomTranslation", "RandomZoom", "RandomContrast", "RandomBrightness",
    "RandomCrop", "RandomShear", "RandomErasing", "RandomGaussianBlur", "RandomSharpness",
    "RandomPerspective", "RandomElasticTransform", "RandomInvert", "RandomPosterization",
    "RandomGrayscale",
}


def _changes_nothing(layer: keras.layers.Layer) -> bool:
    """A layer inert at prediction, or one that gives back its input as it is (a Flatten or
    Reshape of a vector into the same vector, a linear Activation)."""
    kind = type(layer).__name__
    if kind in INFERENCE_IDENTITY:
        return True
    if kind in ("Flatten", "Reshape"):
        return tuple(layer.input.shape[1:]) == tuple(layer.output.shape[1:])
    return kind == "Activation" and activation_name(layer.activation) == "linear"


# TensorFlow functions whose name is not their Keras activation's (activation=tf.nn.softmax):
# the same function, so the same name. The verifier loads them as the Keras ones.
TENSORFLOW_ACTIVATIONS = {"softmax_v2": "softmax", "log_softmax_v2": "log_softmax"}


def activation_name(function: Any) -> str:
    """An activation as activation="…" names it, whichever module the function came from
    (keras.activations.relu, tf.nn.relu, tf.nn.softmax: "relu", "relu", "softmax")."""
    name = getattr(function, "__name__", type(function).__name__)
    return TENSORFLOW_ACTIVATIONS.get(name, name)


def _plain(value: Any) -> Any:
    """Lists (e.g. from JSON) become tuples so that specs and signatures compare equal."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(item) for item in value)
    return value


def _layer_entry(layer: keras.layers.Layer) -> dict[str, Any]:
    """One signature entry: only the fields this kind of layer has."""
    config = layer.get_config()
    entry: dict[str, Any] = {"kind": type(layer).__name__}
    entry.update({key: _plain(config[key]) for key in _CONFIG_FIELDS if key in config})
    if hasattr(layer, "activation"):
        entry["activation"] = activation_name(layer.activation)
    entry["output_shape"] = tuple(layer.output.shape[1:])
    entry["params"] = layer.count_params()
    return entry


def _activation_layer(layer: keras.layers.Layer) -> str | None:
    """The activation a layer of its own applies (Activation, ReLU, Softmax, LeakyReLU), named
    as the activation= argument would name it; None for any other layer, or for variants no
    activation= spells (ReLU(max_value=6), Softmax over another axis)."""
    kind, config = type(layer).__name__, layer.get_config()
    if kind == "Activation":
        return activation_name(layer.activation)
    if kind == "ReLU" and config.get("max_value") is None and not config.get("threshold"):
        return "leaky_relu" if config.get("negative_slope") else "relu"
    if kind == "LeakyReLU":
        return "leaky_relu"
    if kind == "Softmax" and _plain(config.get("axis", -1)) in (-1, (-1,)):
        return "softmax"
    return None


def architecture_signature(model: Any) -> Signature:
    """One dict per layer: InputLayer and the layers that change nothing at prediction
    dropped, and an activation written as a layer of its own (Activation("relu"), ReLU(),
    Softmax(), LeakyReLU()) folded into the linear layer before it, so that it reads as that
    layer's activation= would."""
    import keras

    signature: Signature = []
    for layer in require_model(model).layers:
        if isinstance(layer, keras.layers.InputLayer) or _changes_nothing(layer):
            continue
        activation = _activation_layer(layer)
        if activation is not None and signature and signature[-1].get("activation") == "linear":
            signature[-1]["activation"] = activation
            signature[-1]["output_shape"] = tuple(layer.output.shape[1:])
        else:
            signature.append(_layer_entry(layer))
    return signature


def _spec(kind: str, **fields: Any) -> dict[str, Any]:
    """An expected layer: the fields left as None are not compared."""
    return {"kind": kind, **{key: value for key, value in fields.items() if value is not None}}


def _pair(size: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """Keras's own rule for 2D layers: an int n means n×n."""
    return (size, size) if isinstance(size, int) else _plain(size)


def dense(units: int | None = None, activation: str | None = None) -> dict[str, Any]:
    """Expected Dense layer, e.g. dense(784, "relu")."""
    return _spec("Dense", units=units, activation=activation)


def conv2d(
    filters: int | None = None,
    kernel_size: int | Sequence[int] | None = None,
    padding: str | None = None,
    activation: str | None = None,
    strides: int | Sequence[int] | None = None,
) -> dict[str, Any]:
    """Expected Conv2D layer, e.g. conv2d(6, 5, "same", "relu")."""
    return _spec(
        "Conv2D",
        filters=filters,
        kernel_size=_pair(kernel_size),
        strides=_pair(strides),
        padding=padding,
        activation=activation,
    )


def max_pool(
    pool_size: int | Sequence[int] | None = 2,
    strides: int | Sequence[int] | None = None,
    padding: str | None = None,
) -> dict[str, Any]:
    """Expected MaxPooling2D layer, e.g. max_pool(2)."""
    return _spec("MaxPooling2D", pool_size=_pair(pool_size), strides=_pair(strides), padding=padding)


def flatten() -> dict[str, Any]:
    """Expected Flatten layer."""
    return _spec("Flatten")


def _shown_by_default(entry: Mapping[str, Any], key: str) -> bool:
    """Whether a full description shows this field: defaults a student never writes are hidden."""
    if key in ("output_shape", "params"):
        return False
    if key == "strides":
        return entry[key] != entry.get("pool_size", (1,) * len(entry[key]))
    if key == "padding" and "pool_size" in entry:
        return entry[key] != "valid"
    return True


def describe_layer(entry: Mapping[str, Any], fields: Iterable[str] | None = None) -> str:
    """Short text such as Conv2D(6, 5×5, same, relu), limited to fields when given."""
    shown = set(fields) if fields is not None else {key for key in entry if _shown_by_default(entry, key)}
    parts = [text(entry[key]) for key, text in _DESCRIPTIONS.items() if key in shown and key in entry]
    return f"{entry['kind']}({', '.join(parts)})"


def _layers_text(count: int) -> str:
    """French count of layers, singular below 2: "0 couche", "1 couche", "2 couches"."""
    return f"{count} couche" if count < 2 else f"{count} couches"


def compare_architecture(
    model_or_signature: Any, expected: Sequence[Mapping[str, Any]]
) -> list[str]:
    """All differences, one sentence per layer position; an empty list means the same architecture.

    expected is a partial signature (e.g. built with dense(), conv2d()...): only the fields
    it gives are compared, and layers are numbered from 1 without the InputLayer.
    """
    found = model_or_signature
    if not isinstance(found, list):
        found = architecture_signature(found)
    found = [{key: _plain(value) for key, value in entry.items()} for entry in found]
    wanted = [{key: _plain(value) for key, value in entry.items()} for entry in expected]
    differences = []
    for number, (want, have) in enumerate(zip_longest(wanted, found), start=1):
        if have is None:
            differences.append(
                f"couche {number} : attendu {describe_layer(want, want)}, "
                f"aucune couche trouvée (le modèle a {_layers_text(len(found))})"
            )
        elif want is None:
            differences.append(f"couche {number} : couche en trop {describe_layer(have)}")
        elif want["kind"] != have["kind"]:
            differences.append(
                f"couche {number} : attendu {describe_layer(want, want)}, trouvé {describe_layer(have)}"
            )
        elif any(have.get(key) != value for key, value in want.items()):
            differences.append(
                f"couche {number} : attendu {describe_layer(want, want)}, "
                f"trouvé {describe_layer(have, want)}"
            )
    return differences


def assert_architecture(model: Any, expected: Sequence[Mapping[str, Any]]) -> None:
    """Fail with the first difference only: one thing to fix at a time."""
    differences = compare_architecture(model, expected)
    if differences:
        raise AssertionError(differences[0])


def assert_input_shape(model: Any, expected: Sequence[int | None]) -> None:
    """Check the shape of one input sample, e.g. (784,) for TP1 or (28, 28, 1) for TP2."""
    found = model_input_shape(require_model(model))
    if found != tuple(expected):
        raise AssertionError(
            f"le modèle prend des entrées de forme {shape_text(found)}, attendu {shape_text(expected)}"
        )


def total_params(model: Any) -> int:
    """Number of weights of the model (trainable or not)."""
    return int(require_model(model).count_params())


def assert_total_params(model: Any, expected: int) -> None:
    """Check the parameter count, a quick summary of every layer's size."""
    found = total_params(model)
    if found != expected:
        raise AssertionError(f"le modèle a {integer(found)} paramètres, attendu {integer(expected)}")
