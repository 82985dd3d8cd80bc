"""Rule preprocess_reserve: the reserve's images (training patients held back by experiment.reserve), preprocessed
exactly like the training split, for the oracle arms (more_real, augmented_more_real).

Writes ``results/oracle/train.npz`` (images, labels, case_ids) in split.csv's order.
"""

from synthaug.constants import CASE_COLUMNS, RESERVE, SPLIT_COLUMNS
from synthaug.io import read_csv, run_logged, save_arrays
from synthaug.preprocess import split_bundles


def main(smk):
    cfg = smk.params.preprocess
    cases = read_csv(smk.input.cases, required=CASE_COLUMNS, dtype={"case_id": str})
    split = read_csv(smk.input.split, required=SPLIT_COLUMNS, dtype={"case_id": str})
    bundles = split_bundles(cases, split, smk.params.image, cfg["image_size"], cfg["blur_kernel"],
                            threads=smk.threads, source=smk.input.split, splits=(RESERVE,))
    save_arrays(smk.output.extra, **bundles[RESERVE])


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
