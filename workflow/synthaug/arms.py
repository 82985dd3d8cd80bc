"""Assemble the training set of an arm (baseline, augmented, synthetic, combined) from its image bundles.

Only training images enter here: real training images, their classic-augmentation copies and the generator's
synthetic images. Validation and test bundles are never passed in, so no arm can train on them.
"""

from __future__ import annotations

import logging

import numpy as np

from .constants import ARMS
from .errors import ConfigError, UserError

log = logging.getLogger("synthaug")

REAL, AUGMENTED, SYNTHETIC = "real", "augmented", "synthetic"
# Which extra bundles each arm adds to the real training images.
ARM_SOURCES = {
    "baseline": (),
    "augmented": (AUGMENTED,),
    "synthetic": (SYNTHETIC,),
    "combined": (AUGMENTED, SYNTHETIC),
}


def assemble_arm(arm: str, train: dict, augmented: dict | None = None, synthetic: dict | None = None,
                 synthetic_ratio: float = 0.5, seed: int = 0):
    """Return ``(images, labels, source)`` of ``arm``'s training set; ``source`` names each image's origin.

    ``train``/``augmented``/``synthetic`` are bundles with ``images`` and ``labels``. The synthetic arms add
    ``min(available, round(synthetic_ratio * n_real))`` synthetic images (0.5 = the study's 1:2), drawn with a
    ``seed``-ed generator in proportion to the synthetic bundle's class mix; every augmented copy is used.
    """
    if arm not in ARMS:
        raise ConfigError("experiment.arms", f"unknown arm '{arm}'; choose from {list(ARMS)}")
    bundles = {AUGMENTED: augmented, SYNTHETIC: synthetic}
    for source in ARM_SOURCES[arm]:
        if bundles[source] is None:
            raise UserError(f"arm '{arm}' trains on {source} images but none were given; check the rule's inputs")
    n_real = len(train["labels"])
    parts = [(train["images"], train["labels"], REAL)]
    if AUGMENTED in ARM_SOURCES[arm]:
        parts.append((augmented["images"], augmented["labels"], AUGMENTED))
    if SYNTHETIC in ARM_SOURCES[arm]:
        keep = _stratified_subset(synthetic["labels"], round(synthetic_ratio * n_real), seed)
        parts.append((synthetic["images"][keep], synthetic["labels"][keep], SYNTHETIC))
    shape = train["images"].shape[1:]
    for images, _, source in parts:
        if images.shape[1:] != shape:
            raise UserError(
                f"{source} images have shape {images.shape[1:]} but the real training images {shape}; "
                f"rerun the {source} stage after changing preprocess.image_size"
            )
    images = np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False)
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    source = np.concatenate([np.full(len(p[1]), p[2]) for p in parts])
    for name in [p[2] for p in parts]:
        chosen = labels[source == name]
        log.info("arm %s: %d %s images (%d malignant)", arm, len(chosen), name, int(chosen.sum()))
    return images, labels, source


def _stratified_subset(labels: np.ndarray, wanted: int, seed: int) -> np.ndarray:
    """Sorted indices of ``min(wanted, len(labels))`` items, allocated to classes in proportion to ``labels``."""
    n = min(wanted, len(labels))
    if n < wanted:
        log.warning("only %d synthetic images available of the %d asked for; using all of them", n, wanted)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    # Largest-remainder allocation, so the per-class numbers add up to n exactly.
    quotas = counts * n / counts.sum()
    take = np.floor(quotas).astype(int)
    take[np.argsort(take - quotas)[: n - take.sum()]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)
