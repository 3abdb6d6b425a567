"""TP2's hidden checks (convolutional network), run by the verifier on the exported data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks import Grade, conv2d, dense, flatten, max_pool
from course_lib.french import decimal, integer, points_text
from course_lib.specs.common import (
    accuracy_cell, architecture_cell, compile_cell, integers_cell, load_cell, onehot_cell,
    own_prepare_cell, predict_cell, prepare_cell, save_cell, train_cell,
)
from course_lib.specs.protocol import (
    Check, Context, Items, Keep, array, call, value,
)

__all__ = ["CHECKS", "KEEP", "Context"]

SAMPLE = (28, 28, 1)
LENET = [conv2d(6, 5, "same", "relu"), max_pool(2), conv2d(16, 5, "valid", "relu"), max_pool(2),
         flatten(), dense(200, "relu"), dense(84, "relu"), dense(10, "softmax")]


# Section 5: pooling by the maximum and by the mean. The public test's 4 × 4 array (the
# notebook's `small`) and its two poolings; the hidden check calls pool2x2 on arrays drawn at
# each grading.
MAX_SMALL = [[4, 2], [2, 7]]
AVG_SMALL = [[2.5, 1.0], [1.25, 5.25]]


def reference_pool2x2(a: np.ndarray, mode: str) -> np.ndarray:
    blocks = a.reshape(a.shape[0] // 2, 2, a.shape[1] // 2, 2)
    return blocks.max(axis=(1, 3)) if mode == "max" else blocks.mean(axis=(1, 3))


def _pool2x2() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        # Integers, decimals of both signs, and only negative numbers (a maximum started at 0 shows).
        drawn = [draw.integers(0, 10, size=(6, 8)).astype(float), np.round(draw.uniform(-5, 5, size=(4, 10)), 2),
                 np.round(draw.uniform(-9, -1, size=(2, 6)), 2)]
        return [array("max_pooled", "max_pooled"), array("avg_pooled", "avg_pooled")] + [
            call(f"drawn_{mode}_{i}", "pool2x2", a, mode) for i, a in enumerate(drawn) for mode in ("max", "avg")
        ]

    def public(data: Any, context: Context) -> None:
        if not np.array_equal(data.array("max_pooled")[1], MAX_SMALL):
            raise AssertionError("max_pooled ne donne pas les maxima des 4 carrés de small")
        if not np.allclose(data.array("avg_pooled")[1], AVG_SMALL):
            raise AssertionError("avg_pooled ne donne pas les moyennes des 4 carrés de small")

    def hidden(data: Any, context: Context, points: float) -> None:
        for key, item in data.items.items():
            if not key.startswith("drawn_"):
                continue
            grid, mode = np.asarray(item["args"][0], dtype=float), item["args"][1]
            expected, found = reference_pool2x2(grid, mode), data.array(key)[1]
            where = f"pool2x2(a, {mode!r}) sur un tableau {grid.shape[0]} × {grid.shape[1]}"
            if found.shape != expected.shape:
                raise AssertionError(f"{where} doit donner un tableau {expected.shape[0]} × {expected.shape[1]}")
            if not np.allclose(found, expected):
                raise AssertionError(f"{where} ne donne pas les bonnes valeurs")

    return Check(exports, public, hidden)


# Section 7: output sizes (stride and padding) and the volume of the data. The functions are
# called in the notebook as its public test calls them (positional arguments); their results
# are exported as values, so that the check sees whether they are integers.
def reference_conv_size(n: int, k: int, stride: int = 1, padding: str = "valid") -> int:
    """keras's output length: ceil(n / stride) in `same`, floor((n − k) / stride) + 1 in `valid`."""
    return -(-n // stride) if padding == "same" else (n - k) // stride + 1


def reference_pool_size(n: int, pool: int, stride: int | None = None) -> int:
    return (n - pool) // (pool if stride is None else stride) + 1


def reference_volume(h: int, w: int, filters: int) -> int:
    return h * w * filters


CONV_PUBLIC = [(28, 5), (28, 5, 1, "same"), (14, 5), (28, 3, 2), (7, 3, 2, "same")]
POOL_PUBLIC = [(28, 2), (10, 2), (7, 2), (28, 3, 2)]
VOLUME_PUBLIC = [(28, 28, 1), (28, 28, 6)]
LENET_VOLUMES = [(4704, "28 × 28 × 6"), (1176, "14 × 14 × 6"), (1600, "10 × 10 × 16"), (400, "5 × 5 × 16")]


def _result(key: str, function: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """`function(*args)` evaluated in the notebook; the arguments are kept for the check."""
    return {**value(key, f"{function}({', '.join(repr(a) for a in args)})"), "args": list(args)}


def _plain_integer(data: Any, key: str) -> bool:
    """An integer of Python or numpy, not a bool, a float or a class of the student's."""
    found, kind = data.value(key), data.type_name(key)
    return (isinstance(found, int) and not isinstance(found, bool)
            and (kind == "builtins.int" or kind.startswith(("numpy.int", "numpy.uint"))))


def _first_wrong(data: Any, keys: list[str], reference: Callable[..., int]) -> str | None:
    """The first of `keys` whose exported result is not `reference` on its arguments, as a
    French sentence (None when all are right)."""
    for key in keys:
        item, found = data.items[key], data.value(key)  # NotExported: the call raised, or was not made
        if not _plain_integer(data, key):
            return f"{item['expr']} doit être un nombre entier"
        expected = reference(*item["args"])
        if found != expected:
            return f"{item['expr']} vaut {integer(found)}, attendu {integer(expected)}"
    return None


def _draw_until(make: Callable[[], tuple], keep: Callable[..., bool]) -> tuple:
    """The first case `make` draws that `keep` accepts."""
    while not keep(*(case := make())):
        pass
    return case


def _conv_cases(draw: np.random.Generator) -> list[tuple]:
    """The default call, each padding with a stride of 1, and strides 2 to 4 whose division
    is not exact (floor and ceil then differ, and a forgotten stride shows)."""
    def n() -> int:
        return int(draw.integers(9, 65))

    def k() -> int:
        return int(draw.integers(2, 8))

    def s() -> int:
        return int(draw.integers(2, 5))

    return [
        _draw_until(lambda: (n(), k()), lambda n, k: k < n),
        _draw_until(lambda: (n(), k(), 1, "valid"), lambda n, k, s, p: k < n),
        _draw_until(lambda: (n(), k(), 1, "same"), lambda n, k, s, p: True),
        _draw_until(lambda: (n(), k(), s(), "valid"), lambda n, k, s, p: (n - k) % s != 0),
        _draw_until(lambda: (n(), k(), s(), "valid"), lambda n, k, s, p: (n - k) % s != 0),
        _draw_until(lambda: (n(), k(), s(), "same"), lambda n, k, s, p: n % s != 0),
        _draw_until(lambda: (n(), k(), s(), "same"), lambda n, k, s, p: n % s != 0),
    ]


def _pool_cases(draw: np.random.Generator) -> list[tuple]:
    """The default stride (the window: 2, then 3 or 4) on sizes it does not divide, and
    strides other than the window."""
    def n() -> int:
        return int(draw.integers(6, 65))

    def pool() -> int:
        return int(draw.integers(2, 5))

    return [
        _draw_until(lambda: (n(), 2), lambda n, p: n % 2 != 0),
        _draw_until(lambda: (n(), int(draw.integers(3, 5))), lambda n, p: n % p != 0),
        _draw_until(lambda: (n(), pool(), int(draw.integers(1, 5))), lambda n, p, s: s != p and (n - p) % s != 0),
        _draw_until(lambda: (n(), pool(), int(draw.integers(1, 5))), lambda n, p, s: s != p and (n - p) % s != 0),
    ]


def _output_sizes() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        return [
            *(_result(f"conv_given_{i}", "conv_output_size", args) for i, args in enumerate(CONV_PUBLIC)),
            *(_result(f"pool_given_{i}", "pool_output_size", args) for i, args in enumerate(POOL_PUBLIC)),
            *(_result(f"conv_drawn_{i}", "conv_output_size", args) for i, args in enumerate(_conv_cases(draw))),
            *(_result(f"pool_drawn_{i}", "pool_output_size", args) for i, args in enumerate(_pool_cases(draw))),
        ]

    def keys(data: Any, prefix: str) -> list[str]:
        return [key for key in data.items if key.startswith(prefix)]

    def public(data: Any, context: Context) -> None:
        wrong = (_first_wrong(data, keys(data, "conv_given_"), reference_conv_size)
                 or _first_wrong(data, keys(data, "pool_given_"), reference_pool_size))
        if wrong:
            raise AssertionError(wrong)

    def attempt(data: Any, prefix: str, reference: Callable[..., int]) -> str | None:
        try:
            return _first_wrong(data, keys(data, prefix), reference)
        except AssertionError as error:  # a call that raised on drawn arguments: that function is wrong
            return str(error)

    def hidden(data: Any, context: Context, points: float) -> Grade | None:
        # Half of the points for each function.
        wrong = [message for message in (attempt(data, "conv_drawn_", reference_conv_size),
                                         attempt(data, "pool_drawn_", reference_pool_size))
                 if message]
        if len(wrong) == 2:
            raise AssertionError(" ; ".join(wrong))
        if wrong:
            return Grade(points / 2, f"{wrong[0]} : {points_text(points / 2)} sur {decimal(points)}")
        return None

    return Check(exports, public, hidden)


def _volume() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        def shape() -> tuple[int, int, int]:
            return int(draw.integers(1, 65)), int(draw.integers(1, 65)), int(draw.integers(1, 257))

        drawn = [_draw_until(shape, lambda h, w, f: h != w) for _ in range(3)]  # not square: h, w in order
        return [
            *(_result(f"volume_given_{i}", "volume", args) for i, args in enumerate(VOLUME_PUBLIC)),
            *(_result(f"volume_drawn_{i}", "volume", args) for i, args in enumerate(drawn)),
            value("lenet_volumes", "list(lenet_volumes)"),
        ]

    def public(data: Any, context: Context) -> None:
        wrong = _first_wrong(data, [key for key in data.items if key.startswith("volume_given_")], reference_volume)
        if wrong:
            raise AssertionError(wrong)
        volumes = data.value("lenet_volumes")
        if not isinstance(volumes, list) or len(volumes) != 4:
            raise AssertionError("lenet_volumes doit contenir 4 nombres : un par couche")

    def hidden(data: Any, context: Context, points: float) -> None:
        wrong = _first_wrong(data, [key for key in data.items if key.startswith("volume_drawn_")], reference_volume)
        if wrong:
            raise AssertionError(wrong)
        for layer, (found, (expected, formula)) in enumerate(zip(data.value("lenet_volumes"), LENET_VOLUMES)):
            if found != expected:
                found_text = (integer(found) if isinstance(found, int) and not isinstance(found, bool)
                              else decimal(found) if isinstance(found, float) else repr(found))
                raise AssertionError(
                    f"lenet_volumes[{layer}] vaut {found_text}, attendu {formula} = {integer(expected)}")

    return Check(exports, public, hidden)


CHECKS = {
    "test_load": load_cell(),
    "test_pool2x2": _pool2x2(),
    "test_output_sizes": _output_sizes(),
    "test_volume": _volume(),
    "test_prepare": prepare_cell(SAMPLE),
    "test_onehot": onehot_cell(),
    "test_nb_params": integers_cell({
        "nb_params_conv1": (156, "(5 × 5 × 1 + 1) × 6"),
        "nb_params_conv2": (2416, "(5 × 5 × 6 + 1) × 16"),
        "nb_params_dense1": (80200, "400 × 200 + 200 (Flatten donne 5 × 5 × 16 = 400 valeurs)"),
    }, public_values=True),
    "test_architecture": architecture_cell(SAMPLE, LENET, params=100506),
    "test_compile": compile_cell(),
    "test_train": train_cell(),
    "test_save": save_cell("tp2_convol.keras"),
    "test_predict": predict_cell(),
    "test_accuracy": accuracy_cell(),
    "test_own_prepare": own_prepare_cell(SAMPLE),
}
# The training curves of the feedback page, the trained model for the instructor.
KEEP = Keep(history=("test_train", "history"), model=("test_accuracy", "model"))
