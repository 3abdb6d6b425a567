"""TP2's hidden checks of pooling, output sizes and volumes, on exports written by hand.

Each case gives the student's functions and variables; the released test cell's export is
written by the kernel's exporter (course_lib.kernel.export.run, as the export cell
calls it), read back by the verifier's `Exported` and judged by the verifier. The released
public test cell is also run on the same answers: its verdict must be the verifier's
reproduction of it, or a right or a wrong answer would be reported as tampering.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from conftest import PROJECT

from course_lib.french import integer
from course_lib.kernel import export as kernel_export
from course_lib.verifier.exports import Exported
from course_lib.verifier.main import _judge
from course_lib.specs import tp2_convol as spec

RELEASE = nbformat.read(PROJECT / "release" / "tp2_convol" / "TP2_MNIST_convol.ipynb", as_version=4)
CELLS = {c.metadata["nbgrader"]["grade_id"]: c for c in RELEASE.cells}
SMALL = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 3]])


def judge(grade_id, namespace, tmp_path, monkeypatch, seed=0):
    """The verifier's verdict on `namespace` (the student's names), after checking that the
    released public test cell agrees with the verifier's reproduction of it."""
    import __main__

    check = spec.CHECKS[grade_id]
    items = check.exports(np.random.default_rng(seed))
    monkeypatch.setattr(kernel_export, "EXPORTS", tmp_path / "exports")
    for name, obj in namespace.items():
        monkeypatch.setattr(__main__, name, obj, raising=False)
    kernel_export.run(grade_id, json.loads(json.dumps(items)))  # as the export cell passes them
    points = CELLS[grade_id].metadata["nbgrader"]["points"]
    verdict = _judge(check, Exported(tmp_path / "exports" / grade_id, items), spec.Context(settings={}), points)
    try:
        exec(CELLS[grade_id].source, {"np": np, **namespace})  # noqa: S102 (the released test)
        kernel_passed = True
    except Exception:  # the kernel reports any error of a test cell as a failure
        kernel_passed = False
    assert kernel_passed == verdict.public, verdict
    return verdict


