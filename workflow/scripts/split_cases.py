"""Rule split_cases: assign every case to train, val or test (by patient unless split.strategy says otherwise), then
hold back experiment.reserve of the training patients as the reserve (split value ``reserve``)."""

import logging

from synthaug.constants import CASE_COLUMNS
from synthaug.io import read_csv, run_logged, write_csv
from synthaug.split import describe_split, split_cases

log = logging.getLogger("synthaug")


def main(smk):
    cfg = smk.params.split
    cases = read_csv(smk.input.cases, required=CASE_COLUMNS, dtype={"case_id": str, "patient_id": str})
    split = split_cases(cases, cfg["strategy"], cfg["seed"], cfg["val_fraction"], cfg["test_fraction"],
                        reserve=smk.params.reserve)
    legend = ", ".join(f"{label} = {name}" for label, name in enumerate(smk.params.sides))
    log.info("split '%s', cases and patients per split and label (%s):\n%s",
             cfg["strategy"], legend, describe_split(split).to_string())
    write_csv(split, smk.output.split)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
