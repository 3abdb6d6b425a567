"""The verifier's answer on one submission: a verdict per test cell and what it measured.

Made by the verifier (course_lib.verifier.main), sent as one line of JSON out of its
sandbox, read back with course_lib.typed_json on the coordinator, where it becomes the cells of
the submission's result (course_lib.results.fill_cells)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    """The verifier's decision on one test cell."""

    points: float
    public: bool  # whether the student's public self-check holds on the exported data
    message: str
    missing: bool = False  # the data the check needs was not exported (a cell above failed?)
    unloadable: bool = False  # the model it needs is one the verifier does not load
    absent: tuple[str, ...] = ()  # the export whose lack decided the verdict (when `missing`)
    seconds: float = 0.0  # the check's time


TEST_IMAGES = 10_000  # MNIST's test set, the verifier's reference
TEST_BLOCKS = 10  # consecutive blocks the test set is measured in (1,000 images each)
SEPARATION = 0.02  # how much better than on unseen images a model must do on seen ones (about 5σ of
# the sampling noise of the two losses, for 5,000 and 6,000 images)


@dataclass(frozen=True)
class ModelEvidence:
    """What the verifier measured of the trained model beyond its points, for the integrity
    signals (course_lib.pipeline.integrity): its mean cross-entropy on the reference test set,
    on training images drawn afresh outside the last tenth (images it trained on) and on that
    last tenth (which validation_split=0.1 holds out: images it did not), its accuracy on the
    last tenth, and the validation accuracy its training history reports, epoch by epoch ([]
    when it reports none); and its mean cross-entropy on each of TEST_BLOCKS consecutive
    blocks of the test set, in order (a training on some of them: course_lib.pipeline.integrity)."""

    test_loss: float
    train_loss: float
    validation_loss: float
    validation_accuracy: float
    history_validation: list[float]
    test_blocks: list[float]

    @property
    def test_set_gap(self) -> float:
        """How much better the model does on what it trained on than on the test set."""
        return self.test_loss - self.train_loss

    @property
    def test_position(self) -> float | None:
        """Where the test set sits between the images the model trained on (0) and images it
        did not see (1); None when the model does not do clearly better on the first (an
        undertrained network, or one trained on the last tenth too): nothing to tell then."""
        seen_gap = self.validation_loss - self.train_loss
        return self.test_set_gap / seen_gap if seen_gap >= SEPARATION else None


@dataclass(frozen=True)
class Verdicts:
    """Every test cell's verdict; the accuracy of the student's model on the reference test
    set, measured by the check of `accuracy_cell`, and the classes it predicted there; the
    checks refused because their data killed the verifier twice."""

    cells: dict[str, Verdict]
    accuracy: float | None = None
    accuracy_cell: str | None = None
    predictions: list[int] | None = None
    refused: list[str] = field(default_factory=list)
    evidence: ModelEvidence | None = None
