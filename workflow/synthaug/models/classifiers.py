"""The classifiers the study compares: its small CNN and three keras.applications backbones.

Every model takes images in [0, 1] (N, S, S, 3) and returns P(malignant) from one sigmoid unit (float32 under
mixed precision policies too); a k-class one (``n_classes`` > 2) returns the k class probabilities from a k-way
softmax instead, trained with sparse categorical cross-entropy. The backbones
(VGG16, DenseNet169, InceptionResNetV2) are built with ``include_top=False``, a global average pooling and that
head, and start from scratch unless a LOCAL weights file is given (``weights="imagenet"``
would download, which fails offline). Each backbone's ImageNet input convention is applied inside the model,
with serialisable built-in layers, so that ``model.keras`` loads with plain ``keras.models.load_model``:

- vgg16 ("caffe"): x * 255, RGB -> BGR, minus the ImageNet BGR channel means (a fixed, frozen 1x1 convolution);
- densenet169 ("torch"): (x - ImageNet mean) / ImageNet std per RGB channel;
- inception_resnet_v2 ("tf"): x * 2 - 1, i.e. [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import faults
from ..constants import MIN_IMAGE_SIZE, MODELS
from ..errors import ConfigError

# The study's base model: three Conv2D + MaxPool blocks, then Dense + Dropout. Sized to stay fast on a CPU:
# on the default phantom at 64 px, (16, 32, 64) + 64 units trained 2.7x faster than (32, 64, 128) + 128
# (712 vs 264 img/s on 2 cores) for a test AUC within seed noise (0.745 vs 0.766, seed 0).
SIMPLE_CNN_FILTERS = (16, 32, 64)
SIMPLE_CNN_DENSE_UNITS = 64
SIMPLE_CNN_DROPOUT = 0.5


IMAGENET_MEAN_RGB = np.array([0.485, 0.456, 0.406])
IMAGENET_STD_RGB = np.array([0.229, 0.224, 0.225])
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])


# The file keras.applications loads for each backbone's ImageNet weights without the top (what
# classifier.weights.<model> should point at), and where Keras downloads it from.
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
IMAGENET_NO_TOP = {
    "vgg16": "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "densenet169": "densenet/densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "inception_resnet_v2": "inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


def imagenet_weights_hint(name: str) -> str:
    """Which file the backbone ``name`` expects and where to get it (for error messages and the README)."""
    url = KERAS_WEIGHTS_URL + IMAGENET_NO_TOP[name]
    return f"Keras' ImageNet no-top file for {name} is {Path(url).name}; on a machine with internet: wget {url}"


def build_classifier(name: str, image_size: int, *, learning_rate: float, weights: str | None = None,
                     architecture: dict | None = None, freeze_backbone: bool = False, n_classes: int = 2):
    """Build and compile classifier ``name`` for ``image_size`` px RGB inputs in [0, 1].

    Compiled with Adam(``learning_rate``), binary cross-entropy, and AUC / accuracy metrics.
    ``weights``: None (from scratch) or the path of a local weights file for the backbone (ignored, with a
    ConfigError, for simple_cnn, which has no pretrained weights).
    ``architecture``: simple_cnn's filters (of the first block; doubled per block), dense_units, dropout and
    activation, each optional (the defaults above otherwise). ``freeze_backbone``: a backbone's weights stay
    fixed and only the new head trains (the "fixed base" of transfer learning). ``n_classes``: 2 = one sigmoid
    unit (P(class 1)); k > 2 = a k-way softmax.
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
        outputs = _simple_cnn_head(inputs, **(architecture or {}), n_classes=n_classes)
    else:
        outputs = _application_head(name, inputs, _weights_path(name, weights), freeze_backbone, n_classes)
    model = keras.Model(inputs, outputs, name=name)
    compile_classifier(model, learning_rate)
    return model


def n_outputs(model) -> int:
    """The classes a classifier tells apart: 2 for one sigmoid unit, else its softmax's width."""
    width = int(model.outputs[0].shape[-1])
    return 2 if width == 1 else width


