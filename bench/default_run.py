"""End-to-end benchmark of the default experiment: wall time, and wall time and peak memory per rule.

Runs ``snakemake --cores N`` on the repository's config.yaml in a scratch working directory (or the one given),
then reads Snakemake's per-job benchmark files (every rule has one). Prints one row per rule (jobs, summed wall
and CPU seconds, largest peak resident memory) and the ratio: the share of the N cores the run kept busy,
CPU seconds of Snakemake and all its jobs (exact, from the kernel) / (wall time x N). On a machine shared with
other work that share also falls when others take the cores; measure on an idle one. Not a test.

    .venv/bin/python bench/default_run.py --cores 2 [--workdir /tmp/synthaug-bench] [--configfile extra.yaml]
    .venv/bin/python bench/default_run.py --cores 2 --configfile tests/configs/tiny.yaml   # a few minutes
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import REPO, per_rule, read_benchmarks, report_ratio, snakemake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    parser.add_argument("--target-busy", type=float, default=0.8, help="share of the cores the run should keep busy")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="synthaug-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    started = time.time()
    wall, cpu = snakemake(workdir, "--cores", str(args.cores), configfiles=args.configfile)

    jobs = read_benchmarks(workdir, since=started)  # this run's jobs only, in a reused workdir too
    print(f"\nworkdir: {workdir}")
    print(f"wall time: {wall / 60:.1f} min ({wall:.0f} s) on {args.cores} cores")
    if jobs.empty:
        print("no job ran: everything was already built")
        return
    print(f"peak memory of one job: {jobs['max_rss_mb'].max():.0f} MB; CPU time of the run: {cpu:.0f} s "
          f"({jobs['cpu_s'].sum():.0f} s in the benchmark files, which sample it every 30 s)")
    print(f"jobs running at once, on average: {jobs['s'].sum() / wall:.2f} (sum of the jobs' wall times / wall time; "
          "unlike the busy share below, not lowered by other people's load)")
    print(per_rule(jobs).to_string())
    table = workdir / "results" / "summary" / "table.md"
    if table.exists():
        print("\n" + table.read_text())
    share = cpu / (wall * args.cores)
    report_ratio(f"cores kept busy ({args.cores})", share, f">= {args.target_busy}", share >= args.target_busy)


if __name__ == "__main__":
    main()
