"""k-class generators, stage 4 of issue 28 item 1: the cgan (and cgan_diffaug's auxiliary classifier, and the
ddpm) condition on k labels; the synthetic count per class follows the real class frequencies; an external set
holds one folder per class; the quality assessment takes a k-class classifier. Two classes keep the binary path."""

from functools import partial

import numpy as np
import pytest
from fixtures.kclass import write_kclass_folder
from sklearn.metrics import roc_auc_score

keras = pytest.importorskip("keras")

from synthaug import generators  # noqa: E402
from synthaug.errors import ConfigError  # noqa: E402
from synthaug.gan import train_gan  # noqa: E402
from synthaug.generators import external  # noqa: E402
from synthaug.generators.cgan import sample_from  # noqa: E402
from synthaug.models.cgan import ConditionalGAN, build_discriminator, build_generator  # noqa: E402
from synthaug.quality import label_fidelity, patient_halves  # noqa: E402
from synthaug.synthesize import check_counts, class_counts, quality_checks, synthesize  # noqa: E402

K, SIZE = 3, 16


def _data(n=48, k=K, size=SIZE):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % k
    images = rng.random((n, size, size, 3)).astype("float32") * 0.5
    images += labels[:, None, None, None].astype("float32") * 0.2  # each class its own brightness
    return images, labels


def test_the_cgan_trains_on_k_labels_and_samples_each_class(tmp_path):
    images, labels = _data()
    result = train_gan(images, labels, epochs=1, batch_size=16, latent_dim=8, learning_rate=2e-4, beta_1=0.5,
                       seed=0, n_snapshots=1, checkpoint_dir=tmp_path / "ck")
    generator = result.generator
    embeddings = [layer for layer in generator.layers if isinstance(layer, keras.layers.Embedding)]
    assert embeddings and embeddings[0].input_dim == K
    assert result.snapshots[1].shape[:2] == (K, 8)
    wanted = np.repeat(np.arange(K), 4)
    out = sample_from(generator, wanted, seed=0)
    assert out.shape == (12, SIZE, SIZE, 3) and 0 <= out.min() and out.max() <= 1
    assert not np.allclose(out[0], out[4]) and not np.allclose(out[4], out[8])  # the label changes the image


def test_a_k_class_gan_needs_every_class(tmp_path):
    images, labels = _data()
    labels = np.where(labels == 1, 2, labels)  # no image of class 1
    with pytest.raises(Exception, match="all 3 classes"):
        train_gan(images, labels, epochs=1, batch_size=16, latent_dim=8, learning_rate=2e-4, beta_1=0.5, seed=0,
                  checkpoint_dir=tmp_path / "ck", source="train.npz")


def test_the_auxiliary_classifier_learns_k_classes_by_categorical_cross_entropy():
    keras.utils.set_random_seed(0)
    d = build_discriminator(16, n_classes=K, auxiliary=True, dropout=0.0)
    assert [tuple(o.shape) for o in d.outputs] == [(None, 1), (None, K)]
    gan = ConditionalGAN(d, build_generator(16, 8, K), latent_dim=8, auxiliary=2.0)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), keras.losses.BinaryCrossentropy())
    real = np.random.default_rng(0).random((6, 16, 16, 3)).astype("float32") * 2 - 1
    fake = np.random.default_rng(1).random((6, 16, 16, 3)).astype("float32") * 2 - 1
    labels = np.array([0, 1, 2, 1, 2, 0], "int32")

    def parts(images):
        p_real, logits = (np.asarray(o, "float64") for o in d([images, labels]))
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return p_real[:, 0], -np.mean(log_p[np.arange(6), labels])

    (p_r, ce_r), (p_f, ce_f) = parts(real), parts(fake)
    d_loss = float(gan.discriminator_loss(real, fake, labels, training=False)[0])
    assert d_loss == pytest.approx(-np.mean(np.log(p_r)) - np.mean(np.log(1 - p_f)) + 2.0 * ce_r, rel=1e-4)
    g_loss = float(gan.generator_loss(fake, labels, training=False))
    assert g_loss == pytest.approx(-np.mean(np.log(p_f)) + 2.0 * ce_f, rel=1e-4)


