"""Transfer learning: a local weights file arrives in the backbone, the fixed base does not move in stage 1,
fine-tuning unfreezes only the top layers, both stages resume from their checkpoints, and bad files stop with
the config key and the file named. Weights files are written by the tests (no download); tiny sizes."""

import numpy as np
import pytest
from fixtures.arrays import separable_images

keras = pytest.importorskip("keras")

from synthaug.errors import ConfigError  # noqa: E402
from synthaug.models.classifiers import backbone_of, build_classifier  # noqa: E402
from synthaug.transfer import STAGES, train_run, train_transfer, unfreeze_top  # noqa: E402

SIZE = 32


TRAIN, VAL = separable_images(24, 0), separable_images(16, 1)


def _settings(fine_tune=False, fine_tune_epochs=1, weights=None):
    return {"epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "patience": 2, "synthetic_ratio": 0.5,
            "weights": {"vgg16": weights, "densenet169": None, "inception_resnet_v2": None},
            "fine_tune": {"enabled": fine_tune, "epochs": fine_tune_epochs, "learning_rate": 1e-4, "layers": 4}}


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    """A VGG16 no-top weights file with recognisable (seeded, non-default) values, as a user would download."""
    keras.utils.set_random_seed(123)
    backbone = keras.applications.VGG16(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))
    backbone.set_weights([w + 0.01 for w in backbone.get_weights()])  # differs from any fresh initialisation
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    backbone.save_weights(path)
    return path, [w.copy() for w in backbone.get_weights()]


def _assert_equal(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


def test_fixed_base_loads_the_file_and_does_not_move(vgg16_file, tmp_path):
    path, saved = vgg16_file
    model, history = train_run("vgg16", TRAIN, VAL, settings=_settings(weights=str(path)), seed=0,
                               checkpoint_dir=tmp_path / "checkpoint", threads=2)
    backbone = backbone_of(model)
    _assert_equal(backbone.get_weights(), saved)  # arrived, and stage 1 left them alone
    assert not backbone.trainable
    assert history["stage"].tolist() == [STAGES[0]]
    head = model.get_layer("p_malignant")
    assert [v.path for v in model.trainable_variables] == [v.path for v in head.trainable_variables]


def test_unfreeze_top_makes_only_the_top_layers_trainable(vgg16_file):
    path, _ = vgg16_file
    model = build_classifier("vgg16", SIZE, learning_rate=1e-3, weights=str(path), freeze_backbone=True)
    unfreeze_top(model, 4)
    backbone = backbone_of(model)
    trainable = [layer.name for layer in backbone.layers if layer.trainable]
    assert trainable == [layer.name for layer in backbone.layers[-4:]]
    assert trainable[0] == "block5_conv1"
    # block 5's three convolutions (kernel + bias each), plus the head's kernel and bias
    assert len(model.trainable_variables) == 3 * 2 + 2


def test_fine_tuning_resumes_inside_its_stage(vgg16_file, tmp_path):
    path, saved = vgg16_file
    reference, ref_history = train_transfer("vgg16", TRAIN, VAL, settings=_settings(True, 2), weights=str(path),
                                            seed=0, checkpoint_dir=tmp_path / "whole", threads=2)
    # An interrupted run: both stages' checkpoints hold one epoch; the rerun restores stage 1 and continues stage 2.
    train_transfer("vgg16", TRAIN, VAL, settings=_settings(True, 1), weights=str(path), seed=0,
                   checkpoint_dir=tmp_path / "parts", threads=2)
    assert (tmp_path / "parts" / STAGES[0]).is_dir() and (tmp_path / "parts" / STAGES[1]).is_dir()
    resumed, history = train_transfer("vgg16", TRAIN, VAL, settings=_settings(True, 2), weights=str(path),
                                      seed=0, checkpoint_dir=tmp_path / "parts", threads=2)
    assert history["stage"].tolist() == [STAGES[0], STAGES[1], STAGES[1]]
    np.testing.assert_allclose(history["val_auc"], ref_history["val_auc"], atol=1e-6)
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # Fine-tuning moved block 5 (or was discarded for a worse validation AUC, leaving the file's weights).
    conv = backbone_of(resumed).get_layer("block5_conv3").get_weights()[0]
    stage2_better = history.loc[history["stage"] == STAGES[1], "val_auc"].max() >= history["val_auc"].iloc[0]
    assert (not np.array_equal(conv, saved[-2])) == stage2_better


def test_missing_file_names_the_key_and_the_file(tmp_path):
    missing = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(ConfigError, match=r"classifier\.weights\.vgg16.*not found") as err:
        build_classifier("vgg16", SIZE, learning_rate=1e-3, weights=str(missing))
    assert str(missing) in str(err.value) and "storage.googleapis.com" in str(err.value)


def test_mismatched_file_names_the_key_and_the_file(vgg16_file):
    path, _ = vgg16_file
    with pytest.raises(ConfigError, match=r"classifier\.weights\.densenet169") as err:
        build_classifier("densenet169", SIZE, learning_rate=1e-3, weights=str(path))
    assert str(path) in str(err.value) and "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(err.value)


def test_inception_resnet_v2_fixed_base_trains_only_its_head(tmp_path):
    """Built, never trained: its file loads and freezing leaves the head's two variables trainable."""
    backbone = keras.applications.InceptionResNetV2(include_top=False, weights=None, input_shape=(75, 75, 3))
    path = tmp_path / "irv2_notop.weights.h5"
    backbone.save_weights(path)
    model = build_classifier("inception_resnet_v2", 75, learning_rate=1e-3, weights=str(path), freeze_backbone=True)
    _assert_equal(backbone_of(model).get_weights()[:4], backbone.get_weights()[:4])
    assert len(model.trainable_variables) == 2
