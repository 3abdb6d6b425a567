"""The MNIST recipes of the hidden checks: the checks both practicals' test cells share
(loading, preparing, one-hot labels, the architecture, training, saving, predicting, the
accuracy), built on the protocol of course_lib.specs.protocol. This package is hidden from the
sandbox: student code never sees it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_lib.checks import (
    Grade, architecture_signature, assert_architecture, assert_compiled,
    assert_input_shape, assert_one_hot, assert_total_params, check_training, grade_threshold,
    model_inputs, predicted_probabilities,
)
from course_lib.checks.training import VALIDATION_ACCURACY
from course_lib.french import integer
from course_lib.checks.arrays import assert_kind, assert_shape, assert_values_in
from course_lib.specs.protocol import Check, Context, Items, array, file, model, no_hidden_check, value
from course_lib.verdicts import TEST_BLOCKS, ModelEvidence

SAMPLED_ROWS = 256
EVIDENCE_ROWS = 5000  # training images the trained model is measured on (course_lib.verdicts.ModelEvidence)
def rows(draw: np.random.Generator, size: int) -> list[int]:
    return sorted(draw.choice(size, SAMPLED_ROWS, replace=False).tolist())


# Checks of exported arrays, the public checks' rules (course_lib.checks.arrays) on the metadata.
def check_array(meta: dict[str, Any], name: str, shape: Sequence[int | None] | None = None,
                kind: str | None = None, value_range: tuple[float, float] | None = None) -> None:
    if shape is not None:
        assert_shape(meta["shape"], shape, name)
    if kind is not None:
        assert_kind(meta["dtype"], kind, name)
    if value_range is not None and "min" in meta:
        assert_values_in(meta["min"], meta["max"], meta["finite"], value_range, name)


def check_rows(data: Any, key: str, name: str, reference: np.ndarray, atol: float = 0.0,
               transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
    """The exported rows of `key` equal the same rows of `reference`, passed through
    `transform` (the reference preparation) if given: only the sampled rows are prepared, not
    the whole set (the training images as float64 are 376 MB, half a second per submission)."""
    meta, rows_found = data.array(key)
    expected = reference[meta["rows"]] if "rows" in meta else reference
    if transform is not None:
        expected = transform(expected)
    if rows_found.shape != expected.shape:
        assert_shape(meta["shape"], (len(reference), *expected.shape[1:]), name)
        raise AssertionError(f"{name} n'a pas les lignes attendues")
    if not np.allclose(rows_found.astype(np.float64), expected, atol=atol, rtol=0):
        raise AssertionError(f"{name} diffère des valeurs attendues")


# Cells both practicals have.
def load_cell(extra_public: Callable[[Any], None] | None = None, extra_exports: Items = (),
              *, labels_checked: bool = True) -> Check:
    """The MNIST arrays loaded as keras gives them (`labels_checked`: the public check also
    looks at the labels' shapes, as TP2's does)."""

    def exports(draw: np.random.Generator) -> Items:
        train, test = rows(draw, 60000), rows(draw, 10000)
        return [array("im_train", "im_train", train), array("lab_train", "lab_train", train),
                array("im_test", "im_test", test), array("lab_test", "lab_test", test),
                *extra_exports]

    def public(data: Any, context: Context) -> None:
        check_array(data.array("im_train")[0], "im_train", (60000, 28, 28), "u")
        check_array(data.array("im_test")[0], "im_test", (10000, 28, 28), "u")
        if labels_checked:
            check_array(data.array("lab_train")[0], "lab_train", (60000,), "iu")
            check_array(data.array("lab_test")[0], "lab_test", (10000,), "iu")
        if extra_public:
            extra_public(data)

    def hidden(data: Any, context: Context, points: float) -> None:
        (im_train, lab_train), (im_test, lab_test) = context.mnist
        for key, reference in (("im_train", im_train), ("lab_train", lab_train),
                               ("im_test", im_test), ("lab_test", lab_test)):
            check_rows(data, key, key, reference)

    return Check(exports, public, hidden)


def prepare_cell(sample_shape: tuple[int, ...], train_images: int = 60000) -> Check:
    """x_train (the first `train_images`) and x_test: reshaped to `sample_shape`, divided by 255."""

    def exports(draw: np.random.Generator) -> Items:
        return [array("x_train", "x_train", rows(draw, train_images)),
                array("x_test", "x_test", rows(draw, 10000))]

    def public(data: Any, context: Context) -> None:
        check_array(data.array("x_train")[0], "x_train", (train_images, *sample_shape), "f", (0.0, 1.0))
        check_array(data.array("x_test")[0], "x_test", (10000, *sample_shape), "f", (0.0, 1.0))

    def hidden(data: Any, context: Context, points: float) -> None:
        (im_train, _), (im_test, _) = context.mnist

        def prepared(images: np.ndarray) -> np.ndarray:
            return images.reshape(len(images), *sample_shape) / 255

        check_rows(data, "x_train", "x_train", im_train[:train_images], atol=1e-6, transform=prepared)
        check_rows(data, "x_test", "x_test", im_test, atol=1e-6, transform=prepared)

    return Check(exports, public, hidden)


def onehot_cell(train_images: int = 60000) -> Check:
    """y_train (the first `train_images`) and y_test, whole: a few wrong rows must not hide
    among samples."""

    def exports(draw: np.random.Generator) -> Items:
        return [array("y_train", "y_train"), array("lab_train", "lab_train"),
                array("y_test", "y_test"), array("lab_test", "lab_test")]

    def public(data: Any, context: Context) -> None:
        for y, labels in (("y_train", "lab_train"), ("y_test", "lab_test")):
            assert_one_hot(data.array(y)[1], data.array(labels)[1], name=y)

    def hidden(data: Any, context: Context, points: float) -> None:
        (_, lab_train), (_, lab_test) = context.mnist
        for y, reference in (("y_train", lab_train[:train_images]), ("y_test", lab_test)):
            assert_one_hot(data.array(y)[1], reference, name=y)

    return Check(exports, public, hidden)


def _plain_integer(type_name: str) -> bool:
    """Python's or numpy's integers, not a class of the student's that poses as one."""
    return type_name == "builtins.int" or type_name.startswith("numpy.int") or type_name.startswith("numpy.uint")


