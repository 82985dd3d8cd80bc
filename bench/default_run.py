"""End-to-end benchmark of the default experiment: wall time, and wall time and peak memory per rule.

First measures this machine's speed: the 1-thread ``simple_cnn`` training throughput at 64 px
(``bench/train_throughput.py --threads 1``, in a subprocess). Then runs ``snakemake --cores N`` on the repository's
config.yaml in a scratch working directory (or the one given) — with seeds until decided, the run ends when the
positive controls and the study's question are decided or max_seeds ran — and reads Snakemake's per-job benchmark
files (every rule has one). Prints the cost of the answer: wall time and CPU seconds to the decided headline, the
looks and seeds it took, and CPU seconds x img/s (millions of 1-thread simple_cnn images' worth of work: one number
to compare across machines, which differ 2.5x per core). Prints one row per rule (jobs, summed wall
and CPU seconds, largest peak resident memory) and the ratio: the share of the N cores the run kept busy,
CPU seconds of Snakemake and all its jobs (exact, from the kernel) / (wall time x N). On a machine shared with
other work that share also falls when others take the cores; measure on an idle one. Not a test.

    .venv/bin/python bench/default_run.py --cores 2 [--workdir /tmp/synthaug-bench] [--configfile extra.yaml]
    .venv/bin/python bench/default_run.py --cores 2 --configfile tests/configs/tiny.yaml   # a few minutes
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
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

    speed = machine_speed()
    print(f"this machine: 1-thread simple_cnn at 64 px trains {speed:.0f} img/s (bench/train_throughput.py --threads 1)")
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
    looks = sorted((workdir / "results" / "summary" / "looks").glob("look*.json"))
    decisions = [json.loads(path.read_text()) for path in looks]
    print(f"\nthe cost of the answer: {wall / 60:.1f} min wall, {cpu:.0f} CPU s on {args.cores} cores, "
          f"{len(decisions) + 1 if decisions and not decisions[-1]['stop'] else max(len(decisions), 1)} look(s); "
          f"machine {speed:.0f} img/s; CPU s x img/s = {cpu * speed / 1e6:.2f} million images' worth")
    for decision in decisions:
        print(f"  look {decision['look']} ({len(decision['seeds'])} seeds): {'stop' if decision['stop'] else 'go on'}"
              f" - {decision['reason']}")
    table = workdir / "results" / "summary" / "table.md"
    if table.exists():
        print("\n" + table.read_text())
    share = cpu / (wall * args.cores)
    report_ratio(f"cores kept busy ({args.cores})", share, f">= {args.target_busy}", share >= args.target_busy)


def machine_speed() -> float:
    """Median img/s of 1-thread simple_cnn training at 64 px, measured by bench/train_throughput.py (subprocess)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "speed.json"
        subprocess.run([sys.executable, str(REPO / "bench" / "train_throughput.py"), "--threads", "1", "--json",
                        str(out)], check=True, capture_output=True)  # fmt: skip
        rows = json.loads(out.read_text())
    return float(next(r for r in rows if r.get("model") == "simple_cnn")["project_img_s"])


if __name__ == "__main__":
    main()
