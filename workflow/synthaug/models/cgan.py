"""The study's conditional GAN in Keras 3: a label-conditioned generator, discriminator and their training step.

Generator: noise -> Dense -> (size/16, size/16, 256), plus the label embedded to one more channel of that grid
(Embedding -> Dense -> reshape) -> stride-2 Conv2DTranspose blocks with BatchNorm + LeakyReLU -> size x size x 3
in [-1, 1] (tanh). Discriminator: the label embedded to an image-sized
channel and concatenated to the image, strided Conv2D blocks with LeakyReLU(0.2) and Dropout(0.4), then
Dense(512, relu) and Dense(1, sigmoid). At 224 px the start grid is the study's 14 x 14. For ``cgan_diffaug`` the
discriminator can instead take the label through a projection head and add an AC-GAN class head
(:func:`build_discriminator`'s ``conditioning`` and ``auxiliary``).

:class:`ConditionalGAN` trains both in one ``train_step`` (keras-io conditional_gan style). Real images arrive in
[0, 1] and are scaled to the generator's [-1, 1] before the discriminator sees them. The losses are backend-neutral
methods in ``keras.ops`` (:meth:`~ConditionalGAN.discriminator_loss`, :meth:`~ConditionalGAN.generator_loss`);
only the gradient plumbing differs per backend and lives in :mod:`synthaug.backends` (tensorflow, jax, torch).
Under a mixed precision policy both networks compute in float16/bfloat16 but their outputs (the images and
P(real)) are float32, and float16 training scales its losses (``keras.optimizers.LossScaleOptimizer``).
"""

from __future__ import annotations

import keras
from keras import ops

from .. import backends
from ..errors import ConfigError
from .diffaug import hinge_discriminator_loss, hinge_generator_loss

UPSAMPLINGS = 4  # stride-2 steps from the start grid to the image: image_size must be divisible by 2**4
CONDITIONINGS = ("channel", "projection")  # how the discriminator sees the label


def _start_size(image_size: int) -> int:
    if image_size < 2**UPSAMPLINGS or image_size % 2**UPSAMPLINGS:
        raise ConfigError(
            "preprocess.image_size",
            f"{image_size} px cannot be made by the conditional GAN; use a multiple of {2**UPSAMPLINGS} (e.g. 64 or 224)",
        )
    return image_size // 2**UPSAMPLINGS


