"""Rule simulate_extra_patients: real phantom patients in no split, for the oracle arm ``more_real``.

Simulates enough patients for the largest ``more_real`` arm (``params.ratio`` x real training images) with the
phantom's simulator, its settings and a separate seed stream (see :mod:`synthaug.oracle`).
"""

import math
from pathlib import Path

from synthaug.constants import CASE_COLUMNS
from synthaug.io import load_arrays, read_csv, run_logged
from synthaug.oracle import simulate_extra_patients


def main(smk):
    cases = read_csv(smk.input.cases, required=CASE_COLUMNS, dtype={"case_id": str})
    n_real = len(load_arrays(smk.input.train, required=("labels",))["labels"])
    n_images = math.ceil(smk.params.ratio * n_real)
    simulate_extra_patients(Path(smk.output.root), smk.params.phantom, n_images, cases, threads=smk.threads)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
