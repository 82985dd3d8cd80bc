"""Pre-training on synthetic images (pretrain-{g}-r{r}) and its equal-compute control (pretrain_augmented-r{r}):
names, the pre-training and fine-tuning sets (counts, sources, no real, validation or test image pre-trained on),
the comparison rows, the two stages (no validation in the first, resumed inside either, common random numbers).
The arms through the workflow: tests/test_kclass_workflow.py (every arm kind, both stages logged in order)."""

import numpy as np
import pytest

from synthaug.arms import Arm, assemble_arm, assemble_pretraining, experiment_arms, synthetic_needed
from synthaug.arm_names import more_augmented_copies, synthetic_draws
from synthaug.errors import ConfigError, UserError
from synthaug.summary import comparison_pairs, describe_arm, row_base

SIZE = 8


def _bundle(n, n_malignant, value, size=SIZE, **extra):
    labels = np.array([1] * n_malignant + [0] * (n - n_malignant))
    return {"images": np.full((n, size, size, 3), value, np.float32), "labels": labels, **extra}


TRAIN = _bundle(100, 40, 0.1)
SYNTHETIC = _bundle(120, 40, 0.3)
# The augmented bundle: 100 copies in the augmented set (0.2), 100 further copies (0.25) made beside it.
AUGMENTED = {"images": np.concatenate([np.full((100, SIZE, SIZE, 3), 0.2, np.float32),
                                       np.full((100, SIZE, SIZE, 3), 0.25, np.float32)]),
             "labels": np.r_[TRAIN["labels"], TRAIN["labels"]], "base": np.r_[np.ones(100, bool), np.zeros(100, bool)]}
ARMS = ["baseline", "augmented", "combined-cgan-r0.5", "augmented_extra-r0.5", "augmented_more_real-r0.5",
        "synthetic_only-cgan", "pretrain-cgan-r0.5", "pretrain-ddpm-r0.5", "pretrain_augmented-r0.5"]


def _counts(source):
    return {s: int((source == s).sum()) for s in np.unique(source)}


def test_names_take_a_generator_and_a_ratio_like_the_other_synthetic_arms():
    assert Arm.parse("pretrain-cgan-r0.5") == Arm("pretrain", "cgan", 0.5)
    assert Arm.parse("pretrain_augmented-r0.5") == Arm("pretrain_augmented", None, 0.5)
    assert Arm.parse("pretrain-augmented-r1").generator == "augmented"  # a generator's name, not the control
    for name in ("pretrain-cgan", "pretrain-r0.5", "pretrain_augmented", "pretrain_augmented-cgan-r0.5",
                 "pretrain-cgan-r0.5-f0.5"):
        with pytest.raises(ConfigError):
            Arm.parse(name)
    experiment = {"arms": ["augmented", "pretrain", "pretrain_augmented"], "generators": ["cgan", "ddpm"],
                  "dose_ratios": [1.0]}  # not a dose kind: the sweep leaves them alone
    arms = experiment_arms(experiment, 0.5)
    assert arms == ["augmented", "pretrain-cgan-r0.5", "pretrain-ddpm-r0.5", "pretrain_augmented-r0.5"]
    assert synthetic_needed(experiment, 0.5) == 0.5  # synthesize.n_images: auto makes the pre-training images
    assert synthetic_draws(arms, 100) == ("pretrain-ddpm-r0.5", 50)
    assert more_augmented_copies(arms) == 1 and more_augmented_copies(["pretrain_augmented-r1.5"]) == 2


def test_both_fine_tune_on_the_augmented_arms_images():
    augmented = assemble_arm("augmented", TRAIN, augmented=AUGMENTED)
    for arm in ("pretrain-cgan-r0.5", "pretrain_augmented-r0.5"):
        fine_tune = assemble_arm(arm, TRAIN, augmented=AUGMENTED, synthetic=SYNTHETIC, seed=3)
        for mine, theirs in zip(fine_tune, augmented):
            np.testing.assert_array_equal(mine, theirs)