def integers_cell(expected: dict[str, tuple[int, str]], *, public_values: bool = False) -> Check:
    """Numbers the student computes: name → (value, how it is computed). The public check
    asks for integers, and for the values too when `public_values` (the notebooks compare
    them with a digest, course_lib.checks.answers: then nothing is left to the hidden check)."""

    def exports(draw: np.random.Generator) -> Items:
        return [value(name, name) for name in expected]

    def values(data: Any) -> None:
        for name, (number, formula) in expected.items():
            if data.value(name) != number:
                raise AssertionError(f"{name} vaut {integer(data.value(name))}, attendu {formula}")

    def public(data: Any, context: Context) -> None:
        for name in expected:
            found = data.value(name)
            if not isinstance(found, int) or isinstance(found, bool) or not _plain_integer(data.type_name(name)):
                raise AssertionError(f"{name} doit être un nombre entier")
        if public_values:
            values(data)

    return Check(exports, public, no_hidden_check if public_values else lambda data, context, points: values(data))


def architecture_cell(sample_shape: tuple[int, ...], layers: list[dict[str, Any]],
                      params: int | None = None) -> Check:
    """The network exactly as asked (layers that change nothing at prediction aside), as the
    notebook's own check says it: nothing is left to a hidden check."""

    def public(data: Any, context: Context) -> None:
        network = data.model("model")
        assert_input_shape(network, sample_shape)
        assert_architecture(network, layers)
        if params is not None:
            assert_total_params(network, params)

    return Check(lambda draw: [model("model", "model")], public, no_hidden_check)


COURSE_COMPILE = {"loss": "categorical_crossentropy", "optimizer": "adam", "metrics": ["accuracy"]}


def compile_cell() -> Check:
    def public(data: Any, context: Context) -> None:
        assert_compiled(data.model("model", compile=True), **COURSE_COMPILE)

    return Check(lambda draw: [model("model", "model")], public, no_hidden_check)


