"""Integrity beyond the notebook: each student's seed, the signals of a model trained on the
test set or pasted in (course_lib.pipeline.integrity), and the similarity of a class
(course_lib.instructor.similarity).

The fast tests here build their inputs by hand; the slow one grades real notebooks of the
small practical: an honest one, and one whose weights are pasted as base64."""

from __future__ import annotations

import base64
import re
import stat

import nbformat
import numpy as np
import pytest

from conftest import PROJECT
from e2e import ADVERSARIAL, MINI, mini_course

from course_lib.errors import CourseError
from course_lib.course import IntegrityThresholds
from course_lib.pipeline.integrity import (HISTORY_TOLERANCE, LITERAL_BYTES, block_gap, hard_recovered, literal_bytes,
                                          pasted_literals, signals)
from course_lib.pipeline.prepare import prepare
from course_lib.results import SuspicionKind
from course_lib.runtime import grading_seed
from course_lib.seeds import SECRET_FILE, course_secret, student_seed
from course_lib.verdicts import ModelEvidence

FIXTURES = PROJECT / "grader_tests" / "fixtures"


def test_each_student_has_a_seed_of_their_own_from_the_course_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_SECRET")
    secret = course_secret(tmp_path)  # made on first use, for the owner only
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    assert course_secret(tmp_path) == secret
    seeds = {student_seed(secret, a, s) for a in ("tp1_dense", "tp2_convol") for s in ("alice", "bob", "carol")}
    assert len(seeds) == 6 and all(0 <= seed < 2**31 for seed in seeds)
    assert student_seed(secret, "tp1_dense", "alice") == student_seed(secret, "tp1_dense", "alice")
    assert student_seed(b"another course", "tp1_dense", "alice") != student_seed(secret, "tp1_dense", "alice")
    monkeypatch.setenv("COURSE_SECRET", "from the environment")
    assert course_secret(tmp_path) == b"from the environment"
    monkeypatch.setenv("COURSE_SECRET", "short")
    with pytest.raises(CourseError, match="shorter than 16"):
        course_secret(tmp_path)
    monkeypatch.delenv("COURSE_SECRET")
    (tmp_path / SECRET_FILE).write_text("short\n")
    with pytest.raises(CourseError, match="holds no secret"):
        course_secret(tmp_path)
    # Once work was graded with a secret, losing it is said, never silently replaced.
    (tmp_path / SECRET_FILE).unlink()
    (tmp_path / "autograded" / "alice" / "tp1_dense.grading").mkdir(parents=True)
    (tmp_path / "autograded" / "alice" / "tp1_dense.grading" / "grading.json").write_text("{}")
    with pytest.raises(CourseError, match="course.secret is missing, yet submissions were graded"):
        course_secret(tmp_path)


def test_the_seed_cell_takes_the_students_seed_only_at_grading(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "98765")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert grading_seed(1234) == 1234  # the student's own Jupyter
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert grading_seed(1234) == 98765
    monkeypatch.setenv("COURSE_SEED", "not a number")
    assert grading_seed(1234) == 1234


def test_the_release_trains_with_the_graders_seed():
    for assignment in ("tp1_dense", "tp2_convol"):
        [released] = (PROJECT / "release" / assignment).glob("*.ipynb")
        [seed] = [c for c in nbformat.read(released, 4).cells if c.metadata.get("nbgrader", {}).get("grade_id") == "seed"]
        assert "SEED = grading_seed(1234)" in seed.source and seed.metadata.nbgrader.locked


def test_literals_are_counted_whatever_carries_them():
    weights = base64.b64encode(np.random.default_rng(0).random(10_000).astype("float32").tobytes()).decode()
    assert literal_bytes(f'w = "{weights}"') == len(weights) + 2  # with its quotes
    assert literal_bytes("w = [" + ", ".join(["0.125"] * 5000) + "]") == 25_000
    assert literal_bytes(f"w = 0x{'ab' * 20_000}  # an integer") == 40_002 + len("# an integer")
    assert literal_bytes(f"x = 1\n# {weights}") == len(weights) + 3  # a comment is readable through In
    assert literal_bytes(f"%%capture\nw = '{weights}'") >= len(weights)  # a magic: not Python
    assert literal_bytes("model.fit(x_train, y_train, epochs=6)") < 100


