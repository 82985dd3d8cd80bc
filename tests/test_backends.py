"""Backends: compute.backend selects Keras' backend and nothing silently disagrees with it, their import noise is
dropped (and nothing else), mixed precision gives float32 outputs, and the tiny workflow runs end to end on JAX."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from synthaug import backends
from synthaug.errors import ConfigError
from workflow_helpers import FAST_XLA, REPO, TINY, prepare_workdir, session_backend, snakemake  # noqa: E402

keras = pytest.importorskip("keras")
OTHER = next(name for name in backends.BACKENDS if name != keras.backend.backend())


def test_unknown_backend_names_the_key():
    with pytest.raises(ConfigError, match="compute.backend"):
        backends.use_backend("theano")


def test_keras_backend_variable_must_agree(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", OTHER)
    with pytest.raises(ConfigError, match="compute.backend.*KERAS_BACKEND"):
        backends.use_backend(keras.backend.backend())


def test_keras_already_running_another_backend_is_refused(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    with pytest.raises(ConfigError, match="already running"):
        backends.use_backend(OTHER)
    assert backends.use_backend({"backend": keras.backend.backend()}) == keras.backend.backend()


def test_workflow_stops_when_keras_backend_disagrees(tmp_path):
    env = {"KERAS_BACKEND": "jax", "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(prepare_workdir(tmp_path)),
           "--dry-run", "--cores", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    assert "compute.backend" in proc.stdout + proc.stderr and "KERAS_BACKEND" in proc.stdout + proc.stderr


def test_import_noise_is_dropped_and_errors_kept():
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795678426.655514    9305 port.cc:153] oneDNN custom operations are on. You may see ...",
        "I0000 00:00:1795678426.735261    9305 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
        "E0000 00:00:1.0 3321 node_def_util.cc:682] NodeDef mentions attribute use_unbounded_threadpool which is",
    ]
    kept = ["E0000 00:00:1.0 1 cuda_dnn.cc:8] could not create cudnn handle", "Traceback (most recent call last):"]
    assert all(backends.NOISE.search(line) for line in noise)
    assert not any(backends.NOISE.search(line) for line in kept)


def test_backend_starts_without_noise_nor_the_optional_packages_keras_would_import():
    """A rule script's start: quiet, and without the packages Keras imports for parts no rule uses (each costs CPU
    in every job), which import normally afterwards."""
    optional = [*backends.KERAS_OPTIONAL, *(("jax",) if session_backend() == "tensorflow" else ())]
    code = f"import sys; sys.path.insert(0, {str(REPO / 'workflow')!r}); from synthaug.backends import use_backend; " \
           f"use_backend({session_backend()!r}); import keras; keras.ops.ones(2); print('visible', file=sys.stderr); " \
           f"print([m for m in {optional!r} if m in sys.modules]); import sklearn.metrics, matplotlib.pyplot, cv2"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "visible" in proc.stderr  # other lines pass
    assert not any(backends.NOISE.search(line) for line in proc.stderr.splitlines()), proc.stderr
    assert proc.stdout.strip() == "[]"


MIXED = """
import json, sys
sys.path.insert(0, {workflow!r})
from synthaug.backends import use_backend
use_backend({compute!r})
import keras, numpy as np
from synthaug.gan import generate, train_gan
from synthaug.train import predict, train_classifier

rng = np.random.default_rng(0)
images, labels = rng.random((32, 16, 16, 3)).astype("float32"), np.arange(32) % 2
model, history = train_classifier("simple_cnn", (images, labels), (images, labels), epochs=1, batch_size=16,
                                  learning_rate=1e-3, patience=1, seed=0, weights=None,
                                  checkpoint_dir={tmp!r} + "/clf", threads=2, precision={precision!r})
p = predict(model, images)
gan = train_gan(images, labels, epochs=1, batch_size=16, latent_dim=8, learning_rate=2e-4, beta_1=0.5, seed=0,
                checkpoint_dir={tmp!r} + "/gan", n_snapshots=1, precision={precision!r})
samples = generate(gan.generator, rng.standard_normal((4, 8)).astype("float32"), np.array([0, 1, 0, 1]))
print(json.dumps({{"conv_dtype": model.layers[1].compute_dtype, "p_dtype": str(p.dtype),
                  "finite": bool(np.isfinite(p).all() and np.isfinite(history.to_numpy(float)).all()
                                 and np.isfinite(gan.losses.iloc[:, 1:].to_numpy(float)).all()),
                  "loss_scaled": type(model.optimizer).__name__ == "LossScaleOptimizer",
                  "samples_dtype": str(samples.dtype)}}))
