"""The exports of one submission, read safely: what the verifier's checks see.

Nothing here imports or runs student code: JSON, pickle-free .npy files, and .keras models
whose config.json names only whitelisted Keras classes, of a size the verifier can hold,
loaded with safe_mode=True. `Exported` is what a spec's checks get as `data`
(course_lib.specs.protocol).
"""

from __future__ import annotations

import functools
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.french import integer
from course_lib.checks.architecture import TENSORFLOW_ACTIVATIONS
from course_lib.kernel.export import INDEX

# What a .keras archive may contain and name. Anything else (a Lambda, a custom layer or
# function, a registered class of another package) is refused before Keras reads it.
ARCHIVE_FILES = {"config.json", "metadata.json", "model.weights.h5"}
MAX_ARCHIVE_BYTES = 256 << 20
# What a model may declare, counted before a weight exists: its parameters (TP1's network has
# 623,290), and the numbers one of its layers outputs for one image (TP2's first: 4,704).
MAX_PARAMETERS = 20_000_000
MAX_LAYER_OUTPUT = 2_000_000
# Keras's own layers that a student may reasonably use, none of which runs code from its
# config (no Lambda, no wrapped foreign model, no vocabulary file read from the verifier's disk).
LAYERS = {
    # core, activations, merges
    "InputLayer", "Dense", "EinsumDense", "Embedding", "Identity", "Masking", "Activation", "ReLU",
    "Softmax", "LeakyReLU", "ELU", "PReLU", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Concatenate", "Dot",
    # convolutions and pooling
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D",
    # normalisation and regularisation
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
    "RMSNormalization", "Normalization", "Rescaling", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "GaussianDropout", "GaussianNoise", "AlphaDropout", "ActivityRegularization",
    # reshaping
    "Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "Cropping3D",
    "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    # image preprocessing and augmentation
    "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    "RandomContrast", "RandomBrightness", "RandomCrop", "RandomShear", "RandomErasing",
    "RandomGaussianBlur", "RandomSharpness", "RandomPerspective", "RandomElasticTransform",
    "RandomInvert", "RandomPosterization", "RandomGrayscale", "AutoContrast", "Equalization", "Solarization",
}
MODULES = {
    "keras", "keras.layers", "keras.initializers", "keras.optimizers", "keras.losses",
    "keras.metrics", "keras.regularizers", "keras.constraints", "keras.activations",
    "keras.src.models.functional", "keras.models", "keras.optimizers.schedules",
}
FORBIDDEN = {"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "__lambda__"}


class NotExported(AssertionError):
    """The data a check needs was not exported: the kernel failed before, or was changed.
    `key`: the export it needed (its variables tell the cause, course_lib.results.explain)."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class Unloadable(AssertionError):
    """A saved model the verifier does not load (a class outside the whitelist, a broken or
    oversized archive): those checks fail, and that is all (it is not tampering)."""


class Exported:
    """The data exported after one test cell (course_lib.kernel.export), read safely."""

    def __init__(self, folder: Path, items: list[dict[str, Any]]) -> None:
        self.folder = folder
        self.items = {item["key"]: item for item in items}
        try:
            index = json.loads(_regular(folder / INDEX).read_text())
        except (NotExported, OSError, ValueError, RecursionError):
            index = {}
        self.index = index if isinstance(index, dict) else {}

    def _entry(self, key: str) -> dict[str, Any]:
        entry = self.index.get(key)
        if not isinstance(entry, dict):
            raise NotExported(f"« {self.items[key]['expr']} » n'a pas été calculé : les cellules "
                              "précédentes ne sont pas allées jusqu'au bout", key)
        if "error" in entry:
            error_type = str(entry["error"]).split(":")[0]
            raise NotExported(f"« {self.items[key]['expr']} » n'a pas pu être lu dans le notebook ({error_type})", key)
        return entry

    def value(self, key: str) -> Any:
        return self._entry(key).get("value")

    def type_name(self, key: str) -> str:
        return str(self._entry(key).get("type", ""))

    def array(self, key: str) -> tuple[dict[str, Any], np.ndarray]:
        """The array's metadata (shape, dtype, min, max, finite, rows) and its saved data."""
        entry = self._entry(key)
        try:
            data = np.load(_regular(self.folder / f"{key}.npy"), allow_pickle=False)
            meta = {"shape": [int(d) for d in entry["shape"]], "dtype": str(np.dtype(entry["dtype"]))}
            meta.update({k: float(entry[k]) for k in ("min", "max") if k in entry})
            meta["finite"] = bool(entry.get("finite", True))
        except (KeyError, TypeError, ValueError, OSError) as error:
            raise NotExported(f"« {self.items[key]['expr']} » : export illisible ({type(error).__name__})", key) from None
        if data.dtype.kind not in "biuf":
            raise NotExported(f"« {self.items[key]['expr']} » n'est pas un tableau de nombres", key)
        requested = self.items[key].get("rows")
        if requested is not None:  # the rows the grader drew, that exist in an array of that length
            meta["rows"] = [row for row in requested if row < meta["shape"][0]] if meta["shape"] else []
            if len(meta["rows"]) != len(data):
                raise NotExported(f"« {self.items[key]['expr']} » : les lignes exportées sont incohérentes", key)
        elif list(data.shape) != meta["shape"]:
            raise NotExported(f"« {self.items[key]['expr']} » : le tableau exporté est incohérent", key)
        return meta, data

    def model(self, key: str, *, compile: bool = False) -> Any:
        self._entry(key)
        return load_model_safely(self.folder / f"{key}.keras", compile=compile)

    def saved_model(self, key: str) -> Any:
        """A model file the student saved (a `file` item), loaded as safely as `model`."""
        return load_model_safely(self.file(key))

    def file(self, key: str) -> Path:
        """A student's file, under the name the grader gave it (its suffix from the request)."""
        self._entry(key)
        return _regular(self.folder / f"{key}{Path(self.items[key]['expr']).suffix}")


def _regular(path: Path) -> Path:
    """A regular file, never a symbolic link (a submission may plant links)."""
    if path.is_symlink() or not path.is_file():
        raise NotExported(f"le fichier {path.name} est introuvable")
    return path


def check_archive(path: Path) -> dict[str, Any]:
    """Refuse a .keras archive that names anything outside the whitelist; its config."""
    try:
        with zipfile.ZipFile(_regular(path)) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if not names <= ARCHIVE_FILES or "config.json" not in names:
                raise Unloadable(f"le modèle enregistré contient des fichiers inattendus : {sorted(names - ARCHIVE_FILES)}")
            if sum(info.file_size for info in infos) > MAX_ARCHIVE_BYTES:
                raise Unloadable("le modèle enregistré est trop gros")
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise Unloadable(f"le modèle enregistré est illisible ({type(error).__name__})") from None
    for node in _class_nodes(config):
        if not _allowed(node):
            what = (f"la fonction {node.get('config')}" if node.get("module") == "builtins"
                    else f"{node.get('class_name')} ({node.get('module')})")
            raise Unloadable(f"le correcteur ne charge pas un modèle qui utilise {what} : seules les couches "
                             "et fonctions de Keras lui sont permises (pas de Lambda ni de classe à soi)")
    return config


def _allowed(node: dict[str, Any]) -> bool:
    """A class Keras may build: a whitelisted layer or a Keras object, named exactly (a dotted
    name would let Keras look up any class), or a Keras loss, metric or activation function."""
    name, module, registered = node.get("class_name"), node.get("module"), node.get("registered_name")
    if not isinstance(name, str) or "." in name or name in FORBIDDEN:
        return False
    if module == "builtins" and name == "function":  # e.g. loss=keras.losses.categorical_crossentropy
        return isinstance(node.get("config"), str) and (
            node["config"] in _keras_functions() or node["config"] in TENSORFLOW_ACTIVATIONS)
    if module is None:
        return name.startswith("__") and name != "__lambda__"
    if module not in MODULES or registered not in (None, name):
        return False
    return module != "keras.layers" or name in LAYERS


@functools.cache
def _keras_functions() -> frozenset[str]:
    import keras

    names = set()
    for namespace in (keras.losses, keras.metrics, keras.activations):
        names |= {n for n in dir(namespace) if not n.startswith("_") and callable(getattr(namespace, n))}
    return frozenset(names)


def _class_nodes(config: Any):
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _class_nodes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _class_nodes(value)


def load_model_safely(path: Path, *, compile: bool = False) -> Any:
    """A student's .keras model: whitelisted classes only, of a declared size the verifier
    can hold, safe mode (no code deserialised).

    The same archive (by content) is loaded once per process: a practical exports its model
    after several test cells, and loading is the verifier's main cost.
    """
    config = check_archive(path)
    key = (hashlib.sha256(_regular(path).read_bytes()).hexdigest(), compile)
    if key not in _LOADED:
        import keras

        if len(_LOADED) >= 8:
            _LOADED.clear()
        # activation=tf.nn.softmax was saved as TensorFlow's function: Keras's own stands for it.
        same = {tf_name: getattr(keras.activations, name) for tf_name, name in TENSORFLOW_ACTIVATIONS.items()}
        check_declared_size(config, same)
        try:
            _LOADED[key] = keras.saving.load_model(path, safe_mode=True, compile=compile, custom_objects=same)
        except Exception as error:  # a hostile or broken archive: not a model the grader uses
            raise Unloadable(f"le modèle enregistré ne peut pas être chargé ({type(error).__name__})") from None
    return _LOADED[key]


def check_declared_size(config: dict[str, Any], custom_objects: dict[str, Any]) -> None:
    """Refuse a model that declares more than the verifier can hold, before any weight exists:
    the model is built in a stateless scope, where Keras only records each variable's shape
    (a 40 KB archive may declare Dense(3_000_000): 9 GB once built). A model that cannot be
    built so is refused: its config contradicts itself (a layer's declared input against the
    layer before), and the real load would allocate before it found out. Every layer of the
    whitelist that Keras itself reloads builds so."""
    import math

    import keras
    from keras.src.backend.common import global_state  # where the deferred variables wait

    try:
        with keras.StatelessScope(initialize_variables=False):
            model = keras.saving.deserialize_keras_object(_uncompiled(config), custom_objects=custom_objects,
                                                          safe_mode=True)
            parameters = sum(math.prod(variable.shape) for variable in model.weights)
            outputs = [math.prod(d for d in tensor.shape[1:] if d) for layer in model.layers
                       for tensor in _outputs(layer)]
    except Exception as error:  # noqa: BLE001 (any failure: not a model the grader builds)
        raise Unloadable(f"le modèle enregistré ne peut pas être construit ({type(error).__name__})") from None
    finally:
        global_state.set_global_attribute("uninitialized_variables", [])
    if parameters > MAX_PARAMETERS:
        raise Unloadable(f"le modèle déclare {integer(parameters)} paramètres, plus que le correcteur "
                             f"n'en accepte ({integer(MAX_PARAMETERS)})")
    if outputs and max(outputs) > MAX_LAYER_OUTPUT:
        raise Unloadable(f"une couche du modèle produit {integer(max(outputs))} valeurs par image, plus que "
                             f"le correcteur n'en accepte ({integer(MAX_LAYER_OUTPUT)})")


def _uncompiled(config: Any) -> Any:
    """The config without any compile config, at every level (a compiled model nested in
    another): compiling creates an optimizer's variables, which a stateless scope refuses."""
    if isinstance(config, dict):
        return {key: _uncompiled(value) for key, value in config.items() if key != "compile_config"}
    if isinstance(config, list):
        return [_uncompiled(value) for value in config]
    return config


def _outputs(layer: Any) -> list[Any]:
    """The tensors a layer outputs (several for a nested model), none if it was never called."""
    import keras

    try:
        return keras.tree.flatten(layer.output)
    except (AttributeError, ValueError):
        return []


_LOADED: dict[tuple[str, bool], Any] = {}


def forget_models() -> None:
    """Drop the models loaded so far: nothing of one submission serves another."""
    _LOADED.clear()
