"""Unit tests of course_lib.checks: exact messages on small untrained models, no MNIST."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib.checks import (  # noqa: E402
    accuracy,
    architecture_signature,
    assert_architecture,
    assert_array,
    assert_close,
    assert_compiled,
    assert_input_shape,
    assert_one_hot,
    assert_total_params,
    compare_architecture,
    conv2d,
    dense,
    describe_layer,
    flatten,
    grade_threshold,
    max_pool,
    require,
    total_params,
)

Dense, Conv2D, MaxPooling2D, Flatten, Activation = (
    keras.layers.Dense,
    keras.layers.Conv2D,
    keras.layers.MaxPooling2D,
    keras.layers.Flatten,
    keras.layers.Activation,
)

TP1 = [dense(784, "relu"), dense(10, "softmax")]
LENET = [
    conv2d(6, 5, "same", "relu"),
    max_pool(2),
    conv2d(16, 5, "valid", "relu"),
    max_pool(2),
    flatten(),
    dense(200, "relu"),
    dense(84, "relu"),
    dense(10, "softmax"),
]


def sequential(input_shape: tuple[int, ...], *layers: keras.layers.Layer) -> keras.Sequential:
    return keras.Sequential([keras.Input(input_shape), *layers])


def tp1_model() -> keras.Sequential:
    return sequential((784,), Dense(784, activation="relu"), Dense(10, activation="softmax"))


def lenet_layers() -> list[keras.layers.Layer]:
    return [
        Conv2D(6, 5, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(16, 5, padding="valid", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(200, activation="relu"),
        Dense(84, activation="relu"),
        Dense(10, activation="softmax"),
    ]


def failure(check, *args, **kwargs) -> str:
    """The message of the AssertionError the check must raise."""
    with pytest.raises(AssertionError) as error:
        check(*args, **kwargs)
    return str(error.value)


# --- import cost -----------------------------------------------------------------------------


def test_importing_the_checks_does_not_import_keras():
    code = "import sys, course_lib.checks; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# --- signature -------------------------------------------------------------------------------


def test_signature_of_the_tp1_model_is_plain_data():
    signature = architecture_signature(tp1_model())
    assert signature == [
        {"kind": "Dense", "units": 784, "activation": "relu", "output_shape": (784,), "params": 615_440},
        {"kind": "Dense", "units": 10, "activation": "softmax", "output_shape": (10,), "params": 7_850},
    ]
    json.dumps(signature)


def test_signature_of_lenet_layers():
    signature = architecture_signature(sequential((28, 28, 1), *lenet_layers()))
    assert signature[0] == {
        "kind": "Conv2D",
        "filters": 6,
        "kernel_size": (5, 5),
        "strides": (1, 1),
        "padding": "same",
        "activation": "relu",
        "output_shape": (28, 28, 6),
        "params": 156,
    }
    assert signature[1] == {
        "kind": "MaxPooling2D",
        "strides": (2, 2),
        "padding": "valid",
        "pool_size": (2, 2),
        "output_shape": (14, 14, 6),
        "params": 0,
    }
    assert signature[4] == {"kind": "Flatten", "output_shape": (400,), "params": 0}


def test_input_shape_argument_gives_the_canonical_signature():
    with pytest.warns(UserWarning, match="input_shape"):  # Keras 3 discourages it but builds the model
        first = Dense(784, activation="relu", input_shape=(784,))
    model = keras.Sequential([first, Dense(10, activation="softmax")])
    assert architecture_signature(model) == architecture_signature(tp1_model())
    assert compare_architecture(model, TP1) == []


def test_activation_layers_fold_into_the_canonical_signature():
    model = sequential((784,), Dense(784), Activation("relu"), Dense(10), Activation("softmax"))
    assert architecture_signature(model) == architecture_signature(tp1_model())
    assert_architecture(model, TP1)


def lenet_with_activation_layers() -> list[keras.layers.Layer]:
    """LeNet as lenet_layers() builds it, each activation a layer of its own (ReLU, Softmax)."""
    return [
        Conv2D(6, 5, padding="same"), keras.layers.ReLU(), MaxPooling2D(2),
        Conv2D(16, 5), keras.layers.ReLU(), MaxPooling2D(2), Flatten(),
        Dense(200), keras.layers.ReLU(), Dense(84), Activation(keras.activations.relu),
        Dense(10), keras.layers.Softmax(),
    ]


def test_relu_and_softmax_layers_fold_like_activation_layers():
    model = sequential((28, 28, 1), *lenet_with_activation_layers())
    assert architecture_signature(model) == architecture_signature(sequential((28, 28, 1), *lenet_layers()))
    assert compare_architecture(model, LENET) == []


def test_other_spellings_of_the_same_layers_give_the_same_signature():
    written_out = sequential(
        (28, 28, 1),
        Conv2D(filters=6, kernel_size=(5, 5), strides=(1, 1), padding="same", activation="relu"),
        MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding="valid"),
        Conv2D(16, (5, 5), padding="valid", activation=keras.activations.relu),
        MaxPooling2D((2, 2)), Flatten(),
        Dense(units=200, activation=tf.nn.relu), Dense(84, activation="relu"), Dense(10, activation="softmax"),
    )
    assert architecture_signature(written_out) == architecture_signature(sequential((28, 28, 1), *lenet_layers()))


def test_a_leaky_relu_is_named_and_a_bounded_relu_stays_a_layer():
    leaky = sequential((784,), Dense(784), keras.layers.LeakyReLU(negative_slope=0.1), Dense(10, activation="softmax"))
    assert compare_architecture(leaky, TP1) == [
        "layer 1: expected Dense(784, relu), found Dense(784, leaky_relu)"]
    relu6 = sequential((784,), Dense(784), keras.layers.ReLU(max_value=6.0), Dense(10, activation="softmax"))
    assert compare_architecture(relu6, TP1)[0] == "layer 1: expected Dense(784, relu), found Dense(784, linear)"
    after_flatten = sequential((4, 4), Flatten(), keras.layers.ReLU())
    assert [entry["kind"] for entry in architecture_signature(after_flatten)] == ["Flatten", "ReLU"]


def test_activation_first_or_after_a_nonlinear_layer_stays_a_layer():
    model = sequential((4,), Activation("relu"), Dense(3, activation="relu"), Activation("softmax"))
    kinds = [(entry["kind"], entry["activation"]) for entry in architecture_signature(model)]
    assert kinds == [("Activation", "relu"), ("Dense", "relu"), ("Activation", "softmax")]


def test_activation_function_objects_are_named():
    model = sequential((4,), Dense(3, activation=tf.nn.relu), Dense(2, activation=keras.activations.softmax))
    assert_architecture(model, [dense(3, "relu"), dense(2, "softmax")])


def test_functional_model_matches_the_sequential_one():
    inputs = keras.Input((28, 28, 1))
    outputs = inputs
    for layer in lenet_layers():
        outputs = layer(outputs)
    functional = keras.Model(inputs, outputs)
    assert architecture_signature(functional) == architecture_signature(
        sequential((28, 28, 1), *lenet_layers())
    )
    assert_architecture(functional, LENET)


def test_sequential_built_by_a_call_has_a_signature():
    model = keras.Sequential([Dense(784, activation="relu"), Dense(10, activation="softmax")])
    model(np.zeros((2, 784), dtype="float32"))
    assert_architecture(model, TP1)
    assert_input_shape(model, (784,))


def test_unbuilt_model_is_reported():
    model = keras.Sequential([Dense(784, activation="relu"), Dense(10, activation="softmax")])
    assert failure(architecture_signature, model) == "the model is not built: give it an Input layer"


def test_missing_or_wrong_model_is_reported():
    assert failure(assert_architecture, None, TP1) == "the model is not defined yet"
    assert failure(assert_architecture, "model", TP1) == "the model is not a Keras model (got str)"


# --- architecture messages -------------------------------------------------------------------


def test_missing_layer_message():
    model = sequential((784,), Dense(784, activation="relu"))
    assert failure(assert_architecture, model, TP1) == (
        "layer 2: expected Dense(10, softmax), found no layer (the model has 1 layer)"
    )


def test_extra_layer_message():
    model = tp1_model()
    model.add(Dense(10, activation="softmax"))
    assert failure(assert_architecture, model, TP1) == "layer 3: unexpected extra layer Dense(10, softmax)"


def test_wrong_units_message():
    model = sequential((784,), Dense(128, activation="relu"), Dense(10, activation="softmax"))
    assert failure(assert_architecture, model, TP1) == (
        "layer 1: expected Dense(784, relu), found Dense(128, relu)"
    )


def test_wrong_activation_message():
    model = sequential((784,), Dense(784, activation="relu"), Dense(10, activation="relu"))
    assert failure(assert_architecture, model, TP1) == (
        "layer 2: expected Dense(10, softmax), found Dense(10, relu)"
    )


def test_missing_activation_reads_linear():
    model = sequential((784,), Dense(784, activation="relu"), Dense(10))
    assert failure(assert_architecture, model, TP1) == (
        "layer 2: expected Dense(10, softmax), found Dense(10, linear)"
    )


def test_wrong_kernel_size_message():
    layers = lenet_layers()
    layers[2] = Conv2D(16, 3, padding="valid", activation="relu")
    expected = [*LENET[:2], conv2d(16, 5, "valid"), *LENET[3:]]
    assert failure(assert_architecture, sequential((28, 28, 1), *layers), expected) == (
        "layer 3: expected Conv2D(16, 5×5, valid), found Conv2D(16, 3×3, valid)"
    )


def test_wrong_padding_message():
    layers = lenet_layers()
    layers[0] = Conv2D(6, 5, activation="relu")
    assert failure(assert_architecture, sequential((28, 28, 1), *layers), LENET) == (
        "layer 1: expected Conv2D(6, 5×5, same, relu), found Conv2D(6, 5×5, valid, relu)"
    )


def test_wrong_strides_message():
    model = sequential((28, 28, 1), Conv2D(6, 5, strides=2, padding="same", activation="relu"))
    expected = [conv2d(6, 5, "same", "relu", strides=1)]
    assert failure(assert_architecture, model, expected) == (
        "layer 1: expected Conv2D(6, 5×5, strides 1×1, same, relu), "
        "found Conv2D(6, 5×5, strides 2×2, same, relu)"
    )


def test_wrong_pool_size_message():
    model = sequential((28, 28, 1), MaxPooling2D(3))
    assert failure(assert_architecture, model, [max_pool(2)]) == (
        "layer 1: expected MaxPooling2D(2×2), found MaxPooling2D(3×3)"
    )


def test_wrong_kind_shows_the_whole_found_layer():
    model = sequential((28, 28, 1), Conv2D(6, 5, padding="same", activation="relu"))
    assert failure(assert_architecture, model, [max_pool(2)]) == (
        "layer 1: expected MaxPooling2D(2×2), found Conv2D(6, 5×5, same, relu)"
    )


def test_compare_lists_every_difference_and_accepts_json_signatures():
    model = sequential((784,), Dense(100, activation="relu"))
    assert compare_architecture(model, TP1) == [
        "layer 1: expected Dense(784, relu), found Dense(100, relu)",
        "layer 2: expected Dense(10, softmax), found no layer (the model has 1 layer)",
    ]
    reference = json.loads(json.dumps(architecture_signature(sequential((28, 28, 1), *lenet_layers()))))
    assert compare_architecture(sequential((28, 28, 1), *lenet_layers()), reference) == []


def test_describe_layer_hides_defaults_only():
    pool = {"kind": "MaxPooling2D", "pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}
    assert describe_layer(pool) == "MaxPooling2D(2×2)"
    same_padding = {**pool, "strides": (1, 1), "padding": "same"}
    assert describe_layer(same_padding) == "MaxPooling2D(2×2, strides 1×1, same)"
    assert describe_layer({"kind": "Flatten", "output_shape": (400,), "params": 0}) == "Flatten()"


def test_input_shape_message():
    model = sequential((28, 28, 1), Flatten())
    assert_input_shape(model, (28, 28, 1))
    assert failure(assert_input_shape, model, (784,)) == (
        "the model takes inputs of shape (28, 28, 1), expected (784,)"
    )


def test_parameter_counts_of_the_course_models():
    assert total_params(tp1_model()) == 623_290
    assert total_params(sequential((28, 28, 1), *lenet_layers())) == 100_506
    small = sequential((784,), Dense(128, activation="relu"), Dense(10, activation="softmax"))
    assert failure(assert_total_params, small, 623_290) == (
        "the model has 101,770 parameters, expected 623,290"
    )


# --- compile ---------------------------------------------------------------------------------

COURSE_COMPILE = {"loss": "categorical_crossentropy", "optimizer": "adam", "metrics": ["accuracy"]}


def test_uncompiled_model_is_reported():
    assert failure(assert_compiled, tp1_model(), **COURSE_COMPILE) == (
        "the model is not compiled: call model.compile(...)"
    )


@pytest.mark.parametrize(
    "loss, optimizer, metrics",
    [
        ("categorical_crossentropy", "adam", ["accuracy"]),
        (
            keras.losses.CategoricalCrossentropy(),
            keras.optimizers.Adam(),
            [keras.metrics.CategoricalAccuracy()],
        ),
        (keras.losses.categorical_crossentropy, "Adam", ["acc", "mse"]),
    ],
)
def test_equivalent_compile_settings_pass(loss, optimizer, metrics):
    model = tp1_model()
    model.compile(loss=loss, optimizer=optimizer, metrics=metrics)
    assert_compiled(model, **COURSE_COMPILE)


def test_wrong_loss_message():
    model = tp1_model()
    model.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "the model is compiled with loss 'mse', expected 'categorical_crossentropy'"
    )
    assert_compiled(model, loss=keras.losses.MeanSquaredError())


def test_wrong_optimizer_message():
    model = tp1_model()
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(), metrics=["accuracy"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "the model is compiled with optimizer 'SGD', expected 'adam'"
    )


def test_missing_metric_messages():
    model = tp1_model()
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "the model is compiled with no metrics, expected metrics ['accuracy']"
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["mse"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "the model is compiled with metrics ['mse'], expected metrics ['accuracy']"
    )


def test_missing_loss_message():
    model = tp1_model()
    model.compile(optimizer="adam", metrics=["accuracy"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "the model is compiled without a loss, expected 'categorical_crossentropy'"
    )


# --- arrays ----------------------------------------------------------------------------------


def test_assert_array_accepts_good_arrays_and_tensors():
    images = np.zeros((5, 784), dtype="float32")
    assert_array(images, "x_train", shape=(5, 784), dtype_kind="f", value_range=(0, 1))
    assert_array(tf.ones((5, 784)), "x_train", shape=(None, 784), dtype_kind="f", value_range=(0, 1))
    assert_array([[1, 2]], "labels", shape=(1, 2), dtype_kind="iu")


def test_assert_array_messages():
    images = np.full((6, 28, 28), 255, dtype="uint8")
    images[0, 0, 0] = 0
    assert failure(assert_array, images, "x_train", shape=(6, 784)) == (
        "x_train has shape (6, 28, 28), expected (6, 784)"
    )
    assert failure(assert_array, images, "x_train", shape=(None, 784)) == (
        "x_train has shape (6, 28, 28), expected (N, 784)"
    )
    assert failure(assert_array, images, "x_train", dtype_kind="f") == (
        "x_train has dtype uint8, expected a float array"
    )
    assert failure(assert_array, images, "x_train", value_range=(0.0, 1.0)) == (
        "x_train has values in [0, 255], expected values in [0, 1]"
    )
    assert failure(assert_array, np.array([0.5, np.nan]), "x_train", value_range=(0, 1)) == (
        "x_train contains NaN or infinite values"
    )


def test_not_defined_and_not_array_messages():
    assert failure(assert_array, None, "x_train") == "x_train is not defined yet"
    assert failure(assert_array, {"a": 1}, "x_train") == "x_train is not an array of numbers (got dict)"
    assert failure(assert_array, keras.Input((3,)), "x_train") == (
        "x_train is not an array of numbers (got KerasTensor)"
    )


def test_require_fetches_from_a_namespace():
    namespace = {"x_train": np.zeros(3), "y_train": None}
    assert require(namespace, "x_train") is namespace["x_train"]
    assert failure(require, namespace, "y_train") == "y_train is not defined yet"
    assert failure(require, namespace, "model") == "model is not defined yet"


def test_assert_close_points_at_the_largest_difference():
    reference = np.zeros((5, 784))
    values = reference.copy()
    values[3, 120] = 0.5
    values[1, 2] = 0.25
    assert_close(reference + 1e-9, reference, "x_train")
    assert failure(assert_close, values, reference, "x_train") == (
        "x_train differs from the expected values (largest difference 0.5 at index (3, 120))"
    )
    assert failure(assert_close, values[:2], reference, "x_train") == (
        "x_train has shape (2, 784), expected (5, 784)"
    )


def test_assert_close_reports_nan():
    assert failure(assert_close, np.array([0.0, np.nan]), np.zeros(2), "x") == (
        "x differs from the expected values (largest difference inf at index (1,))"
    )


def test_assert_one_hot():
    labels = np.array([3, 0, 9])
    y = np.eye(10, dtype="float32")[labels]
    assert_one_hot(y, labels)
    assert failure(assert_one_hot, labels, labels) == "y_train has shape (3,), expected (3, 10)"
    doubled = y.copy()
    doubled[1, 5] = 1
    assert failure(assert_one_hot, doubled, labels) == (
        "y_train[1] is not a one-hot row (expected a single 1 and zeros)"
    )
    assert failure(assert_one_hot, np.eye(10)[[3, 0, 8]], labels, name="y_test") == (
        "y_test[2] encodes class 8, expected class 9"
    )


# --- accuracy --------------------------------------------------------------------------------


def known_model() -> keras.Sequential:
    """Scores = x @ [[1, 0, 0], [0, 1, 0]] + [0, 0, 0.5]: class 0 if x0 wins, 1 if x1, else 2."""
    model = sequential((2,), Dense(3))
    kernel = np.array([[1, 0, 0], [0, 1, 0]], dtype="float32")
    model.set_weights([kernel, np.array([0, 0, 0.5], dtype="float32")])
    return model


def test_accuracy_is_computed_from_predictions():
    x = np.array([[2, 0], [0, 2], [0, 0], [1, 0]], dtype="float32")
    result = accuracy(known_model(), x, np.array([0, 1, 2, 1]), batch_size=2)
    assert type(result) is float
    assert result == 0.75


def test_accuracy_reports_a_model_that_does_not_fit_the_data():
    assert failure(accuracy, known_model(), np.zeros((4, 28, 28)), np.zeros(4)) == (
        "the model takes inputs of shape (2,), but the test data has shape (4, 28, 28)"
    )
    conv = sequential((4, 4, 1), Conv2D(2, 1))
    assert failure(accuracy, conv, np.zeros((3, 4, 4, 1)), np.zeros(3)) == (
        "the model outputs shape (N, 4, 4, 2), expected (N, number of classes)"
    )
    with pytest.raises(ValueError, match=r"labels must be integer classes of shape \(4,\)"):
        accuracy(known_model(), np.zeros((4, 2)), np.eye(10)[:4])


# --- partial credit --------------------------------------------------------------------------


def test_grade_threshold():
    assert grade_threshold(0.9712, full=0.97, partial=0.95, points=2) == (
        2.0,
        "accuracy 0.9712 reaches 0.97: 2 of 2 points",
    )
    assert grade_threshold(0.96, full=0.97, partial=0.95, points=2) == (
        1.0,
        "accuracy 0.96 reaches 0.95 but not 0.97: 1 of 2 points",
    )
    assert grade_threshold(0.9, full=0.97, partial=0.95, points=2, partial_fraction=0.25) == (
        0.0,
        "accuracy 0.9 is below 0.95: 0 of 2 points",
    )
    with pytest.raises(ValueError):
        grade_threshold(0.9, full=0.9, partial=0.95, points=2)


def test_accuracy_works_on_a_model_whose_predict_was_compiled_for_another_rank():
    """A model trained on (N, 28, 28) images (Keras adds the channel axis) is checked on the
    reference (N, 28, 28, 1) images: Keras's cached predict function fails there, the checker
    must not."""
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    images, labels = np.zeros((8, 28, 28)), np.arange(8)
    model.fit(images, np.eye(10)[labels], verbose=0)
    model.predict(images, verbose=0)
    with pytest.raises(ValueError):
        model.predict(images[..., None], verbose=0)
    expected = np.mean(np.argmax(model(images[..., None]), axis=1) == labels)
    assert accuracy(model, images[..., None], labels) == expected
