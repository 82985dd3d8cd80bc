"""The arms of the experiment: what each one trains on, how it is named, and the assembly of its training set.

An arm's name says everything that distinguishes its training set, so results paths stay parseable:
``{kind}[-{generator}][-r{ratio}][-f{fraction}]``.

* ``baseline``: the real training images; ``baseline-f0.5`` = those of a seeded 50% of the training patients
  (the learning curve; the subset is nested and the same for every seed).
* ``augmented``: real + every classic-augmentation copy.
* ``synthetic-{g}-r{r}``: real + ``round(r * n_real)`` images of generator ``g``.
* ``combined-{g}-r{r}``: real + every augmented copy + ``round(r * n_real)`` synthetic images (the study's setting).
* ``augmented_equal-r{r}``: real + ``round(r * n_real)`` augmented copies: as many extra images as the synthetic arm
  adds, so "GAN images" is compared with "more augmented images" (the equal-count control).
* ``more_real-r{r}``: real + ``round(r * n_real)`` real images of extra phantom patients in no split (the oracle).
* ``synthetic_only-{g}``: ``n_real`` synthetic images and no real ones (train on synthetic, test on real: TSTR).

``n_real`` is the number of real training images, so ``classifier.synthetic_ratio`` rules the synthetic count.
Only training images enter here: validation and test bundles are never passed in, so no arm can train on them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from .constants import ARMS as KINDS
from .constants import GENERATORS
from .errors import ConfigError, UserError

log = logging.getLogger("synthaug")

REAL, AUGMENTED, SYNTHETIC, EXTRA_REAL = "real", "augmented", "synthetic", "extra_real"
USES_GENERATOR = ("synthetic", "combined", "synthetic_only")
HAS_RATIO = ("synthetic", "combined", "augmented_equal", "more_real")
DOSE_KINDS = ("synthetic", "augmented_equal", "more_real")  # the sources swept by experiment.dose_ratios
PHANTOM_ONLY = ("more_real",)
# Which extra bundles each kind adds to (or, for synthetic_only, uses instead of) the real training images.
SOURCES = {
    "baseline": (), "augmented": (AUGMENTED,), "synthetic": (SYNTHETIC,), "combined": (AUGMENTED, SYNTHETIC),
    "augmented_equal": (AUGMENTED,), "more_real": (EXTRA_REAL,), "synthetic_only": (SYNTHETIC,),
}  # fmt: skip
# What the Snakemake wildcard may match (parse() then checks the combination).
WILDCARD = r"[a-z_]+(-(" + "|".join(GENERATORS) + r"))?(-r[0-9.]+)?(-f[0-9.]+)?"
_NAME = re.compile(r"^(?P<kind>[a-z_]+)(-(?P<generator>" + "|".join(GENERATORS) + r"))?"
                   r"(-r(?P<ratio>[0-9.]+))?(-f(?P<fraction>[0-9.]+))?$")  # fmt: skip


@dataclass(frozen=True)
class Arm:
    """One arm: its kind, generator (synthetic kinds), extra-image ratio and share of training patients."""

    kind: str
    generator: str | None = None
    ratio: float | None = None
    fraction: float = 1.0

    @property
    def name(self) -> str:
        name = self.kind
        if self.generator:
            name += f"-{self.generator}"
        if self.ratio is not None:
            name += f"-r{self.ratio:g}"
        if self.fraction != 1.0:
            name += f"-f{self.fraction:g}"
        return name

    @property
    def sources(self) -> tuple[str, ...]:
        return SOURCES[self.kind]

    def extra_images(self, n_real: int) -> int:
        """Images this arm adds to the real ones (synthetic_only: the synthetic images it trains on instead)."""
        if self.kind == "synthetic_only":
            return n_real
        return round(self.ratio * n_real) if self.ratio is not None else 0

    @classmethod
    def parse(cls, name: str) -> Arm:
        match = _NAME.match(name)
        if not match or match["kind"] not in KINDS:
            raise ConfigError("experiment.arms", f"'{name}' is not an arm name; kinds are {list(KINDS)}")
        kind, generator = match["kind"], match["generator"]
        ratio = float(match["ratio"]) if match["ratio"] else None
        fraction = float(match["fraction"]) if match["fraction"] else 1.0
        if (generator is None) == (kind in USES_GENERATOR) or (ratio is None) == (kind in HAS_RATIO):
            raise ConfigError("experiment.arms", f"'{name}': arm {kind} needs "
                              f"{'a generator' if kind in USES_GENERATOR else 'no generator'} and "
                              f"{'a ratio' if kind in HAS_RATIO else 'no ratio'}")  # fmt: skip
        if fraction != 1.0 and kind != "baseline" or not 0 < fraction <= 1:
            raise ConfigError("experiment.train_fractions", f"'{name}': only baseline takes a fraction in (0, 1]")
        return cls(kind, generator, ratio, fraction)


def experiment_arms(experiment: dict, synthetic_ratio: float, phantom: bool) -> list[str]:
    """Every arm the experiment trains, in report order: the main arms, the dose sweep, the learning curve.

    ``more_real`` needs the phantom (only it can make more patients) and is left out for real datasets.
    """
    arms = []
    kinds = [k for k in experiment["arms"] if phantom or k not in PHANTOM_ONLY]
    for kind in kinds:
        arms += _of_kind(kind, experiment["generators"], synthetic_ratio)
    for ratio in experiment.get("dose_ratios", []):
        for kind in (k for k in DOSE_KINDS if k in kinds):
            arms += _of_kind(kind, experiment["generators"], ratio)
    arms += [Arm("baseline", fraction=f).name for f in experiment.get("train_fractions", []) if f != 1.0]
    return list(dict.fromkeys(arms))


def _of_kind(kind: str, generators, ratio: float) -> list[str]:
    ratio = ratio if kind in HAS_RATIO else None
    return [Arm(kind, g if kind in USES_GENERATOR else None, ratio).name
            for g in (generators if kind in USES_GENERATOR else [None])]  # fmt: skip


def synthetic_needed(experiment: dict, synthetic_ratio: float) -> float:
    """The largest number of synthetic images per real training image any arm asks for (0 if none)."""
    arms = [Arm.parse(a) for a in experiment_arms(experiment, synthetic_ratio, phantom=False)]
    return max((1.0 if a.kind == "synthetic_only" else a.ratio for a in arms if SYNTHETIC in a.sources), default=0.0)


def patient_subset(patient_ids, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of images whose patient is among a seeded ``fraction`` of the patients (nested in fraction)."""
    patient_ids = np.asarray(patient_ids).astype(str)
    patients = np.unique(patient_ids)
    order = np.random.default_rng(seed).permutation(patients)
    keep = order[: max(1, round(fraction * len(patients)))]
    return np.isin(patient_ids, keep)