def train_cell() -> Check:
    """hist comes from model.fit with a validation, early_stop watched one of its figures: the
    notebook's own check (course_lib.checks.training), on the exported values."""

    def exports(draw: np.random.Generator) -> Items:
        return [
            value("history", "hist.history"),
            value("hist_is_history", "isinstance(hist, __import__('keras').callbacks.History)"),
            value("stop_is_early", "isinstance(early_stop, __import__('keras').callbacks.EarlyStopping)"),
            value("monitor", "early_stop.monitor"),
            value("stop_model_is_model", "early_stop.model is model"),
            value("hist_model_is_model", "hist.model is model"),
        ]

    def public(data: Any, context: Context) -> None:
        check_training(data.value("history"), data.value("monitor"), is_history=data.value("hist_is_history") is True,
                       is_early_stopping=data.value("stop_is_early") is True,
                       stop_used=data.value("stop_model_is_model") is True,
                       from_fit=data.value("hist_model_is_model") is True)

    return Check(exports, public, no_hidden_check)


def save_cell(keras_file: str, weights_file: str | None = None) -> Check:
    """The trained network saved as `keras_file` (and its weights as `weights_file`)."""

    def exports(draw: np.random.Generator) -> Items:
        items = [model("model", "model"), model("reloaded", "reloaded"), file("saved", keras_file)]
        if weights_file:
            items.append(value("weights_saved", f"__import__('os').path.isfile({weights_file!r})"))
        return items

    def public(data: Any, context: Context) -> None:
        trained, reloaded = data.model("model"), data.model("reloaded")  # NotExported: a cell above failed
        if weights_file and data.value("weights_saved") is not True:
            raise AssertionError(f"le fichier {weights_file} n'existe pas")
        data.file("saved")
        if architecture_signature(reloaded) != architecture_signature(trained):
            raise AssertionError("reloaded n'a pas la même architecture que model")

    def hidden(data: Any, context: Context, points: float) -> None:
        saved = data.saved_model("saved")
        trained = data.model("model")
        if len(saved.get_weights()) != len(trained.get_weights()) or not all(
            a.shape == b.shape and np.allclose(a, b) for a, b in zip(saved.get_weights(), trained.get_weights())
        ):
            raise AssertionError(f"{keras_file} ne contient pas les poids du réseau entraîné")

    return Check(exports, public, hidden)


def predict_cell() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        return [array("results", "results"), array("predicted", "predicted"),
                value("success_rate", "float(success_rate)"), array("lab_test", "lab_test")]

    def public(data: Any, context: Context) -> None:
        meta, results = data.array("results")
        check_array(meta, "results", (10000, 10), "f")
        check_array(data.array("predicted")[0], "predicted", (10000,))
        _, labels = data.array("lab_test")
        rate = data.value("success_rate")
        if labels.shape != (10000,) or not isinstance(rate, float) or not np.isclose(
            rate, np.mean(np.argmax(results, axis=1) == labels)
        ):
            raise AssertionError("success_rate ne correspond pas à results et lab_test")

    def hidden(data: Any, context: Context, points: float) -> None:
        (_, _), (_, lab_test) = context.mnist
        _, results = data.array("results")
        _, predicted = data.array("predicted")
        if not np.array_equal(predicted, np.argmax(results, axis=1)):
            raise AssertionError("predicted n'est pas l'argmax de results")
        if not np.isclose(data.value("success_rate"), np.mean(np.argmax(results, axis=1) == lab_test)):
            raise AssertionError("success_rate n'est pas la proportion de bonnes réponses")

    return Check(exports, public, hidden)


def accuracy_cell(train_images: int = 60000) -> Check:
    """The trained model's accuracy on the reference test set, measured here: points by the
    course's thresholds (course.toml). A training that validated on the test set keeps its
    points, and is told why not to (`validated_on_test`)."""

    def exports(draw: np.random.Generator) -> Items:
        return [model("model", "model"), array("x_test", "x_test", []), array("lab_test", "lab_test", []),
                value("history", "hist.history")]

    def public(data: Any, context: Context) -> None:
        # The cell measures the model's accuracy on the student's x_test: it runs when the
        # model, x_test and lab_test exist (Keras adapts a missing channel axis by itself).
        data.model("model")
        data.array("x_test")
        data.array("lab_test")

    def hidden(data: Any, context: Context, points: float) -> Grade:
        network = data.model("model")
        (_, _), (images, labels) = context.mnist
        probabilities = predicted_probabilities(network, model_inputs(network, images), labels)
        predicted = probabilities.argmax(axis=1)
        context.predictions = predicted.tolist()  # for the feedback's confusion matrix
        context.accuracy = round(float(np.mean(predicted == labels)), 4)
        settings = context.settings["accuracy"]
        grade = grade_threshold(context.accuracy, full=settings["full"], partial=settings["partial"],
                                points=points)
        history = _history(data)
        try:  # for the instructor's integrity signals: never the student's points
            context.evidence = model_evidence(network, probabilities, labels, history, context, train_images)
        except Exception:  # noqa: BLE001 (a model that breaks here still has its accuracy)
            context.evidence = None
        if validated_on_test(history, probabilities, labels):
            return Grade(grade.points, f"{grade.message} ; {VALIDATED_ON_TEST}")
        return grade

    return Check(exports, public, hidden)


