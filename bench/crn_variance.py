"""Common random numbers: the seed variance of one comparison with and without them, on the same data.

With ``experiment.common_random_numbers: true`` the arms of one seed share their initial weights, the order in which
they see the real images they share and the augmentation draws of a shared base, so that training noise cancels
in the seed-paired difference. This reads two finished workdirs that differ in that one key only (the same data,
split, generators and seeds; e.g. a copy of a default run's folder, rerun for the two arms with the key turned
off) and prints, for the comparison ``--arm`` vs ``--control``, the variance components of
:func:`synthaug.stats.two_source_comparison`: ``var_seed`` (training noise of one seed's difference),
``var_seed_case`` (seed x test case), ``var_test`` (the test set, shared by every seed), the standard error of the
mean difference and the seeds needed for the same standard error (the ratio of the seed parts). Not a test.

    .venv/bin/python bench/crn_variance.py --with /tmp/default-run --without /work/exp/nocrn \\
        --arm combined-cgan-r0.5 --control augmented --seeds 0 1 2 3 4 5 6 7 8 9
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import REPO  # noqa: F401  (puts the synthaug package on the path)
from synthaug.metrics import roc_auc
from synthaug.stats import two_source_comparison
from synthaug.summary import read_predictions


def components(workdir: Path, arm: str, control: str, model: str, seeds: list[int]) -> dict:
    paths = [workdir / f"results/evaluation/{a}/{model}/seed{s}/predictions.csv" for a in (arm, control) for s in seeds]
    predictions = read_predictions(paths)
    cases = predictions[(control, model, seeds[0])].index
    labels = predictions[(control, model, seeds[0])]["label"].to_numpy(int)
    scores = {a: np.array([predictions[(a, model, s)].loc[cases, "probability"].to_numpy(float) for s in seeds])
              for a in (arm, control)}
    aucs = {a: np.array([roc_auc(labels, row) for row in scores[a]]) for a in (arm, control)}
    result = two_source_comparison(aucs[arm], aucs[control], labels, scores[arm], scores[control])
    return {"difference": float(result["mean_difference"]), "sd_of_seed_differences": float(np.std(
        aucs[arm] - aucs[control], ddof=1)), **{k: float(result[k]) for k in ("var_seed", "var_seed_case",
                                                                              "var_test", "se", "df")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with", dest="with_crn", type=Path, required=True, help="workdir run with the key true")
    parser.add_argument("--without", type=Path, required=True, help="workdir run with the key false")
    parser.add_argument("--arm", default="combined-cgan-r0.5")
    parser.add_argument("--control", default="augmented")
    parser.add_argument("--model", default="simple_cnn")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    rows = {name: components(folder, args.arm, args.control, args.model, args.seeds)
            for name, folder in (("with", args.with_crn), ("without", args.without))}
    print(f"{args.arm} vs {args.control}, {args.model}, {len(args.seeds)} seeds (the same test cases in both runs)")
    print(f"{'':28s}" + "".join(f"{name + ' CRN':>16s}" for name in rows))
    for key in ("difference", "sd_of_seed_differences", "var_seed", "var_seed_case", "var_test", "se", "df"):
        print(f"{key:28s}" + "".join(f"{rows[name][key]:16.3g}" for name in rows))
    seed_part = {name: r["var_seed"] + r["var_seed_case"] for name, r in rows.items()}
    if seed_part["with"] > 0:
        print(f"ratio of the seed parts (var_seed + var_seed_case), without / with: "
              f"{seed_part['without'] / seed_part['with']:.2f}: the seeds needed for the same seed part of the "
              "standard error scale by this ratio")


if __name__ == "__main__":
    main()