def build_generator(
    image_size: int,
    latent_dim: int,
    n_classes: int = 2,
    embedding_dim: int = 50,
    start_filters: int = 256,
    filters: tuple[int, ...] = (128, 64, 32),
) -> keras.Model:
    """Generator taking ``[noise (N, latent_dim), label (N,) int]`` and returning images (N, size, size, 3) in [-1, 1]."""
    start = _start_size(image_size)
    if len(filters) != UPSAMPLINGS - 1:
        raise ValueError(f"filters needs {UPSAMPLINGS - 1} entries (the last upsampling makes the 3 channels)")
    noise = keras.Input((latent_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    x = keras.layers.Dense(start * start * start_filters, use_bias=False)(noise)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Reshape((start, start, start_filters))(x)
    # Condition on the label: its embedding becomes one more channel of the start grid.
    embedded = keras.layers.Embedding(n_classes, embedding_dim)(label)
    label_map = keras.layers.Reshape((start, start, 1))(keras.layers.Dense(start * start)(embedded))
    x = keras.layers.Concatenate()([x, label_map])
    # Upsample by 2 per block.
    for f in filters:
        x = keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    image = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh", dtype="float32")(x)
    return keras.Model([noise, label], image, name="generator")


def build_discriminator(
    image_size: int,
    n_classes: int = 2,
    embedding_dim: int = 50,
    filters: tuple[int, ...] = (64, 128, 128, 256),
    dropout: float = 0.4,
    spectral_norm: bool = False,
    logits: bool = False,
    conditioning: str = "channel",
    features: int = 512,
    auxiliary: bool = False,
) -> keras.Model:
    """Discriminator taking ``[image (N, size, size, 3) in [-1, 1], label (N,) int]``; returns P(real) (N, 1).

    ``spectral_norm`` wraps its convolutions and dense layers in SpectralNormalization;
    ``logits`` returns the raw score instead of P(real) (for the hinge loss). ``conditioning`` says how the label
    enters: ``channel`` (the study's) embeds it as one more image channel before the convolutions;
    ``projection`` (Miyato & Koyama 2018) scores the image's features ``h`` as ``w.h + e_y.h``, with ``e_y``
    the label's learned embedding, so the score depends on how well the image matches its label as such.
    ``auxiliary`` adds a second output, the logit of "malignant" predicted from the image's features alone
    (AC-GAN, Odena et al. 2017): the model then returns ``[P(real) or score, class logit]``.
    """
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {CONDITIONINGS}, not {conditioning!r}")
    sn = keras.layers.SpectralNormalization if spectral_norm else (lambda layer: layer)
    _start_size(image_size)
    image = keras.Input((image_size, image_size, 3), name="image")
    label = keras.Input((), dtype="int32", name="label")
    x = image
    if conditioning == "channel":  # the label as one more image channel
        embedded = keras.layers.Embedding(n_classes, embedding_dim)(label)
        label_map = keras.layers.Dense(image_size * image_size)(embedded)
        label_map = keras.layers.Reshape((image_size, image_size, 1))(label_map)
        x = keras.layers.Concatenate()([image, label_map])
    # Downsample by 2 per block.
    for f in filters:
        x = sn(keras.layers.Conv2D(f, 3, strides=2, padding="same"))(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Flatten()(x)
    h = sn(keras.layers.Dense(features, activation="relu", name="features"))(x)
    activation = None if logits else "sigmoid"
    if conditioning == "channel":
        p_real = sn(keras.layers.Dense(1, activation=activation, dtype="float32"))(h)
    else:
        score = sn(keras.layers.Dense(1, name="score"))(h)
        # Not spectrally normalised: Keras' SpectralNormalization casts a layer's output to its input's dtype,
        # which for the integer label would truncate the embedding and cut its gradient.
        label_vector = keras.layers.Embedding(n_classes, features, name="label_vector")(label)
        match = keras.layers.Dot(axes=1)([label_vector, h])  # e_y . h, (N, 1)
        p_real = keras.layers.Add()([score, match])
        p_real = keras.layers.Activation(activation or "linear", dtype="float32")(p_real)
    if auxiliary:
        # One logit of label 1 (binary), or k logits of the k classes.
        class_logit = sn(keras.layers.Dense(1 if n_classes == 2 else n_classes, name="class_logit",
                                            dtype="float32"))(h)
        return keras.Model([image, label], [p_real, class_logit], name="discriminator")
    return keras.Model([image, label], p_real, name="discriminator")


class ConditionalGAN(keras.Model):
    """Both networks and their alternating updates; ``fit`` on ``(images in [0, 1], labels)``."""

    def __init__(self, discriminator, generator, latent_dim: int, seed: int = 0, augment=None, hinge: bool = False,
                 auxiliary: float = 0.0, **kwargs):
        """``augment``: a layer applied to real and generated images before the discriminator (DiffAugment);
        ``hinge``: hinge loss on a discriminator that returns raw scores (``logits=True``) instead of BCE;
        ``auxiliary``: the weight of the AC-GAN class loss, for a discriminator built with ``auxiliary=True``
        (its classifier learns the label of real images; the generator is trained to have its images classified
        as the label they were made for)."""
        super().__init__(**kwargs)
        self.auxiliary = auxiliary
        self.augment = augment
        self.hinge = hinge
        self.threshold = 0.0 if hinge else 0.5  # a score above it means "real"
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_acc_tracker = keras.metrics.Mean(name="d_real_accuracy")
        self.d_fake_acc_tracker = keras.metrics.Mean(name="d_fake_accuracy")
        self.built = True  # both networks are built functional models; saving weights needs no call first

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_acc_tracker, self.d_fake_acc_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn, **kwargs):
        if keras.mixed_precision.global_policy().name == "mixed_float16":  # float16 gradients underflow unscaled
            d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
            g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
        super().compile(**kwargs)
        # Built now: the compiled steps (JAX's especially) take their variables as state, and the optimizer
        # variables saved with the model's weights load too (no skipped-variable warning).
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Keras' trainers see one optimizer: both, so that the compiled JAX step carries their state.
        self.optimizer = backends.OptimizerPair(d_optimizer, g_optimizer)
        self.loss_fn = loss_fn

    def call(self, inputs, training=False):
        """Generate images in [-1, 1] from ``[noise, labels]``."""
        return self.generator(inputs, training=training)

    # Backend-neutral pieces of the training step (keras.ops only); backends/<name>.py does the gradients.

    def _judge(self, images, labels, training):
        """The discriminator's float32 scores, after DiffAugment when it is on (real and fake images alike), and
        its class loss on them (0 without the auxiliary classifier)."""
        if self.augment is not None:
            images = self.augment(images, training=training)
        out = self.discriminator([images, labels], training=training)
        if not self.auxiliary:
            return ops.cast(out, "float32"), 0.0
        scores, logits = out
        logits = ops.cast(logits, "float32")
        if logits.shape[-1] == 1:
            targets = ops.cast(ops.reshape(labels, (-1, 1)), "float32")
            class_loss = ops.mean(ops.binary_crossentropy(targets, logits, from_logits=True))
        else:  # k classes
            class_loss = ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        return ops.cast(scores, "float32"), self.auxiliary * class_loss

    def unpack(self, data):
        """A batch as (real images in [-1, 1], labels int32 (N,))."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        return ops.cast(images, "float32") * 2.0 - 1.0, ops.cast(ops.reshape(labels, (-1,)), "int32")

    def sample_noise(self, batch):
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def discriminator_loss(self, real_images, fake_images, labels, training=True):
        """The discriminator's loss on real vs generated images of the same labels; returns (loss, real, fake scores)."""
        real_scores, class_loss = self._judge(real_images, labels, training)  # the classifier learns real labels
        fake_scores, _ = self._judge(fake_images, labels, training)
        if self.hinge:
            return hinge_discriminator_loss(real_scores, fake_scores) + class_loss, real_scores, fake_scores
        loss = self.loss_fn(ops.ones_like(real_scores), real_scores) + self.loss_fn(
            ops.zeros_like(fake_scores), fake_scores)
        return loss + class_loss, real_scores, fake_scores

    def generator_loss(self, fake_images, labels, training=True):
        """The generator's loss: the discriminator should call its images real (and of their label)."""
        scores, class_loss = self._judge(fake_images, labels, training)
        loss = hinge_generator_loss(scores) if self.hinge else self.loss_fn(ops.ones_like(scores), scores)
        return loss + class_loss

    def update_metrics(self, d_loss, g_loss, real_scores, fake_scores):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_acc_tracker.update_state(ops.cast(real_scores > self.threshold, "float32"))
        self.d_fake_acc_tracker.update_state(ops.cast(fake_scores < self.threshold, "float32"))
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, *args):
        """``(data)`` on TensorFlow and PyTorch, ``(state, data)`` on JAX (Keras' calling conventions)."""
        return backends.gan_train_step(self, *args)
