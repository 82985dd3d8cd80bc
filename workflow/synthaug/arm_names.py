"""Arm names and what each arm trains on (no numpy: the Snakefile imports this module to build the DAG).

An arm's name says everything that distinguishes its training set, so results paths stay parseable:
``{kind}[-{generator}][-r{ratio}][-f{fraction}]``.

* ``baseline``: the real training images; ``baseline-f0.5`` = those of a seeded 50% of the training patients
  (the learning curve; the subset is nested and the same for every seed).
* ``augmented``: real + every classic-augmentation copy.
* ``synthetic-{g}-r{r}``: real + ``round(r * n_real)`` images of generator ``g``.
* ``combined-{g}-r{r}``: real + every augmented copy + ``round(r * n_real)`` synthetic images (the study's setting).
* ``augmented_equal-r{r}``: real + ``round(r * n_real)`` augmented copies: as many extra images as the synthetic arm
  adds, so "GAN images" is compared with "more augmented images" (the equal-count control).
* ``more_real-r{r}``: real + ``round(r * n_real)`` real images of new patients, drawn from the reserve (training
  patients held back by ``experiment.reserve``, on every dataset: :mod:`synthaug.oracle`): the oracle.
* ``augmented_extra-r{r}``: real + every augmented copy + ``round(r * n_real)`` *further* augmented copies (made
  beside the augmented set, never its own images again): the equal-count control of ``combined`` on its own base.
* ``augmented_more_real-r{r}``: real + every augmented copy + ``round(r * n_real)`` real images of reserve
  patients (the same ones ``more_real-r{r}`` draws): the oracle of ``combined`` on its own base.
* ``synthetic_only-{g}``: ``n_real`` synthetic images and no real ones (train on synthetic, test on real: TSTR).
* ``pretrain-{g}-r{r}``: two stages (:mod:`synthaug.pretrain`): pre-trained on ``round(r * n_real)`` images of
  generator ``g`` alone, then the same network fine-tuned on the ``augmented`` arm's images (real + every augmented
  copy). So ``pretrain-{g}`` vs ``augmented`` asks whether a pre-training stage on GAN images helps the study's
  setting, with the images it fine-tunes on unchanged.
* ``pretrain_augmented-r{r}``: its equal-compute control: the same two stages with the same schedule, pre-trained on
  ``round(r * n_real)`` *further* augmented copies (those ``augmented_extra`` draws from: images not in the
  fine-tuning set, as the GAN images are not), so ``pretrain-{g}`` vs ``pretrain_augmented`` asks "GAN images or
  augmented copies in pre-training?" with everything else equal.

``n_real`` is the number of real training images, so ``classifier.synthetic_ratio`` rules the synthetic count, the
pre-training count included: ``pretrain-{g}-r{r}`` pre-trains on the very images ``synthetic-{g}-r{r}`` adds (same
count, same draw), so pre-training and mixing are compared on the same generator output, and one
``synthesize.n_images: auto`` serves both.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .constants import ARMS as KINDS
from .errors import ConfigError

REAL, AUGMENTED, SYNTHETIC, EXTRA_REAL = "real", "augmented", "synthetic", "extra_real"
MORE_AUGMENTED = "more_augmented"  # the further augmented copies, beyond the augmented set (augmented_extra)
USES_GENERATOR = ("synthetic", "combined", "synthetic_only", "pretrain")
HAS_RATIO = ("synthetic", "combined", "augmented_equal", "more_real", "augmented_extra", "augmented_more_real",
             "pretrain", "pretrain_augmented")
DOSE_KINDS = ("synthetic", "augmented_equal", "more_real")  # the sources swept by experiment.dose_ratios
# Which image bundles (files) each kind adds to (or, for synthetic_only, uses instead of) the real training images.
SOURCES = {
    "baseline": (), "augmented": (AUGMENTED,), "synthetic": (SYNTHETIC,), "combined": (AUGMENTED, SYNTHETIC),
    "augmented_equal": (AUGMENTED,), "more_real": (EXTRA_REAL,), "augmented_extra": (AUGMENTED,),
    "augmented_more_real": (AUGMENTED, EXTRA_REAL), "synthetic_only": (SYNTHETIC,),
    "pretrain": (AUGMENTED, SYNTHETIC), "pretrain_augmented": (AUGMENTED,),
}  # fmt: skip
# What each kind trains on besides the real images: (source, "all") = every image of the augmented set,
# (source, "extra") = round(ratio * n_real) images drawn from that source (n_real for synthetic_only).
PARTS = {
    "baseline": (), "augmented": ((AUGMENTED, "all"),), "synthetic": ((SYNTHETIC, "extra"),),
    "combined": ((AUGMENTED, "all"), (SYNTHETIC, "extra")), "augmented_equal": ((AUGMENTED, "extra"),),
    "more_real": ((EXTRA_REAL, "extra"),), "augmented_extra": ((AUGMENTED, "all"), (MORE_AUGMENTED, "extra")),
    "augmented_more_real": ((AUGMENTED, "all"), (EXTRA_REAL, "extra")), "synthetic_only": ((SYNTHETIC, "extra"),),
    "pretrain": ((AUGMENTED, "all"),), "pretrain_augmented": ((AUGMENTED, "all"),),
}  # fmt: skip
# What the two-stage kinds pre-train on before they fine-tune on their PARTS: round(ratio * n_real) images of this
# source and nothing else (no real images: the validation and test images never enter either stage).
PRETRAINING = {"pretrain": SYNTHETIC, "pretrain_augmented": MORE_AUGMENTED}
# The equal-count controls of each arm kind that adds generator images, on the same base: (more augmented copies,
# more real images of extra patients).
CONTROLS = {"combined": ("augmented_extra", "augmented_more_real"), "synthetic": ("augmented_equal", "more_real")}
# A generator's name: built in or an external set's (synthaug.generators; preflight refuses external names that
# this would read as a ratio or fraction, like r0.5).
GENERATOR = r"[a-z][a-z0-9_]*"
# What the Snakemake wildcard may match (parse() then checks the combination).
WILDCARD = r"[a-z_]+(-" + GENERATOR + r")?(-r[0-9.]+)?(-f[0-9.]+)?"
_NAME = re.compile(r"^(?P<kind>[a-z_]+)(-(?P<generator>(?![rf][0-9.]+(-|$))" + GENERATOR + r"))?"
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

    @property
    def pretraining(self) -> str | None:
        """The source this arm pre-trains on before it fine-tunes (two-stage kinds), or None."""
        return PRETRAINING.get(self.kind)

    def extra_images(self, n_real: int) -> int:
        """Images this arm adds to the real ones (synthetic_only: the synthetic images it trains on instead; the
        two-stage kinds: the images they pre-train on)."""
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


def experiment_arms(experiment: dict, synthetic_ratio: float) -> list[str]:
    """Every arm the experiment trains, in report order: the main arms, the dose sweep, the learning curve."""
    arms = []
    kinds = list(experiment["arms"])
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
    arms = [Arm.parse(a) for a in experiment_arms(experiment, synthetic_ratio)]
    return max((1.0 if a.kind == "synthetic_only" else a.ratio for a in arms if SYNTHETIC in a.sources), default=0.0)


def synthetic_draws(arms, n_real: int) -> tuple[str | None, int]:
    """The arm drawing the most synthetic images from ``n_real`` real training images, and that number."""
    draws = [(Arm.parse(a).extra_images(n_real), a) for a in arms if SYNTHETIC in Arm.parse(a).sources]
    wanted, arm = max(draws, default=(0, None))
    return arm, wanted


def more_augmented_copies(arms) -> int:
    """Further augmented copies per real image the ``augmented_extra`` and ``pretrain_augmented`` arms need beyond the
    augmented set (0 if none)."""
    ratios = [Arm.parse(a).ratio for a in arms if Arm.parse(a).kind in ("augmented_extra", "pretrain_augmented")]
    return math.ceil(max(ratios)) if ratios else 0


def extra_real_ratio(arms) -> float:
    """Extra real images per real training image the reserve must hold (largest more_real-like arm; 0 if none)."""
    return max((Arm.parse(a).ratio for a in arms if EXTRA_REAL in Arm.parse(a).sources), default=0.0)
