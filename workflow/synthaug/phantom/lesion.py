"""A mass: its parameters theta, its label drawn from p(theta), and its picture in one projection.

Each lesion first gets a margin type and a severity z in [0, 1]; together they fix every visible property
(outline roughness, edge blur, spicules, calcifications) and the malignancy probability
p(theta) = sigmoid(alpha[margin] + SEVERITY_GAIN * (z - 0.5)). The label is then Bernoulli(p(theta)), so
the image carries only part of the label's information and p(theta) is the ideal observer.

Severity is rendered in every margin type, not only within the margin's own features: it roughens the outline
(SEVERITY_ROUGHNESS) and seeds the mass with fine calcifications (Poisson, CALCIFICATION_RATE * z). Without that,
severity moved only small, noisy properties of a margin type, a CNN learned the margin type from a few hundred
images and stopped there (test AUC 0.76-0.77 against 0.79 for P(malignant | margin) alone), and 550 more real
images added nothing a design could detect (README, "Why the positive control needed a new phantom").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..constants import BENIGN, BENIGN_WITHOUT_CALLBACK, MALIGNANT

CIRCUMSCRIBED, OBSCURED, MICROLOBULATED, ILL_DEFINED, SPICULATED = (
    "CIRCUMSCRIBED", "OBSCURED", "MICROLOBULATED", "ILL_DEFINED", "SPICULATED",
)  # fmt: skip
MARGINS = (CIRCUMSCRIBED, OBSCURED, MICROLOBULATED, ILL_DEFINED, SPICULATED)
MARGIN_FREQUENCY = (0.27, 0.13, 0.05, 0.33, 0.22)  # near CBIS-DDSM's mass margins
# P(malignant | margin): spiculated 0.81 as in the literature, circumscribed mostly benign; overall about 0.46.
MARGIN_MALIGNANCY = {CIRCUMSCRIBED: 0.12, OBSCURED: 0.30, MICROLOBULATED: 0.55, ILL_DEFINED: 0.57, SPICULATED: 0.81}
SEVERITY_GAIN = 10.0  # logit change from the mildest to the most severe look within a margin type
SEVERITY_ROUGHNESS = 0.06  # added to the outline's sigma^2 at z = 1 (0 at z = 0), in every margin type
# Fine calcifications inside the mass: Poisson(CALCIFICATION_RATE * z) specks, uniform over the inner
# CALCIFICATION_REACH of its radius (rendered in synthaug.phantom.mammogram).
CALCIFICATION_RATE, CALCIFICATION_REACH = 15.0, 0.7
BENIGN_WITHOUT_CALLBACK_SHARE = 141 / (771 + 141)  # of benign masses, as in CBIS-DDSM
ROUND, OVAL, LOBULATED, IRREGULAR = "ROUND", "OVAL", "LOBULATED", "IRREGULAR"

# Spicule growth: each segment continues with this probability and sometimes branches, shrinking by DECAY.
SPICULE_CONTINUE, SPICULE_BRANCH, SPICULE_DECAY = 0.72, 0.1, 0.9
SPICULE_MAX_DEPTH = 8  # segments along one path, so that no spicule reaches far beyond its mass
SPICULE_BRANCH_ANGLE = np.deg2rad(6.5)
# First segment of a spicule, in lesion units: long and wide enough that spicules stay visible once a crop is
# blurred (5 x 5) and resized to 64 px, where a 1-px line vanishes.
SPICULE_FIRST_LENGTH, SPICULE_HALF_WIDTH = (0.3, 0.5), 0.11
# Mean mass radius as a fraction of the image height, and its log-normal spread: large enough that the outline and
# edge features cover many pixels of the ROI crop.
RADIUS_FRACTION, RADIUS_LOG_SD = 0.09, 0.2


@dataclass(frozen=True)
class Lesion:
    """Theta of one mass, in lesion units (1 = its mean radius); ``spicules`` rows are segments x0, y0, x1, y1, w."""

    margin: str
    severity: float
    harmonics: int  # L: highest harmonic of the outline
    sigma2: float  # variance of the log-radius around the circle
    coefficients: np.ndarray  # (L - 1, 2): a_l, b_l for l = 2..L
    edge_blur: float  # Gaussian blur of the edge, in lesion units
    aspect: float  # elongation (x / y) before projection
    n_spicules: int  # spicules grown from the outline (each may continue and branch into several segments)
    spicules: np.ndarray
    radius_px: float  # mean radius in pixels
    contrast: float  # peak signal over the background sd
    p_malignant: float
    calcifications: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # centres x, y

    @property
    def shape(self) -> str:
        """CBIS-DDSM's mass shape word for this outline."""
        if self.sigma2 >= 0.09:
            return IRREGULAR
        if self.sigma2 >= 0.05 or self.margin == MICROLOBULATED:
            return LOBULATED
        return OVAL if self.aspect >= 1.2 else ROUND


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _margin_offsets() -> dict[str, float]:
    """alpha[margin] such that the mean of p over a uniform severity equals MARGIN_MALIGNANCY[margin] (bisection)."""
    z = (np.arange(2000) + 0.5) / 2000
    offsets = {}
    for margin, target in MARGIN_MALIGNANCY.items():
        lo, hi = -10.0, 10.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _sigmoid(mid + SEVERITY_GAIN * (z - 0.5)).mean() < target else (lo, mid)
        offsets[margin] = (lo + hi) / 2
    return offsets


