"""Common random numbers (experiment.common_random_numbers): the arms of one classifier seed start from the same
weights and see the images they share with their base in the same order, the added images interleaved; switched
off, each arm draws its own. Checked on the first batch a run trains on (tiny model, no training)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from synthaug import train as train_module  # noqa: E402
from synthaug.arms import REAL, assemble_arm, blocks, run_randomness, run_seed  # noqa: E402
from synthaug.loop import epoch_order, nested_order  # noqa: E402
from synthaug.train import train_classifier  # noqa: E402

SIZE, BATCH = 16, 8


def _bundle(n, seed, **extra):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    # Each image's first pixel is a unique id, so a batch says which images it holds.
    images = rng.random((n, SIZE, SIZE, 3)).astype(np.float32)
    images[:, 0, 0, 0] = seed * 1000 + np.arange(n)
    return {"images": images, "labels": labels, **extra}


TRAIN, VAL = _bundle(40, 1), _bundle(12, 2)
AUGMENTED = _bundle(40, 3, base=np.ones(40, bool))
EXTRA_REAL, SYNTHETIC = _bundle(30, 4), _bundle(30, 5)
BUNDLES = {"augmented": AUGMENTED, "extra_real": EXTRA_REAL, "synthetic": SYNTHETIC}


class Stop(Exception):
    pass


def first_batch(arm, monkeypatch, tmp_path, common=True):
    """(initial weights, ids of the first batch's images, their sources) of a run of ``arm``, seed 0, as
    train_classifier.py starts it."""
    images, labels, source = assemble_arm(arm, TRAIN, seed=0, **BUNDLES)
    seen = {}

    def record(model, arrays, order, batch_size, flag=None):
        rows = order[:batch_size]
        seen.update(weights=model.get_weights(), ids=arrays[0][rows, 0, 0, 0], source=source[rows])
        raise Stop

    monkeypatch.setattr(train_module, "run_epoch", record)
    with pytest.raises(Stop):
        train_classifier("simple_cnn", (images, labels), (VAL["images"], VAL["labels"]), epochs=1,
                         batch_size=BATCH, learning_rate=1e-3, patience=2, weights=None,
                         checkpoint_dir=tmp_path / arm / "checkpoint", threads=1,
                         **run_randomness(arm, source, 0, common))
    return seen


@pytest.mark.parametrize("base, arm", [("baseline", "more_real-r0.5"), ("augmented", "combined-cgan-r0.5"),
                                       ("augmented", "augmented_more_real-r0.5")])
def test_arms_of_a_seed_share_initial_weights_and_the_order_of_the_images_they_share(base, arm, monkeypatch,
                                                                                      tmp_path):
    a, b = first_batch(base, monkeypatch, tmp_path), first_batch(arm, monkeypatch, tmp_path)
    for x, y in zip(a["weights"], b["weights"]):
        np.testing.assert_array_equal(x, y)
    shared = set(np.unique(a["source"]))
    mine = b["ids"][np.isin(b["source"], list(shared))]
    assert 0 < len(mine) < BATCH  # some of the arm's own images are interleaved in its first batch
    np.testing.assert_array_equal(mine, a["ids"][: len(mine)])  # the shared part: the base's first images, in order


def test_without_common_random_numbers_each_arm_draws_its_own(monkeypatch, tmp_path):
    a = first_batch("baseline", monkeypatch, tmp_path, common=False)
    b = first_batch("more_real-r0.5", monkeypatch, tmp_path, common=False)
    assert any(not np.array_equal(x, y) for x, y in zip(a["weights"], b["weights"]))
    mine = b["ids"][b["source"] == REAL]
    assert not np.array_equal(mine, a["ids"][: len(mine)])
    again = first_batch("baseline", monkeypatch, tmp_path, common=False)  # still seeded: the same run twice
    np.testing.assert_array_equal(a["ids"], again["ids"])


def test_nested_order_keeps_each_prefix_of_blocks_in_the_same_relative_order():
    assert np.array_equal(nested_order([50], 3, 2), epoch_order(50, 3, 2))  # one block: the plain order
    short, long = nested_order([50, 30], 3, 2), nested_order([50, 30, 20], 3, 2)
    assert sorted(long) == list(range(100))
    np.testing.assert_array_equal(long[long < 80], short)
    np.testing.assert_array_equal(short[short < 50], epoch_order(50, 3, 2))
    assert not np.array_equal(nested_order([50, 30], 3, 1), short)  # another epoch, another order
    assert long[:20].max() >= 80  # the last block is spread through the epoch, not appended


def test_blocks_and_seeds():
    assert blocks(np.array(["real"] * 3 + ["augmented"] * 2 + ["synthetic"])) == [3, 2, 1]
    assert blocks(np.array([])) == []
    assert run_seed(4, "baseline") == run_seed(4, "more_real-r0.5") == 4
    own = run_seed(4, "baseline", False)
    assert own == run_seed(4, "baseline", False) != run_seed(4, "more_real-r0.5", False) and own < 2**31