def test_no_honest_fixture_holds_pasted_literals():
    """Every fixture notebook (solutions, mistakes, other correct recipes) stays far below the
    limit: the signal cannot fire on a student who wrote their code."""
    for assignment in ("tp1_dense", "tp2_convol"):
        [released] = (PROJECT / "release" / assignment).glob("*.ipynb")
        release = nbformat.read(released, 4)
        for fixture in sorted((FIXTURES / assignment).rglob("*.ipynb")):  # the calibration's too
            try:
                submission = nbformat.read(fixture, 4)
            except Exception:  # noqa: BLE001 (invalid_json.ipynb is invalid on purpose)
                continue
            prepared = prepare(release, submission, {}).notebook
            assert pasted_literals(prepared) == [], fixture.name
            largest = max(literal_bytes(c.source) for c in submission.cells if c.cell_type == "code")
            assert largest < LITERAL_BYTES / 4, (fixture.name, largest)


DEFAULTS = IntegrityThresholds()  # a practical without calibrated blocks or ceiling
# TP1's honest block shares, as five runs of the solution measured them (rounded)
SHARES = (0.97, 1.79, 1.53, 1.30, 1.16, 0.75, 0.87, 0.13, 0.30, 1.20)


def _evidence(test: float, train: float, held_out: float, validation_accuracy: float = 0.98,
              history: list[float] | None = None, blocks: list[float] | None = None) -> ModelEvidence:
    return ModelEvidence(test_loss=test, train_loss=train, validation_loss=held_out,
                         validation_accuracy=validation_accuracy, history_validation=history or [0.975, 0.98],
                         test_blocks=blocks or [test] * 10)


def test_a_model_trained_on_some_blocks_of_the_test_set_is_suspect():
    # np.concatenate([x_train, x_test]) then validation_split=0.1: test images 0–2,999 trained on,
    # the held-out tenth too (seen and held-out alike: the position tells nothing).
    honest_blocks = [0.049, 0.100, 0.081, 0.068, 0.061, 0.036, 0.044, 0.0066, 0.016, 0.061]
    appended_blocks = [0.0086, 0.013, 0.0127, 0.0644, 0.0598, 0.0421, 0.0426, 0.0061, 0.0161, 0.0617]
    thresholds = IntegrityThresholds(test_blocks=SHARES, block_gap=2.0, judged_from=0.85)
    honest = _evidence(test=0.052, train=0.011, held_out=0.054, blocks=honest_blocks)
    assert signals(recovered=None, evidence=honest, accuracy=0.982, literals=[], thresholds=thresholds) == []
    appended = _evidence(test=0.033, train=0.014, held_out=0.010, blocks=appended_blocks)
    [flag] = signals(recovered=None, evidence=appended, accuracy=0.986, literals=[], thresholds=thresholds)
    assert flag.kind == SuspicionKind.TEST_BLOCKS and flag.statistic > 5 and flag.threshold == 2.0
    assert "test images 0–999, 1,000–1,999, 2,000–2,999 than" in flag.evidence, flag.evidence
    # A model that earns no accuracy point gains nothing: its blocks are not judged.
    assert signals(recovered=None, evidence=appended, accuracy=0.84, literals=[], thresholds=thresholds) == []
    # Without calibrated shares the blocks are not compared (a new practical's default).
    assert signals(recovered=None, evidence=appended, accuracy=0.986, literals=[], thresholds=DEFAULTS) == []
    # A block without a single error of any weight is floored, not divided by zero.
    assert block_gap([0.0] + honest_blocks[1:], SHARES).ratio > 100
    # One block worse than its share (an honest network's weak spot) is no evidence.
    weak_spot = [*honest_blocks[:3], 5 * honest_blocks[3], *honest_blocks[4:]]
    assert block_gap(weak_spot, SHARES).ratio < 1.5
    # Shares on another scale are the same shares; too few blocks to judge, no gap.
    rescaled, gap = block_gap(appended_blocks, tuple(10 * share for share in SHARES)), block_gap(appended_blocks, SHARES)
    assert rescaled.below == gap.below and rescaled.ratio == pytest.approx(gap.ratio)
    assert block_gap(appended_blocks, (1.0,) + (0.01,) * 9) is None


