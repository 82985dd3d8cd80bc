"""Training the class-conditional diffusion model (``ddpm``): seeded epoch order, checkpoints, resume after SIGTERM.

One ``fit`` call covers all epochs; epoch ``e`` visits the images in the order ``default_rng([seed, e])``, and a
callback saves the checkpoint (weights, the optimizer with its moving average of the weights, the random-generator
state, the loss history and fixed-noise sample snapshots) after every epoch, so a resumed run continues as the
uninterrupted one would. The sampled model uses the exponential moving average of the weights (``ddpm.ema``),
which Keras swaps in when ``fit`` ends.
"""

from __future__ import annotations

import logging
import math
import time

import keras
import numpy as np
import pandas as pd

from .checkpoint import Checkpoint, Preempted, SignalFlag, fingerprint, stop_on_signal_callback
from .split import class_labels
from .errors import DataError
from .gan import GanResult, _decode, _encode, snapshot_epochs
from .loop import epoch_order
from .models.ddpm import Diffusion, build_denoiser, ddim_sample

log = logging.getLogger("synthaug")

SNAPSHOT_STEPS = 20  # DDIM steps of the training-time snapshots (cheap; the final samples use ddpm.sample_steps)


class _EpochBatches(keras.utils.PyDataset):
    """Batches in the order of the current epoch (set by :class:`_EpochEnd` before each epoch starts)."""

    def __init__(self, images, labels, batch_size, seed):
        super().__init__()
        self.images, self.labels, self.batch_size, self.seed = images, labels, batch_size, seed
        self.start_epoch(0)

    def start_epoch(self, epoch: int) -> None:
        self.order = epoch_order(len(self.images), self.seed, epoch)

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, i):
        rows = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        return ((self.images[rows], self.labels[rows]),)  # x only: the loss needs no targets


def train_ddpm(images, labels, *, epochs, batch_size, learning_rate, channels, label_dropout, ema, guidance, seed,
               checkpoint_dir, n_snapshots=4, samples_per_class=8, source="training images") -> GanResult:
    """Train on ``images`` (N, S, S, 3) in [0, 1] with ``labels``; returns the (EMA) denoiser, losses, snapshots.

    Raises :class:`Preempted` after SIGTERM/SIGINT/SIGUSR1 (checkpoint of the last finished epoch kept).
    """
    n_classes = len(class_labels(labels))  # 2, or k (the null class of guidance is label k)
    if len(images) < batch_size or not np.isin(np.arange(n_classes), np.unique(labels)).all():
        raise DataError(source, f"ddpm needs at least ddpm.batch_size={batch_size} images, of "
                        f"{'both classes' if n_classes == 2 else f'all {n_classes} classes'}")
    keras.utils.set_random_seed(seed)
    denoiser = build_denoiser(images.shape[1], tuple(channels), n_classes)
    model = Diffusion(denoiser, n_classes=n_classes, label_dropout=label_dropout, seed=seed)
    optimizer = keras.optimizers.Adam(learning_rate, use_ema=ema > 0, ema_momentum=ema or 0.99)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    origin = fingerprint(
        {"batch_size": batch_size, "learning_rate": learning_rate, "channels": list(channels),
         "label_dropout": label_dropout, "ema": ema, "guidance": guidance, "seed": seed,
         "samples_per_class": samples_per_class},
        {"training images": images, "training labels": labels}, [denoiser])
    checkpoint = Checkpoint(checkpoint_dir, origin, epochs)
    state = checkpoint.restore(model, {"denoiser": (optimizer, model.trainable_variables)}) or {
        "epoch": 0, "history": [], "snapshots": {}}

    snap_labels = np.repeat(np.arange(n_classes), samples_per_class)
    keep = snapshot_epochs(epochs, n_snapshots)
    state["snapshots"] = {e: s for e, s in state["snapshots"].items() if int(e) in keep}  # see synthaug.gan
    data = _EpochBatches(images, labels.astype(np.int32), batch_size, seed)

    class _EpochEnd(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            data.start_epoch(epoch)
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if flag.received is not None and int(optimizer.iterations.numpy()) < (epoch + 1) * len(data):
                return  # stopped inside the epoch: keep the previous checkpoint
            state["history"].append({"epoch": epoch + 1, "loss": float(logs["loss"])})
            if epoch + 1 in keep:  # current (not averaged) weights, with the same noise for both classes
                snap = ddim_sample(denoiser, snap_labels, steps=SNAPSHOT_STEPS, guidance=guidance, seed=seed,
                                   null_class=n_classes, same_noise_per_class=True)
                state["snapshots"][str(epoch + 1)] = _encode(snap)
            state["epoch"] = epoch + 1
            checkpoint.save(model, {"denoiser": optimizer}, state)
            log.info("epoch %d/%d: loss %.4f (%.1f s)", epoch + 1, epochs, logs["loss"],
                     time.perf_counter() - self.start)

    with SignalFlag() as flag:
        if state["epoch"] < epochs:  # fit() ends by swapping the averaged weights in
            model.fit(data, epochs=epochs, initial_epoch=state["epoch"], shuffle=False, verbose=0,
                      callbacks=[stop_on_signal_callback(flag), _EpochEnd()])
        else:  # every epoch was done before an interruption: swap them in here
            optimizer.finalize_variable_values(model.trainable_variables)
        if flag.received is not None or state["epoch"] < epochs:
            raise Preempted(f"stopped after epoch {state['epoch']} of {epochs}")
    shape = (n_classes, samples_per_class, *images.shape[1:])
    snapshots = {int(e): _decode(s).reshape(shape) for e, s in state["snapshots"].items()}
    return GanResult(generator=denoiser, losses=pd.DataFrame(state["history"], columns=["epoch", "loss"]),
                     snapshots=snapshots)
