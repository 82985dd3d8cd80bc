"""Rule preprocess_extra_patients: the extra patients' images, preprocessed exactly like the training split.

Writes ``results/oracle/train.npz`` (images, labels, case_ids, patient_ids); stops if a patient is in any split.
"""

from synthaug.constants import SPLIT_COLUMNS
from synthaug.io import read_csv, run_logged, save_arrays
from synthaug.oracle import extra_bundle


def main(smk):
    cfg = smk.params.preprocess
    split = read_csv(smk.input.split, required=SPLIT_COLUMNS, dtype={"case_id": str})
    bundle = extra_bundle(smk.input.root, smk.params.image, cfg["image_size"], cfg["blur_kernel"], split,
                          threads=smk.threads)
    save_arrays(smk.output.extra, **bundle)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
