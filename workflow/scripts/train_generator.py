"""Rule train_generator: train a built-in generator (synthaug.generators: cgan, cgan_diffaug, ddpm) on the training
split; write the generator, losses, the KID curve of checkpoint selection (cgan, cgan_diffaug; ddpm: header only)
and samples.

Resumes from ``params.checkpoint_dir`` after an interruption (exit status 143 = preempted, rerun to continue);
the checkpoint is removed once every output is written.
"""

from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

from synthaug import generators
from synthaug.gan import write_outputs
from synthaug.io import load_arrays, run_logged


def main(smk):
    train = load_arrays(smk.input.train, required=("images", "labels"))
    result = generators.implementation(smk.params.module).train(
        train["images"], train["labels"], smk.params.options, checkpoint_dir=smk.params.checkpoint_dir,
        source=smk.input.train, threads=smk.threads, compute=smk.params.compute,
    )
    write_outputs(result, smk.output.model, smk.output.losses, smk.output.samples, smk.params.checkpoint_dir,
                  kid_path=smk.output.kid, names=smk.params.sides)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