MARGIN_OFFSET = _margin_offsets()


def malignancy_probability(margin: str, severity) -> np.ndarray:
    """p(theta): the probability that a mass of this margin type and severity is malignant (the ideal observer)."""
    return _sigmoid(MARGIN_OFFSET[margin] + SEVERITY_GAIN * (np.asarray(severity) - 0.5))


def draw_margin_and_severity(rng: np.random.Generator, n: int | None = None):
    """Margin type(s) from CBIS-DDSM-like frequencies and severity uniform in [0, 1]."""
    margins = rng.choice(np.array(MARGINS), size=n, p=MARGIN_FREQUENCY)
    return margins, rng.uniform(0.0, 1.0, size=n)


def draw_pathology(p_malignant: float, rng: np.random.Generator) -> str:
    """Label ~ Bernoulli(p(theta)); benign cases are split into BENIGN and BENIGN_WITHOUT_CALLBACK afterwards."""
    if rng.random() < p_malignant:
        return MALIGNANT
    return BENIGN_WITHOUT_CALLBACK if rng.random() < BENIGN_WITHOUT_CALLBACK_SHARE else BENIGN


def _outline_family(margin: str, z: float, rng: np.random.Generator):
    """Harmonics L, sigma^2, edge blur and spicule rate of a margin type; severity z moves each within its range
    and roughens every outline by SEVERITY_ROUGHNESS * z."""
    harmonics, sigma2, edge_blur, spicule_rate = _margin_family(margin, z, rng)
    return harmonics, sigma2 + SEVERITY_ROUGHNESS * z, edge_blur, spicule_rate


def _margin_family(margin: str, z: float, rng: np.random.Generator):
    if margin in (CIRCUMSCRIBED, OBSCURED):  # benign-looking: few harmonics, smooth, sharp edge
        return int(rng.integers(4, 7)), 0.01 + 0.06 * z, 0.03 if margin == CIRCUMSCRIBED else 0.10, 0.0
    if margin == MICROLOBULATED:
        return int(rng.integers(8, 13)), 0.03 + 0.05 * z, 0.05, 0.0
    if margin == ILL_DEFINED:
        return int(rng.integers(12, 25)), 0.04 + 0.16 * z, 0.20 + 0.30 * z, 0.0
    return int(rng.integers(16, 33)), 0.10 + 0.20 * z, 0.15, 10.0 + 20.0 * z  # SPICULATED: Poisson(10-30) spicules