def test_an_accuracy_beyond_the_ceiling_is_suspect():
    thresholds = IntegrityThresholds(ceiling=0.99)
    shuffled = _evidence(test=0.012, train=0.016, held_out=0.014)  # everything alike: shuffled in
    assert signals(recovered=None, evidence=shuffled, accuracy=0.99, literals=[], thresholds=thresholds) == []
    [flag] = signals(recovered=None, evidence=shuffled, accuracy=0.9979, literals=[], thresholds=thresholds)
    assert flag.kind == SuspicionKind.BEYOND_CEILING and (flag.statistic, flag.threshold) == (0.9979, 0.99)
    assert "99.79 %" in flag.evidence and "99.00 %" in flag.evidence


def test_a_model_right_on_the_images_honest_models_get_wrong_is_suspect():
    hard = tuple(range(0, 10000, 100))  # 100 hard images
    thresholds = IntegrityThresholds(hard_images=hard, hard_recovered=0.3, judged_from=0.85)
    wrong = np.zeros(10000, dtype=bool)
    wrong[list(hard)] = True
    wrong[list(hard[:8])] = False  # an honest model: 8 of them right
    assert hard_recovered(wrong, hard) == 0.08
    honest = _evidence(test=0.052, train=0.011, held_out=0.054)
    assert signals(recovered=0.08, evidence=honest, accuracy=0.982, literals=[], thresholds=thresholds) == []
    [flag] = signals(recovered=0.44, evidence=honest, accuracy=0.99, literals=[], thresholds=thresholds)
    assert flag.kind == SuspicionKind.HARD_IMAGES and (flag.statistic, flag.threshold) == (0.44, 0.3)
    assert "right on 44 % of the 100 test images that most honest models get wrong (flagged above 30 %)" in flag.evidence
    # A model that earns no accuracy point gains nothing, and errs unlike the strong ones.
    assert signals(recovered=0.44, evidence=honest, accuracy=0.63, literals=[], thresholds=thresholds) == []
    # No predictions, or none of the practical's hard images: nothing to tell.
    assert hard_recovered(None, hard) is None and hard_recovered(wrong, ()) is None
    assert hard_recovered(wrong[:50], hard) is None


@pytest.mark.parametrize("section, message", [
    ({"test_position": "0.5"}, "positive numbers"),
    ({"test_blocks": [1.0] * 9}, "a list of 10 positive numbers"),
    ({"test_blocks": [1.0] * 9 + [-1]}, "a list of 10 positive numbers"),
    ({"ceiling": 99.2}, "at most 1"),
    ({"hard_recovered": 30}, "at most 1"),
    ({"hard_images": [12, 10000]}, "test image numbers"),
    ({"hard_images": [12, 1.5]}, "test image numbers"),
    ({"block_gap": 0.5}, "at least 1"),
    ({"blocks": [1.0] * 10}, "its settings are test_position, test_blocks, block_gap, ceiling, hard_images"),
    ({"judged_from": 0.5}, "its settings are"),
])
def test_a_wrong_integrity_setting_is_one_line(section, message):
    with pytest.raises(CourseError, match=message):
        IntegrityThresholds.from_toml(section, "course.toml [assignments.tp1_dense.integrity]", judged_from=0.85)


