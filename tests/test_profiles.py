"""The Snakemake profiles: the local one runs GPU jobs one at a time, the SLURM one loads and plans the workflow."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from workflow_helpers import REPO, prepare_workdir, snakemake

# Two jobs that each hold a GPU for a moment, recording when they start and end.
GPU_JOBS = """
rule all:
    input: "a.txt", "b.txt"

rule hold_gpu:
    output: "{name}.txt"
    resources: gpu=1
    shell: "date +%s.%N > {output}; sleep 1; date +%s.%N >> {output}"
"""


def test_local_profile_runs_one_gpu_job_at_a_time(tmp_path):
    (tmp_path / "Snakefile").write_text(GPU_JOBS)
    cmd = [sys.executable, "-m", "snakemake", "--profile", str(REPO / "profiles" / "local"), "--cores", "2"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (start_a, end_a), (start_b, end_b) = ([float(t) for t in (tmp_path / f).read_text().split()] for f in ("a.txt", "b.txt"))
    assert end_a <= start_b or end_b <= start_a, "two gpu=1 jobs ran at the same time"


@pytest.mark.skipif(
    importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
    reason="snakemake-executor-plugin-slurm is not installed (pip install -e '.[slurm]')",
)
def test_slurm_profile_loads_and_plans_the_workflow(tmp_path):
    # A dry run needs no cluster; a misspelt key or an invalid plugin setting in the profile makes it fail.
    proc = snakemake(
        prepare_workdir(tmp_path), "--profile", str(REPO / "profiles" / "slurm"), "--dry-run",
        "results/evaluation/baseline/simple_cnn/seed0/metrics.json",
    )
    assert "rule train_classifier:" in proc.stdout + proc.stderr