def test_pretraining_sets_hold_as_many_images_of_their_own_source_and_nothing_else():
    images, labels, source = assemble_pretraining("pretrain-cgan-r0.5", TRAIN, AUGMENTED, SYNTHETIC, seed=3)
    control, control_labels, control_source = assemble_pretraining("pretrain_augmented-r0.5", TRAIN, AUGMENTED,
                                                                   SYNTHETIC, seed=3)
    assert _counts(source) == {"synthetic": 50} and _counts(control_source) == {"more_augmented": 50}
    assert labels.sum() == round(50 * 40 / 120) and control_labels.sum() == 20  # each source's class mix
    np.testing.assert_allclose(images, 0.3)  # the generator's images only: no real image is pre-trained on
    np.testing.assert_allclose(control, 0.25)  # only the further copies: none the fine-tuning set holds
    # The very images synthetic-cgan-r0.5 adds (same draw), so the pretrain and mixing arms share generator output.
    _, mixed_labels, mixed_source = assemble_arm("synthetic-cgan-r0.5", TRAIN, synthetic=SYNTHETIC, seed=3)
    np.testing.assert_array_equal(mixed_labels[mixed_source == "synthetic"], labels)
    assert assemble_pretraining("combined-cgan-r0.5", TRAIN, AUGMENTED, SYNTHETIC) is None
    # Validation or test images cannot be passed: the function takes training bundles only.
    with pytest.raises(TypeError):
        assemble_pretraining("pretrain-cgan-r0.5", TRAIN, AUGMENTED, SYNTHETIC, val=TRAIN)


def test_missing_or_too_few_pretraining_images_are_clear_errors():
    with pytest.raises(UserError, match="pre-trains on synthetic images"):
        assemble_pretraining("pretrain-cgan-r0.5", TRAIN, augmented=AUGMENTED)
    with pytest.raises(UserError, match="further augmented copies"):
        assemble_pretraining("pretrain_augmented-r1.5", TRAIN, augmented=AUGMENTED)
    with pytest.raises(UserError, match="synthesize.n_images"):
        assemble_pretraining("pretrain-cgan-r2", TRAIN, AUGMENTED, SYNTHETIC)


def test_comparison_rows_come_last_and_are_secondary():
    rows = comparison_pairs(ARMS, 0.5)
    roles = [r[3] for r in rows]
    assert roles[:2] == ["positive_control", "primary"]  # the gatekeepers stay first
    pretrain_rows = [(a, c) for a, c, _, _ in rows if "pretrain" in a]
    assert pretrain_rows == [("pretrain-cgan-r0.5", "pretrain_augmented-r0.5"), ("pretrain-cgan-r0.5", "augmented"),
                             ("pretrain-ddpm-r0.5", "pretrain_augmented-r0.5"), ("pretrain-ddpm-r0.5", "augmented"),
                             ("pretrain_augmented-r0.5", "augmented")]  # fmt: skip
    assert [r[:2] for r in rows[-5:]] == pretrain_rows and set(roles[-5:]) == {"secondary"}
    questions = {(a, c): q for a, c, q, _ in rows}
    assert questions[("pretrain-cgan-r0.5", "pretrain_augmented-r0.5")] == (
        "Does pre-training on cgan images beat pre-training on as many augmented copies?")
    assert all(row_base(a, c) == "augmented" for a, c in pretrain_rows)
    assert "pre-trained on 50 cgan images" in describe_arm("pretrain-cgan-r0.5", 100)
    # Without its control or augmented, a pretrain arm has nothing to be compared with.
    assert comparison_pairs(["pretrain-cgan-r0.5"], 0.5) == []


def test_a_backbone_with_a_weights_file_stops_before_anything_runs():
    from synthaug import preflight

    config = {"preprocess": {"image_size": 64}, "experiment": {"models": ["simple_cnn", "vgg16"], "generators": [],
              "arms": ["augmented", "pretrain"]}, "classifier": {"weights": {"vgg16": "vgg16.h5"}}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"classifier\.weights.*pretrain"):
        preflight.check_models(config, False)
    preflight.check_models({**config, "experiment": {**config["experiment"], "arms": ["augmented"]}}, False)