# The solution's functions.
def conv_output_size(n, k, stride=1, padding="valid"):
    if padding == "same":
        return -(-n // stride)
    return (n - k) // stride + 1


def pool_output_size(n, pool, stride=None):
    if stride is None:
        stride = pool
    return (n - pool) // stride + 1


def pool2x2(a, mode):
    a = np.asarray(a)
    blocks = a.reshape(a.shape[0] // 2, 2, a.shape[1] // 2, 2)
    return blocks.max(axis=(1, 3)) if mode == "max" else blocks.mean(axis=(1, 3))


def volume(h, w, filters):
    return h * w * filters


SIZES = {"conv_output_size": conv_output_size, "pool_output_size": pool_output_size}
POOLING = {"small": SMALL, "pool2x2": pool2x2, "max_pooled": pool2x2(SMALL, "max"),
           "avg_pooled": pool2x2(SMALL, "avg")}
VOLUMES = {"volume": volume, "lenet_volumes": [4704, 1176, 1600, 400]}


@pytest.mark.parametrize("seed", range(5))
def test_the_solutions_answers_get_every_point(tmp_path, monkeypatch, seed):
    for grade_id, namespace in (("test_output_sizes", SIZES), ("test_pool2x2", POOLING), ("test_volume", VOLUMES)):
        verdict = judge(grade_id, namespace, tmp_path / grade_id, monkeypatch, seed)
        full = CELLS[grade_id].metadata["nbgrader"]["points"]
        assert (verdict.points, verdict.public, verdict.message) == (full, True, "")


# Output sizes.
def test_a_forgotten_stride_fails_the_public_test(tmp_path, monkeypatch):
    def no_stride(n, k, stride=1, padding="valid"):
        return n if padding == "same" else n - k + 1

    verdict = judge("test_output_sizes", {**SIZES, "conv_output_size": no_stride}, tmp_path, monkeypatch)
    assert (verdict.points, verdict.public) == (0, False)
    assert verdict.message == "conv_output_size(28, 3, 2) vaut 26, attendu 13"


def test_a_size_that_is_not_an_integer_fails(tmp_path, monkeypatch):
    def float_same(n, k, stride=1, padding="valid"):
        return np.ceil(n / stride) if padding == "same" else (n - k) // stride + 1

    verdict = judge("test_output_sizes", {**SIZES, "conv_output_size": float_same}, tmp_path, monkeypatch)
    assert (verdict.points, verdict.public) == (0, False)
    assert verdict.message == "conv_output_size(28, 5, 1, 'same') doit être un nombre entier"


def default_stride_two(n, pool, stride=None):
    """Right on every public case (windows of 2, or an explicit stride), wrong on other windows."""
    return (n - pool) // (stride or 2) + 1


def test_a_function_wrong_only_on_drawn_arguments_costs_its_half(tmp_path, monkeypatch):
    verdict = judge("test_output_sizes", {**SIZES, "pool_output_size": default_stride_two}, tmp_path, monkeypatch)
    assert verdict.public and verdict.points == 1
    assert verdict.message.startswith("pool_output_size(")
    assert verdict.message.endswith(" : 1 point sur 2") and ", attendu " in verdict.message


def test_both_functions_wrong_on_drawn_arguments_get_nothing(tmp_path, monkeypatch):
    def same_floor_when_odd_stride(n, k, stride=1, padding="valid"):
        # right for strides 1 and 2 (the public cases), floor instead of ceil for 3 and 4
        if padding == "same":
            return n // stride if stride > 2 else -(-n // stride)
        return (n - k) // stride + 1

    def draw_needing(seed):
        cases = spec._conv_cases(np.random.default_rng(seed))
        return any(p == "same" and s > 2 for n, k, *rest in cases if rest for s, p in [rest])

    seed = next(s for s in range(100) if draw_needing(s))
    answers = {"conv_output_size": same_floor_when_odd_stride, "pool_output_size": default_stride_two}
    verdict = judge("test_output_sizes", answers, tmp_path, monkeypatch, seed)
    assert verdict.public and verdict.points == 0
    conv, pool = verdict.message.split(" ; ")
    assert conv.startswith("conv_output_size(") and pool.startswith("pool_output_size(")


@pytest.mark.parametrize("seed", range(50))
def test_the_drawn_sizes_tell_floor_from_ceil_and_show_a_forgotten_stride(seed):
    conv = spec._conv_cases(np.random.default_rng(seed))
    strided = [case for case in conv if len(case) == 4 and case[2] > 1]
    assert {p for *_, p in strided} == {"valid", "same"}
    for n, k, s, p in strided:
        exact = (n - k) / s + 1 if p == "valid" else n / s
        assert exact != int(exact)  # floor and ceil differ
        assert spec.reference_conv_size(n, k, s, p) != spec.reference_conv_size(n, k, 1, p)
    pool = spec._pool_cases(np.random.default_rng(seed))
    assert any(len(case) == 2 and case[1] > 2 and case[0] % case[1] for case in pool)
    assert any(len(case) == 3 and case[2] != case[1] for case in pool)


# Pooling.
def test_a_sum_instead_of_the_mean_fails_the_public_test(tmp_path, monkeypatch):
    verdict = judge("test_pool2x2", {**POOLING, "avg_pooled": SMALL.reshape(2, 2, 2, 2).sum(axis=(1, 3))},
                    tmp_path, monkeypatch)
    assert (verdict.points, verdict.public) == (0, False)
    assert verdict.message == "avg_pooled ne donne pas les moyennes des 4 carrés de small"


def test_a_maximum_started_at_zero_fails_the_hidden_check(tmp_path, monkeypatch):
    def from_zero(a, mode):
        a = np.asarray(a, dtype=float)
        out = np.zeros((a.shape[0] // 2, a.shape[1] // 2))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                block = a[2 * i:2 * i + 2, 2 * j:2 * j + 2]
                best = 0  # right for small (no negative value), wrong for a block of negatives
                for number in block.flat:
                    best = max(best, number)
                out[i, j] = best if mode == "max" else block.mean()
        return out

    answers = {**POOLING, "pool2x2": from_zero, "max_pooled": from_zero(SMALL, "max"),
               "avg_pooled": from_zero(SMALL, "avg")}
    verdict = judge("test_pool2x2", answers, tmp_path, monkeypatch)
    assert verdict.public and verdict.points == 0
    assert verdict.message == "pool2x2(a, 'max') sur un tableau 2 × 6 ne donne pas les bonnes valeurs"


def test_a_pooling_of_the_wrong_shape_is_named(tmp_path, monkeypatch):
    def transposed_max(a, mode):
        return pool2x2(a, mode).T if mode == "max" else pool2x2(a, mode)

    verdict = judge("test_pool2x2", {**POOLING, "pool2x2": transposed_max}, tmp_path, monkeypatch)
    assert verdict.public and verdict.points == 0
    assert verdict.message == "pool2x2(a, 'max') sur un tableau 6 × 8 doit donner un tableau 3 × 4"


def test_a_pooling_that_raises_on_a_drawn_array_gets_nothing(tmp_path, monkeypatch):
    def only_4x4(a, mode):
        blocks = np.asarray(a).reshape(2, 2, 2, 2)
        return blocks.max(axis=(1, 3)) if mode == "max" else blocks.mean(axis=(1, 3))

    verdict = judge("test_pool2x2", {**POOLING, "pool2x2": only_4x4}, tmp_path, monkeypatch)
    assert verdict.public and verdict.points == 0
    assert verdict.message == "« pool2x2 » n'a pas pu être lu dans le notebook (ValueError)"


# Volumes.
def test_a_volume_of_square_maps_only_fails_the_hidden_check(tmp_path, monkeypatch):
    verdict = judge("test_volume", {**VOLUMES, "volume": lambda h, w, filters: h * h * filters},
                    tmp_path, monkeypatch)
    assert verdict.public and verdict.points == 0
    assert verdict.message.startswith("volume(") and ", attendu " in verdict.message


def test_wrong_lenet_volumes_name_the_first_wrong_layer(tmp_path, monkeypatch):
    # the first convolution taken as `valid`: 24 × 24 × 6, then 12 × 12 × 6, 8 × 8 × 16, 4 × 4 × 16
    verdict = judge("test_volume", {**VOLUMES, "lenet_volumes": [3456, 864, 1024, 256]}, tmp_path, monkeypatch)
    assert verdict.public and verdict.points == 0
    assert verdict.message == f"lenet_volumes[0] vaut {integer(3456)}, attendu 28 × 28 × 6 = {integer(4704)}"


def test_lenet_volumes_may_be_a_numpy_array_or_a_tuple(tmp_path, monkeypatch):
    for case, volumes in enumerate((np.array([4704, 1176, 1600, 400]), (4704, 1176, 1600, 400))):
        verdict = judge("test_volume", {**VOLUMES, "lenet_volumes": volumes}, tmp_path / str(case), monkeypatch)
        assert verdict.points == 1, verdict


def test_lenet_volumes_of_three_layers_and_a_float_volume_fail_the_public_test(tmp_path, monkeypatch):
    verdict = judge("test_volume", {**VOLUMES, "lenet_volumes": [4704, 1176, 1600]}, tmp_path / "a", monkeypatch)
    assert (verdict.points, verdict.public, verdict.message) == (
        0, False, "lenet_volumes doit contenir 4 nombres : un par couche")
    verdict = judge("test_volume", {**VOLUMES, "volume": lambda h, w, filters: h * w * filters / 1},
                    tmp_path / "b", monkeypatch)
    assert (verdict.points, verdict.public, verdict.message) == (
        0, False, "volume(28, 28, 1) doit être un nombre entier")


def test_missing_answers_get_nothing_and_say_so(tmp_path, monkeypatch):
    verdict = judge("test_output_sizes", {}, tmp_path, monkeypatch)
    assert (verdict.points, verdict.public, verdict.missing) == (0, False, True)
    assert verdict.message == "« conv_output_size(28, 5) » n'a pas pu être lu dans le notebook (NameError)"


def test_the_verifier_reproduces_the_released_public_tests_cases():
    """The public cases the verifier checks again are the released test cells' own."""
    sizes = CELLS["test_output_sizes"].source.replace('"', "'")
    for cases, reference in ((spec.CONV_PUBLIC, spec.reference_conv_size),
                             (spec.POOL_PUBLIC, spec.reference_pool_size)):
        for args in cases:
            assert f"({args}, {reference(*args)})" in sizes
    for args in spec.VOLUME_PUBLIC:
        assert f"({args}, {spec.reference_volume(*args)})" in CELLS["test_volume"].source
    pooling = CELLS["test_pool2x2"].source
    assert str(spec.MAX_SMALL) in pooling and str(spec.AVG_SMALL) in pooling


def lenet(*augmentation):
    import keras

    return keras.Sequential([
        keras.Input((28, 28, 1)), *augmentation,
        keras.layers.Conv2D(6, 5, padding="same", activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 5, activation="relu"), keras.layers.SpatialDropout2D(0.1), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(200, activation="relu"), keras.layers.Dropout(0.25),
        keras.layers.Dense(84, activation="relu"), keras.layers.Dense(10, activation="softmax")])


def test_data_augmentation_and_dropouts_keep_the_architectures_points(tmp_path, monkeypatch):
    import keras

    model = lenet(keras.layers.RandomRotation(0.05), keras.layers.RandomTranslation(0.1, 0.1),
                  keras.layers.RandomZoom(0.1))
    verdict = judge("test_architecture", {"model": model}, tmp_path, monkeypatch)
    assert (verdict.points, verdict.message) == (2, "")


def test_keras_layers_a_student_may_use_are_loaded_by_the_verifier(tmp_path):
    """Other convnets than the course's: the verifier loads them (they lose the architecture's
    points on their own merits), and still refuses a Lambda, by name."""
    import keras

    from course_lib.verifier.exports import Unloadable, load_model_safely

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.RandomContrast(0.1)(inputs)
    a = keras.layers.SeparableConv2D(8, 3, padding="same", activation="relu")(x)
    b = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    b = keras.layers.Conv2D(8, 1, activation="relu")(b)
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.LayerNormalization()(x)
    x = keras.layers.GroupNormalization(groups=4)(keras.layers.Cropping2D(1)(x))
    x = keras.layers.UpSampling2D()(keras.layers.AveragePooling2D(2)(x))
    x = keras.layers.Add()([x, keras.layers.ZeroPadding2D(0)(x)])
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GaussianDropout(0.1)(x))
    keras.Model(inputs, outputs).save(tmp_path / "other.keras")
    assert load_model_safely(tmp_path / "other.keras").output_shape == (None, 10)

    with_lambda = keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda z: z * 2), keras.layers.Dense(10)])
    with_lambda.save(tmp_path / "lambda.keras")
    with pytest.raises(Unloadable, match=r"^le correcteur ne charge pas un modèle qui utilise Lambda \(keras\.layers\)"):
        load_model_safely(tmp_path / "lambda.keras")
