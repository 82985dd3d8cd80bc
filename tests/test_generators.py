"""cgan_diffaug (DiffAugment, hinge loss, spectral normalisation) and ddpm (conditional diffusion, DDIM): shapes,
seeded augmentations that do what they say, finite training, exact resume after an interruption."""

import json
import os
import re
import subprocess
import sys
from functools import partial

import numpy as np
import pandas as pd
import pytest
import yaml

keras = pytest.importorskip("keras")

from synthaug import generators  # noqa: E402
from synthaug.arms import assemble_arm  # noqa: E402
from synthaug.diffusion import train_ddpm  # noqa: E402
from synthaug.io import load_arrays  # noqa: E402
from synthaug.gan import train_gan  # noqa: E402
from synthaug.models.cgan import build_discriminator  # noqa: E402
from synthaug.models.ddpm import Diffusion, alpha_bars, build_denoiser, ddim_sample, time_embedding  # noqa: E402
from synthaug.models.diffaug import (  # noqa: E402
    DiffAugment,
    augment_cutout,
    augment_translation,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from synthaug.synthesize import synthesize  # noqa: E402
from workflow_helpers import REPO, TINY, planned_jobs, prepare_workdir, snakemake  # noqa: E402


# --- the registry: one table, read by the rules and the parse-time checks --------------------------------------------

def test_every_generator_is_registered_with_what_the_workflow_calls():
    assert list(generators.BUILTIN) == ["cgan", "cgan_diffaug", "ddpm"] == generators.trained()
    for name in generators.BUILTIN:
        module = generators.implementation(generators.entry(name).module)
        assert callable(module.train) and callable(module.sample)
    config = {"external": {"mysynth": {"root": "x"}}, "dataset": {"name": "phantom"}, "preprocess": {}}
    assert generators.names(config) == ["cgan", "cgan_diffaug", "ddpm", "mysynth"]
    assert not generators.entry("mysynth", config).trains
    assert callable(generators.implementation(generators.entry("mysynth", config).module).sample)
    assert generators.options("mysynth", config)["root"] == "x"
    assert generators.entry("ddpm").runtime > generators.entry("cgan").runtime  # its rule asks for longer


def test_the_registry_imports_without_numpy_or_keras():
    code = ("import sys, synthaug.generators, synthaug.arm_names, synthaug.preflight; "
            "print(sorted(m for m in ('numpy', 'keras', 'cv2', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO / "workflow")})
    assert out.stdout.strip() == "[]"


# Lines of the package that match the pattern below without branching on a generator: (file, text in the line).
NOT_BRANCHING = {("preflight.py", 'Arm.parse(f"synthetic-{name}-r0.5").generator == name')}  # a name round-trips


def test_no_script_rule_or_package_module_compares_a_generator_name_with_a_string():
    names = "|".join(generators.BUILTIN)
    pattern = re.compile(rf"generator\s*(==|!=)|(==|!=)\s*[\"']({names})[\"']|[\"']({names})[\"']\s*(==|!=)|"
                         rf"generator\s+(not\s+)?in\s*[\[(]")
    files = [*(REPO / "workflow/scripts").glob("*.py"), *(REPO / "workflow/rules").glob("*.smk"), REPO / "Snakefile",
             *(REPO / "workflow/synthaug").rglob("*.py")]  # the package too: a branch there is as hidden
    found = [f"{f.relative_to(REPO)}:{i}: {line.strip()}" for f in files
             for i, line in enumerate(f.read_text().splitlines(), 1)
             if pattern.search(line) and not any(f.name == n and text in line for n, text in NOT_BRANCHING)]
    assert not found, found
    assert pattern.search('if smk.wildcards.generator == "ddpm"') and pattern.search('x if g == "cgan_diffaug"')


def test_arm_names_take_external_set_names():
    from synthaug.arm_names import WILDCARD, Arm

    for name in ("synthetic-mysynth-r0.5", "combined-my_set2-r1", "synthetic_only-hub_dcgan"):
        assert re.fullmatch(WILDCARD, name) and Arm.parse(name).name == name
    assert Arm.parse("augmented_equal-r1").generator is None


def _data(n=32, size=16):
    rng = np.random.default_rng(0)
    return rng.random((n, size, size, 3)).astype("float32"), np.arange(n) % 2


def test_translation_shifts_by_at_most_an_eighth_with_zero_fill():
    x = np.random.default_rng(0).random((6, 16, 16, 3)).astype("float32") + 1.0  # no zeros inside
    out = np.asarray(augment_translation(x, keras.random.SeedGenerator(0)))
    for img, src in zip(out, x):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.allclose(img, np.roll(src, (dy, dx), axis=(0, 1)) * _inside(dy, dx), atol=1e-6)]
        assert len(matches) == 1


def _inside(dy, dx, size=16):
    mask = np.zeros((size, size, 1), "float32")
    mask[max(dy, 0) : size + min(dy, 0), max(dx, 0) : size + min(dx, 0)] = 1.0
    return mask


def test_cutout_zeroes_one_square_of_at_most_half_the_side():
    x = np.ones((8, 16, 16, 3), "float32")
    out = np.asarray(augment_cutout(x, keras.random.SeedGenerator(1)))
    for img in out:
        rows, cols = np.nonzero(img[..., 0] == 0)
        assert 0 < len(rows) <= 64 and len(rows) == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # a filled rectangle
        assert np.ptp(rows) < 8 and np.ptp(cols) < 8


def test_diffaugment_is_seeded_and_rejects_unknown_policies():
    x = np.random.default_rng(0).random((4, 16, 16, 3)).astype("float32") * 2 - 1
    a, b = np.asarray(DiffAugment(seed=3)(x)), np.asarray(DiffAugment(seed=3)(x))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x)
    with pytest.raises(ValueError, match="rotation"):
        DiffAugment(["rotation"])


