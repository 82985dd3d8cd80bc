"""Turning each case's image into model input: a float32 (S, S, 3) array in [0, 1].

Steps, in order (the study's, with its grey-level rule made explicit):

1. grey levels -> [0, 1] by **per-image min-max**: ``(x - min) / (max - min)``. CBIS-DDSM mixes digitisers
   (12- and 16-bit scanners whose files all declare 16 bits), so dividing by the declared range would make
   brightness a scanner signature; min-max maps every crop onto the same range, as the Kaggle JPEG conversion did,
   so both adapters feed the models alike. A flat image becomes all zeros.
2. ``dataset.image: full`` only: keep the breast region (``synthaug.breast.crop_breast``).
3. resize so the longer side is ``image_size`` (INTER_AREA when shrinking, INTER_LINEAR when enlarging).
4. Gaussian blur with a ``blur_kernel`` x ``blur_kernel`` kernel (sigma from the kernel size, as cv2 does; 0 = off)
   in these output pixels, then centred and zero-padded to a square: the aspect ratio, and so the lesion's shape,
   is kept. Blurring after the resize makes the blur the same for every image whatever its size: the study blurred
   in source pixels first, so a crop twice as large came out half as blurred, and a set of images at another size
   (an external synthetic set, a dataset of mixed sizes) differed in sharpness alone.
5. grey -> 3 identical channels (ImageNet-style models expect RGB).

An external set whose images have another aspect ratio than the dataset's is first centre-cropped to the dataset's
(:func:`crop_to_aspect`, :func:`content_aspect`), so that it is padded as the real images are.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pandas as pd

from .constants import SPLITS
from .errors import ConfigError, DataError
from .imageio import read_pixels

log = logging.getLogger("synthaug")


def to_unit_range(pixels: np.ndarray) -> np.ndarray:
    """Per-image min-max to float32 [0, 1] (see the module docstring for why)."""
    image = pixels.astype(np.float32)  # the one full-size copy: both steps below work in place on it
    low, high = (float(v) for v in cv2.minMaxLoc(image)[:2]) if image.ndim == 2 else (image.min(), image.max())
    if high <= low:
        return np.zeros_like(image)
    np.subtract(image, np.float32(low), out=image)
    np.divide(image, np.float32(high - low), out=image)
    return image


def resize_padded(image: np.ndarray, size: int, blur_kernel: int = 0) -> np.ndarray:
    """``image`` scaled so its longer side is ``size``, blurred there (``blur_kernel``, 0 = off), centred on a zero
    ``size`` x ``size`` square."""
    h, w = image.shape
    scale = size / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if blur_kernel:  # in output pixels, before the padding: the zero border is not smeared into the image
        resized = cv2.GaussianBlur(resized, (blur_kernel, blur_kernel), 0, borderType=cv2.BORDER_REFLECT_101)
    out = np.zeros((size, size), np.float32)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top : top + new_h, left : left + new_w] = resized
    return out


def check_blur_kernel(blur_kernel: int) -> None:
    if blur_kernel and blur_kernel % 2 == 0:
        raise ConfigError("preprocess.blur_kernel", f"must be odd or 0 (off), got {blur_kernel}; 5 is the study's")


def preprocess_image(pixels: np.ndarray, size: int, blur_kernel: int, full_image: bool = False) -> np.ndarray:
    """One raw grey image -> float32 (size, size, 3) in [0, 1] (steps in the module docstring)."""
    image = to_unit_range(pixels)
    if full_image:
        from .breast import crop_breast  # only this branch needs it

        image = crop_breast(image)
    image = np.clip(resize_padded(image, size, blur_kernel), 0.0, 1.0)
    return np.repeat(image[..., None], 3, axis=-1)


def content_aspect(images: np.ndarray) -> float:
    """The median width / height of the images' content: what lies inside their zero padding (:func:`resize_padded`
    pads the shorter side), over preprocessed images (N, S, S[, C]). 1.0 when there are none."""
    ratios = []
    for image in images:
        grey = image[..., 0] if image.ndim == 3 else image
        rows, cols = np.flatnonzero(grey.any(axis=1)), np.flatnonzero(grey.any(axis=0))
        if len(rows) and len(cols):
            ratios.append((cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1))
    return float(np.median(ratios)) if ratios else 1.0


def crop_to_aspect(pixels: np.ndarray, aspect: float) -> np.ndarray:
    """The centre of ``pixels`` with width / height = ``aspect`` (the longer of the two sides shortened)."""
    h, w = pixels.shape[:2]
    if w > h * aspect:
        new_w = max(1, round(h * aspect))
        left = (w - new_w) // 2
        return pixels[:, left : left + new_w]
    new_h = max(1, round(w / aspect))
    top = (h - new_h) // 2
    return pixels[top : top + new_h]


def preprocess_files(paths, size: int, blur_kernel: int, threads: int = 1, full_image: bool = False) -> np.ndarray:
    """Read and preprocess ``paths`` in parallel (cv2 and file reads release the GIL); (N, size, size, 3) float32."""
    check_blur_kernel(blur_kernel)
    images = np.empty((len(paths), size, size, 3), np.float32)

    def work(i):
        images[i] = preprocess_image(read_pixels(paths[i]), size, blur_kernel, full_image)

    start = time.perf_counter()
    cv2_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # parallel over images, not inside each cv2 call: ``threads`` means that many cores
    try:
        with ThreadPoolExecutor(max(1, threads)) as pool:
            list(pool.map(work, range(len(paths))))
    finally:
        cv2.setNumThreads(cv2_threads)
    seconds = time.perf_counter() - start
    log.info("preprocessed %d images in %.1f s (%.0f images/s, %d threads)",
             len(paths), seconds, len(paths) / max(seconds, 1e-9), threads)
    return images


def split_bundles(cases: pd.DataFrame, split: pd.DataFrame, image: str, size: int, blur_kernel: int,
                  threads: int = 1, source="split.csv", splits=SPLITS) -> dict[str, dict[str, np.ndarray]]:
    """npz bundles (images, labels, case_ids) per split in ``splits`` (train, val, test; the reserve has its own
    rule), in split.csv's order; ``image`` is crop or full."""
    column = "crop_path" if image == "crop" else "image_path"
    unknown = ~split["case_id"].isin(cases["case_id"])
    if unknown.any():
        example = split.loc[unknown, "case_id"].iloc[0]
        raise DataError(source, f"{unknown.sum()} case_id(s) not in cases.csv, e.g. '{example}'; "
                        "rerun split_cases after ingest_cases")
    table = split[["case_id", "label", "split"]].merge(cases[["case_id", column]], on="case_id", how="left")
    bundles = {}
    for name in splits:  # one array per split, filled in place: no second copy of every image in memory
        rows = (table["split"] == name).to_numpy()
        bundles[name] = {
            "images": preprocess_files(table.loc[rows, column].tolist(), size, blur_kernel, threads,
                                       full_image=image == "full"),
            "labels": table.loc[rows, "label"].to_numpy(np.int64),
            "case_ids": table.loc[rows, "case_id"].to_numpy(str),
        }
    return bundles