# --- the two stages ---------------------------------------------------------------------------------------------------

keras = pytest.importorskip("keras")

from synthaug import pretrain as pretrain_module  # noqa: E402
from synthaug import train as train_module  # noqa: E402
from synthaug.arms import run_randomness  # noqa: E402
from synthaug.pretrain import STAGES  # noqa: E402
from synthaug.train import train_classifier  # noqa: E402
from synthaug.transfer import train_run  # noqa: E402

PIXELS, BATCH = 16, 8


def _ids(n, seed, **extra):
    """Images whose first pixel is a unique id (seed * 1000 + index), labels alternating."""
    rng = np.random.default_rng(seed)
    images = rng.random((n, PIXELS, PIXELS, 3)).astype(np.float32)
    images[:, 0, 0, 0] = seed * 1000 + np.arange(n)
    return {"images": images, "labels": np.arange(n) % 2, **extra}


# Batches of 8 divide every set (16 pre-training images, 64 fine-tuning ones): one traced step shape per stage.
REAL, VAL = _ids(32, 1), _ids(12, 2)
AUGMENTED_IDS = _ids(64, 3, base=np.r_[np.ones(32, bool), np.zeros(32, bool)])
SYNTHETIC_IDS = _ids(32, 5)
BUNDLES = {"augmented": AUGMENTED_IDS, "synthetic": SYNTHETIC_IDS}


def _settings(pretrain_epochs=2, epochs=2):
    return {"epochs": epochs, "batch_size": BATCH, "learning_rate": 1e-3, "patience": 5, "synthetic_ratio": 0.5,
            "weights": {"vgg16": None}, "pretrain": {"epochs": pretrain_epochs, "learning_rate": 2e-3}}