def assemble_arm(arm: str, train: dict, augmented: dict | None = None, synthetic: dict | None = None,
                 extra_real: dict | None = None, patient_ids=None, subset_seed: int = 0, seed: int = 0):
    """Return ``(images, labels, source)`` of ``arm``'s training set; ``source`` names each image's origin.

    ``train``/``augmented``/``synthetic``/``extra_real`` are bundles with ``images`` and ``labels``. Counts follow
    the arm's name (module docstring); partial bundles are drawn with a ``seed``-ed generator in proportion to the
    bundle's class mix. ``patient_ids`` (aligned with ``train``) and ``subset_seed`` pick a learning-curve subset.
    """
    spec = Arm.parse(arm)
    bundles = {AUGMENTED: augmented, SYNTHETIC: synthetic, EXTRA_REAL: extra_real}
    for source in spec.sources:
        if bundles[source] is None:
            raise UserError(f"arm '{arm}' trains on {source} images but none were given; check the rule's inputs")
    real_images, real_labels = train["images"], train["labels"]
    if spec.fraction != 1.0:
        if patient_ids is None:
            raise UserError(f"arm '{arm}' needs the training images' patient ids; check the rule's inputs")
        keep = patient_subset(patient_ids, spec.fraction, subset_seed)
        real_images, real_labels = real_images[keep], real_labels[keep]
    n_real = len(real_labels)
    parts = [] if spec.kind == "synthetic_only" else [(real_images, real_labels, REAL)]
    for source in spec.sources:
        bundle = bundles[source]
        if spec.kind in ("augmented", "combined") and source == AUGMENTED:
            parts.append((bundle["images"], bundle["labels"], source))  # every copy
        else:
            keep = _stratified_subset(bundle["labels"], spec.extra_images(n_real), seed, source)
            parts.append((bundle["images"][keep], bundle["labels"][keep], source))
    shape = train["images"].shape[1:]
    for images, _, source in parts:
        if images.shape[1:] != shape:
            raise UserError(
                f"{source} images have shape {images.shape[1:]} but the real training images {shape}; "
                f"rerun the {source} stage after changing preprocess.image_size"
            )
    images = np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False)
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    source = np.concatenate([np.full(len(p[1]), p[2]) for p in parts])
    for name in [p[2] for p in parts]:
        chosen = labels[source == name]
        log.info("arm %s: %d %s images (%d malignant)", arm, len(chosen), name, int(chosen.sum()))
    return images, labels, source


# Which config key makes more images of each source available.
_MORE_OF = {SYNTHETIC: "synthesize.n_images (or 'auto')", AUGMENTED: "augment.copies",
            EXTRA_REAL: "the oracle's extra patients (rerun simulate_extra_patients)"}  # fmt: skip


def _stratified_subset(labels: np.ndarray, wanted: int, seed: int, source: str = SYNTHETIC) -> np.ndarray:
    """Sorted indices of ``wanted`` items, allocated to classes in proportion to ``labels``; stops if too few."""
    if wanted > len(labels):
        raise UserError(f"the arm needs {wanted} {source} images but only {len(labels)} exist; "
                        f"raise {_MORE_OF[source]} or lower the ratio (classifier.synthetic_ratio, "
                        "experiment.dose_ratios)")  # fmt: skip
    n = wanted
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    # Largest-remainder allocation, so the per-class numbers add up to n exactly.
    quotas = counts * n / counts.sum()
    take = np.floor(quotas).astype(int)
    take[np.argsort(take - quotas)[: n - take.sum()]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)
