"""Training the conditional GAN on the training split: epoch-wise seeded order, checkpoints, resume after SIGTERM.

Epoch ``e`` visits the images in the order ``default_rng([seed, e]).permutation``, so a run resumed from the
checkpoint of epoch ``e`` continues exactly as the uninterrupted run would (same weights up to float round-off).
After every epoch the checkpoint holds both networks' weights (random-generator states included), both optimizers,
the loss history and the fixed-noise sample snapshots; a signal stops training after the current batch, and the
job ends with :class:`~synthaug.checkpoint.Preempted` so that rerunning it resumes.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from . import backends
from .checkpoint import Checkpoint, Preempted, SignalFlag, fingerprint
from .constants import CLASS_NAMES
from .split import class_labels
from .errors import DataError
from .loop import epoch_order, run_epoch
from .models.cgan import ConditionalGAN, build_discriminator, build_generator
from .models.diffaug import DiffAugment

log = logging.getLogger("synthaug")

LOSS_COLUMNS = ("epoch", "d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy")
KID_COLUMNS = ("epoch", "kid", "kid_sd", "kid_within_class", "selected")  # kid.csv: x1000, one row per evaluation
_BEST = "best_generator"  # the checkpoint's arrays: the generator weights of the lowest KID so far


@dataclass
class GanResult:
    generator: keras.Model
    losses: pd.DataFrame  # LOSS_COLUMNS, one row per epoch
    snapshots: dict[int, np.ndarray]  # epoch -> (n_classes, samples_per_class, S, S, 3) in [0, 1], fixed noise
    kid: pd.DataFrame | None = None  # KID_COLUMNS when the checkpoint was selected by KID (gan.select), else None


def kid_epochs(epochs: int, every: int) -> list[int]:
    """The epochs (1-based) after which KID is measured: every ``every``-th and the last; none if ``every`` is 0."""
    return sorted({e for e in range(every, epochs + 1, every)} | {epochs}) if every else []


class KidJudge:
    """KID (x1000) of a generator's images against real training images, in the random CNN's feature space of
    :mod:`synthaug.quality`: the same fixed noise and labels at every evaluation, subsets seeded by the epoch."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, select: dict, latent_dim: int, seed: int):
        from .quality import embed, random_cnn

        self.model = random_cnn(images.shape[1], int(select["feature_seed"]))
        self.embed = embed
        self.real, self.real_labels = embed(self.model, images), np.asarray(labels)
        rng = np.random.default_rng([seed, 29])
        n = min(int(select["n_images"]), len(images))
        self.labels = self.real_labels[rng.choice(len(images), n, replace=False)].astype(np.int32)  # as in training
        self.noise = rng.standard_normal((n, latent_dim)).astype(np.float32)
        self.subsets, self.subset_size, self.seed = int(select["kid_subsets"]), int(select["kid_subset_size"]), seed

    def __call__(self, generator, epoch: int) -> dict:
        from .quality import kid

        fake = self.embed(self.model, generate(generator, self.noise, self.labels))
        rng = np.random.default_rng([self.seed, epoch, 29])
        mean, sd = kid(self.real, fake, n_subsets=self.subsets, subset_size=self.subset_size, rng=rng)
        within = [kid(self.real[self.real_labels == c], fake[self.labels == c], n_subsets=self.subsets,
                      subset_size=self.subset_size, rng=rng)[0] for c in class_labels(self.real_labels)
                  if min((self.real_labels == c).sum(), (self.labels == c).sum()) > 1]
        return {"epoch": epoch, "kid": 1000 * mean, "kid_sd": 1000 * sd,
                "kid_within_class": 1000 * float(np.mean(within)) if within else float("nan")}


def snapshot_epochs(epochs: int, n_snapshots: int) -> list[int]:
    """The epochs (1-based) after which fixed-noise samples are kept: evenly spread, always including the last."""
    return sorted({max(1, int(round(e))) for e in np.linspace(epochs / n_snapshots, epochs, n_snapshots)} | {epochs})


