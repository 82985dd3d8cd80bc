"""Sampling labelled synthetic images from a generator, the counts the arms need, and honest checks of what came out.

Class mix: ``malignant_fraction`` is either "train" (the training split's malignant share) or a number in [0, 1];
``round(n_images * fraction)`` images are malignant, exactly, the rest benign (benign first, then malignant).
k > 2 classes (a k-class image folder): the counts per class follow the training split's class frequencies
(largest remainder, label order); ``malignant_fraction`` must be "train".

Quality checks, per class, synthetic vs the real training images of that class (Euclidean distances on pixels,
images larger than 64 px compared at 64 px):

- intensity: mean and standard deviation of pixel values;
- diversity: mean pairwise distance among synthetic images / the same among real ones. Mode collapse shows as a
  ratio well below 1 (flagged ``collapse_suspected`` below ``COLLAPSE_RATIO``);
- memorisation: each synthetic image's distance to its nearest real image, against the real images' own
  nearest-neighbour distances (leave-one-out). ``fraction_closer_than_real_median`` is about 0.5 or less for a
  generator that samples the distribution; near-copies (closer than ``NEAR_COPY`` x the real median) flag
  ``memorisation_suspected`` when they exceed ``MEMORISATION_FRACTION`` of the class.

The thresholds are heuristics for a warning in the log, not a test of sample quality; :mod:`synthaug.quality`
holds the calibrated metrics (KID, precision/recall, density/coverage with floors, label fidelity, data copying).
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from .constants import CLASS_NAMES
from .split import class_labels, class_name
from .arm_names import synthetic_draws
from .errors import ConfigError, DataError
from .generators.external import check_counts as check_external

log = logging.getLogger("synthaug")

COLLAPSE_RATIO = 0.5
NEAR_COPY = 0.1
MEMORISATION_FRACTION = 0.05
MAX_IMAGES_COMPARED = 1000  # per set and class, drawn with the check's seed: distance matrices stay small
COMPARED_SIZE = 64  # larger images are compared after resizing to this side (memory; fine detail barely matters)


def class_counts(n_images: int, malignant_fraction, train_labels: np.ndarray) -> dict[int, int]:
    """Images per label: ``round(n_images * fraction)`` malignant, the rest benign; for k > 2 classes the training
    split's class frequencies (:func:`frequency_counts`)."""
    labels = class_labels(train_labels)
    if len(labels) > 2:
        if malignant_fraction != "train":
            raise ConfigError("synthesize.malignant_fraction", f"'{malignant_fraction}' is a share of the positive "
                              f"class, but the dataset has {len(labels)} classes; use 'train' (the synthetic images "
                              "per class follow the training split's class frequencies)")  # fmt: skip
        return frequency_counts(n_images, train_labels, labels)
    if malignant_fraction == "train":
        fraction = float(np.mean(train_labels == 1))
    elif isinstance(malignant_fraction, (int, float)) and 0 <= malignant_fraction <= 1:
        fraction = float(malignant_fraction)
    else:
        raise ConfigError("synthesize.malignant_fraction", f"'{malignant_fraction}' is neither 'train' nor in [0, 1]")
    malignant = int(round(n_images * fraction))
    return {0: n_images - malignant, 1: malignant}


def frequency_counts(n_images: int, train_labels, labels) -> dict[int, int]:
    """``n_images`` split over ``labels`` in proportion to their counts in ``train_labels``, exactly: floors, then
    one more for the largest remainders (ties: the lower label)."""
    counts = np.array([np.sum(np.asarray(train_labels) == label) for label in labels], float)
    quotas = n_images * counts / counts.sum()
    take = np.floor(quotas).astype(int)
    take[np.argsort(take - quotas, kind="stable")[: n_images - take.sum()]] += 1
    return {int(label): int(n) for label, n in zip(labels, take)}


def synthesize(sample, n_images: int, malignant_fraction, train_labels, *, seed: int, prefix: str):
    """The synthetic set: a dict in the image-bundle layout (``images`` in [0, 1], ``labels``, ``case_ids``).

    ``sample(labels, seed=seed)`` makes one image per label (a generator's ``sample``,
    :mod:`synthaug.generators`); ``case_ids`` are ``{prefix}-00001`` and on.
    """
    counts = class_counts(n_images, malignant_fraction, train_labels)
    labels = np.concatenate([np.full(n, label, dtype=np.int64) for label, n in counts.items()])
    images = sample(labels, seed=seed)
    log.info("synthesised %d images: %s", n_images, {class_name(k, len(counts)): v for k, v in counts.items()})
    case_ids = np.array([f"{prefix}-{i + 1:05d}" for i in range(n_images)])
    return {"images": images, "labels": labels, "case_ids": case_ids}


def images_needed(needed_ratio: float, n_real: int) -> int:
    """What ``synthesize.n_images: auto`` makes: ``needed_ratio`` (the largest the arms ask for) x real images."""
    return max(1, math.ceil(needed_ratio * n_real))


