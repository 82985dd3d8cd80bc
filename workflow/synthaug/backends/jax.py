"""JAX backend: deterministic XLA, and the GAN step's gradient plumbing (``jax.value_and_grad``, stateless).

Keras compiles the step with ``jax.jit`` and passes the model's state in and out, as in Keras' "Customizing what
happens in fit() with JAX": ``state = (trainable, non_trainable, optimizer, metrics variables)``. The
backend-neutral loss methods of the GAN run inside a :class:`keras.StatelessScope` that maps every variable to
its value in that state, so layer updates (BatchNorm statistics, random-generator states) come back as new values.
XLA on CPU is deterministic; on GPU ``--xla_gpu_deterministic_ops`` makes it so (set before JAX starts).
"""

from __future__ import annotations

import jax
import keras



def configure(threads: int | None, deterministic: bool) -> None:
    """Nothing to do once JAX runs: seeds come from keras.utils.set_random_seed, flags from the environment."""


class _State:
    """The step's variable values, read and updated by position in the model's variable lists."""

    def __init__(self, gan, trainable, non_trainable, optimizer):
        self.gan = gan
        self.trainable, self.non_trainable, self.optimizer = list(trainable), list(non_trainable), list(optimizer)

    def mapping(self, trainable=None):
        gan = self.gan
        return (list(zip(gan.trainable_variables, trainable or self.trainable))
                + list(zip(gan.non_trainable_variables, self.non_trainable))
                + list(zip(gan.optimizer.variables, self.optimizer)))

    def run(self, fn, trainable=None):
        """``fn()`` on these values; returns its result and the non-trainable values it left."""
        with keras.StatelessScope(state_mapping=self.mapping(trainable)) as scope:
            out = fn()
        updated = [scope.get_current_value(v) for v in self.gan.non_trainable_variables]
        return out, [old if new is None else new for old, new in zip(self.non_trainable, updated)]

    def train(self, network, optimizer, offset, loss_fn):
        """One optimizer step of ``network`` on ``loss_fn()``; returns (loss, aux)."""
        ids = {id(v) for v in network.trainable_variables}
        index = [i for i, v in enumerate(self.gan.trainable_variables) if id(v) in ids]
        n_opt = len(optimizer.variables)
        opt_values = self.optimizer[offset : offset + n_opt]

        def scaled_loss(values):
            trainable = list(self.trainable)
            for i, value in zip(index, values):
                trainable[i] = value

            def fn():
                loss, aux = loss_fn()
                return optimizer.scale_loss(loss), (loss, aux)

            (scaled, (loss, aux)), non_trainable = self.run(fn, trainable)
            return scaled, (loss, aux, non_trainable)

        values = [self.trainable[i] for i in index]
        (_, (loss, aux, self.non_trainable)), grads = jax.value_and_grad(scaled_loss, has_aux=True)(values)
        values, opt_values = optimizer.stateless_apply(opt_values, grads, values)
        for i, value in zip(index, values):
            self.trainable[i] = value
        self.optimizer[offset : offset + n_opt] = opt_values
        return loss, aux


def rng_state() -> dict:
    """Nothing outside the model: every random draw comes from the layers' seed-generator variables."""
    return {}


def set_rng_state(state: dict) -> None:
    pass


def gan_train_step(gan, state, data):
    """The GAN's two updates as one stateless step; losses come from ``gan``."""
    trainable, non_trainable, optimizer, metrics = state
    values = _State(gan, trainable, non_trainable, optimizer)
    real, labels = gan.unpack(data)
    batch = real.shape[0]

    fake, values.non_trainable = values.run(
        lambda: gan.generator([gan.sample_noise(batch), labels], training=True))
    fake = jax.lax.stop_gradient(fake)

    def d_loss():
        loss, real_scores, fake_scores = gan.discriminator_loss(real, fake, labels, training=True)
        return loss, (real_scores, fake_scores)

    d_loss, (real_scores, fake_scores) = values.train(gan.discriminator, gan.d_optimizer, 0, d_loss)

    def g_loss():
        noise = gan.sample_noise(batch)
        return gan.generator_loss(gan.generator([noise, labels], training=True), labels, training=True), ()

    g_loss, _ = values.train(gan.generator, gan.g_optimizer, len(gan.d_optimizer.variables), g_loss)

    with keras.StatelessScope(state_mapping=list(zip(gan.metrics_variables, metrics))) as scope:
        logs = gan.update_metrics(d_loss, g_loss, real_scores, fake_scores)
    metrics = [scope.get_current_value(v) if scope.get_current_value(v) is not None else old
               for v, old in zip(gan.metrics_variables, metrics)]
    return logs, (values.trainable, values.non_trainable, values.optimizer, metrics)
