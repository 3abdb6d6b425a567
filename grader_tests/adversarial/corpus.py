"""The adversarial corpus: real submissions of the `mini` practical, one attack each.

Each case is an honest base notebook (the solution, a partial solution or the release) with
one attack; its twin is the same notebook without the attack, graded in the same batch, and
the test asserts the case earns exactly the twin's points (`lose` names the cells whose
exported data the verifier refuses, and so earn 0), shows the tampered flag where the
kernel's verdict was forged or locked cells were changed, and leaves the course unchanged.
The notebooks in cases/ are written by `python grader_tests/adversarial/corpus.py` from this
table; a test checks they are up to date.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
MASTER = HERE / "course" / "source" / "mini" / "mini.ipynb"
CASES_DIR = HERE / "cases"
LISTENER_PORT = 47811  # the test's TCP listener on 127.0.0.1
TEST_CELLS = ("test_relu", "test_counts", "test_prepare", "test_onehot", "test_architecture",
              "test_predict", "test_accuracy")

# Edits: ("first", code) a cell added at the top; ("after", grade_id, code) a cell added after
# that cell; ("answer", grade_id, code) an answer's source; ("edit", grade_id, code) a locked
# cell's source; ("meta", grade_id, key, value) its nbgrader metadata; ("tags", grade_id, tags);
# ("delete", grade_id).
Edit = tuple

WRONG_RELU = ("answer", "relu", "def relu(z):\n    return z")
SMALL_NETWORK = ("answer", "build", "model = keras.Sequential([\n    keras.Input(shape=(784,)),\n"
                 "    keras.layers.Dense(16, activation=\"relu\"),\n    keras.layers.Dense(10, activation=\"softmax\"),\n])\n"
                 "model.compile(loss=\"categorical_crossentropy\", optimizer=\"adam\", metrics=[\"accuracy\"])")
NOT_NORMALISED = ("answer", "prepare", "x_train = im_train.reshape(len(im_train), 784).astype(float)\n"
                  "x_test = im_test.reshape(len(im_test), 784).astype(float)")
NO_TRAINING = ("answer", "train", "hist = None  # pas d'entraînement")

BASES: dict[str, list[Edit]] = {
    "solution": [],
    "partial": [WRONG_RELU, SMALL_NETWORK],  # relu wrong (public check fails), 16 hidden units
    "release": None,  # the untouched release
}

# The attacks' code, as a cheating student would write it.
INPUT_TRANSFORMER = '''# Les cellules de vérification deviennent vides avant d'être exécutées.
def _blank_checks(lines):
    return [] if "Vérification" in "".join(lines) else lines
get_ipython().input_transformers_cleanup.append(_blank_checks)'''

AST_STRIP_ASSERTS = '''import ast
class _NoAssert(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_NoAssert())'''

AST_SWALLOW_ERRORS = '''import ast
class _Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        node.body = [ast.Try(body=[stmt], handlers=[ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])], orelse=[], finalbody=[]) for stmt in node.body]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_Swallow())'''

ALWAYS_EQUAL = '''class _Liar(int):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = int.__hash__
nb_train = _Liar(5999)'''

PATCH_COURSE_LIB = '''import course_lib.checks
for _name in ("assert_array", "assert_one_hot", "assert_input_shape", "assert_architecture", "assert_close"):
    setattr(course_lib.checks, _name, lambda *args, **kwargs: None)'''

PATCH_NUMPY = '''import numpy, numpy.testing
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_equal = lambda *args, **kwargs: None'''

PATCH_BUILTINS = '''import builtins
_real_isinstance = builtins.isinstance
_liar = nb_train
def _isinstance(obj, kinds):
    return True if obj is _liar else _real_isinstance(obj, kinds)
builtins.isinstance = _isinstance'''

PATCH_FIT = '''import keras
keras.Model.fit = lambda self, *args, **kwargs: keras.callbacks.History()'''

PATCH_PREDICT = '''import keras, numpy
from course_lib.data import load_mnist
_labels = load_mnist()[1][1]
def _perfect(self, x, *args, **kwargs):
    return numpy.eye(10, dtype="float32")[_labels[: len(x)]]
keras.Model.predict = _perfect
keras.Model.__call__ = _perfect
keras.Model.evaluate = lambda self, *args, **kwargs: [0.0, 1.0]
keras.Model.count_params = lambda self: 25450'''

FAKE_MODEL = '''class Oracle(keras.Sequential):
    """Un vrai réseau, mais dont predict donne toujours la bonne réponse."""
    def predict(self, x, *args, **kwargs):
        return np.eye(10, dtype="float32")[lab_test[: len(x)]]
model = Oracle([keras.Input(shape=(784,)), keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(10, activation="softmax")])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])'''

LAMBDA_MODEL = '''model = keras.Sequential([
    keras.Input(shape=(784,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
    keras.layers.Lambda(lambda x: x),  # exécuterait du code chez qui recharge le modèle
])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])'''

CUSTOM_LAYER_MODEL = '''@keras.saving.register_keras_serializable(package="triche")
class Shortcut(keras.layers.Layer):
    def call(self, x):
        return x
model = keras.Sequential([
    keras.Input(shape=(784,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
    Shortcut(),
])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])'''

# Looks for the course everywhere outside the Python installation: every hit is printed, the
# test asserts there is none.
READ_COURSE = '''import os, sys, glob
_targets = ("gradebook.db", "nbgrader_config.py", "course.toml", "grading.json", "timestamp.txt")
_skipped = tuple({sys.prefix, sys.base_prefix, os.path.expanduser("~")})  # libraries, my own folder
_found = []
for _top, _dirs, _files in os.walk("/"):
    if _top.startswith(("/proc", "/sys", "/dev", "/usr") + _skipped):
        _dirs[:] = []
        continue
    for _name in _files:
        _path = os.path.join(_top, _name)
        if _name in _targets:
            _found.append(_path)
        elif _name.endswith(".ipynb"):
            try:
                if "BEGIN SOLUTION" in open(_path).read():
                    _found.append(_path)
            except OSError:
                pass
_found += glob.glob(os.path.join(os.path.dirname(__import__("course_lib").__file__), "specs", "*.py"))
for _path in _found:
    print("FOUND", _path)
try:
    import course_lib.specs.mini
    print("FOUND hidden checks")
except ImportError:
    pass'''

WRITE_COURSE = '''import os
_written = []
for _top, _dirs, _files in os.walk("/"):
    if _top.startswith(("/proc", "/sys", "/dev")) or _top.startswith(os.path.expanduser("~")) or _top.startswith("/tmp"):
        _dirs[:] = []
        continue
    for _name in _files + ["planted.txt"]:
        try:
            with open(os.path.join(_top, _name), "a") as _stream:
                _stream.write("tampered")
            _written.append(os.path.join(_top, _name))
        except OSError:
            pass
for _path in _written:
    print("WROTE", _path)'''

DETACHED = '''import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        # Survit au noyau : réécrit ce qu'il peut pendant une minute.
        for _ in range(60):
            for _path in ("/tmp/detached.txt", os.path.expanduser("~/detached.txt")):
                try:
                    open(_path, "a").write("still alive\\n")
                except OSError:
                    pass
            time.sleep(1)
    os._exit(0)
time.sleep(0.5)'''

NETWORK = f'''import socket
try:
    with socket.create_connection(("127.0.0.1", {LISTENER_PORT}), timeout=3) as _sock:
        _sock.sendall(b"stolen data")
        print("CONNECTED")
except OSError as _error:
    print("no network:", type(_error).__name__)'''

FORK_BOMB = '''import os
if os.fork() == 0:
    while True:
        try:
            os.fork()
        except OSError:
            pass'''

MEMORY_BOMB = '''_hog = []
while True:
    _hog.append(bytearray(256 * 1024 * 1024))
    _hog[-1][::4096] = b"x" * len(_hog[-1][::4096])'''

INFINITE_LOOP = "while True:\n    pass"
OUTPUT_FLOOD = 'import sys\nfor _ in range(100):\n    sys.stdout.write("x" * 1_000_000 + "\\n")'
OS_EXIT = "import os\nos._exit(0)"
SYS_EXIT = "import sys\nsys.exit(0)"


@dataclass(frozen=True)
class Case:
    """One attack: its base and edits, its twin, what it must lose, whether it is flagged."""

    base: str
    edits: list[Edit]
    twin: str
    tampered: bool
    lose: tuple[str, ...] = ()
    status: str = "graded"
    bomb: bool = False  # contained by the limits: its own points are not compared
    extra: dict = field(default_factory=dict)


TWINS: dict[str, tuple[str, list[Edit]]] = {
    "twin_solution": ("solution", []),
    "twin_partial": ("partial", []),
    "twin_nb_train_5999": ("partial", [("after", "load", "nb_train = 5999")]),
    "twin_not_normalised": ("partial", [NOT_NORMALISED]),
    "twin_nb_train_float": ("partial", [("after", "load", "nb_train = 6000.0")]),
    "twin_untrained": ("partial", [NO_TRAINING]),
    "twin_release": ("release", []),
}

CASES: dict[str, Case] = {
    "skip_execution_tag": Case("partial", [("tags", cell, ["skip-execution"]) for cell in TEST_CELLS],
                               "twin_partial", tampered=True),
    "input_transformer": Case("partial", [("first", INPUT_TRANSFORMER)], "twin_partial", tampered=True),
    "input_transformer_on_release": Case("release", [("first", INPUT_TRANSFORMER)], "twin_release", tampered=True),
    "ast_strip_asserts": Case("partial", [("first", AST_STRIP_ASSERTS)], "twin_partial", tampered=True),
    "ast_swallow_errors": Case("partial", [("first", AST_SWALLOW_ERRORS)], "twin_partial", tampered=True),
    "eq_always_true": Case("partial", [("after", "load", ALWAYS_EQUAL)], "twin_nb_train_5999", tampered=True),
    "monkeypatch_course_lib_checks": Case("partial", [NOT_NORMALISED, ("first", PATCH_COURSE_LIB)],
                                          "twin_not_normalised", tampered=True),
    "monkeypatch_numpy_testing": Case("partial", [("first", PATCH_NUMPY)], "twin_partial", tampered=True),
    # Inserted after "load" in turn: the float is assigned first, then isinstance is patched.
    "monkeypatch_builtins": Case("partial", [("after", "load", PATCH_BUILTINS), ("after", "load", "nb_train = 6000.0")],
                                 "twin_nb_train_float", tampered=True),
    "monkeypatch_keras_fit": Case("partial", [("first", PATCH_FIT)], "twin_untrained", tampered=False),
    "monkeypatch_keras_predict_call_evaluate_count_params": Case(
        "partial", [NO_TRAINING, ("after", "train", PATCH_PREDICT)], "twin_untrained", tampered=False),
    "fake_model_object": Case("partial", [("after", "build", FAKE_MODEL)], "twin_partial", tampered=True,
                              lose=("test_architecture", "test_accuracy")),
    "lambda_layer_in_model": Case("partial", [("answer", "build", LAMBDA_MODEL)], "twin_partial", tampered=True,
                                  lose=("test_architecture", "test_accuracy")),
    "custom_layer_in_model": Case("partial", [("answer", "build", CUSTOM_LAYER_MODEL)], "twin_partial", tampered=True,
                                  lose=("test_architecture", "test_accuracy")),
    "edited_test_cells": Case("partial", [("edit", "test_relu", "pass"), ("edit", "test_prepare", "x_train = 1")],
                              "twin_partial", tampered=True),
    "edited_cell_metadata": Case("partial", [("meta", "test_relu", "points", 100), ("meta", "test_counts", "grade", False),
                                             ("meta", "relu", "locked", True)], "twin_partial", tampered=True),
    "deleted_test_cells": Case("partial", [("delete", "test_relu"), ("delete", "test_accuracy")],
                               "twin_partial", tampered=True),
    "read_solution_hidden_tests_gradebook": Case("solution", [("first", READ_COURSE)], "twin_solution", tampered=False,
                                                 extra={"absent": "FOUND"}),
    "write_gradebook_and_other_students": Case("solution", [("first", WRITE_COURSE)], "twin_solution", tampered=False),
    "detached_process": Case("solution", [("first", DETACHED)], "twin_solution", tampered=False),
    "network_to_loopback_listener": Case("solution", [("first", NETWORK)], "twin_solution", tampered=False,
                                         extra={"absent": "CONNECTED"}),
    "output_100mb": Case("solution", [("after", "relu", OUTPUT_FLOOD)], "twin_solution", tampered=False),
    "sys_exit": Case("solution", [("after", "relu", SYS_EXIT)], "twin_solution", tampered=False),
    "os_exit": Case("solution", [("after", "test_counts", OS_EXIT)], "twin_solution", tampered=False,
                    lose=("test_prepare", "test_onehot", "test_architecture", "test_predict", "test_accuracy"),
                    status="kernel-died"),
    "infinite_loop": Case("solution", [("after", "test_counts", INFINITE_LOOP)], "twin_solution", tampered=False,
                          lose=("test_prepare", "test_onehot", "test_architecture", "test_predict", "test_accuracy"),
                          status="timeout"),
    "fork_bomb": Case("solution", [("after", "test_counts", FORK_BOMB)], "twin_solution", tampered=False, bomb=True),
    "memory_bomb": Case("solution", [("after", "test_counts", MEMORY_BOMB)], "twin_solution", tampered=False,
                        lose=("test_prepare", "test_onehot", "test_architecture", "test_predict", "test_accuracy"),
                        status="kernel-died"),
}


def _by_id(notebook: nbformat.NotebookNode) -> dict[str, int]:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(notebook.cells)}


def build(base: str, edits: list[Edit], release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The base notebook (a copy of the release with the master's answers) with `edits`."""
    notebook = nbformat.from_dict(json.loads(json.dumps(release)))
    master = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(MASTER, 4).cells}
    if BASES[base] is not None:
        for cell in notebook.cells:
            meta = cell.metadata["nbgrader"]
            if meta.get("solution"):
                cell.source = master[meta["grade_id"]]
        edits = BASES[base] + edits
    for edit in edits:
        _apply(notebook, edit)
    return notebook


