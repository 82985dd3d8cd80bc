"""A small class-conditional diffusion model (DDPM, Ho et al. 2020) in Keras 3, with DDIM sampling.

The denoiser is a functional U-Net: ``[x_t (N, S, S, 1), t_embedding (N, TIME_DIM), label (N,) int]`` -> the noise
in ``x_t``. Images are grey (the three channels of every bundle are copies), so the model works on one channel in
[-1, 1] and copies it back to three. The time step enters through a sinusoidal embedding computed outside the
network (so ``model.keras`` needs no custom layer); the label through an ``Embedding`` with one extra row, the
*null* class ``n_classes``, which training substitutes for the label with probability ``label_dropout``: that one
network is then both conditional and unconditional, as classifier-free guidance needs (Ho & Salimans 2022).
Each level: a residual block (GroupNorm, swish, 3x3 conv, plus the embedding), then a stride-2 conv; the way up
mirrors it with skip connections and nearest-neighbour upsampling.

:class:`Diffusion` trains with plain ``compile()`` / ``fit()`` on every backend: ``call`` draws t and the noise
from ``keras.random`` with the model's ``SeedGenerator`` (checkpointed with the weights), noises the images with
the cosine schedule (Nichol & Dhariwal 2021) and predicts the noise; ``compute_loss`` is the mean squared error.
:func:`ddim_sample` draws images with DDIM (Song et al. 2021, eta = 0) in ``steps`` steps and guidance weight
``w``: eps = (1 + w) eps(x, label) - w eps(x, null).
"""

from __future__ import annotations

import logging
import math

import keras
import numpy as np
from keras import layers, ops

log = logging.getLogger("synthaug")

TIME_DIM = 64
TIMESTEPS = 1000


def alpha_bars(timesteps: int = TIMESTEPS) -> np.ndarray:
    """Cosine schedule: the signal fraction alpha_bar(t) of step t = 0..T-1 (float32, decreasing, clipped)."""
    s = 0.008
    f = np.cos(((np.arange(timesteps + 1) / timesteps) + s) / (1 + s) * math.pi / 2) ** 2
    betas = np.clip(1 - f[1:] / f[:-1], 0, 0.999)
    return np.cumprod(1 - betas).astype(np.float32)


def time_embedding(t):
    """Sinusoidal embedding (N, TIME_DIM) of integer or float steps t (N,)."""
    half = TIME_DIM // 2
    freqs = ops.exp(-math.log(10000.0) * ops.arange(half, dtype="float32") / half)
    args = ops.cast(ops.reshape(t, (-1, 1)), "float32") * freqs[None, :]
    return ops.concatenate([ops.sin(args), ops.cos(args)], axis=1)


def _res_block(x, emb, channels: int, groups: int):
    h = layers.GroupNormalization(groups=min(groups, x.shape[-1]))(x)
    h = layers.Activation("swish")(h)
    h = layers.Conv2D(channels, 3, padding="same")(h)
    h = layers.Add()([h, layers.Reshape((1, 1, channels))(layers.Dense(channels)(emb))])
    h = layers.GroupNormalization(groups=min(groups, channels))(h)
    h = layers.Activation("swish")(h)
    h = layers.Conv2D(channels, 3, padding="same")(h)
    skip = x if x.shape[-1] == channels else layers.Conv2D(channels, 1)(x)
    return layers.Add()([h, skip])


def build_denoiser(image_size: int, channels=(16, 32, 64, 128), n_classes: int = 2, emb_dim: int = 128,
                   groups: int = 8) -> keras.Model:
    """The U-Net; ``image_size`` must be divisible by 2 ** (len(channels) - 1)."""
    factor = 2 ** (len(channels) - 1)
    if image_size % factor:
        from ..errors import ConfigError

        raise ConfigError("ddpm.channels", f"{len(channels)} levels need preprocess.image_size divisible by "
                                           f"{factor}, not {image_size}; use fewer levels")
    x_in = keras.Input((image_size, image_size, 1), name="x_t")
    t_in = keras.Input((TIME_DIM,), name="t_embedding")
    label = keras.Input((), dtype="int32", name="label")
    emb = layers.Dense(emb_dim, activation="swish")(t_in)
    emb = layers.Dense(emb_dim)(emb)
    emb = layers.Add()([emb, layers.Embedding(n_classes + 1, emb_dim)(label)])
    emb = layers.Activation("swish")(emb)

    h = layers.Conv2D(channels[0], 3, padding="same")(x_in)
    skips = []
    for i, c in enumerate(channels):
        h = _res_block(h, emb, c, groups)
        skips.append(h)
        if i < len(channels) - 1:
            h = layers.Conv2D(c, 3, strides=2, padding="same")(h)
    h = _res_block(h, emb, channels[-1], groups)
    for i in reversed(range(len(channels))):
        h = _res_block(layers.Concatenate()([h, skips[i]]), emb, channels[i], groups)
        if i > 0:
            h = layers.UpSampling2D(2)(h)
            h = layers.Conv2D(channels[i - 1], 3, padding="same")(h)
    h = layers.Activation("swish")(layers.GroupNormalization(groups=min(groups, channels[0]))(h))
    eps = layers.Conv2D(1, 3, padding="same", kernel_initializer="zeros", name="noise")(h)
    return keras.Model([x_in, t_in, label], eps, name="denoiser")


