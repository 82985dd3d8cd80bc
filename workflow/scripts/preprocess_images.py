"""Rule preprocess_images: each case's crop (or breast region) as model input, one npz bundle per split.

Bundles follow the npz contract (images float32 (N, S, S, 3) in [0, 1], labels int64, case_ids str) and keep
split.csv's order; the grey-level rule and the steps are documented in ``synthaug.preprocess``.
"""

from synthaug.constants import CASE_COLUMNS, SPLIT_COLUMNS
from synthaug.io import read_csv, run_logged, save_arrays
from synthaug.preprocess import split_bundles


def main(smk):
    cfg = smk.params.preprocess
    cases = read_csv(smk.input.cases, required=CASE_COLUMNS, dtype={"case_id": str})
    split = read_csv(smk.input.split, required=SPLIT_COLUMNS, dtype={"case_id": str})
    bundles = split_bundles(cases, split, smk.params.image, cfg["image_size"], cfg["blur_kernel"],
                            threads=smk.threads, source=smk.input.split)
    for name, arrays in bundles.items():
        save_arrays(smk.output[name], **arrays)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
