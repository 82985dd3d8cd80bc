"""Figures of generated images: fixed-noise samples during GAN training, and grids of synthetic images per class."""

from __future__ import annotations

import numpy as np

from ..constants import CLASS_NAMES
from .common import image_grid


def samples_grid(snapshots: dict[int, np.ndarray], names=CLASS_NAMES):
    """One row per (epoch, class), one column per fixed noise vector (the same noise in every row).

    ``snapshots`` maps an epoch to images (n_classes, samples_per_class, S, S, 3) in [0, 1]; ``names`` labels
    the classes' rows (an image-folder dataset's sides, :func:`synthaug.generators.class_names`).
    """
    epochs = sorted(snapshots)
    n_classes, per_class = snapshots[epochs[0]].shape[:2]
    images = [img for e in epochs for c in range(n_classes) for img in snapshots[e][c]]
    row_labels = [f"epoch {e}\n{names[c]}" for e in epochs for c in range(n_classes)]
    return image_grid(images, rows=len(row_labels), cols=per_class, row_labels=row_labels)


def class_grid(images: np.ndarray, cols: int = 8, max_rows: int = 6):
    """The first ``cols * max_rows`` images of one class, row by row."""
    shown = images[: cols * max_rows]
    return image_grid(shown, rows=max(1, -(-len(shown) // cols)), cols=cols)


def closest_pairs(instances: dict[str, dict], train: np.ndarray, n: int = 8):
    """Per instance of a generator, its ``n`` synthetic images nearest to a training image (upper row) above that
    training image (lower row).

    ``instances`` maps a row label (e.g. ``"i0"``) to ``{"images", "nearest", "distance", "flags"}``: the instance's
    synthetic images, the index of each one's nearest training image, the distance and the copy flag.
    """
    images, titles, labels = [], [], []
    cols = min(n, min(len(found["distance"]) for found in instances.values()))
    for name, found in instances.items():
        order = np.argsort(found["distance"])[:cols]
        images += [found["images"][i] for i in order] + [train[found["nearest"][i]] for i in order]
        titles += [f"d={found['distance'][i]:.2f}{' FLAG' if found['flags'][i] else ''}" for i in order]
        titles += ["" for _ in order]
        prefix = f"{name}\n" if len(instances) > 1 else ""
        labels += [f"{prefix}synthetic", f"{prefix}nearest\ntraining"]
    return image_grid(images, rows=len(labels), cols=cols, titles=titles, row_labels=labels)


def generator_comparison(real: dict, generated: dict[str, dict], per_row: int = 6, names=CLASS_NAMES):
    """Real vs each generator, per class: rows (class, source), ``per_row`` images each (the first of each set).

    ``real`` and each ``generated[name]`` are bundles with ``images`` and ``labels``; a generator with several
    trained instances gives one entry per instance (e.g. ``"cgan i1"``). ``names``: the classes' names, in label order.
    """
    images, labels = [], []
    for c, cls in enumerate(names):
        for name, bundle in {"real": real, **generated}.items():
            shown = bundle["images"][bundle["labels"] == c][:per_row]
            images += list(shown) + [np.zeros_like(real["images"][0])] * (per_row - len(shown))
            labels.append(f"{cls}\n{name}")
    return image_grid(images, rows=len(labels), cols=per_row, row_labels=labels)
