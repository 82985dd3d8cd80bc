"""Dividing cases into train, val and test.

``grouped`` (the default) keeps every patient in one split, so no lesion seen in CC and MLO, and no other lesion
of the same patient, is both learned from and tested on; class ratios are kept close to the whole set's by a greedy
assignment of patients, largest first. ``official`` keeps the dataset's own test set (CBIS-DDSM's, or an image-folder
manifest's ``split`` column) and its own validation set if it has one (a manifest's ``val``), else carves validation
from its training patients the same way. ``random`` is the study's image-level split, kept only to measure its leakage.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .constants import CLASS_NAMES, RESERVE, SPLIT_COLUMNS, SPLIT_VALUES, SPLITS
from .errors import ConfigError

log = logging.getLogger("synthaug")


def class_labels(labels) -> list[int]:
    """The classes ``0 .. k - 1`` of a label column: two (0 and 1) at least, k = the largest label + 1."""
    labels = np.asarray(labels)
    return list(range(max(2, int(labels.max()) + 1 if labels.size else 2)))


def class_name(label: int, n_classes: int = 2) -> str:
    """What messages and per-class tables call a label without the dataset's names: benign / malignant for a binary
    label (as they always have), ``class <label>`` for one of k > 2 classes."""
    return CLASS_NAMES[label] if n_classes == 2 else f"class {label}"


def report_names(names) -> tuple[str, ...]:
    """The class names per-class tables and figures use: benign and malignant for two classes (as they always
    have, whatever the dataset), the dataset's class names (``names``, in label order) for k > 2."""
    return tuple(CLASS_NAMES) if len(names) == 2 else tuple(names)


def assign_groups(groups: pd.Series, labels: pd.Series, fractions: dict[str, float], seed: int) -> pd.Series:
    """Split name per case, whole groups at a time, each split close to ``fractions`` of every class.

    Groups are taken largest first (random order among equal sizes, from ``seed``); each goes to the split whose
    squared shortfall against its per-class targets, relative to those targets, grows least by taking it.
    """
    names = list(fractions)
    counts = pd.crosstab(groups, labels).reindex(columns=class_labels(labels), fill_value=0)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(counts))
    sizes = counts.sum(axis=1).to_numpy()[order]
    order = order[np.argsort(-sizes, kind="stable")]
    target = np.outer([fractions[n] for n in names], counts.sum(axis=0).to_numpy()).clip(min=1e-9)
    current = np.zeros_like(target)
    assigned = {}
    for i in order:
        n = counts.iloc[i].to_numpy()
        cost = (n * (n + 2 * (current - target)) / target).sum(axis=1)
        best = int(np.argmin(cost))
        current[best] += n
        assigned[counts.index[i]] = names[best]
    return groups.map(assigned)


def split_cases(
    cases: pd.DataFrame, strategy: str, seed: int, val_fraction: float, test_fraction: float, reserve: float = 0
) -> pd.DataFrame:
    """The split table (``constants.SPLIT_COLUMNS``) for ``cases``, in the case table's order; ``reserve``
    (``experiment.reserve``) training patients then become the reserve (:func:`hold_reserve`)."""
    out = cases[["case_id", "patient_id", "label"]].copy()
    if strategy == "grouped":
        fractions = {"train": 1 - val_fraction - test_fraction, "val": val_fraction, "test": test_fraction}
        out["split"] = assign_groups(cases["patient_id"], cases["label"], fractions, seed)
    elif strategy == "official":
        official_test, official_val = cases["source_split"] == "test", cases["source_split"] == "val"
        if not official_test.any():
            raise ConfigError("split.strategy", "'official' keeps the dataset's own test set, but no case has source "
                              "split 'test' (see results/data/cases.csv); use split.strategy: grouped")
        out.loc[official_test, "split"] = "test"
        if official_val.any():  # a fixed train/val/test split (an image-folder manifest's): used as it is
            out.loc[official_val, "split"] = "val"
            out.loc[~official_test & ~official_val, "split"] = "train"
        else:
            train = cases.loc[~official_test]
            fractions = {"train": 1 - val_fraction, "val": val_fraction}
            out.loc[~official_test, "split"] = assign_groups(train["patient_id"], train["label"], fractions, seed)
    elif strategy == "random":
        out["split"] = random_split(cases["label"], val_fraction, test_fraction, seed)
    else:
        raise ConfigError("split.strategy", f"unknown strategy '{strategy}'; use grouped, official or random")
    check_split(out, strategy)
    out["split"] = hold_reserve(out, reserve, seed)
    return out[list(SPLIT_COLUMNS)]


RESERVE_STREAM = 0x5E5E  # mixed with split.seed: the reserve's draw, apart from the train/val/test assignment


def reserve_seed(seed: int) -> int:
    """The seed of the reserve's draw, derived from ``split.seed``."""
    return int(np.random.SeedSequence([seed, RESERVE_STREAM]).generate_state(1)[0])


