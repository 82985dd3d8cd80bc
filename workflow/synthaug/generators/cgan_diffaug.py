"""cgan_diffaug: the study's networks trained with DiffAugment, hinge loss and spectral normalisation
(``gan.diffaug``); sampled like cgan."""

from __future__ import annotations

from . import cgan

sample = cgan.sample


def train(images, labels, options, **kwargs):
    return cgan.train(images, labels, options, diffaug=options["gan"]["diffaug"], **kwargs)
