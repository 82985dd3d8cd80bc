"""Checkpoints: a saved state restores weights, optimizer variables and bookkeeping; saves are whole or not at all."""

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
