"""The reserve (experiment.reserve): training patients held back, grouped and stratified, seeded, disjoint from
every split; the more_real arms draw from it; too small a reserve stops at parse time and again after the split."""

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from test_split import make_cases
from workflow_helpers import REPO

from synthaug.arm_names import experiment_arms
from synthaug.constants import RESERVE, SPLIT_VALUES
from synthaug.errors import ConfigError
from synthaug.oracle import check_reserve_counts, check_reserve_share
from synthaug.preprocess import preprocess_files, split_bundles
from synthaug.split import describe_split, hold_reserve, shared_patients, split_cases

SPLIT = dict(val_fraction=0.1, test_fraction=0.2)


def patients(split, name):
    return set(split.loc[split["split"] == name, "patient_id"])


@pytest.mark.parametrize("strategy", ["grouped", "official"])
def test_the_reserve_is_grouped_stratified_and_disjoint_from_every_split(strategy):
    cases = make_cases()
    without = split_cases(cases, strategy, seed=0, **SPLIT)
    split = split_cases(cases, strategy, seed=0, reserve=0.35, **SPLIT)
    assert set(split["split"]) == set(SPLIT_VALUES)
    assert shared_patients(split) == 0  # no patient in two of train, val, test, reserve
    for name in ("train", "val", "test"):
        assert not patients(split, RESERVE) & patients(split, name)
    # Only training cases move: validation and test are those of the split without a reserve.
    assert (split.loc[without["split"] != "train", "split"] == without.loc[without["split"] != "train", "split"]).all()
    assert (without.loc[split["split"] == RESERVE, "split"] == "train").all()
    trained = without["split"] == "train"
    share = (split["split"] == RESERVE).sum() / trained.sum()
    assert share == pytest.approx(0.35, abs=0.02)
    # Stratified: each class's share of the reserve is its share of the training images.
    for label in (0, 1):
        in_class = trained & (cases["label"] == label)
        assert (split.loc[in_class, "split"] == RESERVE).mean() == pytest.approx(0.35, abs=0.03), label


def test_the_reserve_is_seeded_by_split_seed():
    cases = make_cases()
    split = split_cases(cases, "grouped", seed=0, reserve=0.35, **SPLIT)
    pd.testing.assert_frame_equal(split, split_cases(cases, "grouped", seed=0, reserve=0.35, **SPLIT))
    other = split_cases(cases, "grouped", seed=1, reserve=0.35, **SPLIT)
    assert patients(split, RESERVE) != patients(other, RESERVE)


def test_a_count_of_patients_holds_back_exactly_that_many_in_proportion_to_their_labels():
    cases = make_cases()
    split = split_cases(cases, "grouped", seed=0, reserve=60, **SPLIT)
    held = split.loc[split["split"] == RESERVE]
    assert held["patient_id"].nunique() == 60 and shared_patients(split) == 0
    train = split.loc[split["split"].isin(["train", RESERVE])]
    rate = lambda rows: rows.groupby("patient_id")["label"].max().mean()  # noqa: E731 patients with a malignant case
    assert rate(held) == pytest.approx(rate(train), abs=0.05)
    assert "reserve" in describe_split(split).index.get_level_values("split")


@pytest.mark.parametrize("reserve, expected", [
    (1.5, "neither a share in \\(0, 1\\) nor a whole number"),
    (10_000, "not fewer than the"),
])
def test_impossible_reserves_name_the_key(reserve, expected):
    with pytest.raises(ConfigError, match=f"experiment.reserve.*{expected}"):
        split_cases(make_cases(), "grouped", seed=0, reserve=reserve, **SPLIT)


def test_a_reserve_that_empties_a_class_of_the_training_split_stops():
    # Three training patients: two benign, one malignant; two held back leave one class (largest remainder takes
    # one of each).
    split = pd.DataFrame({"case_id": list("abcd"), "patient_id": ["B1", "B2", "M1", "V"], "label": [0, 0, 1, 1],
                          "split": ["train", "train", "train", "val"]})
    with pytest.raises(ConfigError, match="experiment.reserve.*leaves only benign training cases"):
        hold_reserve(split, 2, seed=0)
    assert (hold_reserve(split, 1, seed=0) == RESERVE).sum() == 1


