"""Checkpoints: a saved state restores weights, optimizer variables and bookkeeping; saves are whole or not at all."""

import errno
import logging
import os
import signal

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from synthaug.checkpoint import Checkpoint, SignalFlag  # noqa: E402


def _model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def test_restore_gives_back_weights_and_optimizer_state(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    trained = _model(0)
    trained.fit(x, y, epochs=2, verbose=0)
    ckpt = Checkpoint(tmp_path / "ckpt")
    ckpt.save(trained, {"model": trained.optimizer}, {"epoch": 2, "history": [1.0, 0.5]})

    fresh = _model(1)
    state = ckpt.restore(fresh, {"model": (fresh.optimizer, fresh.trainable_variables)})
    assert state == {"epoch": 2, "history": [1.0, 0.5]}
    for a, b in zip(trained.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations.numpy()) == int(trained.optimizer.iterations.numpy()) > 0
    # Continuing both gives the same weights: the optimizer's moments came back too.
    trained.fit(x, y, epochs=1, verbose=0, shuffle=False)
    fresh.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(trained.get_weights(), fresh.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_no_checkpoint_means_fresh_start(tmp_path):
    model = _model(0)
    assert Checkpoint(tmp_path / "none").restore(model, {"model": (model.optimizer, model.trainable_variables)}) is None


def test_interrupted_save_keeps_previous_checkpoint(tmp_path):
    model = _model(0)
    ckpt = Checkpoint(tmp_path / "ckpt")
    ckpt.save(model, {}, {"epoch": 1})
    # A kill between the two renames of save() leaves only the previous checkpoint under ".old".
    (tmp_path / "ckpt").rename(tmp_path / "ckpt.old")
    assert ckpt.restore(_model(1), {})["epoch"] == 1


def test_signal_flag_records_sigterm_and_restores_handler():
    before = signal.getsignal(signal.SIGTERM)
    with SignalFlag() as flag:
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before


def _saved_twice(tmp_path):
    """A checkpoint of epoch 2 whose previous one (epoch 1) is kept beside it."""
    model = _model(0)
    ckpt = Checkpoint(tmp_path / "ckpt")
    ckpt.save(model, {}, {"epoch": 1})
    ckpt.save(model, {}, {"epoch": 2})
    assert (tmp_path / "ckpt.old").is_dir()
    return ckpt


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [
    lambda folder: _truncate(folder / "model.weights.h5"),
    lambda folder: _flip_last_byte(folder / "rng_states.npz"),
    lambda folder: (folder / "complete.json").unlink(),  # killed before the save finished
    lambda folder: (folder / "state.json").unlink(),
], ids=["truncated", "corrupted", "unfinished", "file missing"])
def test_a_checkpoint_cut_short_gives_way_to_the_previous_one(tmp_path, caplog, damage):
    damage(_saved_twice(tmp_path).directory)
    caplog.set_level(logging.INFO, logger="synthaug")
    assert Checkpoint(tmp_path / "ckpt").restore(_model(1), {})["epoch"] == 1
    assert "is incomplete" in caplog.text and "resuming from the previous complete checkpoint (1 epochs done)" in caplog.text


def test_no_complete_checkpoint_left_means_a_fresh_start_said_so(tmp_path, caplog):
    ckpt = _saved_twice(tmp_path)
    _truncate(ckpt.directory / "model.weights.h5")
    _truncate(ckpt.previous / "state.json")
    caplog.set_level(logging.INFO, logger="synthaug")
    assert Checkpoint(tmp_path / "ckpt").restore(_model(1), {}) is None
    assert "restarts this stage from its first epoch" in caplog.text
    assert not ckpt.directory.exists() and not ckpt.previous.exists()


def test_a_disk_full_during_a_save_keeps_the_last_checkpoint_and_leaves_no_partial_one(tmp_path, monkeypatch):
    from synthaug import checkpoint as module

    ckpt = _saved_twice(tmp_path)

    def full(path, variables):
        path.write_bytes(b"\0" * 10)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(module, "_save_variables", full)
    with pytest.raises(OSError):
        ckpt.save(_model(0), {}, {"epoch": 3})
    monkeypatch.undo()
    assert not ckpt.saving.exists()
    assert Checkpoint(tmp_path / "ckpt").restore(_model(1), {})["epoch"] == 2


def test_remove_deletes_the_previous_checkpoint_too(tmp_path):
    ckpt = _saved_twice(tmp_path)
    ckpt.remove()
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_of_another_model_without_fingerprint_is_a_message_not_a_traceback(tmp_path):
    """checkpoint.py's shape check: a checkpoint saved before fingerprints existed, loaded into another model."""
    from synthaug.errors import UserError

    ckpt = Checkpoint(tmp_path / "ckpt")
    ckpt.save(_model(0), {}, {"epoch": 1})
    keras.utils.set_random_seed(0)
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.Dense(1)])
    with pytest.raises(UserError, match="saved from another model.*delete the folder"):
        Checkpoint(tmp_path / "ckpt").restore(other, {})


def test_a_fingerprint_mismatch_discards_both_checkpoints_naming_what_changed(tmp_path, caplog):
    from synthaug.checkpoint import fingerprint

    x = np.zeros((3, 4), np.float32)
    saved = fingerprint({"batch_size": 16, "learning_rate": 1e-3}, {"training images": x})
    ckpt = Checkpoint(tmp_path / "ckpt", saved)
    ckpt.save(_model(0), {}, {"epoch": 1})
    ckpt.save(_model(0), {}, {"epoch": 2})
    assert Checkpoint(tmp_path / "ckpt", dict(saved)).exists()  # the same origin resumes
    caplog.set_level(logging.INFO, logger="synthaug")
    now = fingerprint({"batch_size": 8, "learning_rate": 1e-3}, {"training images": x + 1})
    assert Checkpoint(tmp_path / "ckpt", now).restore(_model(1), {}) is None
    assert "batch_size 16 -> 8" in caplog.text and "training images changed" in caplog.text
    assert "learning_rate" not in caplog.text
    assert not ckpt.directory.exists() and not ckpt.previous.exists()