def test_hinge_losses():
    real, fake = np.array([[2.0], [0.5]]), np.array([[-2.0], [0.0]])
    assert float(hinge_discriminator_loss(real, fake)) == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert float(hinge_generator_loss(fake)) == pytest.approx(1.0)


def test_spectral_norm_hinge_discriminator_returns_raw_scores():
    d = build_discriminator(16, spectral_norm=True, logits=True)
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in d.layers)
    assert d.layers[-1].get_config()["layer"]["config"]["activation"] == "linear"


def test_projection_discriminator_scores_features_plus_their_match_with_the_label():
    keras.utils.set_random_seed(0)
    d = build_discriminator(16, logits=True, conditioning="projection", dropout=0.0)
    assert not any(isinstance(layer, keras.layers.Concatenate) for layer in d.layers)  # no label channel
    x = np.random.default_rng(0).random((5, 16, 16, 3)).astype("float32") * 2 - 1
    h = np.asarray(keras.Model(d.inputs, d.get_layer("features").output)([x, np.zeros(5, "int32")]))
    w, b = (np.asarray(v) for v in (d.get_layer("score").kernel, d.get_layer("score").bias))
    e = np.asarray(d.get_layer("label_vector").embeddings)
    for label in (0, 1):
        scores = np.asarray(d([x, np.full(5, label, "int32")]))
        np.testing.assert_allclose(scores[:, 0], h @ w[:, 0] + b[0] + h @ e[label], rtol=1e-4, atol=1e-5)
    assert not np.allclose(np.asarray(d([x, np.zeros(5, "int32")])), np.asarray(d([x, np.ones(5, "int32")])))
    normalised = build_discriminator(16, logits=True, conditioning="projection", spectral_norm=True, dropout=0.0)
    normalised([x, np.zeros(5, "int32")], training=True)  # one power iteration; inference then uses its weights
    zeros, ones = (np.asarray(normalised([x, np.full(5, c, "int32")])) for c in (0, 1))
    assert not np.allclose(zeros, ones)  # the label still counts under spectral normalisation
    probabilities = np.asarray(build_discriminator(16, conditioning="projection")([x, np.zeros(5, "int32")]))
    assert ((probabilities > 0) & (probabilities < 1)).all()
    with pytest.raises(ValueError, match="conditioning"):
        build_discriminator(16, conditioning="concat")


def test_auxiliary_class_loss_is_added_to_both_losses():
    from synthaug.models.cgan import ConditionalGAN, build_generator

    keras.utils.set_random_seed(0)
    d = build_discriminator(16, auxiliary=True, dropout=0.0)
    assert [tuple(o.shape) for o in d.outputs] == [(None, 1), (None, 1)]
    gan = ConditionalGAN(d, build_generator(16, 8), latent_dim=8, auxiliary=2.0)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), keras.losses.BinaryCrossentropy())
    real = np.random.default_rng(0).random((6, 16, 16, 3)).astype("float32") * 2 - 1
    fake = np.random.default_rng(1).random((6, 16, 16, 3)).astype("float32") * 2 - 1
    labels = np.array([0, 1, 0, 1, 1, 0], "int32")

    def parts(images):
        p_real, logit = (np.asarray(o, "float64")[:, 0] for o in d([images, labels]))
        p = 1 / (1 + np.exp(-logit))
        return p_real, -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))

    (p_r, ce_r), (p_f, _) = parts(real), parts(fake)
    d_loss = float(gan.discriminator_loss(real, fake, labels, training=False)[0])
    assert d_loss == pytest.approx(-np.mean(np.log(p_r)) - np.mean(np.log(1 - p_f)) + 2.0 * ce_r, rel=1e-4)
    g_loss = float(gan.generator_loss(fake, labels, training=False))
    assert g_loss == pytest.approx(-np.mean(np.log(p_f)) + 2.0 * parts(fake)[1], rel=1e-4)


