"""Rule train_classifier: train one classifier (arm x model x seed) on its arm's images, chosen on validation.

Reruns after a preemption (exit 143) resume from the checkpoint in ``params.checkpoint_dir``.
"""

from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

from synthaug.arms import assemble_arm
from synthaug.io import load_arrays, run_logged
from synthaug.metrics import require_both_classes
from synthaug.train import train_classifier, write_outputs

BUNDLE = ("images", "labels")


def main(smk):
    settings = smk.params.classifier
    seed = int(smk.wildcards.seed)
    bundles = {name: load_arrays(smk.input[name], required=BUNDLE) for name in ("augmented", "synthetic")
               if name in smk.input.keys()}
    images, labels, _ = assemble_arm(smk.wildcards.arm, load_arrays(smk.input.train, required=BUNDLE),
                                     synthetic_ratio=settings["synthetic_ratio"], seed=seed, **bundles)
    val = load_arrays(smk.input.val, required=BUNDLE)
    require_both_classes(val["labels"], smk.input.val)
    model, history = train_classifier(
        smk.wildcards.model,
        (images, labels),
        (val["images"], val["labels"]),
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        patience=settings["patience"],
        seed=seed,
        weights=settings["weights"],
        checkpoint_dir=smk.params.checkpoint_dir,
        threads=smk.params.threads,
        deterministic=smk.params.compute["deterministic"],
        precision=smk.params.compute["precision"],
    )
    write_outputs(model, history, smk.output.model, smk.output.history, smk.params.checkpoint_dir)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