def outline_radius(lesion: Lesion, phi: np.ndarray) -> np.ndarray:
    """Gaussian random circle r(phi) = exp(s(phi) - sigma^2 / 2), in lesion units."""
    ls = np.arange(2, lesion.harmonics + 1)[:, None]
    s = (lesion.coefficients[:, :1] * np.cos(ls * phi.ravel()) + lesion.coefficients[:, 1:] * np.sin(ls * phi.ravel()))
    return np.exp(s.sum(axis=0) - lesion.sigma2 / 2).reshape(phi.shape)


def _grow_spicules(count: int, lesion_outline, rng: np.random.Generator) -> np.ndarray:
    """Tapered, branching spicules starting on the outline; segments (x0, y0, x1, y1, half-width) in lesion units."""
    segments = []
    stack = []
    for phi in rng.uniform(0, 2 * np.pi, size=count):
        r = lesion_outline(np.array([phi]))[0] * 0.9  # start just inside the edge so the spicule joins the body
        angle = phi + rng.normal(0, 0.2)
        length = rng.uniform(*SPICULE_FIRST_LENGTH)
        stack.append((r * np.cos(phi), r * np.sin(phi), angle, length, SPICULE_HALF_WIDTH, 1))
    while stack:
        x, y, angle, length, width, depth = stack.pop()
        x1, y1 = x + length * np.cos(angle), y + length * np.sin(angle)
        segments.append((x, y, x1, y1, width))
        if depth >= SPICULE_MAX_DEPTH:
            continue
        if rng.random() < SPICULE_CONTINUE:
            bend = angle + rng.normal(0, 0.12)
            stack.append((x1, y1, bend, length * SPICULE_DECAY, width * SPICULE_DECAY, depth + 1))
        if rng.random() < SPICULE_BRANCH:
            side = rng.choice((-1.0, 1.0))
            angle_b = angle + side * SPICULE_BRANCH_ANGLE * rng.uniform(0.5, 1.5)
            stack.append((x1, y1, angle_b, length * SPICULE_DECAY**2, width * SPICULE_DECAY**2, depth + 1))
    return np.array(segments, dtype=float).reshape(-1, 5)


def draw_lesion(margin: str, severity: float, rows: int, contrast_range, rng: np.random.Generator) -> Lesion:
    """All of theta for a mass of given margin and severity in an image ``rows`` high (size and contrast are random
    and carry no label information)."""
    harmonics, sigma2, edge_blur, spicule_rate = _outline_family(margin, severity, rng)
    ls = np.arange(2, harmonics + 1)
    scale = np.sqrt(sigma2 * ls**-4.0 / np.sum(ls**-4.0))  # Var(a_l), Var(b_l) ~ l^-4 with Var(s) = sigma^2
    coefficients = rng.standard_normal((len(ls), 2)) * scale[:, None]
    lesion = Lesion(
        margin=margin,
        severity=float(severity),
        harmonics=harmonics,
        sigma2=float(sigma2),
        coefficients=coefficients,
        edge_blur=float(edge_blur),
        aspect=float(rng.uniform(1.0, 1.5)),
        n_spicules=0,
        spicules=np.zeros((0, 5)),
        radius_px=float(rows * np.exp(rng.normal(np.log(RADIUS_FRACTION), RADIUS_LOG_SD))),
        contrast=float(rng.uniform(*contrast_range)),
        p_malignant=float(malignancy_probability(margin, severity)),
    )
    count = int(rng.poisson(CALCIFICATION_RATE * severity))
    r, phi = CALCIFICATION_REACH * np.sqrt(rng.uniform(0, 1, count)), rng.uniform(0, 2 * np.pi, count)
    lesion = replace(lesion, calcifications=np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1))
    if spicule_rate:
        count = int(rng.poisson(spicule_rate))
        spicules = _grow_spicules(count, lambda phi: outline_radius(lesion, phi), rng)
        lesion = replace(lesion, n_spicules=count, spicules=spicules)
    return lesion
