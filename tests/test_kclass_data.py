"""k-class image folders, stage 1 of issue 28 item 1: dataset.classes maps folders to k >= 2 named classes (absent:
every class folder is a class), and the class names and labels 0 .. k-1 pass through ingest, split and preprocess.
Two classes keep the binary sides exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.kclass import CLASSES, write_kclass_folder

from synthaug import generators, preflight
from synthaug.datasets import load_cases
from synthaug.errors import ConfigError, UserError
from synthaug.oracle import check_reserve_counts
from synthaug.split import check_split, class_labels, describe_split, hold_reserve, split_cases

SCHEMA = Path(preflight.__file__).parents[1] / "schemas" / "config.schema.yaml"


def dataset(root, classes=None):
    return {"name": "image-folder", "root": str(root), "classes": classes, "abnormality": "mass", "image": "crop",
            "on_error": "stop"}


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "shapes"
    write_kclass_folder(root, counts=(24, 20, 16))
    return root


def test_without_a_mapping_every_class_folder_is_a_class_in_sorted_order(folder):
    mapping = preflight.resolve_classes(folder, None)
    assert mapping.groups == (("cross",), ("disc",), ("square",)) and mapping.n_classes == 3
    assert generators.class_names(dataset(folder)) == ("cross", "disc", "square")
    assert generators.class_folders(dataset(folder)) == {0: ["cross"], 1: ["disc"], 2: ["square"]}


def test_a_named_mapping_gives_labels_in_its_order_and_ignores_other_folders(folder):
    classes = {"round": ["disc"], "angular": ["square", "cross"]}
    mapping = preflight.resolve_classes(folder, classes)
    assert mapping.groups == (("disc",), ("square", "cross")) and mapping.ignored == ()
    assert mapping.label("cross") == 1 and mapping.label("nowhere") is None
    assert generators.class_names(dataset(folder, classes)) == ("round", "angular")
    three = {"s": ["square"], "d": ["disc"]}
    assert preflight.resolve_classes(folder, three).ignored == ("cross",)


def test_the_two_sides_are_unchanged(folder):
    classes = {"negative": ["disc", "square"], "positive": ["cross"]}
    mapping = preflight.resolve_classes(folder, classes)
    assert (mapping.negative, mapping.positive) == (("disc", "square"), ("cross",))
    assert mapping.describe() == "negative (label 0) = disc, square; positive (label 1) = cross"
    assert generators.class_names(dataset(folder, classes)) == ("disc+square", "cross")
    assert generators.class_names({"name": "phantom"}) == ("benign", "malignant")


@pytest.mark.parametrize("classes, expected", [
    ({"a": ["disc"], "b": ["disc", "cross"]}, "in more than one class"),
    ({"a": ["disc"], "b": ["circle"]}, "'circle', not a class folder"),
    ({"a": ["disc"]}, "two or more"),
])
def test_a_bad_named_mapping_stops_naming_dataset_classes(folder, classes, expected):
    with pytest.raises(ConfigError, match=expected) as error:
        preflight.resolve_classes(folder, classes)
    assert error.value.key == "dataset.classes"


def test_the_schema_takes_named_classes_and_refuses_one_or_an_empty_one():
    preflight.check_schema({"dataset": {"classes": {"a": ["x"], "b": ["y"], "c": ["z"]}}}, SCHEMA, [])
    for bad in ({"a": ["x"]}, {"a": ["x"], "b": []}):
        with pytest.raises(UserError, match="dataset.classes"):
            preflight.check_schema({"dataset": {"classes": bad}}, SCHEMA, [])


def test_ingest_labels_every_class(folder):
    cases, qc = load_cases(dataset(folder))
    counts = cases.groupby("pathology")["label"].agg(["first", "size"])
    assert counts.to_dict("index") == {"cross": {"first": 0, "size": 16}, "disc": {"first": 1, "size": 24},
                                       "square": {"first": 2, "size": 20}}
    assert qc.empty


def kclass_cases(n_patients=300, k=4, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = int(rng.choice(k, p=np.linspace(1, 2, k) / np.linspace(1, 2, k).sum()))
        rows += [(f"P{p}_{j}", f"P{p}", label, "") for j in range(rng.integers(1, 4))]
    return pd.DataFrame(rows, columns=["case_id", "patient_id", "label", "source_split"])


@pytest.mark.parametrize("strategy", ["grouped", "random"])
def test_the_split_is_stratified_by_all_k_labels(strategy):
    cases = kclass_cases()
    split = split_cases(cases, strategy, seed=0, val_fraction=0.15, test_fraction=0.25, reserve=0.2)
    share = pd.crosstab(split["split"], split["label"], normalize="index")
    overall = cases["label"].value_counts(normalize=True).sort_index()
    assert set(split["label"]) == {0, 1, 2, 3}
    for name in ("train", "val", "test", "reserve"):
        np.testing.assert_allclose(share.loc[name].to_numpy(), overall.to_numpy(), atol=0.06)
    if strategy == "grouped":
        assert (split.groupby("patient_id")["split"].nunique() == 1).all()
    assert describe_split(split).index.get_level_values("label").unique().tolist() == [0, 1, 2, 3]
    plan = check_reserve_counts(["more_real-r0.2"], split, 0.2)
    assert set(plan["training_per_class"]) == {"class 0", "class 1", "class 2", "class 3"}


def test_a_split_short_of_a_third_class_stops_naming_it():
    split = pd.DataFrame({"case_id": list("abcdefghijklmnopqr"), "patient_id": list("abcdefghijklmnopqr"),
                          "label": [0, 0, 1, 1, 2, 2] * 3, "split": ["train"] * 6 + ["val"] * 6 + ["test"] * 6})
    check_split(split, "grouped")
    split.loc[split.index[-2:], "label"] = 0  # the test split keeps no case of class 2
    with pytest.raises(ConfigError, match="0 class 2"):
        check_split(split, "grouped")


def test_a_reserve_by_patient_count_draws_from_every_label_mix():
    cases = kclass_cases(k=3)
    split = split_cases(cases, "grouped", seed=0, val_fraction=0.15, test_fraction=0.25)
    column = hold_reserve(split, 30, seed=0)
    held = split.loc[column == "reserve"]
    assert held["patient_id"].nunique() == 30 and set(held["label"]) == {0, 1, 2}
    assert class_labels(split["label"]) == [0, 1, 2] and class_labels(pd.Series([0, 0])) == [0, 1]


def test_preprocess_keeps_the_k_labels(folder, tmp_path):
    from synthaug.preprocess import split_bundles

    cases, _ = load_cases(dataset(folder))
    split = split_cases(cases, "grouped", seed=0, val_fraction=0.2, test_fraction=0.3)
    bundles = split_bundles(cases, split, "crop", size=32, blur_kernel=3)
    for name, bundle in bundles.items():
        assert bundle["images"].shape[1:] == (32, 32, 3)
        assert set(bundle["labels"].tolist()) == {0, 1, 2}, name
    assert sum(len(b["labels"]) for b in bundles.values()) == len(cases)
