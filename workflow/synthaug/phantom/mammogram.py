"""One mammogram: a breast, the lesions it shows (each in this view's projection), and the detector.

A lesion is a 2-D object in its own units; a view sees it through a linear map (rotation, compression, size in
pixels), so its CC and MLO images share the outline and spicules but differ in projection and background.
"""

from __future__ import annotations

import cv2
import numpy as np

from .anatomy import breast_region, draw_beta, tissue_signal
from .lesion import Lesion, outline_radius

SPICULE_LEVEL = 0.9  # spicule signal relative to the mass centre: as dense as the mass body near its edge
# A calcification: a Gaussian speck this much above the mass body, of sd CALCIFICATION_SD of the lesion's radius (at
# least CALCIFICATION_MIN_SD px): about 1 px at the default size, near what survives the 5 x 5 blur at 64 px.
CALCIFICATION_LEVEL, CALCIFICATION_SD, CALCIFICATION_MIN_SD = 0.6, 0.05, 0.8
DETECTOR_BLUR_PX = 0.7  # system blur (sd, pixels)
FULL_SCALE = 3000.0  # counts of signal 1.0, leaving head-room below 12 bits for masses up to 6 sd on dense tissue
GAIN = 2.0  # counts per detected quantum: Poisson noise sd = sqrt(GAIN * counts)
ELECTRONIC_SD = 8.0  # counts
MAX_COUNT = 4095  # 12 bits


def draw_projection(lesion: Lesion, rng: np.random.Generator) -> np.ndarray:
    """2x2 map from lesion units to pixel offsets (x, y) for one view: random rotation and compression."""
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    compression = np.diag(rng.uniform(0.85, 1.15, size=2) * [lesion.aspect, 1.0])
    return lesion.radius_px * rotation @ compression


def _extent(lesion: Lesion, projection: np.ndarray) -> int:
    """Half-side in pixels of a square that holds the projected lesion, its spicules and its blurred edge."""
    reach = outline_radius(lesion, np.linspace(0, 2 * np.pi, 90)).max()
    if len(lesion.spicules):
        reach = max(reach, np.abs(lesion.spicules[:, :4]).max() * np.sqrt(2))
    return int(np.ceil(reach * np.linalg.norm(projection, 2) + 3 * lesion.edge_blur * lesion.radius_px + 3))


def _draw_spicules(canvas: np.ndarray, segments: np.ndarray, half_widths: np.ndarray) -> None:
    """Raise ``canvas`` (centred pixel grid) to each segment's tapered profile 1 - distance / half-width, in place.

    Each segment is evaluated only on its own bounding box, which keeps the cost per segment small.
    """
    centre = canvas.shape[0] // 2
    for (x0, y0, x1, y1), w in zip(segments + centre, half_widths):
        c0, c1 = int(max(np.floor(min(x0, x1) - w), 0)), int(min(np.ceil(max(x0, x1) + w) + 1, canvas.shape[1]))
        r0, r1 = int(max(np.floor(min(y0, y1) - w), 0)), int(min(np.ceil(max(y0, y1) + w) + 1, canvas.shape[0]))
        if c0 >= c1 or r0 >= r1:
            continue
        py, px = np.mgrid[r0:r1, c0:c1]
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        profile = np.clip(1.0 - np.hypot(px - x0 - t * dx, py - y0 - t * dy) / w, 0, 1)
        np.maximum(canvas[r0:r1, c0:c1], profile, out=canvas[r0:r1, c0:c1])