"""


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_outputs_are_float32(precision, tmp_path):
    """A classifier and the GAN train under the policy (own process: the policy picks CPU kernels at start)."""
    compute = {"backend": session_backend(), "precision": precision}
    code = MIXED.format(workflow=str(REPO / "workflow"), compute=compute, tmp=str(tmp_path), precision=precision)
    set_by_session = {key for env in backends.CPU_ISA_ENV.values() for key in env} | {"KERAS_BACKEND"}
    env = {k: v for k, v in os.environ.items() if k not in set_by_session}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["conv_dtype"] == precision.split("_")[1]  # the convolutions ran in low precision
    assert result["p_dtype"] == result["samples_dtype"] == "float32" and result["finite"]
    assert result["loss_scaled"] == (precision == "mixed_float16")


# One more tiny workflow, on JAX (the session's own tiny run covers the session's backend): the CGAN trained and
# sampled, and the baseline trained and evaluated, there. Built from scratch (its data stage is a few seconds) rather
# than from a copy of the tiny run, so that it runs on the other pytest-xdist worker, beside the tiny run's group.
# Assessment and the synthetic arms are Keras code like these, run on the session's backend by the tiny run (every
# generator through the workflow: tests/test_generators.py).
JAX_TARGETS = ["results/evaluation/baseline/simple_cnn/seed0/metrics.json", "results/synthetic/cgan/i0/images.npz"]


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    """The tiny workflow on JAX: the cgan trained and sampled, the baseline trained and evaluated; skipped when JAX is
    not installed."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install -e '.[jax]')")
    workdir = prepare_workdir(tmp_path_factory.mktemp("jax"))
    snakemake(workdir, *JAX_TARGETS, configfiles=(TINY, REPO / "tests" / "configs" / "jax.yaml"), env=FAST_XLA)
    return workdir


@pytest.mark.workflow
def test_tiny_workflow_runs_on_jax(jax_run):
    gan_log = (jax_run / "logs" / "train_generator" / "cgan" / "i0.log").read_text()
    assert "on jax" in gan_log  # (that nothing needs TensorFlow is shown by a venv without it: README)
    losses = pd.read_csv(jax_run / "results" / "gan" / "cgan" / "i0" / "losses.csv")
    assert np.isfinite(losses[["d_loss", "g_loss"]].to_numpy()).all()
    with np.load(jax_run / "results" / "synthetic" / "cgan" / "i0" / "images.npz") as synthetic:
        images, labels = synthetic["images"], synthetic["labels"]
    assert images.shape[1:] == (32, 32, 3) and set(np.unique(labels)) == {0, 1}
    assert np.isfinite(images).all() and 0 <= images.min() and images.max() <= 1 and images.std() > 1e-3
    from sklearn.metrics import roc_auc_score

    folder = jax_run / "results" / "evaluation" / "baseline" / "simple_cnn" / "seed0"
    metrics = json.loads((folder / "metrics.json").read_text())
    predictions = pd.read_csv(folder / "predictions.csv")
    # A model that trained on JAX: finite, not constant predictions, and the AUC is theirs (sklearn's) - a range check
    # alone would pass a NaN-weight or constant model (AUC 0.5) or an AUC of other predictions.
    p = predictions["probability"].to_numpy(float)
    assert np.isfinite(p).all() and p.std() > 1e-4
    assert metrics["auc"] == pytest.approx(roc_auc_score(predictions["label"], p), abs=1e-6)


# The session runs on one backend (TensorFlow in CI), so test_train.py's resume tests would check no other. Two of
# them run again here on JAX, in a pytest process of their own (one backend per process): a SIGTERM mid-training
# and a checkpoint cut short each resume to the uninterrupted run's weights and history. (The CGAN's resume test,
# tests/test_cgan.py, takes over a minute on JAX, mostly XLA compiles: run it with KERAS_BACKEND=jax, README.)
JAX_RESUME = ["tests/test_train.py::test_sigterm_then_rerun_resumes_to_the_uninterrupted_result",
              "tests/test_train.py::test_a_truncated_checkpoint_resumes_from_the_previous_one_to_the_uninterrupted_result"]


def test_classifier_resume_is_exact_on_jax_too():
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install -e '.[jax]')")
    if keras.backend.backend() == "jax":
        pytest.skip("the session runs on JAX: test_train.py itself covers it")
    set_by_session = {key for env in backends.CPU_ISA_ENV.values() for key in env}
    env = {k: v for k, v in os.environ.items() if k not in set_by_session and not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "pytest", "-n", "0", "-q", "-p", "no:cacheprovider", "-W", "ignore", *JAX_RESUME]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**env, **FAST_XLA, "KERAS_BACKEND": "jax"})  # conftest selects it, or stops
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f"{len(JAX_RESUME)} passed" in proc.stdout
