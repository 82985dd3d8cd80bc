"""Benchmark: ``snakemake -n`` on the default DAG when everything is built, vs Snakemake's own start-up.

In a scratch folder with the repository's config.yaml, every output of the default DAG is created empty and then
marked up to date with ``snakemake --touch`` (so Snakemake's metadata records exist, as after a real run). Then,
side by side and alternated ``--repeats`` times: ``snakemake -n`` on the default DAG, and ``snakemake -n`` on a
one-rule Snakefile whose output exists (the floor: importing Snakemake and its installed plugins). Prints both
medians, the project's share (the difference: config and schema validation, parsing the rule files, the DAG),
the import time of the SLURM executor plugin when it is installed (Snakemake imports every installed plugin at
start-up), and the ratio: CPU time of the default DAG's dry run / 2 s (CPU time, user + system, is what the wall
time is on an idle machine, and a shared machine's load barely changes it; the wall times are printed too).

    .venv/bin/python bench/dryrun_time.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import REPO, SNAKEFILE, children_cpu_s, report_ratio

TARGET_S = 2.0
FLOOR = 'rule done:\n    output:\n        "done.txt"\n    shell:\n        "touch {output}"\n'


def dry_run(workdir: Path, snakefile: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one ``snakemake -n``; on an idle machine the two agree (it is one busy thread)."""
    cpu, start = children_cpu_s(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), "-n", "-q"],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu_s() - cpu


def built_default_dag(workdir: Path) -> int:
    """Create every output of the default DAG in ``workdir`` and mark it up to date; the number of files."""
    shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    base = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir)]
    summary = subprocess.run(base + ["--summary"], check=True, capture_output=True, text=True).stdout
    files = pd.read_csv(io.StringIO(summary), sep="\t")["output_file"]
    for name in files:
        path = workdir / name
        if name.rstrip("/").endswith("CBIS-DDSM"):  # the phantom's image folder is a directory() output
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    subprocess.run(base + ["--touch", "--cores", "1", "-q"], check=True, capture_output=True)
    return len(files)


def plugin_import_s(module: str) -> float | None:
    """CPU seconds to import ``module`` in a fresh interpreter (beyond its start); None if not installed."""
    code = f"import time; t = time.process_time(); import {module}; print(time.process_time() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(done.stdout) if done.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="synthaug-dryrun-") as tmp:
        dag, floor = Path(tmp, "dag"), Path(tmp, "floor")
        dag.mkdir()
        floor.mkdir()
        n_files = built_default_dag(dag)
        (floor / "Snakefile").write_text(FLOOR)
        (floor / "done.txt").touch()
        ours, minimal = [], []
        for _ in range(args.repeats):
            ours.append(dry_run(dag, SNAKEFILE))
            minimal.append(dry_run(floor, floor / "Snakefile"))
    print(f"default DAG, {n_files} output files, all built; medians of {args.repeats} runs, wall and CPU "
          "(user + system; what the wall time is on an idle machine, and little changed by other people's load)")
    medians = {}
    for name, runs in (("snakemake -n, default DAG", ours), ("snakemake -n, one-rule floor", minimal)):
        wall, cpu = (float(np.median([r[i] for r in runs])) for i in (0, 1))
        medians[name] = cpu
        print(f"{name:30s}: {wall:5.2f} s wall, {cpu:5.2f} s CPU")
    ours_s, floor_s = medians.values()
    print(f"the project's share (CPU)     : {ours_s - floor_s:5.2f} s")
    slurm = plugin_import_s("snakemake_executor_plugin_slurm")
    if slurm is not None:
        print(f"of the floor, importing the installed SLURM executor plugin: {slurm:.2f} s CPU "
              "(pip install synthaug[slurm]; Snakemake imports it on every call)")
    report_ratio("snakemake -n CPU time / 2 s", ours_s / TARGET_S, "<= 1", ours_s <= TARGET_S)

if __name__ == "__main__":
    main()