def hold_reserve(split: pd.DataFrame, reserve: float, seed: int) -> pd.Series:
    """``split``'s split column with some training patients' cases set to ``reserve``.

    ``reserve`` (``experiment.reserve``): 0 = none; a share in (0, 1) = that share of the training images of each
    class, whole patients at a time (:func:`assign_groups`); an integer >= 1 = that many training patients, drawn
    in proportion to the patients' label mix (only benign, only malignant, both). Seeded by ``seed``
    (:func:`reserve_seed`). Only a patient's training cases move (with ``split.strategy: random`` a patient may
    also have validation or test cases); the training split must keep both classes.
    """
    column = split["split"].copy()
    train = split.loc[split["split"] == "train"]
    if reserve == 0 or train.empty:
        return column
    if reserve < 1:
        held = assign_groups(train["patient_id"], train["label"], {"train": 1 - reserve, RESERVE: reserve},
                             reserve_seed(seed)) == RESERVE
    else:
        if reserve != int(reserve):
            raise ConfigError("experiment.reserve", f"{reserve} is neither a share in (0, 1) nor a whole number of "
                              "patients; use e.g. 0.35 or 120")  # fmt: skip
        held = train["patient_id"].isin(_reserve_patients(train, int(reserve), reserve_seed(seed)))
    column.loc[held[held].index] = RESERVE
    left = set(split.loc[column == "train", "label"])
    if left != set(train["label"]):
        k = len(class_labels(split["label"]))
        kept = "no" if not left else "only " + ", ".join(class_name(label, k) for label in sorted(left))
        raise ConfigError("experiment.reserve", f"holding back {reserve} of the {train['patient_id'].nunique()} "
                          f"training patients leaves {kept} training cases; lower experiment.reserve or use a larger "
                          "dataset")  # fmt: skip
    return column


def _reserve_patients(train: pd.DataFrame, count: int, seed: int) -> np.ndarray:
    """``count`` training patients, allocated to their label mix (largest remainder) and drawn at random within it."""
    # A patient's label mix, e.g. "0" (only benign cases), "0,1" (both), "1" (only malignant); sorted as the labels.
    mix = train.groupby("patient_id")["label"].agg(lambda s: ",".join(map(str, sorted(set(s)))))
    if count >= len(mix):
        raise ConfigError("experiment.reserve", f"{count} patients is not fewer than the {len(mix)} training "
                          "patients; hold back fewer (or a share such as 0.35)")  # fmt: skip
    strata = sorted(set(mix.tolist()))
    sizes = np.array([(mix == s).sum() for s in strata])
    quotas = sizes * count / sizes.sum()
    take = np.floor(quotas).astype(int)
    take[np.argsort(take - quotas, kind="stable")[: count - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.sort(mix.index[(mix == s).to_numpy()].to_numpy()), size=k, replace=False)
                           for s, k in zip(strata, take)])

def random_split(labels: pd.Series, val_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """The study's image-level split, stratified by label: each class shuffled and cut at the fractions."""
    rng = np.random.default_rng(seed)
    split = np.empty(len(labels), dtype=object)
    for label in class_labels(labels):
        members = rng.permutation(np.flatnonzero(labels.to_numpy() == label))
        n_test, n_val = round(test_fraction * len(members)), round(val_fraction * len(members))
        split[members[:n_test]] = "test"
        split[members[n_test : n_test + n_val]] = "val"
        split[members[n_test + n_val :]] = "train"
    return split


def shared_patients(split: pd.DataFrame) -> int:
    """Patients with cases in more than one split (0 for a leak-free split)."""
    return int((split.groupby("patient_id")["split"].nunique() > 1).sum())


MIN_PER_CLASS = 2  # cases of each class every split needs: DeLong's variance of an AUC needs two per class


def check_split(split: pd.DataFrame, strategy: str) -> None:
    """Every split needs at least MIN_PER_CLASS cases of each class (AUC, its confidence interval and early stopping
    need them); warn about and count leaking patients."""
    for name in SPLITS:
        counts = split.loc[split["split"] == name, "label"].value_counts()
        labels = class_labels(split["label"])
        short = {label: int(counts.get(label, 0)) for label in labels if counts.get(label, 0) < MIN_PER_CLASS}
        if short:
            key = "split.test_fraction" if name == "test" and strategy != "official" else "split.val_fraction"
            held = ", ".join(f"{n} {class_name(label, len(labels))}" for label, n in short.items())
            raise ConfigError(
                key,
                f"the {name} split has {held} case(s), fewer than the {MIN_PER_CLASS} of each class an AUC and its "
                f"confidence interval need ({len(split)} cases in all); raise {key} or use a larger dataset",
            )
    shared = shared_patients(split)
    if shared:
        log.warning(
            "split strategy '%s' leaks: %d of %d patients have cases in more than one split, so test scores are "
            "optimistic; use split.strategy: grouped for an honest estimate",
            strategy, shared, split["patient_id"].nunique(),
        )


def describe_split(split: pd.DataFrame) -> pd.DataFrame:
    """Cases and patients per split and class (the reserve too, if any), for the log."""
    table = split.groupby(["split", "label"]).agg(cases=("case_id", "size"), patients=("patient_id", "nunique"))
    names = [n for n in SPLIT_VALUES if n != RESERVE or (split["split"] == RESERVE).any()]
    labels = class_labels(split["label"])
    return table.reindex(pd.MultiIndex.from_product([names, labels], names=["split", "label"]), fill_value=0)