VALIDATED_ON_TEST = ("ton entraînement a validé sur les images de test, qui ont ainsi servi à choisir le réseau "
                     "gardé et rendent sa précision optimiste : valide plutôt sur une part des images "
                     "d'entraînement (validation_split=0.1)")


def _history(data: Any) -> dict[str, Any]:
    try:
        history = data.value("history")
    except AssertionError:  # no hist: nothing to compare
        return {}
    return history if isinstance(history, dict) else {}


def _cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0))))


def _validation_accuracies(history: dict[str, Any]) -> Any:
    return next((history[k] for k in VALIDATION_ACCURACY if k in history), None)


def model_evidence(network: Any, test_probabilities: np.ndarray, test_labels: np.ndarray,
                   history: dict[str, Any], context: Context, train_images: int) -> ModelEvidence:
    """The trained model on what it should have trained on and on what it should not have:
    EVIDENCE_ROWS training images drawn afresh among the practical's `train_images` (outside
    their last tenth, validation_split=0.1's)
    and the test set (whole and by consecutive blocks); its accuracy on that last tenth,
    beside what its history says there."""
    (images, labels), _ = context.mnist
    images, labels = images[:train_images], labels[:train_images]  # what the practical trains on
    kept = len(images) - len(images) // 10
    rows = np.sort(np.random.default_rng().choice(kept, min(EVIDENCE_ROWS, kept), replace=False))
    train = predicted_probabilities(network, model_inputs(network, images[rows]), labels[rows])
    held = predicted_probabilities(network, model_inputs(network, images[kept:]), labels[kept:])
    reported = _validation_accuracies(history)
    return ModelEvidence(
        test_loss=round(_cross_entropy(test_probabilities, test_labels), 5),
        train_loss=round(_cross_entropy(train, labels[rows]), 5),
        validation_loss=round(_cross_entropy(held, labels[kept:]), 5),
        validation_accuracy=round(float(np.mean(held.argmax(axis=1) == labels[kept:])), 5),
        history_validation=[float(a) for a in reported
                            if isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)][:1000]
        if isinstance(reported, list) else [],
        test_blocks=[round(_cross_entropy(probabilities, labels), 6) for probabilities, labels
                     in zip(np.array_split(test_probabilities, TEST_BLOCKS), np.array_split(test_labels, TEST_BLOCKS))],
    )


def validated_on_test(history: dict[str, Any], probabilities: np.ndarray, labels: np.ndarray) -> bool:
    """Whether an epoch's validation figures are the test set's for this model (the one the
    training kept): its val_loss the test cross-entropy, its validation accuracy the test
    accuracy. Another validation set cannot match both."""
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
    loss = _cross_entropy(probabilities, labels)
    losses = history.get("val_loss")
    accuracies = _validation_accuracies(history)
    if not isinstance(losses, list) or not isinstance(accuracies, list):
        return False
    return any(isinstance(l, float) and isinstance(a, float) and abs(a - accuracy) <= 0.6 / len(labels)
               and abs(l - loss) <= 1e-3 * max(loss, 1e-3) for l, a in zip(losses, accuracies))


def own_prepare_cell(sample_shape: tuple[int, ...]) -> Check:
    """my_x: the course's sample digits (grading has no `mes_chiffres` folder), prepared."""

    def exports(draw: np.random.Generator) -> Items:
        return [array("my_x", "my_x"), array("my_images", "my_images")]

    def public(data: Any, context: Context) -> None:
        images_meta, _ = data.array("my_images")
        check_array(data.array("my_x")[0], "my_x", (images_meta["shape"][0], *sample_shape), "f", (0.0, 1.0))

    def hidden(data: Any, context: Context, points: float) -> None:
        reference = context.sample_digits
        check_rows(data, "my_x", "my_x", reference.reshape(len(reference), *sample_shape) / 255, atol=1e-6)

    return Check(exports, public, hidden)
