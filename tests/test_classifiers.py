"""Every classifier builds at a small size with one sigmoid output; wrong sizes and weights are config errors."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from synthaug.errors import ConfigError  # noqa: E402
from synthaug.models.classifiers import build_classifier  # noqa: E402


@pytest.mark.parametrize(
    "name, size", [("simple_cnn", 32), ("vgg16", 32), ("densenet169", 32), ("inception_resnet_v2", 75)]
)
def test_every_model_builds_with_one_probability_output(name, size):
    model = build_classifier(name, size, learning_rate=1e-3)
    assert model.output_shape == (None, 1)
    assert model.input_shape == (None, size, size, 3)
    assert model.loss.name == "binary_crossentropy"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_inception_below_75_px_names_the_key():
    with pytest.raises(ConfigError, match=r"preprocess\.image_size.*use >= 75"):
        build_classifier("inception_resnet_v2", 64, learning_rate=1e-3)


def test_missing_weights_file_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"classifier\.weights.*not found"):
        build_classifier("vgg16", 32, learning_rate=1e-3, weights=str(tmp_path / "vgg16_notop.h5"))


def _failing_build(error):
    def build(*args, **kwargs):
        raise error

    return build


@pytest.mark.parametrize("error", [ValueError("a bug in the build"), KeyError("a bug"), OSError("a bug")])
def test_a_build_error_without_a_weights_file_is_not_blamed_on_one(monkeypatch, error):
    """classifier.weights is null: an error building the backbone is a bug, raised as itself with its traceback."""
    monkeypatch.setattr(keras.applications, "VGG16", _failing_build(error))
    with pytest.raises(type(error)) as raised:
        build_classifier("vgg16", 32, learning_rate=1e-3)
    assert raised.value is error and "weights file" not in str(raised.value)


def test_a_build_error_with_a_weights_file_is_still_a_bug(monkeypatch, tmp_path):
    path = tmp_path / "vgg16_notop.weights.h5"
    path.write_bytes(b"")
    monkeypatch.setattr(keras.applications, "VGG16", _failing_build(ValueError("a bug in the build")))
    with pytest.raises(ValueError, match="a bug in the build"):
        build_classifier("vgg16", 32, learning_rate=1e-3, weights=str(path))


def test_a_file_that_is_not_weights_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "vgg16_notop.weights.h5"
    path.write_bytes(b"not an HDF5 file")
    with pytest.raises(ConfigError, match=r"classifier\.weights\.vgg16.*is not a weights file of vgg16") as err:
        build_classifier("vgg16", 32, learning_rate=1e-3, weights=str(path))
    assert str(path) in str(err.value)


def test_an_unreadable_weights_file_is_left_to_the_fault_report(monkeypatch, tmp_path):
    """Permission denied on the file is the machine's fault, named by run_logged, not 'not a weights file'."""
    import errno

    path = tmp_path / "vgg16_notop.weights.h5"
    path.write_bytes(b"")

    def denied(self, filepath, *args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied", str(filepath))

    monkeypatch.setattr(keras.Model, "load_weights", denied)
    with pytest.raises(PermissionError):
        build_classifier("vgg16", 32, learning_rate=1e-3, weights=str(path))


def test_vgg16_applies_caffe_preprocessing_inside_the_model():
    model = build_classifier("vgg16", 32, learning_rate=1e-3)
    x = np.random.default_rng(0).random((1, 32, 32, 3)).astype("float32")
    inner = keras.Model(model.input, model.get_layer("rgb_to_bgr_minus_mean").output)
    expected = keras.applications.vgg16.preprocess_input(x * 255.0)
    np.testing.assert_allclose(inner.predict(x, verbose=0), expected, atol=1e-3)


def test_saved_model_loads_without_custom_objects(tmp_path):
    model = build_classifier("simple_cnn", 32, learning_rate=1e-3)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
