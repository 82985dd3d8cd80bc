"""The classifiers the study compares: its small CNN and three keras.applications backbones.

Every model takes images in [0, 1] (N, S, S, 3) and returns P(malignant) from one sigmoid unit (float32 under
mixed precision policies too). The backbones
(VGG16, DenseNet169, InceptionResNetV2) are built with ``include_top=False``, a global average pooling and a
Dense(1, sigmoid) head, and start from scratch unless a LOCAL weights file is given (``weights="imagenet"``
would download, which fails offline). Each backbone's ImageNet input convention is applied inside the model,
with serialisable built-in layers, so that ``model.keras`` loads with plain ``keras.models.load_model``:

- vgg16 ("caffe"): x * 255, RGB -> BGR, minus the ImageNet BGR channel means (a fixed, frozen 1x1 convolution);
- densenet169 ("torch"): (x - ImageNet mean) / ImageNet std per RGB channel;
- inception_resnet_v2 ("tf"): x * 2 - 1, i.e. [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..constants import MODELS
from ..errors import ConfigError

# The study's base model: three Conv2D + MaxPool blocks, then Dense + Dropout. Sized to stay fast on a CPU:
# on the default phantom at 64 px, (16, 32, 64) + 64 units trained 2.7x faster than (32, 64, 128) + 128
# (712 vs 264 img/s on 2 cores) for a test AUC within seed noise (0.745 vs 0.766, seed 0).
SIMPLE_CNN_FILTERS = (16, 32, 64)
SIMPLE_CNN_DENSE_UNITS = 64
SIMPLE_CNN_DROPOUT = 0.5

# Smallest input side each architecture accepts (keras.applications' own limits; InceptionResNetV2's stem
# of unpadded strided convolutions needs 75 px).
MIN_IMAGE_SIZE = {"simple_cnn": 16, "vgg16": 32, "densenet169": 32, "inception_resnet_v2": 75}

IMAGENET_MEAN_RGB = np.array([0.485, 0.456, 0.406])
IMAGENET_STD_RGB = np.array([0.229, 0.224, 0.225])
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])


def build_classifier(name: str, image_size: int, *, learning_rate: float, weights: str | None = None):
    """Build and compile classifier ``name`` for ``image_size`` px RGB inputs in [0, 1].

    Compiled with Adam(``learning_rate``), binary cross-entropy, and AUC / accuracy metrics.
    ``weights``: None (from scratch) or the path of a local weights file for the backbone (ignored, with a
    ConfigError, for simple_cnn, which has no pretrained weights).
    """
    import keras

    if name not in MODELS:
        raise ConfigError("experiment.models", f"unknown model '{name}'; choose from {list(MODELS)}")
    if image_size < MIN_IMAGE_SIZE[name]:
        raise ConfigError(
            "preprocess.image_size",
            f"{name} needs inputs of at least {MIN_IMAGE_SIZE[name]} px but the images are {image_size} px; "
            f"use >= {MIN_IMAGE_SIZE[name]}",
        )
    inputs = keras.Input((image_size, image_size, 3), name="image")
    if name == "simple_cnn":
        if weights is not None:
            raise ConfigError("classifier.weights", "simple_cnn has no pretrained weights; set it to null")
        outputs = _simple_cnn_head(inputs)
    else:
        outputs = _application_head(name, inputs, _weights_path(weights))
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
        # "auto": XLA-compiled steps on JAX (jit_compile=False ran JAX op by op, 8x slower than torch on a GPU);
        # TensorFlow on CPU and PyTorch stay uncompiled (XLA was slower than TF's own kernels on CPU).
        jit_compile="auto",
    )
    return model


def _weights_path(weights: str | None) -> str | None:
    if weights is None:
        return None
    if not Path(weights).is_file():
        raise ConfigError(
            "classifier.weights",
            f"weights file '{weights}' not found; give the path of a local no-top weights file, or null to train "
            "from scratch (ImageNet weights cannot be downloaded offline)",
        )
    return str(weights)


def _simple_cnn_head(x):
    from keras import layers

    for filters in SIMPLE_CNN_FILTERS:
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(SIMPLE_CNN_DENSE_UNITS, activation="relu")(x)
    x = layers.Dropout(SIMPLE_CNN_DROPOUT)(x)
    return layers.Dense(1, activation="sigmoid", name="p_malignant", dtype="float32")(x)


def _application_head(name: str, inputs, weights: str | None):
    import keras
    from keras import layers

    x = _imagenet_preprocessing(name, inputs)
    application = {
        "vgg16": keras.applications.VGG16,
        "densenet169": keras.applications.DenseNet169,
        "inception_resnet_v2": keras.applications.InceptionResNetV2,
    }[name]
    try:
        backbone = application(include_top=False, weights=weights, input_shape=tuple(inputs.shape[1:]))
    except ValueError as exc:
        raise ConfigError("classifier.weights", f"'{weights}' does not fit {name} without its top ({exc})") from exc
    x = backbone(x)
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(1, activation="sigmoid", name="p_malignant", dtype="float32")(x)


def _imagenet_preprocessing(name: str, x):
    """Map [0, 1] RGB to the input range the backbone's ImageNet weights were trained on (see module docstring)."""
    from keras import layers

    if name == "inception_resnet_v2":
        return layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(x)
    if name == "densenet169":
        return layers.Normalization(mean=IMAGENET_MEAN_RGB, variance=IMAGENET_STD_RGB**2, name="imagenet_norm")(x)
    x = layers.Rescaling(255.0, name="to_0_255")(x)
    to_bgr = layers.Conv2D(3, 1, trainable=False, name="rgb_to_bgr_minus_mean")
    x = to_bgr(x)
    to_bgr.set_weights([np.eye(3)[::-1].reshape(1, 1, 3, 3), -CAFFE_MEAN_BGR])
    return x
