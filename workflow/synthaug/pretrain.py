"""Pre-training on synthetic images, then fine-tuning on the real ones: the two-stage arms ``pretrain-{g}-r{r}`` and
``pretrain_augmented-r{r}`` (what each trains on: :mod:`synthaug.arm_names`).

Stage 1 ("pretrain") trains the classifier from its initial weights on the arm's pre-training images for exactly
``classifier.pretrain.epochs`` epochs at ``classifier.pretrain.learning_rate``, and keeps the last epoch's weights:
no validation image is looked at (choosing a pre-training epoch on validation AUC would let the validation images
select the pre-training), and no test image either. Stage 2 ("fine_tune") trains the same network, with a fresh
Adam at ``classifier.learning_rate`` (tuned: the tuned one), on the fine-tuning set as every classifier trains
(:func:`synthaug.train.train_classifier`: ``classifier.epochs``, early stopping on validation AUC, the best epoch's
weights kept). Both stages take ``classifier.batch_size`` (tuned: the tuned one) and the run's seed: with common
random numbers the pretrain arms of a seed start from the initial weights every arm of that seed starts from, visit
their pre-training images in the same order (position i of each epoch holds the i-th drawn image of either set), and
fine-tune on the ``augmented`` arm's images in that arm's order.

Each epoch of stage 1 is checkpointed like any training (:class:`~synthaug.checkpoint.Checkpoint`, fingerprinted by
the pre-training images and settings), in its own folder beside stage 2's, so a preempted job resumes inside the
stage it was in; a finished stage 1 is restored at once. A stage 1 that trained anything in this job discards any
fine-tuning checkpoint, which was then made from other pre-trained weights.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import backends
from .checkpoint import Checkpoint, Preempted, SignalFlag, fingerprint
from .loop import build_for_training, epoch_order, run_epoch
from .models.classifiers import compile_classifier
from .train import HISTORY_COLUMNS, _checkpoints, train_classifier

log = logging.getLogger("synthaug")

STAGES = ("pretrain", "fine_tune")


def pretrain_stage(model, data, *, epochs: int, batch_size: int, learning_rate: float, seed: int, checkpoint_dir,
                   model_name: str, precision: str = "float32") -> tuple[pd.DataFrame, bool]:
    """Train the compiled ``model`` on ``data`` = (images, labels) for ``epochs`` epochs in ``epoch_order(n, seed,
    e)``, saving a checkpoint after each; returns (history, whether any epoch was trained in this call)."""
    images, labels = data
    labels = labels.astype(np.float32)
    origin = fingerprint({"model": model_name, "batch_size": batch_size, "learning_rate": learning_rate,
                          "seed": seed, "precision": precision},
                         {"pre-training images": images, "pre-training labels": labels}, [model])  # fmt: skip
    checkpoint = Checkpoint(checkpoint_dir, origin, epochs)
    state = checkpoint.restore(model, {"model": (model.optimizer, model.trainable_variables)})
    state = state or {"epoch": 0, "history": []}
    if state["epoch"]:  # as in train_classifier: the backend's generators set again after the metrics are built
        generators = backends.rng_state()
        build_for_training(model, images, labels)
        backends.set_rng_state(generators)
    trained = False
    with SignalFlag() as flag:
        for epoch in range(state["epoch"], epochs):
            start = time.perf_counter()
            logs = run_epoch(model, (images, labels), epoch_order(len(labels), seed, epoch), batch_size, flag)
            seconds = time.perf_counter() - start
            if logs is None:
                raise Preempted(f"signal {flag.received} during pre-training epoch {epoch + 1}; {epoch} epochs are "
                                "saved")  # fmt: skip
            state["history"].append({"epoch": epoch + 1, "loss": logs["loss"], "accuracy": logs["accuracy"],
                                     "seconds": seconds})  # fmt: skip
            state["epoch"] = epoch + 1
            trained = True
            log.info("pre-training epoch %d/%d: loss %.4f, accuracy %.4f, %.0f img/s", epoch + 1, epochs,
                     logs["loss"], logs["accuracy"], len(labels) / seconds)  # fmt: skip
            checkpoint.save(model, {"model": model.optimizer}, state)
    return pd.DataFrame(state["history"], columns=HISTORY_COLUMNS), trained


def train_pretrained(model_name, pretraining, arm_data, val, *, build, batch_size: int, learning_rate: float,
                     epochs: int, patience: int, pretrain: dict, seed: int, checkpoint_dir, threads: int,
                     deterministic: bool = True, precision: str = "float32", blocks=None, n_classes: int = 2):
    """Pre-train on ``pretraining`` = (images, labels), then fine-tune on ``arm_data`` chosen on ``val``.

    ``build(learning_rate)`` returns the compiled, freshly initialised network (after seeding); ``batch_size``,
    ``learning_rate``, ``epochs`` and ``patience`` are the fine-tuning stage's (every classifier's); ``pretrain`` is
    the config's ``classifier.pretrain`` (epochs, learning_rate); ``blocks`` the fine-tuning set's image blocks
    (:func:`synthaug.train.train_classifier`); ``n_classes`` the classes ``build`` makes a head for. Returns (model
    at its best fine-tuning epoch, history with a ``stage`` column: the pre-training epochs have no validation
    figures).
    """
    folder = Path(checkpoint_dir)
    backends.configure(seed, threads, deterministic=deterministic, precision=precision)
    model = build(pretrain["learning_rate"])
    n = len(pretraining[1])
    log.info("stage 1 of 2 (%s): %d images, %d epochs at learning rate %g; no validation images", STAGES[0], n,
             pretrain["epochs"], pretrain["learning_rate"])  # fmt: skip
    history, trained = pretrain_stage(model, pretraining, epochs=pretrain["epochs"], batch_size=batch_size,
                                      learning_rate=pretrain["learning_rate"], seed=seed, model_name=model_name,
                                      checkpoint_dir=folder / STAGES[0], precision=precision)  # fmt: skip
    history.insert(0, "stage", STAGES[0])
    if trained:  # a fine-tuning checkpoint left from before was made from other pre-trained weights
        for stale in _checkpoints(folder / STAGES[1]):
            stale.remove()

    def pretrained():
        compile_classifier(model, learning_rate)  # a fresh optimizer for the new stage
        return model

    log.info("stage 2 of 2 (%s): %d images, up to %d epochs at learning rate %g, chosen on validation AUC",
             STAGES[1], len(arm_data[1]), epochs, learning_rate)  # fmt: skip
    model, tuned = train_classifier(model_name, arm_data, val, epochs=epochs, batch_size=batch_size,
                                    learning_rate=learning_rate, patience=patience, seed=seed, weights=None,
                                    checkpoint_dir=folder / STAGES[1], threads=threads, build_model=pretrained,
                                    deterministic=deterministic, precision=precision, blocks=blocks,
                                    n_classes=n_classes)  # fmt: skip
    tuned.insert(0, "stage", STAGES[1])
    return model, pd.concat([history, tuned], ignore_index=True)