def test_a_model_that_does_on_the_test_set_as_on_its_training_images_is_suspect():
    honest = _evidence(test=0.065, train=0.02, held_out=0.07)
    assert signals(recovered=None, evidence=honest, accuracy=0.982, literals=[], thresholds=DEFAULTS) == []
    [flag] = signals(recovered=None, evidence=_evidence(test=0.022, train=0.02, held_out=0.07), accuracy=0.99, literals=[],
                     thresholds=DEFAULTS)
    assert flag.kind == SuspicionKind.TRAINED_ON_TEST and flag.statistic == 0.04 and flag.threshold == 0.3
    assert "was it trained on the test set?" in flag.evidence
    # An undertrained network does no better on what it saw: nothing can be told, nothing said.
    assert signals(recovered=None, evidence=_evidence(test=0.30, train=0.295, held_out=0.30), accuracy=0.91, literals=[],
                   thresholds=DEFAULTS) == []


def test_a_model_its_history_does_not_describe_is_suspect():
    kept = _evidence(test=0.065, train=0.02, held_out=0.07, validation_accuracy=0.985, history=[0.91, 0.92])
    [flag] = signals(recovered=None, evidence=kept, accuracy=0.984, literals=[], thresholds=DEFAULTS)
    assert flag.kind == SuspicionKind.HISTORY_MISMATCH and flag.statistic > HISTORY_TOLERANCE
    # Validated on the test set (a correct, if unwise, alternative): the history is the test set's.
    on_test = _evidence(test=0.065, train=0.02, held_out=0.07, validation_accuracy=0.95, history=[0.975, 0.983])
    assert signals(recovered=None, evidence=on_test, accuracy=0.983, literals=[], thresholds=DEFAULTS) == []
    # Undertrained and validated on the test set: the held-out tenth is easier, the test set matches.
    weak = _evidence(test=1.3, train=1.25, held_out=1.28, validation_accuracy=0.554, history=[0.5255])
    assert signals(recovered=None, evidence=weak, accuracy=0.5255, literals=[], thresholds=DEFAULTS) == []
    # Worse than its history says: pixels left in 0–255, measured on the course's preparation.
    raw_pixels = _evidence(test=1.1, train=1.0, held_out=1.1, validation_accuracy=0.66, history=[0.964, 0.966])
    assert signals(recovered=None, evidence=raw_pixels, accuracy=0.63, literals=[], thresholds=DEFAULTS) == []


def _mistakes_kappa(first: np.ndarray, second: np.ndarray) -> float:
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(first, second))


def _similarity_course(tmp_path, mnist_dir):
    """A graded class without grading: alice (the solution), bob (alice's answers with other
    names and lines in another order, and her model's mistakes), carol (the original course's
    code, a model of her own), each with a result and the predictions grading keeps."""
    from class_of_many import hand_in

    from course_lib.data import load_mnist
    from course_lib.release import copy_course

    course = copy_course(origin=PROJECT, folder=tmp_path / "course", assignments=["tp1_dense"], mnist_dir=mnist_dir)
    solution = nbformat.read(FIXTURES / "tp1_dense" / "solution.ipynb", 4)
    copied = nbformat.read(FIXTURES / "tp1_dense" / "solution.ipynb", 4)
    renames = {"early_stop": "arret", "slow_down": "ralentir", "results": "sorties", "restart": "recommencer"}
    for cell in copied.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            for old, new in renames.items():
                cell.source = re.sub(rf"\b{old}\b", new, cell.source)
            lines = cell.source.splitlines()
            if len(lines) >= 3 and not any(line.startswith((" ", "\t")) for line in lines[:2]):
                lines[0], lines[1] = lines[1], lines[0]  # two statements in the other order
            cell.source = "\n".join(lines)
    notebooks = {"alice": solution, "bob": copied, "carol": nbformat.read(FIXTURES / "tp1_dense" / "keras_load_data.ipynb", 4)}
    _, (_, labels) = load_mnist(mnist_dir)
    draw = np.random.default_rng(7)
    alice_wrong = draw.random(len(labels)) < 0.02
    wrong = {"alice": alice_wrong, "bob": alice_wrong, "carol": draw.random(len(labels)) < 0.02}
    for student, notebook in notebooks.items():
        hand_in(course, student, notebook, np.where(wrong[student], (labels + 1) % 10, labels), tmp_path)
    return course, labels, wrong