def generate(generator, noise: np.ndarray, labels: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Images in [0, 1] (N, S, S, 3) float32 from the generator's [-1, 1] output (inference mode)."""
    parts = [
        generator([noise[i : i + batch_size], labels[i : i + batch_size].astype("int32")], training=False)
        for i in range(0, len(noise), batch_size)
    ]
    return np.clip((np.concatenate([keras.ops.convert_to_numpy(p) for p in parts]).astype(np.float32) + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)


def _encode(images: np.ndarray) -> dict:
    """Sample images as JSON-able uint8 (they live in the checkpoint's state)."""
    data = np.round(images * 255).astype(np.uint8)
    return {"shape": list(data.shape), "data": base64.b64encode(data.tobytes()).decode("ascii")}


def _decode(encoded: dict) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(encoded["data"]), dtype=np.uint8).reshape(encoded["shape"])
    return data.astype(np.float32) / 255.0


def train_gan(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    latent_dim: int,
    learning_rate: float,
    beta_1: float,
    seed: int,
    checkpoint_dir,
    n_snapshots: int = 4,
    samples_per_class: int = 8,
    source="training images",
    diffaug: dict | None = None,
    threads: int | None = None,
    deterministic: bool = True,
    precision: str = "float32",
    select: dict | None = None,
) -> GanResult:
    """Train the conditional GAN on ``images`` (N, S, S, 3) in [0, 1] with ``labels`` (N,), resuming a checkpoint.

    Raises :class:`Preempted` after SIGTERM/SIGINT/SIGUSR1 (checkpoint of the last finished epoch kept).
    ``source`` names the images' file in error messages; ``threads``, ``deterministic`` and ``precision`` are
    the ``compute`` settings (:func:`synthaug.backends.configure`).
    ``diffaug`` (``gan.diffaug`` of the config: ``policy``, ``loss`` = bce | hinge, ``spectral_norm``,
    ``conditioning`` = channel | projection, ``auxiliary`` = the AC-GAN class-loss weight) trains the study's
    generator and discriminator trunk with DiffAugment (``cgan_diffaug``).
    ``select`` (``gan.select``: ``every``, ``metric`` = kid | kid_within_class, ``n_images``, ``kid_subsets``,
    ``kid_subset_size``, ``feature_seed``): every ``every`` epochs and after the last, the KID of generated images
    against the training images (:class:`KidJudge`); the returned generator has the weights of the lowest, and
    ``kid`` the curve. The networks' training is the same with or without it (the best weights are a copy).
    """
    n_classes = len(class_labels(labels))  # 2, or k: the generator and discriminator condition on k labels
    present = np.unique(labels)
    if len(images) < batch_size or not np.isin(np.arange(n_classes), present).all():
        raise DataError(source, f"the GAN needs at least gan.batch_size={batch_size} images, of "
                        f"{'both classes' if n_classes == 2 else f'all {n_classes} classes'}")
    backends.configure(seed, threads, deterministic=deterministic, precision=precision)
    every = int(select["every"]) if select else 0
    judge = KidJudge(images, labels, select, latent_dim, seed) if every else None
    generator = build_generator(images.shape[1], latent_dim, n_classes)
    options = {}
    if diffaug is not None:
        hinge = diffaug["loss"] == "hinge"
        augment = DiffAugment(diffaug["policy"], seed=seed + 1) if diffaug["policy"] else None
        auxiliary = float(diffaug["auxiliary"])
        options = dict(augment=augment, hinge=hinge, auxiliary=auxiliary)
        discriminator = build_discriminator(images.shape[1], n_classes, spectral_norm=diffaug["spectral_norm"],
                                            logits=hinge, conditioning=diffaug["conditioning"],
                                            auxiliary=auxiliary > 0)
    else:
        discriminator = build_discriminator(images.shape[1], n_classes)
    gan = ConditionalGAN(discriminator, generator, latent_dim=latent_dim, seed=seed, **options)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1),
        g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1),
        loss_fn=keras.losses.BinaryCrossentropy(),
    )
    origin = fingerprint(
        {"batch_size": batch_size, "latent_dim": latent_dim, "learning_rate": learning_rate, "beta_1": beta_1,
         "seed": seed, "diffaug": diffaug, "precision": precision, "samples_per_class": samples_per_class},
        {"training images": images, "training labels": labels}, [generator, discriminator])
    checkpoint = Checkpoint(checkpoint_dir, origin, epochs)
    optimizers = {"discriminator": gan.d_optimizer, "generator": gan.g_optimizer}
    state = checkpoint.restore(
        gan,
        {
            "discriminator": (gan.d_optimizer, discriminator.trainable_variables),
            "generator": (gan.g_optimizer, generator.trainable_variables),
        },
    ) or {"epoch": 0, "history": [], "snapshots": {}}
    state.setdefault("kid", [])
    if state["kid"] and state.get("select") != select:  # gan.select changed since the checkpoint: start the curve anew
        log.warning("gan.select differs from the checkpoint's: KID selection restarts from epoch %d", state["epoch"])
        state["kid"] = []
    state["select"] = select
    best_weights = checkpoint.arrays(_BEST) if state["kid"] else None
    measure = kid_epochs(epochs, every)
    metric = select["metric"] if every else "kid"

    # The same noise for every class, so that rows of the sample grid differ by label (and epoch) alone.
    fixed_noise = np.random.default_rng(seed).standard_normal((samples_per_class, latent_dim)).astype(np.float32)
    fixed_noise = np.tile(fixed_noise, (n_classes, 1))
    fixed_labels = np.repeat(np.arange(n_classes), samples_per_class)
    keep = snapshot_epochs(epochs, n_snapshots)
    # A training continued for more epochs than first asked keeps the snapshots of the epochs asked now only.
    state["snapshots"] = {e: s for e, s in state["snapshots"].items() if int(e) in keep}
    labels = labels.astype(np.int32)

    with SignalFlag() as flag:
        for epoch in range(state["epoch"], epochs):
            start = time.perf_counter()
            logs = run_epoch(gan, (images, labels), epoch_order(len(images), seed, epoch), batch_size, flag)
            if logs is None:  # stopped inside the epoch
                raise Preempted(f"stopped during epoch {epoch + 1}; checkpoint keeps {state['epoch']} epochs")
            row = {"epoch": epoch + 1, **{k: logs[k] for k in LOSS_COLUMNS[1:]}}
            state["history"].append(row)
            if epoch + 1 in keep:
                snapshot = generate(generator, fixed_noise, fixed_labels)
                state["snapshots"][str(epoch + 1)] = _encode(snapshot)
            if epoch + 1 in measure:
                scored = judge(generator, epoch + 1)
                best = min((r[metric] for r in state["kid"]), default=np.inf)
                if scored[metric] < best or best_weights is None:  # ties keep the earlier epoch
                    best_weights = generator.get_weights()
                state["kid"].append(scored)
                log.info("epoch %d: KID x 1000 %.2f (sd %.2f), within class %.2f; best %s so far %.2f", epoch + 1,
                         scored["kid"], scored["kid_sd"], scored["kid_within_class"], metric,
                         min(best, scored[metric]))
            state["epoch"] = epoch + 1
            checkpoint.save(gan, optimizers, state, {_BEST: best_weights} if best_weights is not None else None)
            elapsed = time.perf_counter() - start
            log.info(
                "epoch %d/%d: d_loss %.3f g_loss %.3f d_real_acc %.2f d_fake_acc %.2f (%.1f s, %.0f real img/s)",
                epoch + 1, epochs, row["d_loss"], row["g_loss"], row["d_real_accuracy"], row["d_fake_accuracy"],
                elapsed, len(images) / elapsed,
            )
            if flag.received is not None:
                raise Preempted(f"stopped after epoch {epoch + 1} of {epochs}")

    shape = (n_classes, samples_per_class, *images.shape[1:])
    snapshots = {int(e): _decode(s).reshape(shape) for e, s in state["snapshots"].items()}
    losses = pd.DataFrame(state["history"], columns=list(LOSS_COLUMNS))
    curve = None
    if state["kid"]:
        curve = pd.DataFrame(state["kid"], columns=list(KID_COLUMNS[:-1]))
        chosen = int(curve.loc[curve[metric].idxmin(), "epoch"])  # the first epoch of the lowest value
        curve["selected"] = curve["epoch"] == chosen
        generator.set_weights(best_weights)
        log.info("checkpoint selected by %s: epoch %d of %d (KID x 1000 %.2f; last epoch %.2f)", metric, chosen,
                 epochs, curve.loc[curve["selected"], "kid"].iloc[0], curve["kid"].iloc[-1])
        if len(curve) > 1 and chosen == int(curve["epoch"].iloc[-1]):
            log.warning("the lowest %s is the last epoch's (%d): the curve may still be falling, and more gan.epochs "
                        "may give a better generator (results/gan/<generator>/i<k>/kid.csv)", metric, chosen)
    return GanResult(generator=generator, losses=losses, snapshots=snapshots, kid=curve)


def write_outputs(result: GanResult, model_path, losses_path, samples_path, checkpoint_dir, kid_path=None,
                  names=CLASS_NAMES) -> None:
    """Write a trained generator (CGAN or DDPM), its losses, its KID curve (``kid_path``: header only when it was
    not selected by KID) and its sample grid whole, then drop its checkpoint.

    ``names``: what the grid calls labels 0 .. k-1 (:func:`synthaug.generators.class_names`)."""
    from .io import atomic_path, write_csv
    from .plots.common import save_figure
    from .plots.gan import samples_grid

    with atomic_path(model_path) as tmp:
        result.generator.save(tmp)
    write_csv(result.losses, losses_path)
    if kid_path is not None:
        write_csv(result.kid if result.kid is not None else pd.DataFrame(columns=list(KID_COLUMNS)), kid_path)
    save_figure(samples_grid(result.snapshots, names), samples_path)
    Checkpoint(checkpoint_dir).remove()
