"""Classifier training is deterministic, keeps the best validation epoch, and resumes after a preemption exactly.

Tolerance: resumed and uninterrupted runs are compared with atol 1e-6 (they are bit-identical on CPU with op
determinism; the tolerance only absorbs float32 round-trips through the checkpoint file).
"""

import logging
import signal

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from synthaug import train as train_module  # noqa: E402
from synthaug.checkpoint import Preempted, SignalFlag  # noqa: E402
from synthaug.metrics import roc_auc  # noqa: E402
from synthaug.loop import epoch_order  # noqa: E402
from synthaug.train import HISTORY_COLUMNS, train_classifier, write_outputs  # noqa: E402

SIZE = 32


def _data(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.random((n, SIZE, SIZE, 3)).astype(np.float32) * 0.6
    images[labels == 1, 8:20, 8:20] += 0.4  # a bright "lesion" marks the malignant class
    return images, labels


TRAIN, VAL = _data(96, 0), _data(48, 1)


def _train(checkpoint_dir, epochs=2, seed=0, batch_size=16, train=TRAIN, **kw):
    return train_classifier("simple_cnn", train, VAL, epochs=epochs, batch_size=batch_size, learning_rate=1e-3,
                            patience=5, seed=seed, weights=None, checkpoint_dir=checkpoint_dir, threads=2, **kw)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("run") / "checkpoint")


def _assert_same_weights(a, b):
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(x, y, atol=1e-6)


def test_epoch_order_depends_on_seed_and_epoch_only():
    np.testing.assert_array_equal(epoch_order(50, 3, 2), epoch_order(50, 3, 2))
    assert not np.array_equal(epoch_order(50, 3, 2), epoch_order(50, 3, 1))
    assert sorted(epoch_order(50, 3, 2)) == list(range(50))


def test_training_is_deterministic_and_records_history(uninterrupted, tmp_path):
    model, history = uninterrupted
    again, history2 = _train(tmp_path / "checkpoint")
    _assert_same_weights(model, again)
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert history["epoch"].tolist() == [1, 2]
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), history2.drop(columns="seconds"))
    assert history["val_auc"].between(0, 1).all()


def test_another_seed_gives_another_model(uninterrupted, tmp_path):
    other, _ = _train(tmp_path / "checkpoint", seed=1)
    assert not np.allclose(other.get_weights()[0], uninterrupted[0].get_weights()[0])


def test_sigterm_then_rerun_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path, monkeypatch):
    checkpoint = tmp_path / "checkpoint"
    _train(checkpoint, epochs=1)  # epoch 1 finished and checkpointed

    class SignalledFlag(SignalFlag):
        """A SIGTERM that arrives as soon as epoch 2 starts."""

        def __enter__(self):
            super().__enter__()
            self.received = signal.SIGTERM
            return self

    monkeypatch.setattr(train_module, "SignalFlag", SignalledFlag)
    with pytest.raises(Preempted, match="1 epochs are saved"):
        _train(checkpoint, epochs=2)
    monkeypatch.undo()

    resumed, history = _train(checkpoint, epochs=2)
    _assert_same_weights(resumed, uninterrupted[0])
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), uninterrupted[1].drop(columns="seconds"))


def test_a_resume_after_lowering_batch_size_equals_a_clean_run_with_the_new_batch_size(tmp_path, caplog):
    """Issue 27: the out-of-memory message advises a smaller batch size; the rerun must not resume old weights."""
    checkpoint = tmp_path / "checkpoint"
    _train(checkpoint, epochs=1, batch_size=16)  # what an interruption after epoch 1 leaves: epoch 1's checkpoint
    assert (checkpoint / "fingerprint.json").is_file()
    caplog.set_level(logging.INFO, logger="synthaug")
    resumed, history = _train(checkpoint, epochs=2, batch_size=8)
    clean, clean_history = _train(tmp_path / "clean", epochs=2, batch_size=8)
    assert "batch_size 16 -> 8" in caplog.text and "discarding it" in caplog.text
    assert "resuming from" not in caplog.text
    _assert_same_weights(resumed, clean)
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), clean_history.drop(columns="seconds"))


def test_a_resume_on_other_training_images_restarts(tmp_path, caplog):
    """Regenerated synthetic images (here: one image changed) make the checkpoint stale."""
    checkpoint = tmp_path / "checkpoint"
    _train(checkpoint, epochs=1)
    images = TRAIN[0].copy()
    images[0, 0, 0, 0] += 0.1
    caplog.set_level(logging.INFO, logger="synthaug")
    _train(checkpoint, epochs=2, train=(images, TRAIN[1]))
    assert "training images changed" in caplog.text and "resuming from" not in caplog.text


def test_more_epochs_continue_the_checkpoint_fewer_discard_it(uninterrupted, tmp_path, caplog):
    checkpoint = tmp_path / "checkpoint"
    _train(checkpoint, epochs=2)
    caplog.set_level(logging.INFO, logger="synthaug")
    model, history = _train(checkpoint, epochs=1)
    assert "holds 2 finished epochs, more than the 1 now asked" in caplog.text
    assert history["epoch"].tolist() == [1]


