"""External synthetic image sets (``external.<name>.root``): listed and checked at parse time, drawn and
preprocessed like real images, counts checked before anything trains. Through the workflow, beside cgan, through
every synthetic arm and control and left byte-identical (the folder is read-only input, like a dataset):
tests/test_kclass_workflow.py (three classes, every arm kind) and tests/test_image_folder.py (two sides named by
their class folders); its sampling from benign/ and malignant/ folders, as on the phantom and CBIS-DDSM, here."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml
from fixtures.external import write_external
from test_data_safety import OLD, make_read_only

from synthaug import preflight
from synthaug.errors import ConfigError
from synthaug.generators import class_folders, external
from synthaug.synthesize import check_counts
from workflow_helpers import TINY, prepare_workdir, snakemake

CLASSES = {0: ["benign"], 1: ["malignant"]}


@pytest.fixture(scope="module")
def image_set(tmp_path_factory):
    """The fixture set, dated 2017 (older than the workflow) and read-only, shared by this module's tests."""
    root = write_external(tmp_path_factory.mktemp("external") / "mysynth")
    for path in [*root.rglob("*"), root]:
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    make_read_only(root)
    return root


def _config(root, **overrides):
    config = {"dataset": {"name": "phantom"}, "external": {"mysynth": {"root": str(root)}},
              "experiment": {"generators": ["cgan", "mysynth"]},
              "synthesize": {"n_images": "auto", "malignant_fraction": "train"}}
    for section, values in overrides.items():
        config[section] = {**config.get(section, {}), **values}
    return config


def test_the_set_is_listed_per_class_in_every_format(image_set):
    files = external.list_images("mysynth", image_set, CLASSES)
    assert {label: len(paths) for label, paths in files.items()} == {0: 40, 1: 40}
    suffixes = {os.path.splitext(p)[1] for p in files[0]}
    assert suffixes == {".png", ".jpg", ".tif", ".dcm"}
    assert any("/more/" in p for p in files[1]) and all("/malignant/" in p for p in files[1])


def test_an_image_folder_dataset_maps_its_class_folders():
    mapping = class_folders({"classes": {"negative": ["nevus", "keratosis"], "positive": ["melanoma"]}})
    assert mapping == {0: ["nevus", "keratosis"], 1: ["melanoma"]}
    assert class_folders({"name": "phantom"}) == CLASSES


@pytest.mark.parametrize("layout, message", [
    ("missing", "is not a folder"),
    ("unknown", "holds folder\\(s\\) normal"),
    ("loose", "outside the class folders"),
])
def test_folder_mistakes_name_the_key(tmp_path, layout, message):
    root = tmp_path / "set"
    if layout != "missing":
        write_external(root, n_per_class=2)
        (root / "normal").mkdir() if layout == "unknown" else (root / "x.png").write_bytes(b"")
    with pytest.raises(ConfigError, match=f"'external.mysynth.root'.*{message}"):
        external.list_images("mysynth", root, CLASSES)


def test_a_misnamed_class_folder_gets_a_did_you_mean(tmp_path):
    root = tmp_path / "set"
    write_external(root, n_per_class=2)
    (root / "malignant").rename(root / "Malignent")
    with pytest.raises(ConfigError, match="Did you mean 'Malignent' -> 'malignant'"):
        external.list_images("mysynth", root, CLASSES)


