"""Rule check_synthetic_counts: once the split is known, and before any generator or classifier trains, check that
every generator can supply the synthetic images the arms draw (an explicit ``synthesize.n_images``, each external
set's images per class); write the plan to counts.json."""

import logging

from synthaug.io import read_csv, run_logged, write_json
from synthaug.synthesize import check_counts

log = logging.getLogger("synthaug")


def main(smk):
    split = read_csv(smk.input.split, required=("split", "label"))
    cfg = smk.params.synthesize
    plan = check_counts(smk.params.arms, smk.params.needed_ratio, cfg["n_images"], cfg["malignant_fraction"],
                        split.loc[split["split"] == "train", "label"].to_numpy(), smk.params.external,
                        names=smk.params.sides)
    log.info("synthetic images per generator: %s", plan)
    write_json(plan, smk.output.counts)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
