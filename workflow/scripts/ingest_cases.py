"""Rule ingest_cases: read the dataset's case CSVs and images into the canonical case table.

Writes cases.csv (one row per abnormality image, ``constants.CASE_COLUMNS`` first), qc.csv (every row dropped or
repaired, with its reason), dataset_summary.csv (counts per pathology x source split, QC counts) and summary.png.
"""

import logging

from synthaug.datasets import load_cases
from synthaug.datasets.tables import summarise
from synthaug.io import run_logged, write_csv
from synthaug.plots.common import save_figure
from synthaug.plots.data import dataset_summary

log = logging.getLogger("synthaug")


def main(smk):
    cases, qc = load_cases(dict(smk.params.dataset), threads=smk.threads)
    per_class = "; ".join(f"{int((cases['label'] == label).sum())} label {label}, {name}"
                          for label, name in enumerate(smk.params.sides))
    log.info("%d cases (%s) from %d patients; %d QC records", len(cases), per_class, cases["patient_id"].nunique(),
             len(qc))
    write_csv(qc, smk.output.qc)
    write_csv(summarise(cases, qc), smk.output.summary)
    save_figure(dataset_summary(cases), smk.output.figure)
    write_csv(cases, smk.output.cases)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
