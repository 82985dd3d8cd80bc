"""cgan: the study's conditional GAN (:mod:`synthaug.gan`, networks in :mod:`synthaug.models.cgan`), config ``gan``."""

from __future__ import annotations

import keras
import numpy as np

from ..gan import generate, train_gan


def train(images, labels, options, *, checkpoint_dir, source, threads, compute, diffaug=None):
    """Train on the training split, resuming ``checkpoint_dir``; ``diffaug`` (gan.diffaug) is cgan_diffaug's. The
    generator kept is the epoch of the lowest KID against the training images (``gan.select``)."""
    cfg = options["gan"]
    return train_gan(
        images, labels, epochs=cfg["epochs"], batch_size=cfg["batch_size"], latent_dim=cfg["latent_dim"],
        learning_rate=cfg["learning_rate"], beta_1=cfg["beta_1"], seed=cfg["seed"], checkpoint_dir=checkpoint_dir,
        source=source, diffaug=diffaug, threads=threads, deterministic=compute["deterministic"],
        precision=compute["precision"], select=cfg["select"],
    )


def sample(source, labels, *, seed, options, threads=1):
    """Images for ``labels`` from the generator saved at ``source``."""
    return sample_from(keras.models.load_model(source), labels, seed)


def sample_from(generator, labels, seed):
    """Images for ``labels`` from a generator model: one seeded standard-normal noise vector per image."""
    latent_dim = generator.inputs[0].shape[-1]
    noise = np.random.default_rng(seed).standard_normal((len(labels), latent_dim)).astype(np.float32)
    return generate(generator, noise, labels)