class Diffusion(keras.Model):
    """Training wrapper: ``fit((images in [0, 1] (N, S, S, 3), labels))`` learns to predict the added noise."""

    def __init__(self, denoiser, n_classes: int = 2, label_dropout: float = 0.1, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.denoiser = denoiser
        self.n_classes = n_classes
        self.label_dropout = label_dropout
        self.alpha_bar = ops.convert_to_tensor(alpha_bars())
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # the denoiser is a built functional model

    def call(self, inputs, training=False):
        """Noise ``inputs = (images, labels)`` at random steps; return the predicted and true noise, stacked."""
        images, labels = inputs
        x0 = images[..., :1] * 2.0 - 1.0
        n = ops.shape(x0)[0]
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        t = keras.random.randint((n,), 0, TIMESTEPS, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
        drop = keras.random.uniform((n,), seed=self.seed_generator) < self.label_dropout
        labels = ops.where(drop, ops.full_like(labels, self.n_classes), labels)
        ab = ops.reshape(ops.take(self.alpha_bar, t), (-1, 1, 1, 1))
        x_t = ops.sqrt(ab) * x0 + ops.sqrt(1.0 - ab) * noise
        predicted = self.denoiser([x_t, time_embedding(t), labels], training=training)
        return ops.stack([predicted, noise])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return ops.mean(ops.square(y_pred[0] - y_pred[1]))


def ddim_sample(denoiser, labels, *, steps: int, guidance: float, seed: int, null_class: int = 2,
                batch_size: int = 128, same_noise_per_class: bool = False) -> np.ndarray:
    """Images in [0, 1] (N, S, S, 3) float32 for ``labels`` (N,), by deterministic DDIM from seeded noise.

    ``same_noise_per_class``: ``labels`` are equal-sized blocks, one per class, that share their starting noise
    (the rows of a sample grid then differ by label alone).
    """
    labels = np.asarray(labels, dtype=np.int32)
    size = denoiser.inputs[0].shape[1]
    ab = alpha_bars()
    schedule = np.linspace(TIMESTEPS - 1, 0, max(steps, 2)).round().astype(int)
    rng = np.random.default_rng(seed)
    if same_noise_per_class:
        blocks = len(np.unique(labels))
        x_all = np.tile(rng.standard_normal((len(labels) // blocks, size, size, 1)), (blocks, 1, 1, 1))
    else:
        x_all = rng.standard_normal((len(labels), size, size, 1))
    x_all = x_all.astype(np.float32)
    out = []
    for start in range(0, len(labels), batch_size):
        x, lab = x_all[start : start + batch_size], labels[start : start + batch_size]
        n = len(x)
        both = np.concatenate([lab, np.full(n, null_class, np.int32)])
        for i, t in enumerate(schedule):
            emb = ops.convert_to_numpy(time_embedding(np.full(2 * n, t, np.float32)))
            eps_both = np.asarray(denoiser.predict_on_batch([np.concatenate([x, x]), emb, both]))
            eps = (1.0 + guidance) * eps_both[:n] - guidance * eps_both[n:]
            x0 = np.clip((x - np.sqrt(1 - ab[t]) * eps) / np.sqrt(ab[t]), -1.0, 1.0)
            if i == len(schedule) - 1:
                x = x0
                break
            eps = (x - np.sqrt(ab[t]) * x0) / np.sqrt(1 - ab[t])  # consistent with the clipped x0
            prev = ab[schedule[i + 1]]
            x = (np.sqrt(prev) * x0 + np.sqrt(1 - prev) * eps).astype(np.float32)
        out.append(x)
        log.info("DDIM: %d of %d images sampled", start + n, len(labels))
    images = (np.concatenate(out) + 1.0) / 2.0
    return np.repeat(np.clip(images, 0.0, 1.0), 3, axis=-1).astype(np.float32)