@pytest.mark.parametrize("options", [
    {"policy": ["color", "translation", "cutout"], "loss": "bce", "spectral_norm": False, "conditioning": "channel",
     "auxiliary": 0.0},
    {"policy": ["translation"], "loss": "hinge", "spectral_norm": True, "conditioning": "projection",
     "auxiliary": 0.5},
])
def test_cgan_diffaug_resumes_exactly(tmp_path, options):
    images, labels = _data()
    kw = dict(batch_size=16, latent_dim=8, learning_rate=2e-4, beta_1=0.5, seed=0, n_snapshots=2, diffaug=options)
    straight = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "a", **kw)
    train_gan(images, labels, epochs=1, checkpoint_dir=tmp_path / "b", **kw)
    resumed = train_gan(images, labels, epochs=2, checkpoint_dir=tmp_path / "b", **kw)
    assert np.isfinite(straight.losses.iloc[:, 1:].to_numpy()).all()
    np.testing.assert_allclose(resumed.losses.iloc[:, 1:], straight.losses.iloc[:, 1:], rtol=1e-4, atol=1e-5)
    for a, b in zip(straight.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_cosine_schedule_and_time_embedding():
    ab = alpha_bars()
    assert ab.shape == (1000,) and ab[0] > 0.99 and ab[-1] < 1e-3 and np.all(np.diff(ab) < 0)
    emb = np.asarray(time_embedding(np.array([0, 10, 999])))
    assert emb.shape == (3, 64) and not np.allclose(emb[1], emb[2])


def test_denoiser_depends_on_label_and_step():
    keras.utils.set_random_seed(0)
    net = build_denoiser(16, (8, 16))
    for layer in net.layers:  # the noise head starts at zero; give it weights so the dependence shows
        if layer.name == "noise":
            layer.kernel.assign(np.random.default_rng(0).normal(size=layer.kernel.shape) * 0.1)
    x = np.random.default_rng(1).normal(size=(1, 16, 16, 1)).astype("float32")
    emb = np.asarray(time_embedding(np.array([100.0])))
    out = {c: np.asarray(net([x, emb, np.array([c])])) for c in (0, 1, 2)}
    assert out[0].shape == (1, 16, 16, 1)
    assert not np.allclose(out[0], out[1]) and not np.allclose(out[0], out[2])
    later = np.asarray(net([x, np.asarray(time_embedding(np.array([900.0]))), np.array([0])]))
    assert not np.allclose(out[0], later)


def test_diffusion_loss_is_the_noise_prediction_error():
    keras.utils.set_random_seed(0)
    model = Diffusion(build_denoiser(16, (8, 16)), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    images, labels = _data()
    pred_and_noise = np.asarray(model((images, labels), training=True))
    assert pred_and_noise.shape == (2, 32, 16, 16, 1)
    assert float(model.compute_loss(y_pred=pred_and_noise)) == pytest.approx(
        np.mean((pred_and_noise[0] - pred_and_noise[1]) ** 2), rel=1e-5)


def test_ddpm_resumes_exactly_and_samples_through_synthesize(tmp_path):
    images, labels = _data()
    kw = dict(batch_size=16, learning_rate=1e-3, channels=[8, 16], label_dropout=0.1, ema=0.9, guidance=1.0,
              seed=0, n_snapshots=2)
    straight = train_ddpm(images, labels, epochs=2, checkpoint_dir=tmp_path / "a", **kw)
    train_ddpm(images, labels, epochs=1, checkpoint_dir=tmp_path / "b", **kw)
    resumed = train_ddpm(images, labels, epochs=2, checkpoint_dir=tmp_path / "b", **kw)
    np.testing.assert_allclose(resumed.losses["loss"], straight.losses["loss"], rtol=1e-5)
    for a, b in zip(straight.generator.get_weights(), resumed.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert sorted(straight.snapshots) == [1, 2] and straight.snapshots[2].shape == (2, 8, 16, 16, 3)

    path = tmp_path / "model.keras"
    straight.generator.save(path)
    loaded = keras.models.load_model(path)
    options = {"ddpm": {"sample_steps": 3, "guidance": 1.0}}
    sample = partial(generators.implementation("ddpm").sample, path, options=options)
    out = synthesize(sample, 6, 0.5, labels, seed=0, prefix="ddpm")
    assert out["images"].shape == (6, 16, 16, 3) and out["case_ids"][0] == "ddpm-00001"
    assert 0.0 <= out["images"].min() and out["images"].max() <= 1.0
    np.testing.assert_array_equal(out["images"][..., 0], out["images"][..., 2])  # grey, three copies
    again = ddim_sample(loaded, out["labels"], steps=3, guidance=1.0, seed=0)
    np.testing.assert_allclose(again, out["images"], atol=1e-6)


# Every generator through the workflow on the session's backend: a copy of the tiny run (whose data, cgan and
# baseline are reused unchanged) with cgan_diffaug and ddpm added. The tiny run's arms stay: they set how many images
# each generator samples (synthesize.n_images: auto), so other arms would sample and assess cgan again.
GENERATORS = ["cgan", "cgan_diffaug", "ddpm"]
GENERATORS_RUN = "experiment:\n  generators: [cgan, cgan_diffaug, ddpm]\n"


@pytest.fixture(scope="module")
def generators_run(tiny_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("generators")
    subprocess.run(["cp", "-a", f"{tiny_run}/.", str(workdir)], check=True)  # -a keeps mtimes: no rerun of those
    (workdir / "extra.yaml").write_text(GENERATORS_RUN)
    # The generators' part of the workflow only: a classifier reads every generator's images.npz by one contract
    # (checked below), and the tiny run trains the synthetic arms on cgan's.
    targets = ["results/synthetic/comparison.csv", *(f"results/synthetic/{g}/quality.json" for g in GENERATORS)]
    proc = snakemake(workdir, *targets, configfiles=(TINY, workdir / "extra.yaml"))
    return workdir, proc.stdout + proc.stderr


@pytest.mark.workflow
def test_every_generator_runs_through_the_workflow(generators_run):
    """cgan_diffaug and ddpm beside cgan: trained, sampled, assessed and compared, their images in the contract a
    classifier's training set reads."""
    workdir, log = generators_run
    ran = {line.split("generator=")[1].split(",")[0] for line in log.splitlines() if "wildcards: generator=" in line}
    assert ran == {"cgan_diffaug", "ddpm"}  # the tiny run's cgan images and assessment are reused
    comparison = pd.read_csv(workdir / "results/synthetic/comparison.csv")
    assert set(comparison["generator"]) == set(GENERATORS)
    train = load_arrays(workdir / "results/data/train.npz")
    for generator in GENERATORS:
        folder = workdir / "results/synthetic" / generator
        synthetic = load_arrays(folder / "i0" / "images.npz")
        assert synthetic["images"].shape[1:] == (32, 32, 3) and set(np.unique(synthetic["labels"])) == {0, 1}
        assert 0.0 <= synthetic["images"].min() and synthetic["images"].max() <= 1.0
        # The synthetic arm's training set, as train_classifier assembles it: the real images plus half as many
        # of this generator's, in the real images' class mix.
        images, labels, source = assemble_arm(f"synthetic-{generator}-r0.5", train, synthetic=synthetic, seed=0)
        n_real = len(train["labels"])
        assert images.shape == (n_real + round(0.5 * n_real), 32, 32, 3) and len(labels) == len(source)
        assert np.isfinite(images).all() and set(np.unique(labels)) == {0, 1}
        quality = json.loads((folder / "quality.json").read_text())
        assert {"kid", "precision", "recall", "density", "coverage"} <= set(quality["metrics"]["random_cnn"]["overall"])
        assert quality["memorisation"]["verdict"]


@pytest.mark.workflow
def test_generators_preset_plans_three_generators_at_128_px(tmp_path):
    """presets/generators.yaml: the three generators trained, sampled, judged and compared, each with its synthetic
    and TSTR arms beside the baseline (5 seeds each); nothing else (no controls, no learning curve)."""
    preset = REPO / "presets" / "generators.yaml"
    assert yaml.safe_load(preset.read_text())["preprocess"]["image_size"] == 128
    jobs = planned_jobs(prepare_workdir(tmp_path), "results/synthetic/comparison.md", "results/summary/table.md",
                        configfiles=(preset,))
    assert jobs["train_generator"] == 3
    assert jobs["synthesize_images"] == 3 and jobs["assess_synthetic"] == 3 and jobs["compare_generators"] == 1
    runs = 5 * (1 + 3 + 3)  # seeds x (baseline + a synthetic and a synthetic_only arm per generator)
    assert jobs["train_classifier"] == runs and jobs["evaluate_classifier"] == runs
    assert "preprocess_reserve" not in jobs and "augment_images" not in jobs