def _run(arm, folder, settings=None, common=True):
    images, labels, source = assemble_arm(arm, REAL, seed=0, **BUNDLES)
    pretraining = assemble_pretraining(arm, REAL, seed=0, **BUNDLES)
    return train_run("simple_cnn", (images, labels), (VAL["images"], VAL["labels"]), settings=settings or _settings(),
                     checkpoint_dir=folder, threads=1, pretraining=pretraining[:2],
                     **run_randomness(arm, source, 0, common))  # fmt: skip


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of pretrain-cgan-r0.5: (model, history, {stage: the image ids of each epoch in order})."""
    seen = {stage: [] for stage in STAGES}

    def recording(stage, run_epoch):
        def record(model, arrays, order, batch_size, flag=None):
            seen[stage].append(arrays[0][order, 0, 0, 0])
            return run_epoch(model, arrays, order, batch_size, flag)

        return record

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrain_module, "run_epoch", recording(STAGES[0], pretrain_module.run_epoch))
        patch.setattr(train_module, "run_epoch", recording(STAGES[1], train_module.run_epoch))
        model, history = _run("pretrain-cgan-r0.5", tmp_path_factory.mktemp("whole") / "checkpoint")
    return model, history, seen


def test_stage_one_sees_only_the_pretraining_images_and_stage_two_is_chosen_on_validation(reference):
    _, history, seen = reference
    assert len(seen[STAGES[0]]) == 2  # the two pre-training epochs, each over the 16 drawn synthetic images
    for ids in seen[STAGES[0]]:
        assert len(ids) == 16 and set(ids) <= set(SYNTHETIC_IDS["images"][:, 0, 0, 0])
    assert history["stage"].tolist() == [STAGES[0]] * 2 + [STAGES[1]] * 2
    assert history.loc[history["stage"] == STAGES[0], "val_auc"].isna().all()  # no validation in stage 1
    assert history.loc[history["stage"] == STAGES[1], "val_auc"].notna().all()


def test_a_run_resumes_inside_either_stage_and_ends_as_an_uninterrupted_one(reference, tmp_path):
    model, ref_history, _ = reference
    # Stopped after one pre-training epoch (a shorter schedule stands in for the kill): its fine-tuning checkpoint
    # came from other pre-trained weights and must be discarded when stage 1 resumes.
    _run("pretrain-cgan-r0.5", tmp_path, _settings(pretrain_epochs=1, epochs=1))
    _run("pretrain-cgan-r0.5", tmp_path, _settings(epochs=1))  # stage 1 resumed, stage 2 stopped after one epoch
    assert (tmp_path / STAGES[0]).is_dir() and (tmp_path / STAGES[1]).is_dir()
    resumed, history = _run("pretrain-cgan-r0.5", tmp_path)  # stage 1 restored, stage 2 resumed
    assert history["stage"].tolist() == ref_history["stage"].tolist()
    np.testing.assert_allclose(history["val_auc"], ref_history["val_auc"], atol=1e-6)
    np.testing.assert_allclose(history["loss"], ref_history["loss"], rtol=1e-5)
    for a, b in zip(resumed.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def _first_batch(arm, monkeypatch, tmp_path):
    """(initial weights, ids of the first batch) of ``arm``'s run, stopped at its first batch (a pretrain arm's in
    its pre-training stage)."""
    seen = {}
    pretrains = Arm.parse(arm).pretraining is not None

    def record(model, arrays, order, batch_size, flag=None):
        seen.update(weights=model.get_weights(), ids=arrays[0][order[:batch_size], 0, 0, 0])
        raise Stop

    monkeypatch.setattr(pretrain_module if pretrains else train_module, "run_epoch", record)
    with pytest.raises(Stop):
        if pretrains:
            _run(arm, tmp_path / arm)
        else:
            images, labels, source = assemble_arm(arm, REAL, seed=0, **BUNDLES)
            train_classifier("simple_cnn", (images, labels), (VAL["images"], VAL["labels"]), epochs=1,
                             batch_size=BATCH, learning_rate=1e-3, patience=2, weights=None,
                             checkpoint_dir=tmp_path / arm, threads=1, **run_randomness(arm, source, 0))
    monkeypatch.undo()
    return seen


def test_common_random_numbers_share_initial_weights_pretraining_positions_and_the_fine_tuning_order(
        reference, monkeypatch, tmp_path):
    augmented = _first_batch("augmented", monkeypatch, tmp_path)
    synthetic = _first_batch("pretrain-cgan-r0.5", monkeypatch, tmp_path)
    control = _first_batch("pretrain_augmented-r0.5", monkeypatch, tmp_path)
    for a, b, c in zip(augmented["weights"], synthetic["weights"], control["weights"]):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    pretraining = {arm: assemble_pretraining(arm, REAL, seed=0, **BUNDLES)[0][:, 0, 0, 0]
                   for arm in ("pretrain-cgan-r0.5", "pretrain_augmented-r0.5")}  # fmt: skip
    positions = [np.searchsorted(pretraining[arm], batch["ids"])
                 for arm, batch in (("pretrain-cgan-r0.5", synthetic), ("pretrain_augmented-r0.5", control))]
    np.testing.assert_array_equal(*positions)  # the i-th drawn image of either set at the same step
    # Stage 2 visits the augmented arm's images in the augmented arm's order.
    np.testing.assert_array_equal(reference[2][STAGES[1]][0][:BATCH], augmented["ids"])


def test_a_backbone_with_a_weights_file_is_refused(tmp_path):
    settings = {**_settings(), "weights": {"vgg16": str(tmp_path / "vgg16.h5")}}
    with pytest.raises(ConfigError, match="classifier.weights"):
        train_run("vgg16", (REAL["images"], REAL["labels"]), (VAL["images"], VAL["labels"]), settings=settings,
                  seed=0, checkpoint_dir=tmp_path, threads=1, pretraining=(REAL["images"], REAL["labels"]))
