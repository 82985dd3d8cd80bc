"""Rule assess_synthetic: quality (KID, precision/recall, density/coverage with real-vs-real floors), label
fidelity and the data-copying test of one generator's images, each trained instance (experiment.generator_seeds)
assessed alike; writes quality.json (their mean, and each instance: :func:`synthaug.quality.aggregate`) and the
closest-pairs figure of the first instance. See :mod:`synthaug.quality`.
"""

from synthaug import backends
from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras


import keras
import numpy as np

from synthaug.io import load_arrays, read_csv, run_logged, write_json
from synthaug.plots.common import save_figure
from synthaug.plots.gan import closest_pairs
from synthaug.quality import aggregate, assess


def main(smk):
    cfg = smk.params.assess
    backends.configure_from(smk.params.compute, cfg["feature_seed"], threads=smk.threads)
    bundles = {k: load_arrays(smk.input[k], required=("images", "labels", "case_ids"))
               for k in ("train", "val", "test")}
    heldout = {k: np.concatenate([bundles["val"][k], bundles["test"][k]]) for k in ("images", "labels")}
    patients = read_csv(smk.input.split, required=("case_id", "patient_id")).set_index("case_id")["patient_id"]
    train_patients = patients.reindex(bundles["train"]["case_ids"]).to_numpy()
    classifier = keras.models.load_model(smk.input.classifier, compile=False)
    reports, shown = {}, {}
    # One assessment per trained instance (experiment.generator_seeds), the same reference, floors and seed.
    for instance, path in zip(smk.params.instances, smk.input.synthetic):
        synthetic = load_arrays(path, required=("images", "labels", "case_ids"))
        reports[instance], pairs = assess(
            synthetic, bundles["train"], heldout, bundles["test"], train_patients, classifier,
            seed=cfg["feature_seed"], kid_subsets=cfg["kid_subsets"], kid_subset_size=cfg["kid_subset_size"],
            memorisation_cells=cfg["memorisation_cells"], inception_weights=cfg["inception_weights"],
            names=smk.params.sides,
        )
        shown[f"i{instance}"] = {"images": synthetic["images"], "nearest": pairs["nearest_train"],
                                 "distance": pairs["nearest_distance"], "flags": pairs["flags"]}
    report = {"generator": smk.wildcards.generator, "classifier": smk.input.classifier, **aggregate(reports)}
    write_json(report, smk.output.quality)
    save_figure(closest_pairs(shown, bundles["train"]["images"]), smk.output.closest_pairs)  # every instance


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
