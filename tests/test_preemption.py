"""Preemption: SIGTERM to a running classifier training (what SLURM sends before it kills or requeues a job)
leaves a checkpoint; rerunning the workflow resumes from it and ends where an uninterrupted run ends."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from workflow_helpers import REPO, TINY, snakemake

pytestmark = pytest.mark.workflow

RUN = "results/classifiers/baseline/simple_cnn/seed0"
TARGET = "results/evaluation/baseline/simple_cnn/seed0/metrics.json"
# Long enough to be interrupted mid-run; patience as long as training so both runs see every epoch.
LONG = "classifier:\n  epochs: 12\n  patience: 12\n  batch_size: 8\n"


def _training_process(parent: psutil.Process) -> psutil.Process | None:
    for child in parent.children(recursive=True):
        try:
            if any("train_classifier" in part for part in child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def _epochs_done(workdir: Path) -> int:
    state = workdir / RUN / "checkpoint" / "state.json"
    try:
        return json.loads(state.read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _long(workdir: Path) -> tuple[Path, Path]:
    (workdir / "long.yaml").write_text(LONG)
    return TINY, workdir / "long.yaml"


def _start(workdir: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2",
           TARGET, "--configfile", *map(str, _long(workdir))]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture()
def workdirs(tiny_run, tmp_path):
    """Two copies of the session's tiny run: its data stage is reused, its classifiers retrained with LONG."""
    copies = tmp_path / "preempted", tmp_path / "uninterrupted"
    for copy in copies:
        subprocess.run(["cp", "-a", str(tiny_run), str(copy)], check=True)  # -a keeps mtimes: no data rerun
        # Without the tiny run's evaluations: Snakemake would take an existing, up-to-date metrics.json
        # as reason enough not to rebuild its missing model.
        for stage in ("classifiers", "evaluation", "summary"):
            shutil.rmtree(copy / "results" / stage)
    return copies


def test_sigterm_checkpoints_and_rerun_resumes(workdirs):
    preempted, uninterrupted = workdirs
    snakemake(uninterrupted, TARGET, configfiles=_long(uninterrupted))

    job = _start(preempted)
    deadline = time.monotonic() + 300
    while _epochs_done(preempted) < 2:
        assert job.poll() is None, f"training ended before it could be interrupted:\n{job.stdout.read()}"
        assert time.monotonic() < deadline, "no checkpoint appeared within 5 minutes"
        time.sleep(0.2)
    trainer = _training_process(psutil.Process(job.pid))
    assert trainer is not None, "could not find the training process"
    trainer.send_signal(signal.SIGTERM)
    output, _ = job.communicate(timeout=300)
    assert job.returncode != 0, "snakemake should report the preempted job as failed"
    assert not (preempted / RUN / "model.keras").exists(), "a preempted job must not leave a finished-looking model"
    assert not (preempted / RUN / "predictions.npz").exists(), "nor predictions for evaluate_classifier to read"
    done = _epochs_done(preempted)
    assert 2 <= done < 12

    snakemake(preempted, TARGET, configfiles=_long(preempted))
    log = (preempted / "logs" / "train_classifier" / "baseline" / "simple_cnn" / "seed0.log").read_text()
    assert "resuming from checkpoint" in log
    # The interrupted attempt's lines stay above the rerun's: its first epoch and the preemption notice.
    first, rerun = log.split("---- rerun: resuming the interrupted attempt logged above ----")
    assert "epoch 1/12" in first and "preempted" in first and "resuming from checkpoint" in rerun
    assert not (preempted / RUN / "checkpoint").exists(), "the checkpoint is removed once the model is written"

    resumed = pd.read_csv(preempted / RUN / "history.csv")
    straight = pd.read_csv(uninterrupted / RUN / "history.csv")
    assert len(resumed) == len(straight) == 12
    # Same data order per epoch, restored weights and optimizer state: the curves agree to float noise.
    pd.testing.assert_series_equal(resumed["val_auc"], straight["val_auc"], atol=1e-4, check_exact=False)
    # predictions.npz holds the kept model's predictions, on the resumed run as on the uninterrupted one.
    with np.load(preempted / RUN / "predictions.npz") as p, np.load(uninterrupted / RUN / "predictions.npz") as q:
        for part in ("p_train", "p_val", "p_test"):
            np.testing.assert_allclose(p[part], q[part], atol=1e-4)
    a = json.loads((preempted / TARGET).read_text())
    b = json.loads((uninterrupted / TARGET).read_text())
    assert a["auc"] == pytest.approx(b["auc"], abs=1e-4)
