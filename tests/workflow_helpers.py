"""Running the real Snakefile on a tiny config in a scratch folder, for workflow tests."""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "configs" / "tiny.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def session_backend() -> str | None:
    """KERAS_BACKEND if set, else the first installed of tensorflow, jax, torch (conftest selects it)."""
    installed = [name for name in ("tensorflow", "jax", "torch") if importlib.util.find_spec(name)]
    return os.environ.get("KERAS_BACKEND") or (installed[0] if installed else None)


def backend_configs(backend: str | None) -> tuple[Path, ...]:
    """The config file selecting ``backend`` for workflow runs (none for the default, tensorflow)."""
    return () if backend in (None, "tensorflow") else (REPO / "tests" / "configs" / f"{backend}.yaml",)


def prepare_workdir(path: Path) -> Path:
    """A working directory for the workflow: ``configfile: config.yaml`` is read relative to it."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.yaml", path / "config.yaml")
    return path


# XLA compiles each of JAX's steps and operations; its backend optimisation off compiles the tests' tiny models in
# about 60% of the CPU (the JAX classifier 15.5 -> 8.7 CPU s, the cgan 39 -> 23) and changes nothing a test checks
# (runs on JAX, finite, resumes exactly against a run under the same flags). Users' runs keep XLA's default.
FAST_XLA = {"XLA_FLAGS": "--xla_backend_optimization_level=0"}


def job_cores() -> int:
    """Cores a snakemake call may use: this pytest worker's share of the machine (all of it with ``-n 0``). Two
    workers on two cores then run two jobs at a time, not four: two tiny runs side by side took 6% less wall and
    CPU with one core each than with two each (bench/README.md, "The test suite")."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1  # macOS: none
    return max(1, cores // workers)


def snakemake(workdir: Path, *args: str, configfiles=(TINY,), check=True, timeout=900,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir`` and return the finished process.

    Config files get the test backend's file appended (tests/configs/<backend>.yaml), so that every workflow test
    runs on the backend the test session runs on. ``env``: variables added to the jobs' environment.
    """
    cmd = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", str(job_cores()), *args]
    if configfiles:  # last: --configfile takes several values and would swallow targets
        cmd += ["--configfile", *map(str, (*configfiles, *backend_configs(session_backend())))]
    # Job scripts run with this interpreter (Snakemake uses sys.executable), so its packages are theirs.
    inherited = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # the config chooses the backend
    env = {**inherited, **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    _log_cpu(before, args)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def _log_cpu(before, args) -> None:
    """With SYNTHAUG_TEST_CPU_LOG set, append this snakemake call's CPU seconds (its whole process tree) and the test
    that made it to that file: where the suite's time goes (bench/README.md, "The test suite")."""
    path = os.environ.get("SYNTHAUG_TEST_CPU_LOG")
    if path:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        with open(path, "a") as log:
            log.write(json.dumps({"test": test, "args": [a for a in args if not a.startswith("-")][:3],
                                  "cpu_s": round(cpu, 1)}) + "\n")


def planned_jobs(workdir: Path, *targets: str, configfiles=(TINY,)) -> dict[str, int]:
    """Rule name -> number of jobs a dry run would execute for ``targets`` (all by default)."""
    proc = snakemake(workdir, "--dry-run", *targets, "--quiet", "rules", configfiles=configfiles)
    counts: dict[str, int] = {}
    in_table = False
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table and len(parts) == 2 and parts[1].isdigit():
            if parts[0] != "total":
                counts[parts[0]] = int(parts[1])
        elif in_table and parts and not set(parts[0]) <= {"-"}:
            in_table = False
    return counts
