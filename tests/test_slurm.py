"""The workflow through a real SLURM cluster: profiles/slurm submits every job with sbatch to a single-node cluster
that tests/slurm/cluster.sh installs and starts, and the results equal those of a local run of the same target."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from workflow_helpers import REPO, prepare_workdir, snakemake

pytestmark = pytest.mark.slurm

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
SPLIT = "results/data/split.csv"
METRICS = "results/evaluation/baseline/simple_cnn/seed0/metrics.json"
# Rules that must run as SLURM jobs on the way to METRICS (others may be localrules, run by Snakemake itself).
HEAVY_RULES = {"simulate_phantom", "ingest_cases", "preprocess_images", "train_classifier", "evaluate_classifier"}
# Where the test cluster is: its account and partition (tests/slurm/slurm.conf.in); status checked after 1 s, not 20,
# and every 2 s, not 10 (each DAG level otherwise waits for a whole round of checks).
SLURM_ARGS = (
    "--profile", str(REPO / "profiles" / "slurm"),
    "--default-resources", "slurm_account=synthaug", "slurm_partition=debug",
    "--slurm-init-seconds-before-status-checks", "1",
    "--seconds-between-status-checks", "2",
)


def why_no_cluster() -> str | None:
    if os.geteuid() != 0:
        return "needs root to install and start SLURM daemons (run as root, e.g. in CI)"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it (Debian 12 packages slurmctld, slurmd, ...)"
    if Path("/run/systemd/system").is_dir():
        return "systemd is running: apt would start its own SLURM/MariaDB daemons and the test cluster's ports would clash"
    return None


def cluster_sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CLUSTER), *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def cluster():
    """A running single-node cluster for this module; always stopped (by PID) and its state removed afterwards."""
    reason = why_no_cluster()
    if reason:
        pytest.skip(f"no SLURM cluster: {reason}")
    installed = cluster_sh("install")
    if installed.returncode != 0:
        pytest.skip(f"no SLURM cluster: the Debian packages could not be installed:\n{installed.stderr[-2000:]}")
    # A fresh state directory: no old jobs in the accounting database. MariaDB (user mysql) must be able to enter it.
    state = Path(tempfile.mkdtemp(prefix="synthaug-slurm-"))
    state.chmod(0o755)
    try:
        started = cluster_sh("start", str(state))
        assert started.returncode == 0, f"cluster.sh start failed:\n{started.stderr[-4000:]}"
        yield state
    finally:
        stopped = cluster_sh("stop", str(state))
        shutil.rmtree(state, ignore_errors=True)
        assert stopped.returncode == 0, f"cluster.sh stop failed:\n{stopped.stderr[-4000:]}"


def submitted_rules(proc: subprocess.CompletedProcess) -> set[str]:
    """Rules Snakemake ran as jobs of the executor ("rule x:"), not itself ("localrule x:")."""
    return set(re.findall(r"^rule (\w+):$", proc.stdout + proc.stderr, flags=re.MULTILINE))


def finished_jobs() -> dict[str, tuple[str, str]]:
    """Rule name -> (state, allocated resources) of its SLURM job, from accounting.
    The plugin writes rule_<name>[_wildcards_...] into each job's comment."""
    out = subprocess.run(
        ["sacct", "--noheader", "--parsable2", "--allocations", "--format=Comment,State,AllocTRES"],
        capture_output=True, text=True, check=True,
    ).stdout
    jobs = {}
    for line in out.splitlines():
        comment, state, tres = line.split("|")
        jobs[comment.removeprefix("rule_").split("_wildcards_")[0]] = (state, tres)
    return jobs


def test_workflow_runs_through_slurm_like_locally(cluster, tiny_run, tmp_path):
    """The same targets through SLURM as in the session's local tiny run (tests/conftest.py), compared with it."""
    on_slurm, local = prepare_workdir(tmp_path / "slurm"), tiny_run
    start = time.monotonic()
    slurm_proc = snakemake(on_slurm, *SLURM_ARGS, SPLIT, METRICS)
    print(f"\ntiny target through SLURM: {time.monotonic() - start:.0f} s")

    submitted = submitted_rules(slurm_proc)
    assert HEAVY_RULES <= submitted, f"ran outside SLURM: {sorted(HEAVY_RULES - submitted)}"
    jobs = finished_jobs()
    assert {rule: state for rule, (state, _) in jobs.items()} == dict.fromkeys(submitted, "COMPLETED")
    # The profile's GPU request reached SLURM (the test node has one pretend GPU).
    assert "gres/gpu=1" in jobs["train_classifier"][1]

    for name in (SPLIT, "results/data/cases.csv"):
        assert (on_slurm / name).read_text() == (local / name).read_text(), f"{name} differs between SLURM and local"
    got, expected = json.loads((on_slurm / METRICS).read_text()), json.loads((local / METRICS).read_text())
    assert got["n_test"] == expected["n_test"]
    for key in ("accuracy", "auc", "sensitivity", "specificity"):
        assert got[key] == pytest.approx(expected[key], abs=0.05), key
