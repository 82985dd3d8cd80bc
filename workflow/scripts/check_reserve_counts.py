"""Rule check_reserve_counts: once the split is known, and before any classifier trains, check that the reserve
(experiment.reserve) holds the real images every oracle arm draws; write the plan to counts.json."""

import logging

from synthaug.io import read_csv, run_logged, write_json
from synthaug.oracle import check_reserve_counts

log = logging.getLogger("synthaug")


def main(smk):
    split = read_csv(smk.input.split, required=("patient_id", "label", "split"), dtype={"patient_id": str})
    plan = check_reserve_counts(smk.params.arms, split, smk.params.reserve)
    log.info("reserve: %s", plan)
    write_json(plan, smk.output.counts)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
