"""Assemble the training set of an arm from its image bundles (names and counts: :mod:`synthaug.arm_names`), and
the pre-training set of the two-stage arms (:func:`assemble_pretraining`).

Only training images enter here: real training images, their classic-augmentation copies, synthetic images and
the reserve's real images of new patients (the oracle arms). Validation and test bundles are never passed in, so no
arm can train on them.
"""

from __future__ import annotations

import logging
import zlib

import numpy as np

from .arm_names import (  # noqa: F401 (re-exported: callers import arm names from here too)
    AUGMENTED,
    DOSE_KINDS,
    EXTRA_REAL,
    HAS_RATIO,
    KINDS,
    MORE_AUGMENTED,
    PARTS,
    PRETRAINING,
    REAL,
    SOURCES,
    SYNTHETIC,
    USES_GENERATOR,
    WILDCARD,
    Arm,
    experiment_arms,
    synthetic_needed,
)
from .errors import UserError

log = logging.getLogger("synthaug")


def patient_subset(patient_ids, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of images whose patient is among a seeded ``fraction`` of the patients (nested in fraction)."""
    patient_ids = np.asarray(patient_ids).astype(str)
    patients = np.unique(patient_ids)
    order = np.random.default_rng(seed).permutation(patients)
    keep = order[: max(1, round(fraction * len(patients)))]
    return np.isin(patient_ids, keep)


def assemble_arm(arm: str, train: dict, augmented: dict | None = None, synthetic: dict | None = None,
                 extra_real: dict | None = None, patient_ids=None, subset_seed: int = 0, seed: int = 0):
    """Return ``(images, labels, source)`` of ``arm``'s training set; ``source`` names each image's origin.

    ``train``/``augmented``/``synthetic``/``extra_real`` are bundles with ``images`` and ``labels``. Counts follow
    the arm's name (module docstring); partial bundles are drawn with a ``seed``-ed generator in proportion to the
    bundle's class mix. ``patient_ids`` (aligned with ``train``) and ``subset_seed`` pick a learning-curve subset.
    """
    spec = Arm.parse(arm)
    bundles = {AUGMENTED: augmented, SYNTHETIC: synthetic, EXTRA_REAL: extra_real}
    for source in spec.sources:
        if bundles[source] is None:
            raise UserError(f"arm '{arm}' trains on {source} images but none were given; check the rule's inputs")
    if augmented is not None:  # the augmented set, and the further copies made beside it for augmented_extra
        bundles[AUGMENTED], bundles[MORE_AUGMENTED] = split_augmented(augmented)
    real_images, real_labels = train["images"], train["labels"]
    if spec.fraction != 1.0:
        if patient_ids is None:
            raise UserError(f"arm '{arm}' needs the training images' patient ids; check the rule's inputs")
        keep = patient_subset(patient_ids, spec.fraction, subset_seed)
        real_images, real_labels = real_images[keep], real_labels[keep]
    n_real = len(real_labels)
    parts = [] if spec.kind == "synthetic_only" else [(real_images, real_labels, REAL)]
    for source, how in PARTS[spec.kind]:
        parts.append(_part(bundles[source], source, how, spec.extra_images(n_real), seed))
    return _joined(arm, parts, train)


def assemble_pretraining(arm: str, train: dict, augmented: dict | None = None, synthetic: dict | None = None,
                         seed: int = 0):
    """``(images, labels, source)`` a two-stage arm pre-trains on (:data:`PRETRAINING`), or None for other arms.

    ``round(ratio * n_real)`` images of the arm's pre-training source (the generator's images, or the further
    augmented copies), drawn as :func:`assemble_arm` draws extra images (same ``seed``, same class mix): so
    ``pretrain-{g}-r{r}`` pre-trains on the very images ``synthetic-{g}-r{r}`` adds. ``train`` (the real training
    images) only gives ``n_real`` and the image shape; no real, validation or test image is pre-trained on.
    """
    spec = Arm.parse(arm)
    if spec.pretraining is None:
        return None
    bundles = {SYNTHETIC: synthetic}
    if augmented is not None:
        bundles[AUGMENTED], bundles[MORE_AUGMENTED] = split_augmented(augmented)
    if bundles.get(spec.pretraining) is None:
        raise UserError(f"arm '{arm}' pre-trains on {spec.pretraining} images but none were given; check the rule's "
                        "inputs")  # fmt: skip
    part = _part(bundles[spec.pretraining], spec.pretraining, "extra", spec.extra_images(len(train["labels"])), seed)
    return _joined(f"{arm} (pre-training)", [part], train)


def _part(bundle: dict, source: str, how: str, n_extra: int, seed: int) -> tuple:
    """One part of an assembled set: every image of ``bundle`` (``how`` = "all") or ``n_extra`` of them drawn."""
    if how == "all":
        return bundle["images"], bundle["labels"], source
    keep = _stratified_subset(bundle["labels"], n_extra, seed, source)
    return bundle["images"][keep], bundle["labels"][keep], source


def _joined(arm: str, parts: list, train: dict):
    """The parts (images, labels, source name) concatenated, each checked to have the real training images' shape;
    logs each part's count per class (``train``'s labels say how many classes: 0/1 binary, 0 .. k-1 k classes)."""
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
    k = max(2, int(np.max(train["labels"], initial=0)) + 1, int(np.max(labels, initial=0)) + 1)
    for name in [p[2] for p in parts]:
        chosen = labels[source == name]
        if k == 2:
            log.info("arm %s: %d %s images (%d malignant)", arm, len(chosen), name, int(chosen.sum()))
        else:  # no malignant class: each label's count
            log.info("arm %s: %d %s images (labels 0-%d: %s)", arm, len(chosen), name, k - 1,
                     ", ".join(map(str, np.bincount(chosen, minlength=k))))  # fmt: skip
    return images, labels, source


def blocks(source: np.ndarray) -> list[int]:
    """Sizes of the consecutive blocks of an assembled arm (its ``source`` array: the real images, then each part in
    :data:`PARTS` order), for :func:`synthaug.loop.nested_order`."""
    source = np.asarray(source)
    if not len(source):
        return []
    starts = np.flatnonzero(np.r_[True, source[1:] != source[:-1]])
    return np.diff(np.r_[starts, len(source)]).tolist()


def run_seed(seed: int, arm: str, common_random_numbers: bool = True) -> int:
    """The seed of a run's initial weights and image order: the classifier seed itself, shared by every arm
    (common random numbers), or one of the arm's own drawn from (seed, arm name) when they are switched off."""
    if common_random_numbers:
        return seed
    return int(np.random.SeedSequence([seed, zlib.crc32(arm.encode())]).generate_state(1)[0] >> 1)


