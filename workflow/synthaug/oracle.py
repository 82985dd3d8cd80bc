"""The oracle arms' images: real images of new patients, from the reserve (``more_real``, ``augmented_more_real``).

``experiment.reserve`` holds back some training patients (:func:`synthaug.split.hold_reserve`: whole patients,
stratified by label, seeded by ``split.seed``), on every dataset. No arm trains on them as real images and no
generator or augmentation sees them; an oracle arm adds ``round(ratio * n_train)`` of their images to its base,
so "GAN images" can be compared with as many real images of patients the base has never seen (the positive
control). They are preprocessed by the same function as the training split into ``results/oracle/train.npz``.

Two checks that the reserve is large enough: at parse time from the share (:func:`check_reserve_share`: a share
``s`` of the training images leaves ``1 - s`` to the base, so the largest ratio must be at most ``s / (1 - s)``),
and once the split is known with the real counts (:func:`check_reserve_counts`).
"""

from __future__ import annotations

import pandas as pd

from .arm_names import EXTRA_REAL, Arm
from .constants import RESERVE
from .errors import ConfigError
from .split import class_labels, class_name

KEY = "experiment.reserve"


def extra_real_arms(arms) -> list[str]:
    """The arms that draw real images from the reserve."""
    return [a for a in arms if EXTRA_REAL in Arm.parse(a).sources]


def largest_share_needed(ratio: float) -> float:
    """The smallest reserve share whose images, ``share / (1 - share)`` per base image, cover ``ratio``."""
    return ratio / (1 + ratio)


def check_reserve_share(reserve: float, arms) -> None:
    """Parse time: the reserve can hold what the oracle arms (names) draw, judged from its share alone.

    A count of patients (``reserve`` >= 1) is checked only once the split is known (:func:`check_reserve_counts`).
    """
    needs = [(Arm.parse(a).ratio, a) for a in extra_real_arms(arms)]
    if not needs:
        return
    ratio, arm = max(needs)
    if reserve == 0:
        raise ConfigError(KEY, f"is 0 (no reserve), but arm {arm} adds {ratio:g} real images of new patients per "
                          f"training image, drawn from the reserve; set {KEY} to a share of at least "
                          f"{largest_share_needed(ratio):.3g} (e.g. 0.35), or drop the more_real kinds from "
                          "experiment.arms")  # fmt: skip
    if reserve < 1 and reserve / (1 - reserve) < ratio - 1e-9:  # (1/3 holds 0.5, rounding aside)
        raise ConfigError(KEY, f"{reserve:g} of the training patients holds about {reserve / (1 - reserve):.3g} "
                          f"images per image left to train on, but arm {arm} draws {ratio:g} per training image; "
                          f"raise {KEY} to at least {largest_share_needed(ratio):.3g} (a larger reserve leaves fewer "
                          "real images in the base) or lower the ratio (classifier.synthetic_ratio, "
                          "experiment.dose_ratios)")  # fmt: skip


def check_reserve_counts(arms, split: pd.DataFrame, reserve) -> dict:
    """After the split: the reserve holds the images each oracle arm (names) draws from the training split's count.

    Returns the plan (training and reserve images per class, the largest draw); raises ConfigError naming
    ``experiment.reserve`` if the reserve is too small.
    """
    n_train = int((split["split"] == "train").sum())
    held = split.loc[split["split"] == RESERVE]
    draws = [(Arm.parse(a).extra_images(n_train), a) for a in extra_real_arms(arms)]
    wanted, arm = max(draws, default=(0, None))
    if wanted > len(held):
        raise ConfigError(KEY, f"{reserve} holds back {held['patient_id'].nunique()} patients with {len(held)} "
                          f"images, but arm {arm} draws {wanted} ({n_train} training images in the split); raise "
                          f"{KEY} (a larger reserve leaves fewer real images in the base), use a larger dataset, or "
                          "lower the ratio (classifier.synthetic_ratio, experiment.dose_ratios)")  # fmt: skip
    labels = class_labels(split["label"])
    per_class = lambda rows: {class_name(k, len(labels)): int((rows["label"] == k).sum()) for k in labels}  # noqa: E731
    return {"training_images": n_train, "training_per_class": per_class(split.loc[split["split"] == "train"]),
            "reserve_images": len(held), "reserve_patients": int(held["patient_id"].nunique()),
            "reserve_per_class": per_class(held), "largest_arm": arm, "largest_arm_draws": wanted}
