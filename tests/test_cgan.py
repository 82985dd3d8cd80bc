"""The conditional GAN: shapes, label conditioning, one finite training step, save/load, exact resume."""

import json
import logging

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from synthaug.errors import ConfigError  # noqa: E402
from synthaug.gan import snapshot_epochs, train_gan  # noqa: E402
from synthaug.models.cgan import ConditionalGAN, build_discriminator, build_generator  # noqa: E402
from synthaug.plots.common import save_figure  # noqa: E402
from synthaug.plots.gan import samples_grid  # noqa: E402

LATENT = 8
SETTINGS = dict(batch_size=16, latent_dim=LATENT, learning_rate=2e-4, beta_1=0.5, seed=0, n_snapshots=2)


def _data(n=32, size=32):
    rng = np.random.default_rng(0)
    return rng.random((n, size, size, 3)).astype("float32"), np.arange(n) % 2


@pytest.mark.parametrize("size", [32, 64])
def test_output_shapes(size):
    generator, discriminator = build_generator(size, LATENT), build_discriminator(size)
    images = keras.ops.convert_to_numpy(generator([np.zeros((3, LATENT), "float32"), np.array([0, 1, 1])]))
    assert images.shape == (3, size, size, 3)
    assert float(np.abs(images).max()) <= 1.0
    assert discriminator([images, np.array([0, 1, 1])]).shape == (3, 1)


def test_bad_image_size_names_the_config_key():
    with pytest.raises(ConfigError, match="preprocess.image_size"):
        build_generator(40, LATENT)
    with pytest.raises(ConfigError, match="preprocess.image_size"):
        build_discriminator(8)


def test_generated_image_depends_on_the_label():
    keras.utils.set_random_seed(0)
    generator = build_generator(32, LATENT)
    noise = np.random.default_rng(0).standard_normal((1, LATENT)).astype("float32")
    benign = keras.ops.convert_to_numpy(generator([noise, np.array([0])]))
    malignant = keras.ops.convert_to_numpy(generator([noise, np.array([1])]))
    again = keras.ops.convert_to_numpy(generator([noise, np.array([0])]))
    np.testing.assert_array_equal(benign, again)  # deterministic, so any difference is the label's
    assert np.abs(benign - malignant).mean() > 0.01 * np.abs(benign).mean()


