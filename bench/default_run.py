"""End-to-end benchmark of the default experiment: wall time, peak memory and time per rule.

Runs ``snakemake --cores N`` on the repository's config.yaml in a scratch working directory (or the one given),
then reads Snakemake's per-job benchmark files. Not a test: the numbers depend on the machine.

    .venv/bin/python bench/default_run.py --cores 2 [--workdir /tmp/synthaug-bench] [--configfile extra.yaml]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="synthaug-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", str(args.cores)]
    if args.configfile:
        cmd += ["--configfile", *map(str, args.configfile)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    # Peak resident memory of any single job (children of this process; Linux reports KiB).
    peak_child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    rows = []
    for tsv in sorted((workdir / "benchmarks").rglob("*.tsv")):
        bench = pd.read_csv(tsv, sep="\t")
        rows.append({"job": str(tsv.relative_to(workdir / "benchmarks").with_suffix("")), "s": bench["s"].iloc[0],
                     "max_rss_mb": bench["max_rss"].iloc[0]})
    jobs = pd.DataFrame(rows)
    print(f"\nworkdir: {workdir}")
    print(f"wall time: {wall / 60:.1f} min on {args.cores} cores")
    print(f"peak memory of one job: {peak_child_mb:.0f} MB")
    if not jobs.empty:
        jobs["rule"] = jobs["job"].str.split("/").str[0]
        print(jobs.groupby("rule").agg(jobs=("s", "size"), total_s=("s", "sum"), max_rss_mb=("max_rss_mb", "max")).round(1)
              .sort_values("total_s", ascending=False).to_string())
    table = workdir / "results" / "summary" / "table.md"
    if table.exists():
        print("\n" + table.read_text())


if __name__ == "__main__":
    main()