def test_the_similarity_report_ranks_a_copy_first_and_puts_it_on_the_attention_list(tmp_path, mnist_dir):
    from course_lib.instructor.report import report
    from course_lib.instructor.roll import class_roll
    from course_lib.instructor.similarity import CODE_THRESHOLD, similarity

    course, labels, wrong = _similarity_course(tmp_path, mnist_dir)
    made = similarity(course_dir=course, assignment="tp1_dense")
    first, *others = made.pairs
    assert (first.first, first.second) == ("alice", "bob") and first.code >= CODE_THRESHOLD and first.flagged
    assert first.kappa == pytest.approx(1.0)
    carol = next(p for p in made.pairs if (p.first, p.second) == ("alice", "carol"))
    assert carol.code < first.code and not carol.flagged, carol
    assert carol.kappa == pytest.approx(_mistakes_kappa(wrong["alice"], wrong["carol"]), abs=1e-4)
    page = made.path.read_text()
    assert "<mark>" in page and "<script" not in page
    standings = {s.student: s for s in class_roll(course) if s.assignment == "tp1_dense"}
    assert [a.text for a in standings["alice"].attention if a.category == "similar"] == [
        first.line("alice")]
    assert "similar to alice" in first.line("bob") and not [
        a for a in standings["carol"].attention if a.category == "similar"]
    assert "similar to bob" in report(course_dir=course).read_text()


def test_independently_written_honest_notebooks_are_not_flagged_as_similar(tmp_path, mnist_dir):
    """A class of honest notebooks written without one another (fixtures independent_*: six
    students' own styles and recipes; the solution; the original course's code): no pair
    reaches the code threshold. (Their models' κ: bench/calibrate.py --alternatives, on the
    models grading trains; the figures: bench/similarity.py.)"""
    from class_of_many import honest_class

    from course_lib.instructor.similarity import CODE_THRESHOLD, similarity

    made = similarity(course_dir=honest_class(tmp_path, mnist_dir), assignment="tp1_dense")
    assert len(made.pairs) == 28 and all(pair.kappa is None for pair in made.pairs)
    assert not [pair for pair in made.pairs if pair.flagged] and made.pairs[0].code < CODE_THRESHOLD, made.pairs[:3]


def test_the_similarity_of_200_students_is_written_and_readable(tmp_path, mnist_dir):
    """200 notebooks (the fixtures, each student's own few edits): the report lists 100 pairs
    and shows 20 side by side, whatever the class's size. (Its time: bench/similarity.py.)"""
    from class_of_many import make_class

    from course_lib.instructor.similarity import LISTED, SHOWN, similarity

    course = make_class(tmp_path, mnist_dir, students=200)
    made = similarity(course_dir=course, assignment="tp1_dense")
    assert len(made.pairs) == 200 * 199 // 2
    page = made.path.read_text()
    assert page.count("<tr>") == LISTED + 1 and page.count('<div class="sides">') == SHOWN


