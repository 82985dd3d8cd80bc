"""Cost growth: time and peak memory of the data stage and of one simple_cnn training, as the data grows.

Runs the workflow up to one training (arm baseline, model simple_cnn, seed 0) with Snakemake in a scratch folder
per phantom size, for each ``phantom.n_patients`` at image_size 64, then for each ``preprocess.image_size`` at the
default phantom (890 patients; the phantom and its ingestion are made once and reused). The training runs alone
with ``compute.threads`` = ``--cores``. Reads each rule's wall
time and peak resident memory from Snakemake's benchmark files and prints a Markdown table for bench/README.md.
The training runs ``--epochs`` epochs (2 by default) so the table stays affordable; its time grows about linearly
with epochs (the default run trains up to 12). Not a test: the numbers depend on the machine.

    .venv/bin/python bench/cost_growth.py [--patients 200 890 3000] [--sizes 64 128 224] [--epochs 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from common import REPO, read_benchmarks, report_ratio, snakemake

DATA_RULES = ["simulate_phantom", "ingest_cases", "preprocess_images"]
TRAINING = "results/classifiers/baseline/simple_cnn/seed0/model.keras"


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def run_point(workdir: Path, n_patients: int, size: int, epochs: int, cores: int) -> dict:
    """Build up to one training for this phantom size and image size; one row of the table."""
    override = {
        "compute": {"threads": cores},  # the training runs alone: let it use every core
        "phantom": {"n_patients": n_patients},
        "preprocess": {"image_size": size},
        "classifier": {"epochs": epochs, "patience": epochs},
        "experiment": {"arms": ["baseline"], "models": ["simple_cnn"], "seeds": [0]},
    }
    (workdir / "cost.yaml").write_text(yaml.safe_dump(override))
    wall, _ = snakemake(workdir, "--cores", str(cores), TRAINING, configfiles=[workdir / "cost.yaml"], quiet=True)
    jobs = read_benchmarks(workdir).set_index("rule")
    with np.load(workdir / "results/data/train.npz") as train:
        n_train = len(train["labels"])
    row = {"n_patients": n_patients, "image_size": size, "images (train)": n_train,
           "phantom MB": round(folder_mb(workdir / "resources/phantom")),
           "npz MB": round(sum(f.stat().st_size for f in (workdir / "results/data").glob("*.npz")) / 2**20)}
    for rule in DATA_RULES + ["train_classifier"]:
        row[f"{rule} s"] = round(float(jobs.loc[rule, "s"]), 1)
        row[f"{rule} MB"] = round(float(jobs.loc[rule, "max_rss_mb"]))
    row["wall s"] = round(wall, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, nargs="+", default=[200, 890, 3000])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 224])
    parser.add_argument("--base-patients", type=int, default=890, help="phantom size for the image-size series")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (a temporary one by default)")
    args = parser.parse_args()

    root = args.workdir or Path(tempfile.mkdtemp(prefix="synthaug-cost-"))
    points = [(n, args.sizes[0]) for n in args.patients]
    points += [(args.base_patients, s) for s in args.sizes if (args.base_patients, s) not in points]
    rows, made = [], {}
    for n, size in sorted(points, key=lambda p: (p[0] != args.base_patients, p)):
        workdir = root / f"n{n}"
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
        row = run_point(workdir, n, size, args.epochs, args.cores)
        if n in made:  # phantom and cases reused from this size's first run: report those figures
            for rule in DATA_RULES[:2]:
                row[f"{rule} s"], row[f"{rule} MB"] = made[n][f"{rule} s"], made[n][f"{rule} MB"]
        made.setdefault(n, row)
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False), flush=True)

    table = pd.DataFrame(rows).sort_values(["image_size", "n_patients"])
    print(f"\n{args.epochs} training epochs, {args.cores} cores; workdir {root}\n")
    print(table.to_markdown(index=False))
    small, large = table.iloc[0], table[table["image_size"] == args.sizes[0]].iloc[-1]
    growth = (large["preprocess_images s"] / small["preprocess_images s"]) / (
        large["images (train)"] / small["images (train)"])
    report_ratio("preprocessing time growth / image-count growth", growth, "<= 1.5 (linear)", growth <= 1.5)


if __name__ == "__main__":
    main()