def test_sampling_draws_without_replacement_and_preprocesses_like_real_images(image_set, caplog):
    labels = np.array([0] * 30 + [1] * 10)
    options = {"name": "mysynth", "root": str(image_set), "classes": CLASSES,
               "preprocess": {"image_size": 32, "blur_kernel": 3}}
    files = [p for paths in external.list_images("mysynth", image_set, CLASSES).values() for p in paths]
    with caplog.at_level("INFO", logger="synthaug"):
        images = external.sample(files, labels, seed=0, options=options)
    assert images.shape == (40, 32, 32, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.reshape(40, -1).max(1).min() > 0.5  # min-max
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    assert len({im.tobytes() for im in images[:30]}) == 30  # no image twice
    # Each class folder's images reach its label: the fixture's malignant discs are larger (fixtures/external.py),
    # so sampling that swapped the folders (or ignored them) would fail here.
    disc = (images[..., 0] > 0.4).mean(axis=(1, 2))
    assert disc[labels == 1].mean() > 1.5 * disc[labels == 0].mean()
    np.testing.assert_array_equal(images, external.sample(files, labels, seed=0, options=options))
    assert not np.array_equal(images, external.sample(files, labels, seed=1, options=options))
    assert "Gaussian blur 3 px" in caplog.text and "resized to 32 px" in caplog.text
    assert "centre-cropped" not in caplog.text  # no aspect given: nothing to bring the set to
    with pytest.raises(ConfigError, match="external.mysynth.root.*holds 40 benign.*need 41 benign"):
        external.sample(files, np.zeros(41, int), seed=0, options=options)


def _scenes(n, width, height, seed):
    """``n`` grey scenes of the same kind (soft blobs on a ramp, a little noise) rendered at width x height px: the
    field of view is the same per pixel whatever the size, as a camera with another sensor would see it."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y, x = np.mgrid[0:height, 0:width] / 96.0  # scene units: 96 px each
        image = 0.3 * rng.random() * x + rng.normal(0, 0.02, (height, width))
        for _ in range(6):
            cx, cy = rng.random() * width / 96.0, rng.random() * height / 96.0
            image += rng.uniform(0.3, 1.0) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 0.08 ** 2))
        out.append(np.round(4000 * (image - image.min()) / np.ptp(image)).astype(np.uint16))
    return out


def test_an_external_set_at_another_size_and_aspect_leaves_no_frame_to_tell_it_by(tmp_path, caplog):
    """Issue 27: real images 96x96 beside an external set of 128x96: padded, the set had bars real images lack."""
    import cv2
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from synthaug.preprocess import content_aspect, preprocess_image

    n = 60
    real = np.stack([preprocess_image(s, 32, 3) for s in _scenes(n, 96, 96, seed=0)])
    root = tmp_path / "set"
    for label, folder in CLASSES.items():
        (root / folder[0]).mkdir(parents=True)
        for i, scene in enumerate(_scenes(n // 2, 128, 96, seed=1 + label)):
            cv2.imwrite(str(root / folder[0] / f"{i:03d}.png"), scene)
    files = [p for paths in external.list_images("mysynth", root, CLASSES).values() for p in paths]
    options = {"name": "mysynth", "root": str(root), "classes": CLASSES,
               "preprocess": {"image_size": 32, "blur_kernel": 3}, "real_aspect": content_aspect(real)}
    labels = np.repeat([0, 1], n // 2)

    def real_vs_external_accuracy(synthetic):
        x = np.concatenate([real, synthetic])[..., 0].reshape(2 * n, -1)
        y = np.repeat([0, 1], n)
        return cross_val_score(LogisticRegression(C=0.1, max_iter=2000), x, y, cv=5).mean()

    with caplog.at_level("INFO", logger="synthaug"):
        aligned = external.sample(files, labels, seed=0, options=options)
    assert "128x96 px" in caplog.text and "centre-cropped to 1.00" in caplog.text
    assert real_vs_external_accuracy(aligned) < 0.7
    # Without the crop (no aspect known: the old behaviour) the bars give the set away.
    padded = external.sample(files, labels, seed=0, options={**options, "real_aspect": None})
    assert real_vs_external_accuracy(padded) > 0.95


def test_counts_are_checked_against_what_the_arms_draw():
    arms = ["baseline", "synthetic-cgan-r0.5", "synthetic_only-mysynth"]
    labels = np.array([0] * 30 + [1] * 20)
    plan = check_counts(arms, 1.0, "auto", "train", labels, {"mysynth": {0: 30, 1: 20}})
    assert plan["images_per_generator"] == 50 and plan["per_class"] == {"benign": 30, "malignant": 20}
    with pytest.raises(ConfigError, match="'synthesize.n_images'.*arm synthetic_only-mysynth draws 50"):
        check_counts(arms, 1.0, 49, "train", labels, {})
    with pytest.raises(ConfigError, match="'external.mysynth.root'.*holds 30 benign, 19 malignant"):
        check_counts(arms, 1.0, "auto", "train", labels, {"mysynth": {0: 30, 1: 19}})
    check_counts(arms, 1.0, 50, 0.0, labels, {"mysynth": {0: 50, 1: 0}})  # no malignant asked for


def test_generator_names_are_checked_at_parse_time(image_set):
    assert preflight.check_generators(_config(image_set))["mysynth"][1][0].endswith(".png")
    with pytest.raises(ConfigError, match="'experiment.generators'.*'gan'.*cgan, cgan_diffaug, ddpm.*mysynth"):
        preflight.check_generators(_config(image_set, experiment={"generators": ["gan"]}))
    with pytest.raises(ConfigError, match="'external.ddpm.root'.*built-in generator"):
        preflight.check_generators({**_config(image_set), "external": {"ddpm": {"root": str(image_set)}}})
    with pytest.raises(ConfigError, match="'external.r0.root'.*ratio"):
        preflight.check_generators({**_config(image_set), "external": {"r0": {"root": str(image_set)}}})
    with pytest.raises(ConfigError, match="'external.mysynth.root'.*holds 40 benign, 40 malignant.*need 50 benign"):
        preflight.check_generators(_config(image_set, synthesize={"n_images": 100, "malignant_fraction": 0.5}))
    with pytest.raises(ConfigError, match="'external.mysynth.root'.*overlap"):
        preflight.check_generators(_config(image_set), workdir=image_set / "benign")


# --- through the workflow -----------------------------------------------------------------------------------------

def _overlay(tmp_path, root, name="mysynth", **sections):
    content = {"external": {name: {"root": str(root)}}, "experiment": {"generators": ["cgan", name]}, **sections}
    path = tmp_path / "external.yaml"
    path.write_text(yaml.safe_dump(content))
    return path


@pytest.mark.workflow
@pytest.mark.parametrize("case, message", [
    ("missing", "config key 'external.mysynth.root': '.*/nowhere' is not a folder"),
    ("unknown", "config key 'external.mysynth.root': .* holds folder\\(s\\) normal"),
    ("collides", "config key 'external.cgan.root': 'cgan' is a built-in generator"),
    ("too_few", "config key 'external.mysynth.root': 'mysynth' holds 3 benign, 3 malignant images, but the arms "
                "need 10"),
])
def test_a_dry_run_stops_on_external_mistakes_naming_the_key(tmp_path, case, message):
    root = tmp_path / ("nowhere" if case == "missing" else "set")
    if case != "missing":
        write_external(root, n_per_class=3)
    if case == "unknown":
        (root / "normal").mkdir()
    sections = {"synthesize": {"n_images": 20, "malignant_fraction": 0.5}} if case == "too_few" else {}
    overlay = _overlay(tmp_path, root, name="cgan" if case == "collides" else "mysynth", **sections)
    if case == "collides":
        overlay.write_text(yaml.safe_dump({"external": {"cgan": {"root": str(root)}}}))
    proc = snakemake(prepare_workdir(tmp_path / "work"), "-n", configfiles=(TINY, overlay), check=False)
    assert proc.returncode != 0
    assert pytest.importorskip("re").search(message, proc.stdout + proc.stderr), (proc.stdout + proc.stderr)[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.workflow
def test_too_small_n_images_stops_before_anything_trains(tmp_path):
    """An explicit synthesize.n_images below what the arms draw stops in check_synthetic_counts, right after the
    split, before any generator or classifier job starts."""
    overlay = tmp_path / "n_images.yaml"
    overlay.write_text(yaml.safe_dump({"synthesize": {"n_images": 3}}))
    workdir = prepare_workdir(tmp_path / "work")
    proc = snakemake(workdir, configfiles=(TINY, overlay), check=False)
    assert proc.returncode != 0
    log = (workdir / "logs/check_synthetic_counts.log").read_text()
    assert "config key 'synthesize.n_images': 3 images per generator, but arm" in log
    assert not (workdir / "logs/train_generator").exists() and not (workdir / "logs/train_classifier").exists()
    assert not (workdir / "results/gan").exists() and not (workdir / "results/classifiers").exists()
