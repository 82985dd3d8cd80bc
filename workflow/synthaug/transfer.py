"""Transfer learning as the study did it: a fixed ImageNet backbone with a new head, then optional fine-tuning.

Stage 1 ("fixed_base") builds the backbone from a local weights file, freezes it and trains only the new head
(global average pooling + Dense(1, sigmoid)) with ``classifier.learning_rate``. Stage 2 ("fine_tune", when
``classifier.fine_tune.enabled``) unfreezes the backbone's top ``layers`` layers (BatchNormalization layers stay
frozen, in inference mode) and trains on at a lower learning rate. Each stage is one
:func:`synthaug.train.train_classifier` run with its own checkpoint folder, so a preempted job resumes inside
the stage it was in (a finished stage 1 is restored from its checkpoint at once). The weights kept are those of
the stage with the better validation AUC: fine-tuning that does not help is discarded.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from .backends import training_settings
from .errors import ConfigError
from .models.classifiers import backbone_of, build_classifier, compile_classifier
from .train import train_classifier

log = logging.getLogger("synthaug")

STAGES = ("fixed_base", "fine_tune")


def unfreeze_top(model, n_layers: int) -> None:
    """Make the backbone's last ``n_layers`` layers trainable (BatchNormalization excepted), the rest frozen."""
    import keras

    backbone = backbone_of(model)
    backbone.trainable = True
    first = len(backbone.layers) - n_layers
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= first and not isinstance(layer, keras.layers.BatchNormalization)


def train_transfer(model_name, arm_data, val, *, settings: dict, weights: str, seed: int, checkpoint_dir,
                   threads: int, compute: dict | None = None, blocks=None, n_classes: int = 2):
    """Train ``model_name`` from ``weights`` in one or two stages; returns (model, history with a stage column).

    ``settings`` is the config's ``classifier`` section (epochs, batch_size, learning_rate, patience, fine_tune);
    ``blocks`` as in :func:`synthaug.train.train_classifier`.
    """
    image_size = arm_data[0].shape[1]
    common = dict(batch_size=settings["batch_size"], patience=settings["patience"], seed=seed, weights=weights,
                  threads=threads, blocks=blocks, **training_settings(compute))
    folder = Path(checkpoint_dir)
    model, history = train_classifier(
        model_name, arm_data, val, epochs=settings["epochs"], learning_rate=settings["learning_rate"],
        checkpoint_dir=folder / STAGES[0], **common,
        build_model=lambda: build_classifier(model_name, image_size, learning_rate=settings["learning_rate"],
                                             weights=weights, freeze_backbone=True, n_classes=n_classes),
    )
    history.insert(0, "stage", STAGES[0])
    fine_tune = settings["fine_tune"]
    if not fine_tune["enabled"]:
        return model, history
    fixed_base_weights = model.get_weights()

    def unfrozen():
        unfreeze_top(model, fine_tune["layers"])
        compile_classifier(model, fine_tune["learning_rate"])
        return model

    model, tuned = train_classifier(
        model_name, arm_data, val, epochs=fine_tune["epochs"], learning_rate=fine_tune["learning_rate"],
        checkpoint_dir=folder / STAGES[1], build_model=unfrozen, **common,
    )
    tuned.insert(0, "stage", STAGES[1])
    if tuned["val_auc"].max() < history["val_auc"].max():
        log.info("fine-tuning did not beat the fixed base on validation AUC; keeping the fixed base's weights")
        model.set_weights(fixed_base_weights)
    return model, pd.concat([history, tuned], ignore_index=True)


def train_run(model_name, arm_data, val, *, settings: dict, seed: int, checkpoint_dir, threads: int,
              tuned: dict | None = None, compute: dict | None = None, blocks=None, pretraining=None,
              n_classes: int = 2):
    """Train one run's classifier as the config asks; returns (model, history).

    ``simple_cnn_tuned`` is the simple CNN with the parameters of ``tuned`` (best_params.json's ``params``);
    a backbone with a weights file in ``settings["weights"]`` is trained by :func:`train_transfer`; anything
    else from scratch, in one stage. ``blocks``: the arm's image blocks (:func:`synthaug.train.train_classifier`).
    ``pretraining``: (images, labels) of a two-stage arm's pre-training set (:mod:`synthaug.pretrain`), with
    ``settings["pretrain"]`` its schedule; ``arm_data`` is then the set it fine-tunes on. ``n_classes``: 2 (binary)
    or k > 2 (a k-way softmax head).
    """
    from .tune import split_params

    common = dict(patience=settings["patience"], seed=seed, checkpoint_dir=checkpoint_dir, threads=threads,
                  blocks=blocks, **training_settings(compute))
    if n_classes != 2:
        common["n_classes"] = n_classes
    if pretraining is not None:
        return _pretrained_run(model_name, pretraining, arm_data, val, settings=settings, tuned=tuned, **common)
    if model_name == "simple_cnn_tuned":
        if tuned is None:
            raise ValueError("simple_cnn_tuned needs the tuned parameters (results/tune/simple_cnn/best_params.json)")
        architecture, training = split_params(tuned, settings)
        image_size = arm_data[0].shape[1]
        return train_classifier(
            "simple_cnn", arm_data, val, epochs=settings["epochs"], weights=None, **training, **common,
            build_model=lambda: build_classifier("simple_cnn", image_size, learning_rate=training["learning_rate"],
                                                 architecture=architecture, n_classes=n_classes),
        )
    weights = (settings.get("weights") or {}).get(model_name)
    if weights is not None:
        return train_transfer(model_name, arm_data, val, settings=settings, weights=weights, seed=seed,
                              checkpoint_dir=checkpoint_dir, threads=threads, compute=compute, blocks=blocks,
                              n_classes=n_classes)
    return train_classifier(model_name, arm_data, val, epochs=settings["epochs"], batch_size=settings["batch_size"],
                            learning_rate=settings["learning_rate"], weights=None, **common)


def _pretrained_run(model_name, pretraining, arm_data, val, *, settings: dict, tuned: dict | None, **common):
    """:func:`train_run` of a two-stage arm: the network trained from scratch (the simple CNN, tuned or not, or a
    backbone without a weights file) by :func:`synthaug.pretrain.train_pretrained`."""
    from .pretrain import train_pretrained
    from .tune import split_params

    image_size = arm_data[0].shape[1]
    name, architecture = model_name, None
    training = {"learning_rate": settings["learning_rate"], "batch_size": settings["batch_size"]}
    if model_name == "simple_cnn_tuned":
        if tuned is None:
            raise ValueError("simple_cnn_tuned needs the tuned parameters (results/tune/simple_cnn/best_params.json)")
        name = "simple_cnn"
        architecture, training = split_params(tuned, settings)
    elif (settings.get("weights") or {}).get(model_name) is not None:
        raise ConfigError("classifier.weights", f"the pretrain arms train from scratch, but {model_name} has a weights "
                          f"file; set classifier.weights.{model_name} to null, or leave the pretrain arms out")

    def build(learning_rate):
        return build_classifier(name, image_size, learning_rate=learning_rate, architecture=architecture,
                                n_classes=common.get("n_classes", 2))

    return train_pretrained(name, pretraining, arm_data, val, build=build, epochs=settings["epochs"],
                            pretrain=settings["pretrain"], **training, **common)
