"""Rule simulate_phantom: write the embedded phantom dataset (CBIS-DDSM's TCIA layout) into the dataset root.

The root is the folder of the mass CSVs; progress (DICOM files written, rate) goes to the rule's log.
"""

from pathlib import Path

from synthaug.io import run_logged
from synthaug.simulate import simulate_dataset


def main(smk):
    root = Path(smk.output.mass_train).parent
    simulate_dataset(root, threads=smk.threads, **smk.params.phantom)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821 (injected by Snakemake)
