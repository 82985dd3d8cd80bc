"""The embedded second domain: scikit-learn's handwritten digits, exported as an image folder.

``dataset.name: digits`` answers the study's question on a real, labelled image set that needs no download: the
1,797 handwritten digits bundled with scikit-learn (a copy of the test set of UCI's "Optical Recognition of
Handwritten Digits": 32x32 bitmaps of 13 writers, each reduced to 8x8 cells counting 0-16 ink pixels). Rule
``export_digits`` writes them into ``dataset.root`` as ``digit_<k>/<index>.png`` (8-bit grey, ink bright on black,
upsampled to :data:`EXPORT_SIZE` px with bicubic interpolation, so the preprocessing's blur and resize act as on
any photograph-sized image) plus a marker file; the image-folder reader then reads the folder like a user's own.

Why this set, and why low digits (0-4) against high ones (5-9) by default (``dataset.classes`` picks others):

* all 1,797 images are used, so the default design gets about the phantom's counts (1,078 real training images,
  539 test) and the two domains differ in what the images are, not in how many;
* each side is a mixture of five shapes, as a user's side made of several class folders is (nevus + keratosis vs
  melanoma): a conditional generator given only the side's label must learn five modes per label;
* the writers are not recorded, so each image is its own patient: images of one writer fall in train and test
  alike (style leaks across the split, as near-duplicates do in any image folder without patient ids).

The export is deterministic (no random step): the same scikit-learn data gives the same PNG files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from . import __version__
from .constants import DIGIT_FOLDERS, DIGITS_ENTRIES, DIGITS_MARKER
from .embedded import move_into_place, root_problem, temporary_sibling
from .errors import DataError
from .io import log

EXPORT_SIZE = 64  # pixels per side of the exported PNGs (8x upsampling of the 8x8 originals)
SOURCE = ("sklearn.datasets.load_digits (UCI Optical Recognition of Handwritten Digits, test set: "
          "1,797 images, 13 writers)")


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """(images as uint8 in [0, 255], shape (n, 8, 8); digit per image), from scikit-learn's bundled copy."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    data = load_digits()
    images = np.rint(data.images * (255.0 / 16.0)).astype(np.uint8)
    return images, data.target.astype(int)


def upsample(image: np.ndarray, size: int = EXPORT_SIZE) -> np.ndarray:
    """An 8x8 uint8 digit at ``size`` px: bicubic (smooth strokes), clipped to [0, 255] by OpenCV's uint8 maths."""
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)


def export_digits(root, size: int = EXPORT_SIZE) -> dict:
    """Write every digit into ``root`` as ``digit_<k>/<index>.png`` (replacing an earlier export); returns counts.

    Stops with a DataError before any work if ``root`` holds anything but an earlier digits export.
    """
    root = Path(root)
    problem = root_problem(root, DIGITS_ENTRIES, DIGITS_MARKER, "digits")
    if problem:
        raise DataError(root, f"{problem}; set dataset.root to a new or empty folder")
    start = time.monotonic()
    images, targets = digit_images()
    tmp = temporary_sibling(root)
    try:
        for folder in DIGIT_FOLDERS:
            (tmp / folder).mkdir()
        for index, (image, digit) in enumerate(zip(images, targets)):
            path = tmp / DIGIT_FOLDERS[digit] / f"{index:04d}.png"
            if not cv2.imwrite(str(path), upsample(image, size)):
                raise DataError(path, "OpenCV could not write this PNG (is the disk full or read-only?)")
        counts = {DIGIT_FOLDERS[d]: int(n) for d, n in zip(*np.unique(targets, return_counts=True))}
        settings = {"source": SOURCE, "images": int(len(images)), "size": size, "interpolation": "bicubic",
                    "per_folder": counts, "sha256_of_8x8_pixels": hashlib.sha256(images.tobytes()).hexdigest()}
        marker = {"written_by": "synthaug export_digits", "version": __version__, **settings}
        (tmp / DIGITS_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        move_into_place(tmp, root, DIGITS_ENTRIES, DIGITS_MARKER, "digits")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported %d digits at %d px into %s in %.1f s: %s", len(images), size, root,
             time.monotonic() - start, ", ".join(f"{k} {n}" for k, n in counts.items()))
    return settings
