"""The study's remaining parts in the workflow: tuning with 2 workers into one study (a rerun numbers on),
simple_cnn_tuned trained with its best parameters, VGG16 through both transfer stages from a weights file the
test wrote, and the paper preset planning its whole run (or saying which weights file to fetch)."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
import yaml

from workflow_helpers import REPO, TINY, planned_jobs, prepare_workdir, snakemake

pytestmark = pytest.mark.workflow

PAPER = REPO / "presets" / "paper.yaml"
VGG16_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _write_config(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_paper_preset_plans_the_whole_run(tmp_path):
    workdir = prepare_workdir(tmp_path / "run")
    weights = tmp_path / "weights" / VGG16_FILE
    weights.parent.mkdir()
    weights.write_bytes(b"stand-in: a dry run only checks that the file is there")
    override = _write_config(tmp_path / "weights.yaml", {"classifier": {"weights": {"vgg16": str(weights)}}})
    jobs = planned_jobs(workdir, configfiles=(PAPER, override))
    runs = 4 * 5 * 5  # arms x models x seeds
    assert jobs["train_classifier"] == runs and jobs["evaluate_classifier"] == runs
    assert jobs["tune_classifier"] == 4 and jobs["gather_tuning"] == 1
    assert jobs["tabulate_paper"] == 1 and jobs["train_generator"] == 1


def test_paper_preset_without_weights_says_what_to_fetch(tmp_path):
    proc = snakemake(prepare_workdir(tmp_path), "--dry-run", configfiles=(PAPER,), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "classifier.weights.vgg16" in out and f"resources/weights/{VGG16_FILE}" in out
    assert f"https://storage.googleapis.com/tensorflow/keras-applications/vgg16/{VGG16_FILE}" in out


def test_tuning_workers_tuned_cnn_and_vgg16_transfer(tiny_run, tmp_path):
    import keras

    workdir = tmp_path / "run"
    subprocess.run(["cp", "-a", str(tiny_run), str(workdir)], check=True)  # -a keeps mtimes: its data stage is reused
    weights = tmp_path / "vgg16_notop.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(weights)
    settings = {
        "tune": {"n_trials": 2, "workers": 2, "epochs": 1},
        "classifier": {"epochs": 1, "weights": {"vgg16": str(weights)},
                       "fine_tune": {"enabled": True, "epochs": 1, "layers": 4}},
        "experiment": {"arms": ["baseline"], "models": ["simple_cnn_tuned", "vgg16"], "seeds": [0]},
    }
    config = _write_config(tmp_path / "tune.yaml", settings)
    targets = [f"results/evaluation/baseline/{m}/seed0/metrics.json" for m in ("simple_cnn_tuned", "vgg16")]
    snakemake(workdir, *targets, configfiles=(TINY, config))

    tune = workdir / "results" / "tune" / "simple_cnn"
    workers = [pd.read_csv(tune / "workers" / f"worker{w}.csv") for w in (0, 1)]
    assert [len(w) for w in workers] == [1, 1]  # both workers added a trial to the one study
    assert pd.read_csv(tune / "trials.csv")["number"].tolist() == [0, 1]
    assert (tune / "optimization_history.png").stat().st_size > 1000
    assert (tune / "param_importances.png").stat().st_size > 1000
    log = (workdir / "logs" / "train_classifier" / "baseline" / "simple_cnn_tuned" / "seed0.log").read_text()
    assert "epoch 1/1" in log
    history = pd.read_csv(workdir / "results" / "classifiers" / "baseline" / "vgg16" / "seed0" / "history.csv")
    assert history["stage"].tolist() == ["fixed_base", "fine_tune"]
    assert not (workdir / "results" / "classifiers" / "baseline" / "vgg16" / "seed0" / "checkpoint").exists()

    # A rerun asking for more trials continues the study: trial numbers go on from where they stopped.
    settings["tune"]["n_trials"] = 3
    _write_config(config, settings)
    snakemake(workdir, "results/tune/simple_cnn/best_params.json", configfiles=(TINY, config))
    assert pd.read_csv(tune / "trials.csv")["number"].tolist() == [0, 1, 2]
    assert len(pd.read_csv(tune / "workers" / "worker0.csv")) == 2
