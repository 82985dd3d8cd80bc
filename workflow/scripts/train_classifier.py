"""Rule train_classifier: train one classifier (arm x model x seed) on its arm's images, chosen on validation.

The arm's name fixes its training set (``synthaug.arms``); learning-curve arms map images to patients via split.csv.
With experiment.common_random_numbers every arm of a seed shares its initial weights and the order of the images it
shares with its base (``synthaug.loop.nested_order``); without, each arm draws both from (seed, arm name).
A backbone with a weights file (classifier.weights.<model>) is trained as a fixed base, then optionally
fine-tuned; simple_cnn_tuned uses the tuning study's best parameters. The pretrain arms first pre-train on their
pre-training set (``synthaug.pretrain``; classifier.pretrain), then fine-tune on the arm's set.
Reruns after a preemption (exit 143) resume from the checkpoint in ``params.checkpoint_dir``.
Besides model.keras and history.csv it writes predictions.npz: the kept model's probabilities on the real training,
validation and test images (``synthaug.train.kept_predictions``), which evaluate_classifier reads instead of loading
the model; the test images are predicted after training and choose nothing.
"""

from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

import json

from synthaug.arms import assemble_arm, assemble_pretraining, run_randomness
from synthaug.io import load_arrays, read_csv, run_logged, save_arrays
from synthaug.metrics import require_both_classes
from synthaug.train import kept_predictions, write_outputs
from synthaug.transfer import train_run

BUNDLE = ("images", "labels")


def main(smk):
    settings = smk.params.classifier
    seed = int(smk.wildcards.seed)
    bundles = {name: load_arrays(smk.input[name], required=BUNDLE)
               for name in ("augmented", "synthetic", "extra_real") if name in smk.input.keys()}
    train = load_arrays(smk.input.train, required=(*BUNDLE, "case_ids"))
    if "split" in smk.input.keys():
        patients = read_csv(smk.input.split, required=("case_id", "patient_id"), dtype={"case_id": str})
        bundles["patient_ids"] = patients.set_index("case_id").loc[train["case_ids"], "patient_id"].to_numpy(str)
    images, labels, source = assemble_arm(smk.wildcards.arm, train, subset_seed=smk.params.subset_seed, seed=seed,
                                          **bundles)
    pretraining = assemble_pretraining(smk.wildcards.arm, train, bundles.get("augmented"), bundles.get("synthetic"),
                                       seed=seed)
    val = load_arrays(smk.input.val, required=BUNDLE)
    n_classes = len(smk.params.sides)  # 2: one sigmoid unit; k > 2: a k-way softmax
    require_both_classes(val["labels"], smk.input.val, n_classes)
    tuned = json.loads(open(smk.input.best_params).read())["params"] if "best_params" in smk.input.keys() else None
    model, history = train_run(
        smk.wildcards.model,
        (images, labels),
        (val["images"], val["labels"]),
        settings=settings,
        **run_randomness(smk.wildcards.arm, source, seed, smk.params.common_random_numbers),
        checkpoint_dir=smk.params.checkpoint_dir,
        threads=smk.threads,
        tuned=tuned,
        compute=smk.params.compute,
        pretraining=None if pretraining is None else pretraining[:2],
        n_classes=n_classes,
    )
    test = load_arrays(smk.input.test, required=("images", "case_ids"))
    # Before write_outputs, which deletes the checkpoints: a rerun after a failure here resumes at the same weights.
    save_arrays(smk.output.predictions, **kept_predictions(model, train, val, test))
    write_outputs(model, history, smk.output.model, smk.output.history, smk.params.checkpoint_dir)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
