"""Who the phantom's patients are: their lesions, which breast and views show each, and the radiologist's reading.

Everything here is drawn from one patient's generator, so a patient is the same whatever else is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import BREASTS, VIEWS
from .lesion import Lesion, draw_lesion, draw_margin_and_severity, draw_pathology

TRAIN_SHARE = 1318 / (1318 + 378)  # CBIS-DDSM's mass rows in Training vs Test (patients are in one or the other)
DENSITY_FREQUENCY = (0.15, 0.40, 0.30, 0.15)  # BI-RADS density 1-4
LESION_COUNT_FREQUENCY = (0.92, 0.06, 0.02)  # patients with 1, 2, 3 masses
SAME_BREAST = 0.5  # a further mass is in the breast of the first one this often (then a mammogram shows two)
BOTH_VIEWS = 0.85  # as in CBIS-DDSM, some masses are outlined in one view only
MISSING_MARGIN, MISSING_SHAPE = 0.03, 0.003  # CBIS-DDSM leaves these CSV cells empty now and then


@dataclass(frozen=True)
class Finding:
    """One mass of a patient with its truth: the parameters theta, the pathology, and the views that show it."""

    lesion_id: str
    breast: str
    views: tuple[str, ...]
    lesion: Lesion
    pathology: str


@dataclass(frozen=True)
class Patient:
    number: int
    source_split: str  # train | test (CBIS-DDSM's Training / Test)
    density: int
    findings: tuple[Finding, ...]

    @property
    def patient_id(self) -> str:
        return f"P_{self.number:05d}"


def draw_patient(number: int, rows: int, contrast_range, rng: np.random.Generator) -> Patient:
    """A patient with 1-3 masses, each in one breast and seen in CC and MLO (sometimes only one of them)."""
    source_split = "train" if rng.random() < TRAIN_SHARE else "test"
    density = int(rng.choice(np.arange(1, 5), p=DENSITY_FREQUENCY))
    n_lesions = int(rng.choice(np.arange(1, 4), p=LESION_COUNT_FREQUENCY))
    first_breast = str(rng.choice(BREASTS))
    findings = []
    for k in range(n_lesions):
        breast = first_breast if k == 0 or rng.random() < SAME_BREAST else str(rng.choice(BREASTS))
        views = VIEWS if rng.random() < BOTH_VIEWS else (str(rng.choice(VIEWS)),)
        margin, severity = draw_margin_and_severity(rng)
        lesion = draw_lesion(str(margin), float(severity), rows, contrast_range, rng)
        pathology = draw_pathology(lesion.p_malignant, rng)
        findings.append(Finding(f"P_{number:05d}_L{k + 1}", breast, views, lesion, pathology))
    return Patient(number, source_split, density, tuple(findings))


def assessment(p_malignant: float, rng: np.random.Generator) -> int:
    """A BI-RADS assessment a radiologist might give a mass that looks this suspicious (0 = needs more imaging)."""
    if rng.random() < 0.04:
        return 0
    if p_malignant > 0.85:
        return 5
    if p_malignant > 0.5:
        return int(rng.choice((4, 5), p=(0.7, 0.3)))
    if p_malignant > 0.2:
        return int(rng.choice((3, 4)))
    return int(rng.choice((2, 3, 4), p=(0.3, 0.5, 0.2)))


def subtlety(contrast: float, contrast_range, rng: np.random.Generator) -> int:
    """Subtlety rating 1 (subtle) to 5 (obvious), following the lesion's contrast with some reader disagreement."""
    lo, hi = contrast_range
    grade = 1 + int(4.999 * (contrast - lo) / max(hi - lo, 1e-9)) + int(rng.integers(-1, 2))
    return int(np.clip(grade, 1, 5))


def csv_margin(lesion: Lesion, rng: np.random.Generator):
    """The mass margins cell: the margin type, or missing as in a few CBIS-DDSM rows."""
    return None if rng.random() < MISSING_MARGIN else lesion.margin


def csv_shape(lesion: Lesion, rng: np.random.Generator):
    """The mass shape cell: the outline's shape word, or missing as in a few CBIS-DDSM rows."""
    return None if rng.random() < MISSING_SHAPE else lesion.shape
