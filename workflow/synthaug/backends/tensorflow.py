"""TensorFlow backend: threads, deterministic ops, and the GAN step's gradient plumbing (``tf.GradientTape``).

Bit-identical on one machine run after run (``enable_op_determinism``: fixed reduction order, deterministic
cuDNN algorithms on GPU). Across x86 CPUs, oneDNN picks kernels by instruction set (AVX2, AVX-512, AMX), which
changes float round-off; ``compute.onednn: false`` turns oneDNN off and with it that source of difference.
"""

from __future__ import annotations

import logging

import tensorflow as tf

log = logging.getLogger("synthaug")



def configure(threads: int | None, deterministic: bool) -> None:
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TF already initialised in this process (tests): keep its thread pools
            log.debug("TensorFlow already running; thread settings unchanged")
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def rng_state() -> dict:
    """Nothing outside the model: every random draw comes from the layers' seed-generator variables."""
    return {}


def set_rng_state(state: dict) -> None:
    pass


def gan_train_step(gan, data):
    """Keras' "Customizing what happens in fit() with TensorFlow" GAN step; losses come from ``gan``."""
    real, labels = gan.unpack(data)
    batch = tf.shape(real)[0]
    d_vars, g_vars = gan.discriminator.trainable_weights, gan.generator.trainable_weights

    fake = gan.generator([gan.sample_noise(batch), labels], training=True)
    with tf.GradientTape() as tape:
        d_loss, real_scores, fake_scores = gan.discriminator_loss(real, fake, labels, training=True)
        scaled = gan.d_optimizer.scale_loss(d_loss)
    gan.d_optimizer.apply_gradients(zip(tape.gradient(scaled, d_vars), d_vars))

    noise = gan.sample_noise(batch)
    with tf.GradientTape() as tape:
        g_loss = gan.generator_loss(gan.generator([noise, labels], training=True), labels, training=True)
        scaled = gan.g_optimizer.scale_loss(g_loss)
    gan.g_optimizer.apply_gradients(zip(tape.gradient(scaled, g_vars), g_vars))
    return gan.update_metrics(d_loss, g_loss, real_scores, fake_scores)
