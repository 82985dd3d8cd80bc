"""Generator quality regression: train the default's generators on the default data and judge their images.

Runs the workflow (repository config.yaml, plus any ``--configfile``) in a scratch working directory up to each
generator's ``results/synthetic/{g}/quality.json`` (data, the generator with its checkpoint selection, its images,
the baseline classifier that reads their labels, the assessment), then prints per generator: KID x 1000 and
coverage in the random CNN's feature space beside their real-vs-real floors, label fidelity (the real-trained
classifier's AUC on the images, and on real test images), whether the images pass the stated floor
(:func:`synthaug.quality.generator_quality_table`), the epoch that checkpoint selection kept (``kid.csv``), and a
comparison with the best known figures below: more than 2x the best known KID, or less than half the best known
coverage, is flagged as a regression. The last line is the suite's ``ratio`` line (worst KID / best known KID).

    python bench/generator_quality.py                       # the default's generators, as configured
    python bench/generator_quality.py --generators cgan cgan_diffaug --epochs 10 --select-every 0

``--epochs`` overrides gan.epochs (and ddpm.epochs) to save time (say so when quoting numbers); ``--select-every 0``
keeps the last epoch (no checkpoint selection) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from common import REPO, report_ratio, snakemake

# Best known figures on the default data (96 px phantom since 2026-12-07 night, random-CNN features, overall;
# gan.seed 0; 30 epochs, checkpoint selected by KID), with their source (bench/README.md, "Generator quality").
# The 64-px figures before (cgan KID 8.9 from issue 29, coverage 0.370) are not comparable and were replaced.
BEST_KNOWN = {
    "cgan": {"kid": 1.9, "coverage": 0.483, "source": "the default run at 96 px, 2026-12-07 (bench/default_run.py)"},
    "cgan_diffaug": {"kid": 1.4, "coverage": 0.566,
                     "source": "the default's settings (hinge loss, spectral norm) at 96 px, 2026-12-08"},
    "ddpm": {"kid": None, "coverage": None, "source": "none yet"},
}
KID_REGRESSION = 2.0  # flagged: KID more than this times the best known
COVERAGE_REGRESSION = 0.5  # flagged: coverage less than this share of the best known


def flags(generator: str, kid: float, coverage: float) -> list[str]:
    """The regressions against :data:`BEST_KNOWN` (empty when none, or when nothing is known)."""
    best = BEST_KNOWN.get(generator, {})
    out = []
    if best.get("kid") and kid > KID_REGRESSION * best["kid"]:
        out.append(f"KID {kid:.1f} > {KID_REGRESSION:g} x best known {best['kid']:.1f}")
    if best.get("coverage") and coverage < COVERAGE_REGRESSION * best["coverage"]:
        out.append(f"coverage {coverage:.3f} < {COVERAGE_REGRESSION:g} x best known {best['coverage']:.3f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generators", nargs="*", default=None, help="default: config.yaml's experiment.generators")
    parser.add_argument("--epochs", type=int, default=None, help="override gan.epochs and ddpm.epochs")
    parser.add_argument("--select-every", type=int, default=None, help="override gan.select.every (0: last epoch)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="kept (and reused) when given")
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    args = parser.parse_args()

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for extra in args.configfile:
        config.update(yaml.safe_load(extra.read_text()) or {})  # top-level sections only: enough for a generator list
    gens = args.generators or config["experiment"]["generators"]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="generator_quality_"))
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
    overlay = {"experiment": {"arms": ["baseline", "synthetic"], "generators": gens, "seeds": [0],
                              "generator_seeds": [0], "train_fractions": [], "dose_ratios": []}}
    if args.epochs is not None:
        overlay["gan"] = {"epochs": args.epochs}
        overlay["ddpm"] = {"epochs": args.epochs}
    if args.select_every is not None:
        overlay.setdefault("gan", {})["select"] = {"every": args.select_every}
    (workdir / "bench_overlay.yaml").write_text(yaml.safe_dump(overlay))
    targets = [f"results/synthetic/{g}/quality.json" for g in gens]
    wall, cpu = snakemake(workdir, "--cores", str(args.cores), *targets,
                          configfiles=[*args.configfile, workdir / "bench_overlay.yaml"])

    from synthaug.quality import generator_quality_table

    reports = {g: json.loads((workdir / f"results/synthetic/{g}/quality.json").read_text()) for g in gens}
    table = generator_quality_table(reports)
    print(f"workdir {workdir}; {wall:.0f} s wall, {cpu:.0f} s CPU; epochs "
          f"{args.epochs if args.epochs is not None else 'as configured'}; "
          f"selection every {args.select_every if args.select_every is not None else 'as configured'}")
    print("| generator | KID x 1000 (floor) | coverage (floor) | precision (floor) | label fidelity AUC (real test) "
          "| passes floor | epoch kept (KID at it / at the last, training images) | best known KID / coverage | "
          "regression |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for row in table.itertuples():
        kid_csv = workdir / f"results/gan/{row.generator}/i0/kid.csv"
        kept = "last (not selected)"
        if kid_csv.is_file():
            curve = pd.read_csv(kid_csv)
            if len(curve):
                chosen = curve[curve["selected"].astype(bool)].iloc[0]
                kept = (f"{int(chosen['epoch'])} of {int(curve['epoch'].iloc[-1])} ({chosen['kid']:.1f} / "
                        f"{curve['kid'].iloc[-1]:.1f})")
        best = BEST_KNOWN.get(row.generator, {})
        found = flags(row.generator, row.kid, row.coverage)
        if best.get("kid"):
            worst = max(worst, row.kid / best["kid"])
        known = (f"{best['kid'] if best.get('kid') else '-'} / {best['coverage'] if best.get('coverage') else '-'}")
        print(f"| {row.generator} | {row.kid:.1f} ({row.kid_floor:.1f}) | {row.coverage:.3f} ({row.coverage_floor:.3f}) "
              f"| {row.precision:.3f} ({row.precision_floor:.3f}) | {row.label_fidelity:.3f} "
              f"({row.label_fidelity_real:.3f}) | {'yes' if row.passes_floor else 'no'} | {kept} | {known} | "
              f"{'; '.join(found) if found else 'none'} |")
    for row in table.itertuples():
        print(f"- {row.generator}: {row.sentence}")
    unknown = [g for g in table["generator"] if not BEST_KNOWN.get(g, {}).get("kid")]
    if unknown:
        print(f"no best known KID for {', '.join(unknown)}: enter this run's in BEST_KNOWN once it is the default's")
    value = worst if worst else math.nan
    report_ratio("generator KID / best known", value, f"<= {KID_REGRESSION:g}",
                 bool(worst) and worst <= KID_REGRESSION)


if __name__ == "__main__":
    main()
