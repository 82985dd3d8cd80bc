"""Train one classifier deterministically, choose its epoch on the validation split, survive preemption.

Epoch ``e`` visits the training images in the order ``default_rng([seed, e]).permutation``, so the data order
depends on (seed, epoch) alone. After each epoch the validation AUC is measured, and the epoch with the best one
is kept (early stopping after ``patience`` epochs without improvement); the test split is never looked at.
A checkpoint is saved after every epoch (weights, optimizer state, history, early-stopping state); the best
epoch's weights are saved beside it (``<checkpoint_dir>_best``) whenever they change. On SIGTERM the run stops
after the current batch and raises :class:`~synthaug.checkpoint.Preempted`; rerunning resumes at the last
finished epoch and ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import backends
from .checkpoint import Checkpoint, Preempted, SignalFlag, stop_on_signal_callback
from .io import atomic_path, write_csv
from .metrics import accuracy, binary_cross_entropy, roc_auc
from .models.classifiers import build_classifier

log = logging.getLogger("synthaug")

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_auc", "seconds")


def predict(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """P(malignant) per image as float32 (N,), whatever the dtype policy (bfloat16 outputs become float32)."""
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32).ravel()


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The training images' order in ``epoch``: a function of (seed, epoch) only, so resumed runs match."""
    return np.random.default_rng([seed, epoch]).permutation(n)


class _Batches(keras.utils.PyDataset):
    """Batches of ``images[order]`` without copying the whole training set; fit(shuffle=False) keeps the order."""

    def __init__(self, images, labels, order, batch_size):
        super().__init__()
        self.images, self.labels, self.order, self.batch_size = images, labels, order, batch_size

    def __len__(self):
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, i):
        rows = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        return self.images[rows], self.labels[rows].astype(np.float32)


class _RestoreGenerators(keras.callbacks.Callback):
    """Set the backend's generators to a checkpoint's once, when the first fit after a resume starts training."""

    def __init__(self, generators: dict):
        super().__init__()
        self.generators = generators

    def on_train_begin(self, logs=None):
        if self.generators:
            backends.set_rng_state(self.generators)
            self.generators = {}


def train_classifier(model_name, arm_data, val, *, epochs, batch_size, learning_rate, patience,
                     seed, weights, checkpoint_dir, threads, build_model=None, on_epoch_end=None,
                     deterministic=True, precision="float32"):
    """Train ``model_name`` on ``arm_data`` = (images, labels); returns (model at its best epoch, history).

    ``val`` = (images, labels) chooses the epoch; ``weights`` is None or a local backbone weights file.
    ``build_model``: optional callable returning the compiled model to train (after seeding), instead of
    ``build_classifier(model_name, ...)``. ``on_epoch_end``: optional callable given each epoch's history row
    once its checkpoint is saved (e.g. to report the validation AUC to a tuner, which may stop the trial).
    ``threads``, ``deterministic`` and ``precision`` are the ``compute`` settings (:func:`backends.configure`).
    """
    images, labels = arm_data
    val_images, val_labels = val
    backends.configure(seed, threads, deterministic=deterministic, precision=precision)
    if build_model is None:
        model = build_classifier(model_name, images.shape[1], learning_rate=learning_rate, weights=weights)
    else:
        model = build_model()
    checkpoint, best_checkpoint = _checkpoints(checkpoint_dir)
    state = _restore(model, checkpoint, best_checkpoint)
    best_weights = state.pop("best_weights")
    # The backend's own generators as restored (PyTorch's; empty elsewhere), set again once the first fit has
    # built its metrics: that build draws from them, which the uninterrupted run did in its first epoch.
    resumed_generators = backends.rng_state() if state["epoch"] else {}
    with SignalFlag() as flag:
        callbacks = [stop_on_signal_callback(flag)]
        if resumed_generators:
            callbacks.append(_RestoreGenerators(resumed_generators))
        for epoch in range(state["epoch"], epochs):
            if state["wait"] >= patience:
                break
            start = time.perf_counter()
            fit = model.fit(_Batches(images, labels, epoch_order(len(labels), seed, epoch), batch_size),
                            epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0, callbacks=callbacks)
            seconds = time.perf_counter() - start
            if flag.received is not None:
                raise Preempted(f"signal {flag.received} during epoch {epoch + 1}; {epoch} epochs are saved")
            p_val = predict(model, val_images, batch_size)
            row = {"epoch": epoch + 1, "loss": fit.history["loss"][-1], "accuracy": fit.history["accuracy"][-1],
                   "val_loss": binary_cross_entropy(val_labels, p_val), "val_accuracy": accuracy(val_labels, p_val),
                   "val_auc": roc_auc(val_labels, p_val), "seconds": seconds}
            state["history"].append(row)
            improved = row["val_auc"] > state["best_auc"]
            if improved:
                state.update(best_auc=row["val_auc"], best_epoch=epoch + 1, wait=0)
                best_weights = model.get_weights()
            else:
                state["wait"] += 1
            state["epoch"] = epoch + 1
            log.info("epoch %d/%d: loss %.4f, val_auc %.4f%s, %.0f img/s", epoch + 1, epochs, row["loss"],
                     row["val_auc"], " (best)" if improved else "", len(labels) / seconds)
            checkpoint.save(model, {"model": model.optimizer}, state)
            if improved:
                best_checkpoint.save(model, {}, {"epoch": epoch + 1})
            if on_epoch_end is not None:
                on_epoch_end(row)
    if best_weights is not None:
        model.set_weights(best_weights)
    log.info("kept epoch %d (validation AUC %.4f)", state["best_epoch"], state["best_auc"])
    return model, pd.DataFrame(state["history"], columns=HISTORY_COLUMNS)


def _checkpoints(checkpoint_dir):
    directory = Path(checkpoint_dir)
    return Checkpoint(directory), Checkpoint(directory.with_name(directory.name + "_best"))


def _restore(model, checkpoint, best_checkpoint) -> dict:
    """The early-stopping state of the last finished epoch (a fresh one without a checkpoint), best weights in it."""
    fresh = {"epoch": 0, "history": [], "best_auc": -math.inf, "best_epoch": 0, "wait": 0}
    best_weights, best_state = None, None
    if checkpoint.exists():
        best_state = best_checkpoint.restore(model, {})
        if best_state is not None:
            best_weights = model.get_weights()
    state = checkpoint.restore(model, {"model": (model.optimizer, model.trainable_variables)})
    if state is None:
        return {**fresh, "best_weights": None}
    # A kill between the two saves leaves the best checkpoint one improvement behind; the best epoch is then
    # the last finished one, whose weights the main checkpoint holds.
    if best_state is None or best_state["epoch"] != state["best_epoch"]:
        best_weights = model.get_weights()
    return {**state, "best_weights": best_weights}


def write_outputs(model, history: pd.DataFrame, model_path, history_path, checkpoint_dir) -> None:
    """Write ``model.keras`` and ``history.csv`` whole, then delete the checkpoints they supersede."""
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    write_csv(history, history_path)
    for checkpoint in _checkpoints(checkpoint_dir):
        checkpoint.remove()
