"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) and the hinge GAN loss, in ``keras.ops`` only.

A discriminator trained on ~1,000 images memorises them and stops teaching the generator. DiffAugment applies the
same kind of random, differentiable transformation to every image the discriminator sees, real and generated
alike, so the discriminator cannot tell them apart by memory while the generator still receives gradients through
the transformation. The three policies of the paper, on images in [-1, 1] (N, H, W, C):

- ``color``: brightness (+U(-0.5, 0.5)), saturation (x U(0, 2) around the channel mean), contrast
  (x U(0.5, 1.5) around the image mean);
- ``translation``: an integer shift of up to 1/8 of the side in x and y, zero-filled (a product with 0/1 shift
  matrices, so it is differentiable and identical on every backend);
- ``cutout``: a zeroed square of half the side at a random position.

Random draws come from a ``keras.random.SeedGenerator`` held by the layer, so they are seeded and (as a tracked
variable) saved in training checkpoints.
"""

from __future__ import annotations

import keras
from keras import ops

POLICIES = ("color", "translation", "cutout")


def _uniform(shape, seed):
    return keras.random.uniform(shape, seed=seed)


def augment_color(x, seed):
    n = ops.shape(x)[0]
    x = x + (_uniform((n, 1, 1, 1), seed) - 0.5)
    mean = ops.mean(x, axis=3, keepdims=True)
    x = (x - mean) * (_uniform((n, 1, 1, 1), seed) * 2.0) + mean
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (_uniform((n, 1, 1, 1), seed) + 0.5) + mean


def _shift_matrices(shift, size):
    """(N, size, size) 0/1 matrices S with S[n, i, j] = 1 where j = i - shift[n] (rows out of range stay 0)."""
    idx = ops.arange(size, dtype="int32")
    source = idx[None, :, None] - shift[:, None, None]
    return ops.cast(ops.equal(source, idx[None, None, :]), "float32")


def augment_translation(x, seed, ratio: float = 0.125):
    n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
    max_shift = int(h * ratio + 0.5)

    def shifts():
        draw = _uniform((n,), seed) * (2 * max_shift + 1)
        return ops.cast(ops.floor(draw), "int32") - max_shift

    rows, cols = _shift_matrices(shifts(), h), _shift_matrices(shifts(), w)
    x = ops.einsum("nij,njwc->niwc", rows, x)
    return ops.einsum("nij,nhjc->nhic", cols, x)


def augment_cutout(x, seed, ratio: float = 0.5):
    n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = ops.floor(_uniform((n, 1, 1), seed) * (h + (1 - ch % 2)))
    cx = ops.floor(_uniform((n, 1, 1), seed) * (w + (1 - cw % 2)))
    yy = ops.cast(ops.arange(h), "float32")[None, :, None]
    xx = ops.cast(ops.arange(w), "float32")[None, None, :]
    inside = ops.logical_and(
        ops.logical_and(yy >= cy - ch // 2, yy < cy - ch // 2 + ch),
        ops.logical_and(xx >= cx - cw // 2, xx < cx - cw // 2 + cw),
    )
    return x * (1.0 - ops.cast(inside, x.dtype))[..., None]


_FUNCTIONS = {"color": augment_color, "translation": augment_translation, "cutout": augment_cutout}


class DiffAugment(keras.layers.Layer):
    """Apply ``policy`` (a sequence of names from :data:`POLICIES`) to a batch of images in [-1, 1]."""

    def __init__(self, policy=POLICIES, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        unknown = [p for p in policy if p not in POLICIES]
        if unknown:
            raise ValueError(f"unknown DiffAugment policies {unknown}; choose from {list(POLICIES)}")
        self.policy = tuple(policy)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # No weights to create: built now, so that Keras' JAX trainer does not try to build the GAN by calling it.
        self.built = True

    def call(self, x):
        for name in self.policy:
            x = _FUNCTIONS[name](x, self.seed_generator)
        return x


def hinge_discriminator_loss(real_logits, fake_logits):
    """mean(relu(1 - D(real))) + mean(relu(1 + D(fake))) on the discriminator's raw scores."""
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits):
    """-mean(D(G(z))): the generator raises the discriminator's score of its images."""
    return -ops.mean(fake_logits)
