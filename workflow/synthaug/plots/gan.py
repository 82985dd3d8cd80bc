"""Figures of generated images: fixed-noise samples during GAN training, and grids of synthetic images per class."""

from __future__ import annotations

import numpy as np

from ..constants import CLASS_NAMES
from .common import image_grid


def samples_grid(snapshots: dict[int, np.ndarray]):
    """One row per (epoch, class), one column per fixed noise vector (the same noise in every row).

    ``snapshots`` maps an epoch to images (n_classes, samples_per_class, S, S, 3) in [0, 1].
    """
    epochs = sorted(snapshots)
    n_classes, per_class = snapshots[epochs[0]].shape[:2]
    images = [img for e in epochs for c in range(n_classes) for img in snapshots[e][c]]
    row_labels = [f"epoch {e}\n{CLASS_NAMES[c]}" for e in epochs for c in range(n_classes)]
    return image_grid(images, rows=len(row_labels), cols=per_class, row_labels=row_labels)


def class_grid(images: np.ndarray, cols: int = 8, max_rows: int = 6):
    """The first ``cols * max_rows`` images of one class, row by row."""
    shown = images[: cols * max_rows]
    return image_grid(shown, rows=max(1, -(-len(shown) // cols)), cols=cols)
