"""ddpm: class-conditional diffusion (:mod:`synthaug.diffusion`, :mod:`synthaug.models.ddpm`), config ``ddpm``;
trained with EMA weights, sampled with DDIM (``ddpm.sample_steps``, ``ddpm.guidance``)."""

from __future__ import annotations

import keras

from .. import backends
from ..constants import CLASS_NAMES
from ..diffusion import train_ddpm
from ..models.ddpm import ddim_sample


def train(images, labels, options, *, checkpoint_dir, source, threads, compute):
    cfg = options["ddpm"]
    backends.configure_from(compute, cfg["seed"], threads=threads)
    return train_ddpm(
        images, labels, epochs=cfg["epochs"], batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"],
        channels=cfg["channels"], label_dropout=cfg["label_dropout"], ema=cfg["ema"], guidance=cfg["guidance"],
        seed=cfg["seed"], checkpoint_dir=checkpoint_dir, source=source,
    )


def sample(source, labels, *, seed, options, threads=1):
    """Images for ``labels`` from the denoiser saved at ``source``, by DDIM."""
    return sample_from(keras.models.load_model(source), labels, seed, options["ddpm"])


def sample_from(denoiser, labels, seed, cfg):
    return ddim_sample(denoiser, labels, steps=cfg["sample_steps"], guidance=cfg["guidance"], seed=seed,
                       null_class=null_class(denoiser))


def null_class(denoiser) -> int:
    """The label of "no class" (classifier-free guidance): the last row of the denoiser's label embedding, i.e. the
    number of classes it was trained on (2 for a binary dataset, k for k classes)."""
    embeddings = [layer for layer in denoiser.layers if isinstance(layer, keras.layers.Embedding)]
    return int(embeddings[0].input_dim) - 1 if embeddings else len(CLASS_NAMES)
