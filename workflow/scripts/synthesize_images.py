"""Rule synthesize_images: sample labelled synthetic images from a generator (synthaug.generators: a trained model,
or the files of an external image set), one grid per class.

Writes the image bundle (``case_ids`` like ``cgan-00001``) and one grid per class; rule assess_synthetic judges
the images. ``synthesize.n_images: auto`` makes exactly as many as the arms use (``params.needed_ratio`` x real
training images); rule check_synthetic_counts has checked that the generator can supply them.
"""

from synthaug import backends
from synthaug.backends import use_backend

# An external set's files are read, not sampled from a network: no Keras backend is started for it (~5 CPU s).
NEEDS_KERAS = snakemake.params.module != "external"  # noqa: F821
if NEEDS_KERAS:
    use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

from functools import partial

from synthaug import generators
from synthaug.io import load_arrays, run_logged, save_arrays
from synthaug.plots.common import save_figure
from synthaug.plots.gan import class_grid
from synthaug.preprocess import content_aspect
from synthaug.synthesize import check_compatible, images_needed, synthesize


def main(smk):
    cfg = smk.params.synthesize
    if NEEDS_KERAS:
        backends.configure_from(smk.params.compute, cfg["seed"], threads=smk.threads)
    train = load_arrays(smk.input.train, required=("images", "labels"))
    n_images = cfg["n_images"]
    if n_images == "auto":
        n_images = images_needed(smk.params.needed_ratio, len(train["labels"]))
    # The real images' aspect ratio inside their padding: an external set is brought to it (generators.external).
    options = {**smk.params.options, "real_aspect": content_aspect(train["images"])}
    sample = partial(generators.implementation(smk.params.module).sample, smk.input.source,
                     options=options, threads=smk.threads)
    synthetic = synthesize(sample, n_images, cfg["malignant_fraction"], train["labels"],
                           seed=cfg["seed"], prefix=smk.wildcards.generator)
    check_compatible(synthetic["images"], train["images"], smk.input.source)
    save_arrays(smk.output.images, **synthetic)
    for label, path in enumerate(smk.output.grids):  # one per class, in label order
        save_figure(class_grid(synthetic["images"][synthetic["labels"] == label]), path)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
