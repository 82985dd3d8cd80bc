"""Shared by the bench/ scripts: the repository's paths, running Snakemake in a scratch folder, reading its
per-job benchmark files, and the one ``ratio`` line every script ends with (see bench/README.md).
"""

from __future__ import annotations

import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
sys.path.insert(0, str(REPO / "workflow"))  # the synthaug package, as the rule scripts see it


def report_ratio(name: str, value: float, target: str, met: bool) -> None:
    """The suite's convention: each script's last line is ``ratio <name>: <value> (target <target>) met|MISSED``,
    or ``... no reference`` when there is nothing to compare with (``value`` NaN): neither met nor missed."""
    if math.isnan(value):
        print(f"ratio {name}: n/a (target {target}) no reference")
        return
    print(f"ratio {name}: {value:.2f} (target {target}) {'met' if met else 'MISSED'}")


def median_time(fn, repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` (robust to one slow call on a shared machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def children_cpu_s() -> float:
    """User + system CPU seconds of every finished child process of this one (and their waited-for children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def snakemake(workdir: Path, *args: str, configfiles=(), quiet: bool = False) -> tuple[float, float]:
    """Run ``python -m snakemake`` on the repository's Snakefile in ``workdir``: (wall s, CPU s of it and its jobs).

    The CPU time is exact (the kernel's count for Snakemake and every job it waited for), unlike the benchmark
    files' cpu_time, which Snakemake samples every 30 s and so undercounts long jobs.
    """
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir), *args]
    if configfiles:
        cmd += ["--configfile", *(str(Path(c).resolve()) for c in configfiles)]
    cpu, start = children_cpu_s(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL if quiet else None,
                   stderr=subprocess.DEVNULL if quiet else None)
    return time.perf_counter() - start, children_cpu_s() - cpu


def read_benchmarks(workdir: Path, since: float | None = None) -> pd.DataFrame:
    """One row per job from ``benchmarks/**/*.tsv``: job, rule, s (wall), max_rss_mb, cpu_s (sampled, see above).

    ``since`` (a ``time.time()``) keeps only files written after it: the jobs of one run, not earlier runs' files.
    """
    rows = []
    root = Path(workdir) / "benchmarks"
    for tsv in sorted(root.rglob("*.tsv")):
        if since is not None and tsv.stat().st_mtime < since:
            continue
        bench = pd.read_csv(tsv, sep="\t")
        job = tsv.relative_to(root).with_suffix("").as_posix()
        rows.append({"job": job, "rule": job.split("/")[0], "s": float(bench["s"].iloc[0]),
                     "max_rss_mb": pd.to_numeric(bench["max_rss"], errors="coerce").iloc[0],
                     "cpu_s": pd.to_numeric(bench["cpu_time"], errors="coerce").iloc[0]})
    return pd.DataFrame(rows, columns=["job", "rule", "s", "max_rss_mb", "cpu_s"])


def per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs, summed wall and CPU seconds, and the largest peak memory, per rule (slowest first)."""
    table = jobs.groupby("rule").agg(jobs=("s", "size"), wall_s=("s", "sum"), cpu_s=("cpu_s", "sum"),
                                     max_rss_mb=("max_rss_mb", "max"))
    return table.round(1).sort_values("wall_s", ascending=False)
