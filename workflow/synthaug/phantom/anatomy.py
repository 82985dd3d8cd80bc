"""The breast without lesions: its outline in the image and its anatomical-noise tissue texture.

Mammographic tissue has a power-law power spectrum P(f) = K / f^beta with beta about 3.1 (3.2 CC, 3.3 MLO in
measured images); mapping that Gaussian field through a sigmoid turns it into fat and fibroglandular tissue, and the
sigmoid's threshold sets the breast density.
"""

from __future__ import annotations

import numpy as np

BETA_MEAN, BETA_SD, BETA_RANGE = 3.1, 0.25, (2.5, 3.5)
# Threshold of the tissue sigmoid per BI-RADS breast density 1 (fatty) .. 4 (extremely dense), in field sd units.
DENSITY_THRESHOLD = {1: 1.2, 2: 0.5, 3: -0.2, 4: -0.9}
DENSITY_GAIN = 1.2  # steepness of the fat / dense-tissue transition
FAT_LEVEL, DENSE_RANGE = 0.35, 0.40  # signal of fat, and what dense tissue adds to it
PECTORAL_LEVEL = 0.85  # the pectoral muscle seen in MLO views is brighter than tissue


def draw_beta(rng: np.random.Generator) -> float:
    """Spectral exponent of one image's background, as measured on mammograms."""
    return float(np.clip(rng.normal(BETA_MEAN, BETA_SD), *BETA_RANGE))


def power_law_noise(shape: tuple[int, int], beta: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean, unit-sd Gaussian field of ``shape`` whose power spectrum falls as 1 / f^beta."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = np.inf  # no DC component: the field has zero mean
    spectrum = (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)) * f ** (-beta / 2)
    field = np.fft.irfft2(spectrum, s=shape)
    return (field - field.mean()) / field.std()


def radial_power_slope(field: np.ndarray, f_range: tuple[float, float] = (0.02, 0.25)) -> float:
    """Fitted beta of a field: minus the slope of log power against log radial frequency within ``f_range``."""
    power = np.abs(np.fft.fft2(field - field.mean())) ** 2
    f = np.hypot(np.fft.fftfreq(field.shape[0])[:, None], np.fft.fftfreq(field.shape[1])[None, :])
    keep = (f >= f_range[0]) & (f <= f_range[1])
    slope, _ = np.polyfit(np.log(f[keep]), np.log(power[keep]), 1)
    return float(-slope)


def breast_region(shape: tuple[int, int], breast: str, view: str, rng: np.random.Generator):
    """Soft breast outline (1 inside, 0 in air) and, for MLO, the pectoral muscle, as float arrays of ``shape``.

    The chest wall is the left image edge for a LEFT breast and the right edge for a RIGHT one; the breast is a
    half-ellipse of random depth and height, so each image frames it a little differently.
    """
    rows, cols = shape
    y = (np.arange(rows)[:, None] - rows * rng.uniform(0.45, 0.55)) / (rows * rng.uniform(0.40, 0.47))
    x = np.arange(cols)[None, :] / (cols * rng.uniform(0.75, 0.92))
    if breast == "RIGHT":
        x = x[:, ::-1]
    radius = np.hypot(x, y)
    region = 1.0 / (1.0 + np.exp((radius - 1.0) / 0.015))
    pectoral = np.zeros(shape)
    if view == "MLO":
        # A triangle in the upper chest-wall corner: x / width + y / height < 1.
        width, height = rng.uniform(0.25, 0.4), rng.uniform(0.35, 0.6)
        ynorm = np.arange(rows)[:, None] / rows
        pectoral = 1.0 / (1.0 + np.exp((x / width + ynorm / height - 1.0) / 0.02)) * region
    return region, pectoral, radius


def tissue_signal(region, pectoral, density: int, beta: float, rng: np.random.Generator) -> np.ndarray:
    """Signal of the lesion-free breast: fat, fibroglandular tissue from the thresholded field, pectoral muscle."""
    field = power_law_noise(region.shape, beta, rng)
    dense = 1.0 / (1.0 + np.exp(-DENSITY_GAIN * (field - DENSITY_THRESHOLD[density])))
    breast = (FAT_LEVEL + DENSE_RANGE * dense) * (1.0 - pectoral) + PECTORAL_LEVEL * pectoral
    return breast * region
