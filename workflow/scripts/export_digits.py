"""Rule export_digits: write scikit-learn's handwritten digits into the dataset root as an image folder.

The root is the folder holding the marker; the counts per class folder go to the rule's log.
"""

from pathlib import Path

from synthaug.digits import export_digits
from synthaug.io import run_logged


def main(smk):
    export_digits(Path(smk.output.marker).parent)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821 (injected by Snakemake)
