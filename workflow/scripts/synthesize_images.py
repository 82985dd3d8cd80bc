"""Rule synthesize_images: sample labelled synthetic images from the trained generator, with quality checks.

Writes the image bundle (``case_ids`` like ``cgan-00001``), one grid per class and ``quality.json`` beside the
images (intensity, diversity and nearest-real-image checks per class; see :mod:`synthaug.synthesize`).
"""

from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

import keras

from synthaug.io import load_arrays, run_logged, save_arrays, write_json
from synthaug.plots.common import save_figure
from synthaug.plots.gan import class_grid
from synthaug.synthesize import check_compatible, quality_checks, synthesize


def main(smk):
    cfg = smk.params.synthesize
    train = load_arrays(smk.input.train, required=("images", "labels"))
    generator = keras.models.load_model(smk.input.model)
    synthetic = synthesize(
        generator, cfg["n_images"], cfg["malignant_fraction"], train["labels"],
        seed=cfg["seed"], prefix=smk.wildcards.generator,
    )
    check_compatible(synthetic["images"], train["images"], smk.input.model)
    save_arrays(smk.output.images, **synthetic)
    for label, path in enumerate((smk.output.grid_benign, smk.output.grid_malignant)):
        save_figure(class_grid(synthetic["images"][synthetic["labels"] == label]), path)
    write_json(quality_checks(synthetic, train["images"], train["labels"], seed=cfg["seed"]), smk.output.quality)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