def test_the_ddpm_trains_on_k_labels_and_guides_with_the_k_th_as_null(tmp_path):
    from synthaug.diffusion import train_ddpm
    from synthaug.generators.ddpm import null_class

    images, labels = _data(32)
    result = train_ddpm(images, labels, epochs=1, batch_size=16, learning_rate=1e-3, channels=[8, 16],
                        label_dropout=0.1, ema=0.9, guidance=1.0, seed=0, n_snapshots=1,
                        checkpoint_dir=tmp_path / "d")
    assert null_class(result.generator) == K and result.snapshots[1].shape[0] == K
    path = tmp_path / "ddpm.keras"
    result.generator.save(path)
    sample = partial(generators.implementation("ddpm").sample, path,
                     options={"ddpm": {"sample_steps": 2, "guidance": 1.0}})
    out = synthesize(sample, 9, "train", labels, seed=0, prefix="ddpm")
    assert out["images"].shape == (9, SIZE, SIZE, 3) and np.bincount(out["labels"]).tolist() == [3, 3, 3]


def test_synthetic_counts_follow_the_real_class_frequencies():
    train = np.repeat([0, 1, 2, 3], [50, 30, 15, 5])
    counts = class_counts(37, "train", train)
    assert sum(counts.values()) == 37 and list(counts) == [0, 1, 2, 3]
    quotas = 37 * np.array([50, 30, 15, 5]) / 100
    assert all(abs(counts[j] - quotas[j]) < 1 for j in range(4))
    assert class_counts(100, "train", train) == {0: 50, 1: 30, 2: 15, 3: 5}
    with pytest.raises(ConfigError, match="synthesize.malignant_fraction"):
        class_counts(10, 0.5, train)
    assert class_counts(10, 0.3, np.array([0, 1, 1, 0])) == {0: 7, 1: 3}  # binary unchanged
    out = synthesize(lambda labels, seed: np.zeros((len(labels), 4, 4, 3), "float32"), 20, "train", train, seed=0,
                     prefix="x")
    assert np.bincount(out["labels"]).tolist() == [10, 6, 3, 1]


def test_an_external_set_holds_one_folder_per_class(tmp_path):
    data, synth = tmp_path / "data", tmp_path / "synth"
    write_kclass_folder(data, counts=(6, 6, 6))
    write_kclass_folder(synth, counts=(5, 4, 3), seed=1)
    dataset = {"name": "image-folder", "root": str(data), "classes": None}
    classes = generators.class_folders(dataset)
    files = external.list_images("mysynth", synth, classes)
    assert {label: len(paths) for label, paths in files.items()} == {0: 3, 1: 5, 2: 4}  # cross, disc, square
    train = np.repeat([0, 1, 2], [10, 10, 10])
    plan = check_counts(["synthetic-mysynth-r0.3"], 0.3, "auto", "train", train, {"mysynth": {0: 3, 1: 5, 2: 4}},
                        names=("cross", "disc", "square"))
    assert plan["per_class"] == {"cross": 3, "disc": 3, "square": 3}
    with pytest.raises(ConfigError, match="class 0"):
        check_counts(["synthetic-mysynth-r0.5"], 0.5, "auto", "train", train, {"mysynth": {0: 3, 1: 5, 2: 4}},
                     names=("cross", "disc", "square"))
    listed = [p for paths in files.values() for p in paths]
    images = external.sample(listed, np.array([0, 1, 2, 2]), seed=0,
                             options={"name": "mysynth", "root": str(synth), "classes": classes, "preprocess":
                                      {"image_size": 32, "blur_kernel": 0}, "real_aspect": 1.0})
    assert images.shape == (4, 32, 32, 3)


def test_quality_takes_k_classes():
    rng = np.random.default_rng(0)
    labels = np.arange(60) % K
    p = rng.dirichlet(np.ones(K), 60) + np.eye(K)[labels]
    p /= p.sum(axis=1, keepdims=True)
    fidelity = label_fidelity(p, labels, p[::-1], labels[::-1], names=("a", "b", "c"))
    assert fidelity["auc_synthetic"] == pytest.approx(roc_auc_score(labels, p, multi_class="ovr"))
    assert set(fidelity["mean_p_own_class"]) == {"a", "b", "c"} and fidelity["label_effect"] == pytest.approx(1)
    halves = patient_halves(np.arange(60).astype(str), labels, seed=0)
    assert all(abs(np.sum(halves & (labels == c)) - 10) <= 1 for c in range(K))
    images, image_labels = _data(30)
    report = quality_checks({"images": images, "labels": image_labels}, images, image_labels, names=("a", "b", "c"))
    assert set(report) == {"a", "b", "c"}
