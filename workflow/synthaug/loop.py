"""The epoch loop every trained model shares: seeded order, one ``train_on_batch`` per batch, stop on a signal.

Epoch ``e`` visits the images in the order ``default_rng([seed, e]).permutation``, so the data order depends on
(seed, epoch) alone and a resumed run sees the batches the uninterrupted one saw. A classifier's arm, whose images
come in blocks (the real images, then the augmented set, then extra images), visits them in :func:`nested_order`:
the real images in that same order, each further block interleaved at seeded positions, so arms of one seed see the
images they share in the same order (common random numbers: ``experiment.common_random_numbers``).

Why not ``fit``: on TensorFlow every ``fit`` call builds a new ``tf.data`` pipeline over the epoch's batches, and
on a 2-core CPU about one epoch in three then ran at half speed (classifier 493 vs 980 img/s, CGAN epochs 10 s vs
21 s), while ``train_on_batch`` on the same batches ran every epoch at the fast speed (``bench/train_throughput.py``).
It runs the model's own ``train_step`` (the CGAN's included), on every backend, so the weights are those ``fit``
gives for the same batches; Keras resets the metrics per call, so the epoch's figures are averaged here.
"""

from __future__ import annotations

import numpy as np


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The training images' order in ``epoch``: a function of (seed, epoch) only, so resumed runs match."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def nested_order(blocks, seed: int, epoch: int) -> np.ndarray:
    """The order of an array made of consecutive ``blocks`` (their sizes) in ``epoch``, nested block by block.

    The first block is permuted as :func:`epoch_order` permutes it; then each block ``i`` in turn is permuted by
    ``default_rng([seed, epoch, i])`` and its images are put at positions drawn from the same generator among
    those of the order so far. So the images of the first ``k`` blocks come in the same relative order whatever
    blocks follow: an arm and its base (baseline in more_real, augmented in combined) see the images they share in
    the same order, the added images interleaved among them. One block gives :func:`epoch_order` exactly.
    """
    sizes = [int(n) for n in blocks]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    order = epoch_order(sizes[0], seed, epoch) if sizes else np.zeros(0, int)
    for i, n in enumerate(sizes[1:], start=1):
        rng = np.random.default_rng([seed, epoch, i])
        items = offsets[i] + rng.permutation(n)
        slots = np.zeros(len(order) + n, bool)
        slots[rng.choice(len(slots), size=n, replace=False)] = True
        merged = np.empty(len(slots), dtype=np.int64)
        merged[slots], merged[~slots] = items, order
        order = merged
    return order


def build_for_training(model, images: np.ndarray, labels: np.ndarray) -> None:
    """Build ``model``'s metrics and loss as the first ``train_on_batch`` would, without a training step.

    Needed where a resumed run must set random generators AFTER that build (which draws from them on PyTorch).
    """
    model._symbolic_build(data_batch=(images[:1], labels[:1], None))


def run_epoch(model, arrays: tuple, order: np.ndarray, batch_size: int, flag=None) -> dict | None:
    """One epoch of ``model.train_on_batch`` over ``arrays`` (e.g. (images, labels)) in ``order``.

    Returns each logged value's mean over the epoch's images (a batch counts by its size, as ``fit`` counts the
    loss), or None if ``flag`` (a :class:`synthaug.checkpoint.SignalFlag`) saw a signal: the run then stops
    after the batch in progress, and the caller's last checkpoint is the epoch before.
    """
    sums: dict[str, float] = {}
    seen = 0
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        logs = model.train_on_batch(*(a[rows] for a in arrays), return_dict=True)
        for key, value in logs.items():
            sums[key] = sums.get(key, 0.0) + float(value) * len(rows)
        seen += len(rows)
        if flag is not None and flag.received is not None:
            return None
    return {key: total / seen for key, total in sums.items()}