def test_one_train_step_gives_finite_losses():
    keras.utils.set_random_seed(0)
    gan = ConditionalGAN(build_discriminator(32), build_generator(32, LATENT), latent_dim=LATENT, seed=0)
    gan.compile(keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4), keras.losses.BinaryCrossentropy())
    images, labels = _data(16)
    logs = gan.train_on_batch(images, labels, return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"}
    assert all(np.isfinite(v) for v in logs.values())


def test_snapshot_epochs_spread_and_include_the_last():
    assert snapshot_epochs(40, 4) == [10, 20, 30, 40]
    assert snapshot_epochs(1, 4) == [1]


def test_resume_continues_as_if_uninterrupted_and_generator_round_trips(tmp_path):
    images, labels = _data(size=16)
    straight = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "a", **SETTINGS)
    train_gan(images, labels, epochs=1, checkpoint_dir=tmp_path / "b", **SETTINGS)
    resumed = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "b", **SETTINGS)

    assert list(resumed.losses["epoch"]) == [1, 2]
    np.testing.assert_allclose(resumed.losses.iloc[:, 1:], straight.losses.iloc[:, 1:], rtol=1e-4, atol=1e-5)
    for a, b in zip(straight.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert sorted(resumed.snapshots) == [1, 2] and resumed.snapshots[2].shape == (2, 8, 16, 16, 3)

    # The generator alone saves and loads as a .keras file taking [noise, label].
    path = tmp_path / "model.keras"
    resumed.generator.save(path)
    loaded = keras.models.load_model(path)
    noise = np.random.default_rng(1).standard_normal((4, LATENT)).astype("float32")
    np.testing.assert_allclose(
        loaded.predict([noise, np.array([0, 1, 0, 1])], verbose=0),
        resumed.generator.predict([noise, np.array([0, 1, 0, 1])], verbose=0),
        atol=1e-5,
    )
    save_figure(samples_grid(resumed.snapshots), tmp_path / "samples.png")
    assert (tmp_path / "samples.png").stat().st_size > 0


def test_sigterm_keeps_last_epoch_and_rerun_finishes(tmp_path, monkeypatch):
    import os
    import signal

    import synthaug.gan as gan_module
    from synthaug.checkpoint import Checkpoint, Preempted

    real_run_epoch = gan_module.run_epoch
    calls = []

    def kill_during_second_epoch(*args):
        calls.append(1)
        if len(calls) == 2:  # a SIGTERM as epoch 2 starts: its first batch runs, then training stops
            os.kill(os.getpid(), signal.SIGTERM)
        return real_run_epoch(*args)

    images, labels = _data(size=16)
    monkeypatch.setattr(gan_module, "run_epoch", kill_during_second_epoch)
    with pytest.raises(Preempted):
        train_gan(images, labels, epochs=3, checkpoint_dir=tmp_path / "ck", **SETTINGS)
    assert Checkpoint(tmp_path / "ck").exists()
    assert json.loads((tmp_path / "ck" / "state.json").read_text())["epoch"] == 1  # the unfinished epoch 2 is not kept
    monkeypatch.undo()
    resumed = train_gan(images, labels, epochs=3, checkpoint_dir=tmp_path / "ck", **SETTINGS)
    assert list(resumed.losses["epoch"]) == [1, 2, 3]


def test_one_class_only_is_a_data_error():
    from synthaug.errors import DataError

    images, _ = _data()
    with pytest.raises(DataError, match="train.npz"):
        train_gan(images, np.zeros(len(images), int), epochs=1, checkpoint_dir="unused", source="train.npz", **SETTINGS)


SELECT = dict(every=1, metric="kid", n_images=32, kid_subsets=3, kid_subset_size=16, feature_seed=0)


def test_kid_selection_keeps_the_lowest_kid_epoch_and_resumes_exactly(tmp_path, monkeypatch):
    """gan.select: KID measured after every epoch, the returned generator is the one of the lowest KID (here made the
    first epoch's by a judge that scores it best), the curve marks it; training is the same as without selection,
    and a run resumed mid-way selects the same epoch with the same weights."""
    import synthaug.gan as gan_module
    from synthaug.gan import KidJudge, generate, kid_epochs

    assert kid_epochs(7, 2) == [2, 4, 6, 7] and kid_epochs(3, 0) == [] and kid_epochs(3, 5) == [3]
    images, labels = _data(size=16)
    plain = train_gan(images, labels, epochs=3, checkpoint_dir=tmp_path / "plain", **SETTINGS)
    assert plain.kid is None

    real_call = KidJudge.__call__
    judged = {}

    def first_epoch_best(self, generator, epoch):
        row = real_call(self, generator, epoch)
        judged["inputs"] = (self.noise[:4], self.labels[:4])
        judged[epoch] = generate(generator, *judged["inputs"])
        return {**row, "kid": {1: 1.0, 2: 3.0, 3: 2.0}[epoch]}  # a known curve: epoch 1 is the lowest

    monkeypatch.setattr(KidJudge, "__call__", first_epoch_best)
    straight = train_gan(images, labels, epochs=3, checkpoint_dir=tmp_path / "a", select=SELECT, **SETTINGS)
    assert list(straight.kid.columns) == list(gan_module.KID_COLUMNS)
    assert list(straight.kid["epoch"]) == [1, 2, 3] and list(straight.kid["selected"]) == [True, False, False]
    assert np.isfinite(straight.kid["kid_sd"]).all() and np.isfinite(straight.kid["kid_within_class"]).all()
    kept = generate(straight.generator, *judged["inputs"])
    np.testing.assert_allclose(kept, judged[1], atol=1e-5)  # the first epoch's generator, not the last
    assert np.abs(kept - judged[3]).max() > 1e-3
    # The losses (the networks' training) do not depend on selection.
    np.testing.assert_allclose(straight.losses.iloc[:, 1:], plain.losses.iloc[:, 1:], rtol=1e-4, atol=1e-5)

    train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "b", select=SELECT, **SETTINGS)
    resumed = train_gan(images, labels, epochs=3, checkpoint_dir=tmp_path / "b", select=SELECT, **SETTINGS)
    assert list(resumed.kid["selected"]) == [True, False, False]
    for a, b in zip(straight.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


DEFAULT_DIFFAUG = {"policy": ["color", "translation", "cutout"], "loss": "hinge", "spectral_norm": True,
                   "conditioning": "projection", "auxiliary": 2.0}  # config.yaml's gan.diffaug


@pytest.mark.parametrize("diffaug", [None, DEFAULT_DIFFAUG], ids=["cgan", "cgan_diffaug"])
def test_a_shorter_run_is_the_first_epochs_of_a_longer_one(tmp_path, monkeypatch, caplog, diffaug):
    """The first e epochs of a run do not depend on how many epochs it was asked for (each epoch's image order and the
    KID judge's draws are seeded by the epoch; snapshots draw nothing): a run of fewer gan.epochs that still reaches
    a longer run's selected epoch keeps the same generator. The default's gan.epochs rests on this (config.yaml)."""
    from synthaug.gan import KidJudge

    real_call = KidJudge.__call__

    def second_epoch_best(self, generator, epoch):  # a known curve over the real judge's row: epoch 2 is the lowest
        return {**real_call(self, generator, epoch), "kid": {1: 3.0, 2: 1.0, 3: 2.0}[epoch]}

    monkeypatch.setattr(KidJudge, "__call__", second_epoch_best)
    images, labels = _data(size=16)
    kw = dict(select=SELECT, diffaug=diffaug, **SETTINGS)
    caplog.set_level(logging.INFO, logger="synthaug")
    longer = train_gan(images, labels, epochs=3, checkpoint_dir=tmp_path / "long", **kw)
    assert "may still be falling" not in caplog.text
    shorter = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "short", **kw)
    assert "the lowest kid is the last epoch's (2): the curve may still be falling" in caplog.text  # its last: said
    np.testing.assert_allclose(shorter.losses.iloc[:, 1:], longer.losses.iloc[:2, 1:], rtol=1e-5, atol=1e-6)
    within = ["kid_sd", "kid_within_class"]  # the real judge's numbers, epoch by epoch
    np.testing.assert_allclose(shorter.kid[within], longer.kid[within].iloc[:2], rtol=1e-5, atol=1e-9)
    assert list(shorter.kid["selected"]) == [False, True] and list(longer.kid["selected"]) == [False, True, False]
    for a, b in zip(shorter.generator.get_weights(), longer.generator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_changed_selection_setting_restarts_the_kid_curve(tmp_path):
    """Resuming a checkpoint under another gan.select (here: off) does not select among epochs measured under the old
    one: with selection off, the generator of the last epoch is returned, as without any checkpoint."""
    images, labels = _data(size=16)
    train_gan(images, labels, epochs=1, checkpoint_dir=tmp_path / "a", select=SELECT, **SETTINGS)
    resumed = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "a", select={**SELECT, "every": 0},
                        **SETTINGS)
    plain = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "b", **SETTINGS)
    assert resumed.kid is None
    for a, b in zip(plain.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_resume_with_another_batch_size_or_images_restarts_from_epoch_one(tmp_path, caplog):
    import logging

    images, labels = _data(size=16)
    train_gan(images, labels, epochs=1, checkpoint_dir=tmp_path / "b", **SETTINGS)
    caplog.set_level(logging.INFO, logger="synthaug")
    other = {**SETTINGS, "batch_size": SETTINGS["batch_size"] // 2}
    resumed = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "b", **other)
    clean = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "c", **other)
    assert f"batch_size {SETTINGS['batch_size']} -> {other['batch_size']}" in caplog.text
    assert "resuming from" not in caplog.text
    for a, b in zip(clean.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_figures_show_every_instance_of_a_generator():
    """closest_pairs: two rows (synthetic, nearest training) per instance; generator_comparison: one row per class and
    source, named by the dataset's own class names."""
    from synthaug.plots.gan import closest_pairs, generator_comparison

    rng = np.random.default_rng(0)
    train = rng.random((10, 16, 16, 3))

    def found(n):
        return {"images": rng.random((n, 16, 16, 3)), "nearest": rng.integers(0, 10, n),
                "distance": rng.random(n), "flags": np.zeros(n, bool)}

    fig = closest_pairs({"i0": found(12), "i1": found(5)}, train)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 2 * 2 * 5  # two instances x two rows x the smaller instance's 5 images
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels == ["i0\nsynthetic", "i0\nnearest\ntraining", "i1\nsynthetic", "i1\nnearest\ntraining"]
    real = {"images": train, "labels": np.arange(10) % 2}
    generated = {name: {"images": train, "labels": np.arange(10) % 2} for name in ("cgan i0", "cgan i1")}
    fig = generator_comparison(real, generated, per_row=3, names=("nevus", "melanoma"))
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels == [f"{cls}\n{src}" for cls in ("nevus", "melanoma") for src in ("real", "cgan i0", "cgan i1")]