def check_counts(arms, needed_ratio: float, n_images, malignant_fraction, train_labels, external: dict,
                 names=CLASS_NAMES) -> dict:
    """Before anything trains: every generator can supply what ``arms`` (names) draw, given the training split's
    labels. An explicit ``synthesize.n_images`` must reach the largest draw of an arm, and each external set
    (name -> label -> its image count) must hold each class's share of what it supplies (``needed_ratio``:
    :func:`synthaug.arm_names.synthetic_needed`). Returns the plan: images per generator, per class (keyed by
    ``names``: :func:`synthaug.generators.class_names`)."""
    n_real = len(train_labels)
    largest, wanted = synthetic_draws(arms, n_real)
    if n_images != "auto" and n_images < wanted:
        raise ConfigError("synthesize.n_images", f"{n_images} images per generator, but arm {largest} draws {wanted} "
                          f"({n_real} real training images in the split). Set it to at least {wanted} or to auto, "
                          "or lower classifier.synthetic_ratio (and experiment.dose_ratios).")
    n = images_needed(needed_ratio, n_real) if n_images == "auto" else n_images
    counts = class_counts(n, malignant_fraction, train_labels)
    for name, have in external.items():
        check_external(name, {int(k): v for k, v in have.items()}, counts,
                       f"the arms (synthesize.n_images {n_images}: {n}; malignant_fraction {malignant_fraction})")
    return {"real_training_images": n_real, "largest_arm": largest, "largest_arm_draws": wanted,
            "images_per_generator": n, "per_class": {names[k]: v for k, v in counts.items()}}


def check_compatible(images: np.ndarray, train_images: np.ndarray, path) -> None:
    """Synthetic and real images must have the same shape (the generator was trained at another size otherwise)."""
    if images.shape[1:] != train_images.shape[1:]:
        raise DataError(path, f"generator makes {images.shape[1:]} images but training images are "
                              f"{train_images.shape[1:]}; rerun train_generator for the current preprocess.image_size")


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` and ``b`` (float64 so that exact copies give ~0)."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def _mean_pairwise(x: np.ndarray) -> float:
    if len(x) < 2:
        return float("nan")
    d = _distances(x, x)
    return float(d[np.triu_indices(len(x), 1)].mean())


def _vectors(images: np.ndarray) -> np.ndarray:
    """Images (N, S, S, C) as float64 rows, resized to ``COMPARED_SIZE`` if larger."""
    if images.shape[1] > COMPARED_SIZE:
        size = (COMPARED_SIZE, COMPARED_SIZE)
        images = np.stack([cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in images])
    return images.reshape(len(images), -1).astype(np.float64)


def class_quality(synthetic: np.ndarray, real: np.ndarray) -> dict:
    """The checks of one class (both arrays (N, S, S, C) in [0, 1], at least two real images)."""
    s, r = _vectors(synthetic), _vectors(real)
    div_s, div_r = _mean_pairwise(s), _mean_pairwise(r)
    real_real = _distances(r, r)
    np.fill_diagonal(real_real, np.inf)
    real_nn = real_real.min(1)
    syn_nn = _distances(s, r).min(1)
    median = float(np.median(real_nn))
    ratio = div_s / div_r if div_r > 0 else float("nan")
    near_copies = float(np.mean(syn_nn < NEAR_COPY * median))
    return {
        "n_synthetic": int(len(s)),
        "n_real": int(len(r)),
        "intensity_mean": {"synthetic": float(s.mean()), "real": float(r.mean())},
        "intensity_std": {"synthetic": float(s.std()), "real": float(r.std())},
        "diversity": {"synthetic": div_s, "real": div_r, "ratio": ratio},
        "nearest_real_distance": {
            "synthetic_median": float(np.median(syn_nn)),
            "synthetic_min": float(syn_nn.min()),
            "real_real_median": median,
            "fraction_closer_than_real_median": float(np.mean(syn_nn < median)),
            "near_copy_fraction": near_copies,
        },
        "collapse_suspected": bool(ratio < COLLAPSE_RATIO),
        "memorisation_suspected": bool(near_copies > MEMORISATION_FRACTION),
    }


def quality_checks(synthetic: dict, real_images: np.ndarray, real_labels: np.ndarray, seed: int = 0,
                   names=None) -> dict:
    """:func:`class_quality` for every class present in both sets, keyed by class name (``names``, in label order;
    benign and malignant, or ``class <label>`` beyond them, by default); warnings go to the log."""
    rng = np.random.default_rng(seed)

    def subset(x):
        return x if len(x) <= MAX_IMAGES_COMPARED else x[rng.choice(len(x), MAX_IMAGES_COMPARED, replace=False)]

    report = {}
    labels = class_labels(real_labels)
    names = list(names) if names is not None else [class_name(label, len(labels)) for label in labels]
    for label, name in zip(labels, names):
        syn = synthetic["images"][synthetic["labels"] == label]
        real = real_images[real_labels == label]
        if len(syn) == 0 or len(real) < 2:
            continue
        q = report[name] = class_quality(subset(syn), subset(real))
        log.info(
            "%s: diversity ratio %.2f, intensity %.3f vs real %.3f, %.0f%% closer to a real image than real images "
            "are to each other (median), %.1f%% near-copies",
            name, q["diversity"]["ratio"], q["intensity_mean"]["synthetic"], q["intensity_mean"]["real"],
            100 * q["nearest_real_distance"]["fraction_closer_than_real_median"],
            100 * q["nearest_real_distance"]["near_copy_fraction"],
        )
        if q["collapse_suspected"]:
            log.warning("%s: synthetic images are much less diverse than real ones (mode collapse?)", name)
        if q["memorisation_suspected"]:
            log.warning("%s: many synthetic images are near-copies of training images (memorisation?)", name)
    return report