def compile_classifier(model, learning_rate: float) -> None:
    """(Re)compile ``model`` as every classifier is: Adam, binary cross-entropy, accuracy and AUC (a k-class one:
    sparse categorical cross-entropy and accuracy; its macro AUC is measured on the validation split by train.py)."""
    import keras

    if n_outputs(model) == 2:
        loss = keras.losses.BinaryCrossentropy()
        metrics = [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=metrics,
        # "auto": XLA-compiled steps on JAX (jit_compile=False ran JAX op by op, 8x slower than torch on a GPU);
        # TensorFlow on CPU and PyTorch stay uncompiled (XLA was slower than TF's own kernels on CPU).
        jit_compile="auto",
    )
    # The optimizer's variables now, not in the first training step: on TensorFlow a step that creates variables
    # is traced twice (about 0.8 s of CPU per training on the tiny config); the values are the same either way.
    model.optimizer.build(model.trainable_variables)


def backbone_of(model):
    """The keras.applications backbone nested in a classifier built by :func:`build_classifier`."""
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ValueError(f"{model.name} has no single backbone to freeze or fine-tune")
    return nested[0]


def check_weights_files(weights: dict, models) -> None:
    """Stop before anything runs if a model of ``models`` names a weights file (``weights[model]``) that is not there."""
    for model in models:
        _weights_path(model, weights.get(model))


def _weights_path(name: str, weights: str | None) -> str | None:
    if weights is None:
        return None
    if not Path(weights).is_file():
        raise ConfigError(
            f"classifier.weights.{name}",
            f"weights file '{weights}' not found (relative paths start in the working directory); give the path of "
            f"a local no-top weights file, or null to train from scratch (ImageNet weights cannot be downloaded "
            f"offline). {imagenet_weights_hint(name)}",
        )
    return str(weights)


def _output(x, n_classes: int):
    """The head's last layer: one sigmoid unit, P(class 1), for two classes; a k-way softmax for k > 2."""
    from keras import layers

    if n_classes == 2:
        return layers.Dense(1, activation="sigmoid", name="p_malignant", dtype="float32")(x)
    return layers.Dense(n_classes, activation="softmax", name="p_class", dtype="float32")(x)


def _simple_cnn_head(x, filters: int = SIMPLE_CNN_FILTERS[0], dense_units: int = SIMPLE_CNN_DENSE_UNITS,
                     dropout: float = SIMPLE_CNN_DROPOUT, activation: str = "relu", n_classes: int = 2):
    from keras import layers

    for block in range(len(SIMPLE_CNN_FILTERS)):
        x = layers.Conv2D(filters * 2**block, 3, padding="same", activation=activation)(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, activation=activation)(x)
    x = layers.Dropout(dropout)(x)
    return _output(x, n_classes)


def _application_head(name: str, inputs, weights: str | None, freeze_backbone: bool = False, n_classes: int = 2):
    import keras
    from keras import layers

    x = _imagenet_preprocessing(name, inputs)
    application = {
        "vgg16": keras.applications.VGG16,
        "densenet169": keras.applications.DenseNet169,
        "inception_resnet_v2": keras.applications.InceptionResNetV2,
    }[name]
    # Built from scratch, then given the file's weights (what keras.applications does with a path): only an error
    # of that loading is the user's file; one of the build is a bug and keeps its traceback.
    backbone = application(include_top=False, weights=None, input_shape=tuple(inputs.shape[1:]))
    if weights is not None:
        _load_backbone_weights(backbone, name, weights)
    backbone.trainable = not freeze_backbone
    x = backbone(x)
    x = layers.GlobalAveragePooling2D()(x)
    return _output(x, n_classes)


def _load_backbone_weights(backbone, name: str, weights: str) -> None:
    """Load the user's weights file into ``backbone``; a file that is not its weights is a ConfigError naming it."""
    try:
        backbone.load_weights(weights)
    except (ValueError, KeyError, OSError) as exc:
        if faults.find(exc) is not None:  # a fault of the machine (permissions, memory): named by run_logged
            raise
        raise ConfigError(
            f"classifier.weights.{name}",
            f"'{weights}' is not a weights file of {name} without its top ({exc}). {imagenet_weights_hint(name)}",
        ) from exc


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