def run_randomness(arm: str, source: np.ndarray, seed: int, common_random_numbers: bool = True) -> dict:
    """The ``seed`` and ``blocks`` a run of ``arm`` (its assembled ``source`` array) trains with
    (:func:`synthaug.transfer.train_run`): with common random numbers the classifier seed and the arm's blocks
    (shared initial weights, shared order of shared images); without, the arm's own seed and one plain order."""
    if common_random_numbers:
        return {"seed": seed, "blocks": blocks(source)}
    return {"seed": run_seed(seed, arm, False), "blocks": None}


def split_augmented(bundle: dict) -> tuple[dict, dict]:
    """``(augmented set, further copies)`` of an augmented bundle: its ``base`` flag marks the ``augment.copies``
    copies per image that the augmented arms train on; the rest were made for ``augmented_extra`` and
    ``pretrain_augmented`` only."""
    base = np.asarray(bundle["base"], bool) if "base" in bundle else np.ones(len(bundle["labels"]), bool)
    pick = lambda mask: {k: v[mask] for k, v in bundle.items() if k in ("images", "labels")}  # noqa: E731
    return pick(base), pick(~base)


# Which config key makes more images of each source available.
_MORE_OF = {SYNTHETIC: "synthesize.n_images (or 'auto')", AUGMENTED: "augment.copies",
            MORE_AUGMENTED: "the further augmented copies (rerun augment_images)",
            EXTRA_REAL: "experiment.reserve (the training patients held back)"}  # fmt: skip


def _stratified_subset(labels: np.ndarray, wanted: int, seed: int, source: str = SYNTHETIC) -> np.ndarray:
    """Sorted indices of ``wanted`` items, allocated to classes in proportion to ``labels``; stops if too few."""
    if wanted > len(labels):
        raise UserError(f"the arm needs {wanted} {source} images but only {len(labels)} exist; "
                        f"raise {_MORE_OF[source]} or lower the ratio (classifier.synthetic_ratio, "
                        "experiment.dose_ratios)")  # fmt: skip
    n = wanted
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    # Largest-remainder allocation, so the per-class numbers add up to n exactly.
    quotas = counts * n / counts.sum()
    take = np.floor(quotas).astype(int)
    take[np.argsort(take - quotas)[: n - take.sum()]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)
