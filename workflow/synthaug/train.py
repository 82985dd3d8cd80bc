"""Train one classifier deterministically, choose its epoch on the validation split, survive preemption.

Epoch ``e`` visits the training images in the order ``default_rng([seed, e]).permutation`` (:mod:`synthaug.loop`,
one ``train_on_batch`` per batch; an arm's blocks nested by :func:`~synthaug.loop.nested_order`), so the data order
depends on (seed, epoch) alone. After each epoch the
validation AUC is measured, and the epoch with the best one is kept (early stopping after ``patience`` epochs
without improvement); the test split chooses nothing (the kept model's predictions on it are written for rule
evaluate_classifier only once training has ended: :func:`kept_predictions`).
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

import numpy as np
import pandas as pd

from . import backends
from .checkpoint import Checkpoint, Preempted, SignalFlag, file_digest, fingerprint
from .io import atomic_path, write_csv
from .loop import build_for_training, epoch_order, nested_order, run_epoch
from .metrics import validation_scores
from .models.classifiers import build_classifier

log = logging.getLogger("synthaug")

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_auc", "seconds")


def predict(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """P(malignant) per image as float32 (N,), whatever the dtype policy (bfloat16 outputs become float32); a
    k-class classifier's class probabilities as float32 (N, k).

    ``predict_on_batch`` per chunk of ``batch_size`` images: ``predict`` would build a data pipeline per call.
    """
    width = int(model.outputs[0].shape[-1])
    shape = (-1,) if width == 1 else (-1, width)
    chunks = [np.asarray(model.predict_on_batch(images[i : i + batch_size]), dtype=np.float32).reshape(shape)
              for i in range(0, len(images), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, *shape[1:]), np.float32)


def train_classifier(model_name, arm_data, val, *, epochs, batch_size, learning_rate, patience,
                     seed, weights, checkpoint_dir, threads, build_model=None, on_epoch_end=None,
                     deterministic=True, precision="float32", blocks=None, n_classes=2):
    """Train ``model_name`` on ``arm_data`` = (images, labels); returns (model at its best epoch, history).

    ``val`` = (images, labels) chooses the epoch; ``weights`` is None or a local backbone weights file.
    ``build_model``: optional callable returning the compiled model to train (after seeding), instead of
    ``build_classifier(model_name, ...)``. ``on_epoch_end``: optional callable given each epoch's history row
    once its checkpoint is saved (e.g. to report the validation AUC to a tuner, which may stop the trial).
    ``threads``, ``deterministic`` and ``precision`` are the ``compute`` settings (:func:`backends.configure`).
    ``blocks``: sizes of the consecutive blocks of ``arm_data`` (real images first; :func:`synthaug.arms.blocks`)
    to visit in :func:`synthaug.loop.nested_order` (common random numbers); None: :func:`epoch_order` of them all.
    ``n_classes``: 2 (a sigmoid unit) or k > 2 (a k-way softmax; its validation AUC is the macro one-vs-rest one).
    """
    images, labels = arm_data
    val_images, val_labels = val
    backends.configure(seed, threads, deterministic=deterministic, precision=precision)
    if build_model is None:
        model = build_classifier(model_name, images.shape[1], learning_rate=learning_rate, weights=weights,
                                 n_classes=n_classes)
    else:
        model = build_model()
    origin = fingerprint(
        {"model": model_name, "batch_size": batch_size, "learning_rate": learning_rate, "patience": patience,
         "seed": seed, "weights": file_digest(weights) if weights else None, "precision": precision},
        {"training images": images, "training labels": labels, "validation images": val_images,
         "validation labels": val_labels},
        [model])
    checkpoint, best_checkpoint = _checkpoints(checkpoint_dir, origin, epochs)
    state = _restore(model, checkpoint, best_checkpoint)
    best_weights = state.pop("best_weights")
    labels = labels.astype(np.float32)
    if state["epoch"]:
        # The backend's own generators as restored (PyTorch's; empty elsewhere) are set again after the metrics
        # are built: that build draws from them, which the uninterrupted run did in its first epoch.
        generators = backends.rng_state()
        build_for_training(model, images, labels)
        backends.set_rng_state(generators)
    with SignalFlag() as flag:
        for epoch in range(state["epoch"], epochs):
            if state["wait"] >= patience:
                break
            start = time.perf_counter()
            order = epoch_order(len(labels), seed, epoch) if blocks is None else nested_order(blocks, seed, epoch)
            logs = run_epoch(model, (images, labels), order, batch_size, flag)
            seconds = time.perf_counter() - start
            if logs is None:
                raise Preempted(f"signal {flag.received} during epoch {epoch + 1}; {epoch} epochs are saved")
            scores = validation_scores(val_labels, predict(model, val_images, batch_size))
            row = {"epoch": epoch + 1, "loss": logs["loss"], "accuracy": logs["accuracy"],
                   "val_loss": scores["loss"], "val_accuracy": scores["accuracy"], "val_auc": scores["auc"],
                   "seconds": seconds}
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


def _checkpoints(checkpoint_dir, origin=None, epochs=None):
    """The checkpoint of the last finished epoch and that of the best one, both for a training from ``origin``."""
    directory = Path(checkpoint_dir)
    return (Checkpoint(directory, origin, epochs),
            Checkpoint(directory.with_name(directory.name + "_best"), origin, epochs))


def _restore(model, checkpoint, best_checkpoint) -> dict:
    """The early-stopping state of the last finished epoch (a fresh one without a checkpoint), best weights in it.

    Only complete checkpoints are read (:class:`Checkpoint`); if the best epoch's weights are in none, the stage
    restarts rather than resume with the wrong weights to fall back on.
    """
    fresh = {"epoch": 0, "history": [], "best_auc": -math.inf, "best_epoch": 0, "wait": 0, "best_weights": None}
    state, best = checkpoint.state(), best_checkpoint.state()
    if state is None:
        return fresh
    best_saved = best is not None and best["epoch"] == state["best_epoch"]
    # A kill between the two saves leaves the best checkpoint one improvement behind; the best epoch is then the
    # last finished one, whose weights the main checkpoint holds. Any other best epoch must be in the best one.
    if not best_saved and state["best_epoch"] not in (0, state["epoch"]):
        log.warning("checkpoint %s: no complete checkpoint holds the weights of the best epoch so far (%d); "
                    "training restarts this stage from its first epoch", best_checkpoint.directory, state["best_epoch"])
        checkpoint.remove()
        best_checkpoint.remove()
        return fresh
    best_weights = None
    if best_saved:
        best_checkpoint.restore(model, {})
        best_weights = model.get_weights()
    state = checkpoint.restore(model, {"model": (model.optimizer, model.trainable_variables)})
    if not best_saved and state["best_epoch"]:
        best_weights = model.get_weights()
    return {**state, "best_weights": best_weights}


def kept_predictions(model, train: dict, val: dict, test: dict, batch_size: int = 256) -> dict[str, np.ndarray]:
    """What rule evaluate_classifier needs of the kept model, so that it starts no Keras: :func:`predict` on the real
    training images (``train``: data/train.npz, not the arm's set), the validation and the test images, as
    ``p_train``, ``p_val``, ``p_test``, with the test ``case_ids`` to check them against (predictions.npz;
    :func:`synthaug.evaluation.load_predictions`). Called once training has ended: the test split chose nothing."""
    return {"p_train": predict(model, train["images"], batch_size),
            "p_val": predict(model, val["images"], batch_size),
            "p_test": predict(model, test["images"], batch_size),
            "case_ids": np.asarray(test["case_ids"], str)}


def write_outputs(model, history: pd.DataFrame, model_path, history_path, checkpoint_dir) -> None:
    """Write ``model.keras`` and ``history.csv`` whole, then delete the checkpoints they supersede."""
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    write_csv(history, history_path)
    for checkpoint in _checkpoints(checkpoint_dir):
        checkpoint.remove()