def test_the_reserve_is_preprocessed_like_the_training_split_and_only_into_its_own_bundle(tmp_path):
    cases = make_cases(n_patients=30)
    rng = np.random.default_rng(0)
    paths = []
    for case_id in cases["case_id"]:
        paths.append(str(tmp_path / f"{case_id}.png"))
        cv2.imwrite(paths[-1], rng.integers(0, 255, (20, 20), dtype=np.uint8))
    cases = cases.assign(crop_path=paths, image_path=paths)
    split = split_cases(cases, "grouped", seed=0, reserve=0.35, **SPLIT)
    models = split_bundles(cases, split, "crop", 16, 3)
    reserve = split_bundles(cases, split, "crop", 16, 3, splits=(RESERVE,))[RESERVE]
    held = split["split"] == RESERVE
    assert list(models) == ["train", "val", "test"]
    assert not set(reserve["case_ids"]) & {c for b in models.values() for c in b["case_ids"]}
    assert reserve["case_ids"].tolist() == split.loc[held, "case_id"].tolist()
    np.testing.assert_array_equal(reserve["images"], preprocess_files(cases.loc[held, "crop_path"].tolist(), 16, 3))
    np.testing.assert_array_equal(reserve["labels"], split.loc[held, "label"].to_numpy())


# --- too small a reserve: at parse time from the share, after the split from the counts ---------------------------

ARMS = ["baseline", "more_real-r0.5", "augmented_more_real-r0.5"]


@pytest.mark.parametrize("reserve, ok", [(0.35, True), (1 / 3, True), (0.3, False), (0, False), (40, True)])
def test_the_share_must_cover_the_largest_more_real_ratio(reserve, ok):
    if ok:
        check_reserve_share(reserve, ARMS)
    else:
        with pytest.raises(ConfigError, match="'experiment.reserve'") as caught:
            check_reserve_share(reserve, ARMS)
        assert "0.333" in str(caught.value)  # the smallest share that holds ratio 0.5
    check_reserve_share(0, ["baseline", "augmented"])  # no more_real arm: no reserve needed


def test_the_default_config_and_the_evidence_preset_fit_their_reserve():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    check_reserve_share(config["experiment"]["reserve"], experiment_arms(config["experiment"], 0.5))
    evidence = {**config["experiment"], **yaml.safe_load((REPO / "presets/evidence.yaml").read_text())["experiment"]}
    arms = experiment_arms(evidence, 0.5)
    assert "more_real-r1" in arms
    check_reserve_share(evidence["reserve"], arms)


def test_the_counts_after_the_split_stop_a_reserve_too_small_for_the_draw():
    split = split_cases(make_cases(), "grouped", seed=0, reserve=0.35, **SPLIT)
    plan = check_reserve_counts(ARMS, split, 0.35)
    n_train, n_reserve = (split["split"] == "train").sum(), (split["split"] == RESERVE).sum()
    assert plan["training_images"] == n_train and plan["reserve_images"] == n_reserve
    assert plan["largest_arm_draws"] == round(0.5 * n_train)
    assert sum(plan["reserve_per_class"].values()) == n_reserve
    small = split_cases(make_cases(), "grouped", seed=0, reserve=20, **SPLIT)
    with pytest.raises(ConfigError, match="'experiment.reserve': 20 holds back 20 patients"):
        check_reserve_counts(ARMS, small, 20)
    check_reserve_counts(["baseline"], small, 20)


def test_arms_train_on_every_dataset_with_the_more_real_kinds():
    experiment = {"arms": ["baseline", "more_real", "augmented_more_real"], "generators": ["cgan"]}
    assert experiment_arms(experiment, 0.5) == ["baseline", "more_real-r0.5", "augmented_more_real-r0.5"]


def test_reserve_split_values_written_and_read_back(tmp_path):
    split = split_cases(make_cases(n_patients=50), "grouped", seed=0, reserve=0.35, **SPLIT)
    split.to_csv(tmp_path / "split.csv", index=False)
    back = pd.read_csv(tmp_path / "split.csv")
    assert set(back["split"]) == set(SPLIT_VALUES)
    assert np.array_equal(back["split"].to_numpy(), split["split"].to_numpy())