def render_lesion(lesion: Lesion, projection: np.ndarray):
    """The lesion's signal (peak about 1) and its binary outline mask on a square patch centred on the lesion."""
    half = _extent(lesion, projection)
    py, px = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    ux, uy = np.linalg.solve(projection, np.stack([px.ravel(), py.ravel()])).reshape(2, *px.shape)
    # r(phi) tabulated at 0.5 degree steps: exact enough, and far cheaper than L harmonics per pixel.
    grid = np.linspace(-np.pi, np.pi, 721)
    rho_rel = np.hypot(ux, uy) / np.interp(np.arctan2(uy, ux), grid, outline_radius(lesion, grid))
    mask = rho_rel < 1.0
    body = np.sqrt(np.clip(1.0 - rho_rel**2, 0.0, None))  # thickness of an ellipsoid-like mass
    sigma = lesion.edge_blur * lesion.radius_px
    body = cv2.GaussianBlur(body, (0, 0), sigma) if sigma > 0.3 else body
    if len(lesion.spicules):
        starts = lesion.spicules[:, :2] @ projection.T
        ends = lesion.spicules[:, 2:4] @ projection.T
        profile = np.zeros_like(body)
        _draw_spicules(profile, np.hstack([starts, ends]), np.maximum(lesion.spicules[:, 4] * lesion.radius_px, 0.6))
        body = np.maximum(body, SPICULE_LEVEL * profile)
    sd = max(CALCIFICATION_SD * lesion.radius_px, CALCIFICATION_MIN_SD)
    for cx, cy in lesion.calcifications @ projection.T:
        body = body + CALCIFICATION_LEVEL * np.exp(-((px - cx) ** 2 + (py - cy) ** 2) / (2 * sd * sd))
    return body, mask


def _centres(allowed: np.ndarray, half: int) -> np.ndarray:
    """Allowed centres whose lesion patch fits inside the image, unless none does (a lesion larger than the breast)."""
    inner = np.zeros_like(allowed)
    inner[half:-half, half:-half] = allowed[half:-half, half:-half]
    return inner if inner.any() else allowed


def _place(centre_ok: np.ndarray, half: int, taken: list, rng: np.random.Generator):
    """A lesion centre inside the breast, away from lesions already placed (the last try if none is free)."""
    ys, xs = np.nonzero(centre_ok)
    for _ in range(50):
        i = rng.integers(len(ys))
        y, x = int(ys[i]), int(xs[i])
        if all(np.hypot(y - ty, x - tx) > half + th for ty, tx, th in taken):
            break
    return y, x


def _windows(shape, y: int, x: int, half: int):
    """Slices of the image and of a (2 half + 1)-square patch centred at (y, x) where the two overlap."""
    y0, x0 = max(y - half, 0), max(x - half, 0)
    y1, x1 = min(y + half + 1, shape[0]), min(x + half + 1, shape[1])
    return np.s_[y0:y1, x0:x1], np.s_[y0 - y + half : y1 - y + half, x0 - x + half : x1 - x + half]


def _detect(signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Detector: blur, Poisson-Gaussian noise and 12-bit quantisation, stored as uint16."""
    counts = cv2.GaussianBlur(signal, (0, 0), DETECTOR_BLUR_PX) * FULL_SCALE
    noisy = rng.poisson(np.clip(counts, 0, None) / GAIN) * GAIN + rng.normal(0, ELECTRONIC_SD, counts.shape)
    return np.clip(np.rint(noisy), 0, MAX_COUNT).astype(np.uint16)


def render_mammogram(shape, breast: str, view: str, density: int, lesions: list[Lesion], rng: np.random.Generator):
    """A 12-bit mammogram holding ``lesions`` (in this view's projection) and one full-size boolean mask per lesion.

    Each lesion's contrast is relative to the sd of this breast's tissue signal, so lesions are equally hard to see
    in fatty and dense breasts on average.
    """
    region, pectoral, radius = breast_region(shape, breast, view, rng)
    signal = tissue_signal(region, pectoral, density, draw_beta(rng), rng)
    inside = (region > 0.9) & (pectoral < 0.1)
    background_sd = float(signal[inside].std())
    masks, taken = [], []
    for lesion in lesions:
        projection = draw_projection(lesion, rng)
        layer, patch_mask = render_lesion(lesion, projection)
        half = layer.shape[0] // 2
        y, x = _place(_centres(inside & (radius < 0.65), half), half, taken, rng)
        taken.append((y, x, half))
        image_window, patch_window = _windows(shape, y, x, half)
        signal[image_window] += lesion.contrast * background_sd * layer[patch_window]
        mask = np.zeros(shape, dtype=bool)
        mask[image_window] = patch_mask[patch_window]
        masks.append(mask)
    return _detect(signal, rng), masks
