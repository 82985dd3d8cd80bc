"""Rule train_gan: train the conditional GAN on the training split; write the generator, losses and samples.

``cgan`` is the study's GAN; ``cgan_diffaug`` the same networks trained with DiffAugment (``gan.diffaug``).

Resumes from ``params.checkpoint_dir`` after an interruption (exit status 143 = preempted, rerun to continue);
the checkpoint is removed once every output is written.
"""

from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

from synthaug.gan import train_gan, write_outputs
from synthaug.io import load_arrays, run_logged


def main(smk):
    cfg = smk.params.gan
    train = load_arrays(smk.input.train, required=("images", "labels"))
    result = train_gan(
        train["images"],
        train["labels"],
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        latent_dim=cfg["latent_dim"],
        learning_rate=cfg["learning_rate"],
        beta_1=cfg["beta_1"],
        seed=cfg["seed"],
        checkpoint_dir=smk.params.checkpoint_dir,
        source=smk.input.train,
        diffaug=cfg["diffaug"] if smk.wildcards.generator == "cgan_diffaug" else None,
        threads=smk.threads,
        deterministic=smk.params.compute["deterministic"],
        precision=smk.params.compute["precision"],
    )
    write_outputs(result, smk.output.model, smk.output.losses, smk.output.samples, smk.params.checkpoint_dir)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
