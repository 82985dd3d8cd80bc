"""PyTorch backend: threads, deterministic algorithms, and the GAN step's gradient plumbing (``backward()``).

Bit-identical on one machine run after run with ``torch.use_deterministic_algorithms`` (on GPU also
``CUBLAS_WORKSPACE_CONFIG``, set before CUDA starts, and cuDNN benchmarking off). Keras runs the step eagerly
(``jit_compile="auto"`` is eager on torch), so no compilation.
"""

from __future__ import annotations

import torch



def configure(threads: int | None, deterministic: bool) -> None:
    if threads:
        torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = not deterministic
    torch.use_deterministic_algorithms(deterministic)


def rng_state() -> dict:
    """torch's global generators: Keras' unseeded Dropout draws from them on this backend (TF and JAX keep every
    draw in the layers' seed-generator variables), so an exact resume needs them in the checkpoint."""
    state = {"cpu": torch.get_rng_state().numpy()}
    if torch.cuda.is_available():
        state.update({f"cuda{i}": s.numpy() for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(torch.from_numpy(state["cpu"]))
    cuda = [torch.from_numpy(state[f"cuda{i}"]) for i in range(len(state) - 1)]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _step(gan, optimizer, loss, variables):
    """Gradients of ``loss`` for ``variables`` (loss-scaled for float16) applied by ``optimizer``."""
    gan.zero_grad()
    optimizer.scale_loss(loss).backward()
    grads = [v.value.grad for v in variables]
    with torch.no_grad():
        optimizer.apply(grads, variables)


def gan_train_step(gan, data):
    """Keras' "Customizing what happens in fit() with PyTorch" GAN step; losses come from ``gan``."""
    real, labels = gan.unpack(data)
    batch = real.shape[0]

    with torch.no_grad():  # the generator is not trained by the discriminator's loss
        fake = gan.generator([gan.sample_noise(batch), labels], training=True)
    d_loss, real_scores, fake_scores = gan.discriminator_loss(real, fake, labels, training=True)
    _step(gan, gan.d_optimizer, d_loss, gan.discriminator.trainable_weights)

    noise = gan.sample_noise(batch)
    g_loss = gan.generator_loss(gan.generator([noise, labels], training=True), labels, training=True)
    _step(gan, gan.g_optimizer, g_loss, gan.generator.trainable_weights)
    with torch.no_grad():
        return gan.update_metrics(d_loss.detach(), g_loss.detach(), real_scores.detach(), fake_scores.detach())