def test_an_architecture_change_after_an_interruption_restarts_without_a_traceback(tmp_path, caplog):
    from synthaug.models.classifiers import build_classifier

    checkpoint = tmp_path / "checkpoint"

    def build(filters):
        return lambda: build_classifier("simple_cnn", SIZE, learning_rate=1e-3,
                                        architecture={"filters": filters})

    _train(checkpoint, epochs=1, build_model=build(8))
    caplog.set_level(logging.INFO, logger="synthaug")
    _, history = _train(checkpoint, epochs=2, build_model=build(4))
    assert "architecture changed" in caplog.text and "discarding it" in caplog.text
    assert history["epoch"].tolist() == [1, 2]


def _cut_short(path):
    """What a kill or a full disk during a save can leave: the file's first half."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_checkpoint_resumes_from_the_previous_one_to_the_uninterrupted_result(
        uninterrupted, tmp_path, caplog):
    checkpoint = tmp_path / "checkpoint"
    _train(checkpoint, epochs=2)  # a run killed after its last save: epoch 2's checkpoint, epoch 1's beside it
    _cut_short(checkpoint / "model.weights.h5")
    caplog.set_level(logging.INFO, logger="synthaug")
    resumed, history = _train(checkpoint, epochs=2)
    assert "resuming from the previous complete checkpoint (1 epochs done)" in caplog.text
    _assert_same_weights(resumed, uninterrupted[0])
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), uninterrupted[1].drop(columns="seconds"))


def test_no_complete_checkpoint_restarts_the_stage_to_the_uninterrupted_result(uninterrupted, tmp_path, caplog):
    checkpoint = tmp_path / "checkpoint"
    _train(checkpoint, epochs=2)
    _cut_short(checkpoint / "optimizer_model.npz")
    _cut_short(checkpoint.with_name("checkpoint.old") / "state.json")
    caplog.set_level(logging.INFO, logger="synthaug")
    resumed, history = _train(checkpoint, epochs=2)
    assert "restarts this stage from its first epoch" in caplog.text and "resuming from" not in caplog.text
    _assert_same_weights(resumed, uninterrupted[0])
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), uninterrupted[1].drop(columns="seconds"))


def test_best_weights_in_no_complete_checkpoint_restart_the_stage(tmp_path, caplog):
    """Epoch 3 of 3 finished, the best was epoch 1 and its checkpoint is cut short: no resume can keep epoch 1."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    checkpoint, best = train_module._checkpoints(tmp_path / "checkpoint")
    best.save(model, {}, {"epoch": 1})
    checkpoint.save(model, {"model": model.optimizer}, {"epoch": 3, "history": [], "best_auc": 0.7, "best_epoch": 1,
                                                        "wait": 2})
    _cut_short(best.directory / "model.weights.h5")
    caplog.set_level(logging.INFO, logger="synthaug")
    state = train_module._restore(model, checkpoint, best)
    assert state["epoch"] == 0 and state["best_weights"] is None
    assert "best epoch so far (1)" in caplog.text and "restarts this stage" in caplog.text
    assert not checkpoint.directory.exists()


def test_best_validation_epoch_is_kept(uninterrupted):
    model, history = uninterrupted
    p = model.predict(VAL[0], verbose=0).ravel()
    assert roc_auc(VAL[1], p) == pytest.approx(history["val_auc"].max(), abs=1e-6)


def test_outputs_load_and_checkpoints_are_removed(uninterrupted, tmp_path):
    model, history = uninterrupted
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "state.json").write_text("{}")
    write_outputs(model, history, tmp_path / "model.keras", tmp_path / "history.csv", checkpoint)
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded.predict(VAL[0], verbose=0), model.predict(VAL[0], verbose=0), atol=1e-6)
    assert list(pd.read_csv(tmp_path / "history.csv").columns) == list(HISTORY_COLUMNS)
    assert not checkpoint.exists()


def test_evaluating_the_written_predictions_equals_evaluating_the_loaded_model(uninterrupted, tmp_path):
    # What evaluate_classifier reads (predictions.npz, written by train_classifier) against what it used to compute:
    # the saved model loaded and run on the same images.
    from synthaug.evaluation import evaluate_run, load_predictions
    from synthaug.io import save_arrays
    from synthaug.train import kept_predictions, predict

    model, history = uninterrupted
    images, labels = _data(40, 2)
    train, val = dict(zip(("images", "labels"), TRAIN)), dict(zip(("images", "labels"), VAL))
    test = {"images": images, "labels": labels, "case_ids": np.array([f"c{i}" for i in range(40)])}
    save_arrays(tmp_path / "predictions.npz", **kept_predictions(model, train, val, test))
    write_outputs(model, history, tmp_path / "model.keras", tmp_path / "history.csv", tmp_path / "checkpoint")
    p = load_predictions(tmp_path / "predictions.npz", test, "test.npz", val, train)
    assert all(p[k].dtype == np.float32 and p[k].ndim == 1 for k in p)
    loaded = keras.models.load_model(tmp_path / "model.keras", compile=False)
    common = {"names": ("benign", "malignant"), "bootstrap_samples": 50, "seed": 0}
    from_file = evaluate_run(test, train, p["p_test"], p["p_val"], val["labels"], p["p_train"], **common)
    from_model = evaluate_run(test, train, predict(loaded, test["images"]), predict(loaded, val["images"]),
                              val["labels"], predict(loaded, train["images"]), **common)
    assert from_file[0] == pytest.approx(from_model[0], abs=1e-6)
    pd.testing.assert_frame_equal(from_file[1], from_model[1], atol=1e-6)
