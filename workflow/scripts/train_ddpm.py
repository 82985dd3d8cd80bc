"""Rule train_ddpm: train the class-conditional diffusion model on the training split; write the denoiser (its
weights averaged over training), losses and samples. Resumes from ``params.checkpoint_dir`` after an interruption
(exit status 143 = preempted, rerun to continue); the checkpoint is removed once every output is written.
"""

from synthaug import backends
from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

from synthaug.diffusion import train_ddpm
from synthaug.gan import write_outputs
from synthaug.io import load_arrays, run_logged


def main(smk):
    cfg = smk.params.ddpm
    backends.configure_from(smk.params.compute, cfg["seed"], threads=smk.threads)
    train = load_arrays(smk.input.train, required=("images", "labels"))
    result = train_ddpm(
        train["images"],
        train["labels"],
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        channels=cfg["channels"],
        label_dropout=cfg["label_dropout"],
        ema=cfg["ema"],
        guidance=cfg["guidance"],
        seed=cfg["seed"],
        checkpoint_dir=smk.params.checkpoint_dir,
        source=smk.input.train,
    )
    write_outputs(result, smk.output.model, smk.output.losses, smk.output.samples, smk.params.checkpoint_dir)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