@pytest.mark.slow
def test_weights_pasted_as_base64_are_flagged_and_an_honest_twin_is_not(tmp_path, mnist_dir):
    """mini's solution, and the same notebook whose network, after its training, gets weights
    trained elsewhere, pasted in as base64: both graded in one batch."""
    import keras

    from course_lib.data import load_mnist
    from course_lib.pipeline.collect import place_submission
    from course_lib.pipeline.grade import grade
    from course_lib.results import read_result

    (train_images, train_labels), _ = load_mnist(mnist_dir)
    keras.utils.set_random_seed(3)
    elsewhere = keras.Sequential([keras.Input((784,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
    elsewhere.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    elsewhere.fit(train_images[:6000].reshape(-1, 784) / 255, keras.utils.to_categorical(train_labels[:6000]),
                  epochs=8, batch_size=32, verbose=0)
    blob = base64.b64encode(np.concatenate([w.ravel() for w in elsewhere.get_weights()]).astype("float32").tobytes()).decode()
    honest = nbformat.read(ADVERSARIAL / "cases" / "twin_solution.ipynb", 4)
    pasted = nbformat.read(ADVERSARIAL / "cases" / "twin_solution.ipynb", 4)
    [train] = [c for c in pasted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "train"]
    train.source += (
        "\n\n# Des poids entraînés ailleurs, collés ici.\nimport base64\n"
        f'_flat = np.frombuffer(base64.b64decode("{blob}"), dtype="float32")\n'
        "_shapes, _at, _weights = [w.shape for w in model.get_weights()], 0, []\n"
        "for _shape in _shapes:\n    _size = int(np.prod(_shape))\n"
        "    _weights.append(_flat[_at:_at + _size].reshape(_shape))\n    _at += _size\n"
        "model.set_weights(_weights)")
    course = mini_course(tmp_path / "course", mnist_dir)
    for student, notebook in (("honest", honest), ("pasted", pasted)):
        path = tmp_path / f"{student}.ipynb"
        nbformat.write(notebook, path)
        place_submission(course_dir=course, assignment=MINI, student=student, notebook=path)
    grade(assignment=MINI, course_dir=course)
    honest, pasted = read_result(course, MINI, "honest"), read_result(course, MINI, "pasted")
    assert honest.accuracy and honest.suspicions == [], honest.suspicions
    kinds = {s.kind for s in pasted.suspicions}
    assert SuspicionKind.PASTED_LITERAL in kinds, pasted.suspicions
    [literal] = [s for s in pasted.suspicions if s.kind == SuspicionKind.PASTED_LITERAL]
    assert literal.statistic >= len(blob) and "cell train" in literal.evidence
    assert pasted.state == honest.state  # a signal for the instructor, never points taken


@pytest.mark.parametrize("assignment", ["tp1_dense", "tp2_convol"])
def test_the_course_thresholds_separate_the_calibrations_honest_runs_from_its_cheats(assignment, monkeypatch):
    """The calibration's recorded runs (bench/results/calibration-<a>.json: honest students with
    their own seeds, notebooks written without the solution, three cheats of each kind), judged
    again by the current rules and course.toml: no honest run or alternative is flagged; every
    cheat is, but one of TP2's appended (its convnet learns 3,000 test images little better than
    unseen ones); course.toml holds the calibration's hard images, and its block shares where
    the blocks are judged (TP1: TP2's honest gaps reach its cheats')."""
    import json

    monkeypatch.syspath_prepend(str(PROJECT / "bench"))
    from calibrate import summarize

    recorded = json.loads((PROJECT / "bench" / "results" / f"calibration-{assignment}.json").read_text())
    judged = summarize(assignment=assignment, runs=recorded["runs"], machine=recorded["machine"],
                       threads=recorded["threads"], parallel=recorded["parallel"])
    assert judged["false_alarms"] == 0 and judged["alternatives_flagged"] == 0, judged["alternatives"]
    assert len(judged["alternatives"]) >= 4 and judged["seeds"] >= 30
    missed = {name: found["runs"] - found["flagged"] for name, found in judged["cheats"].items()}
    assert missed == {"trained_on_test_set": 0, "test_set_appended": 0 if assignment == "tp1_dense" else 1,
                      "test_set_shuffled_in": 0}, judged["cheats"]
    assert judged["hard_images"]["configured"] == len(judged["hard_images"]["suggested"])
    shares = judged["test_blocks"]["shares"]
    assert (shares == pytest.approx(judged["test_blocks"]["suggested_shares"], abs=1e-3)) == (assignment == "tp1_dense")