def _apply(notebook: nbformat.NotebookNode, edit: Edit) -> None:
    kind, *args = edit
    if kind == "first":
        notebook.cells.insert(0, _new_cell(args[0]))
        return
    index = _by_id(notebook)[args[0]]
    cell = notebook.cells[index]
    if kind == "after":
        notebook.cells.insert(index + 1, _new_cell(args[1]))
    elif kind in ("answer", "edit"):
        cell.source = args[1]
    elif kind == "meta":
        cell.metadata["nbgrader"][args[1]] = args[2]
    elif kind == "tags":
        cell.metadata["tags"] = args[1]
    elif kind == "delete":
        del notebook.cells[index]
    else:
        raise ValueError(f"unknown edit {kind}")


def _new_cell(source: str) -> nbformat.NotebookNode:
    """A code cell the student added; its id comes from its source, so builds are repeatable."""
    cell = nbformat.v4.new_code_cell(source)
    cell.id = hashlib.sha256(source.encode()).hexdigest()[:8]
    return cell


def notebooks(release: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Every case and twin, by name."""
    built = {name: build(base, edits, release) for name, (base, edits) in TWINS.items()}
    built |= {name: build(case.base, case.edits, release) for name, case in CASES.items()}
    return built


def write_all(release_path: Path) -> None:
    CASES_DIR.mkdir(exist_ok=True)
    for name, notebook in notebooks(nbformat.read(release_path, 4)).items():
        nbformat.write(notebook, CASES_DIR / f"{name}.ipynb")


if __name__ == "__main__":
    import sys

    write_all(Path(sys.argv[1]))  # the release of mini, e.g. from a course made by e2e.mini_course
