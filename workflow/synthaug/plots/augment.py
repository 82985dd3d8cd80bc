"""The augmentation grid: training images (left column) beside their augmented copies."""

from __future__ import annotations

import numpy as np

from ..constants import CLASS_NAMES
from .common import image_grid


def augmentation_grid(originals, labels, augmented, source, n_rows: int = 8, max_copies: int = 5, names=CLASS_NAMES):
    """A figure with one row per original image (every class, in dataset order) and its first augmentations.

    ``augmented`` and ``source`` come from :func:`synthaug.augment.augment_images` (source = index of the original);
    ``names``: the classes' names, in label order.
    """
    labels = np.asarray(labels)
    # Alternate classes so every one appears even when the first images share a label.
    by_class = [np.flatnonzero(labels == c) for c in range(len(names))]
    rows = [idx for pair in zip(*[list(c) + [None] * n_rows for c in by_class]) for idx in pair if idx is not None]
    rows = rows[:n_rows]
    copies = min(max_copies, int(np.bincount(source).max()))
    images, titles = [], []
    for i in rows:
        images.append(originals[i])
        titles.append(f"original ({names[labels[i]]})")
        for k, j in enumerate(np.flatnonzero(source == i)[:copies]):
            images.append(augmented[j])
            titles.append(f"augmented {k + 1}")
    return image_grid(images, rows=len(rows), cols=1 + copies, titles=titles)
