"""Rule augment_images: classic augmentation of the training split (only the augmented copies are written).

Each copy keeps its original's label and case id; ``base`` marks the augmented set (``augment.copies`` per image)
apart from the further copies the ``augmented_extra`` arms draw from (``params.more_copies`` per image).
``grid.png`` shows originals beside their augmentations.
"""

from synthaug.augment import AugmentSettings, augment_training_set
from synthaug.io import load_arrays, run_logged, save_arrays
from synthaug.plots.augment import augmentation_grid
from synthaug.plots.common import save_figure


def main(smk):
    cfg = smk.params.augment
    train = load_arrays(smk.input.train, required=("images", "labels", "case_ids"))
    augmented, source, base = augment_training_set(
        train["images"], AugmentSettings.from_config(cfg), copies=cfg["copies"], more_copies=smk.params.more_copies,
        seed=cfg["seed"], threads=smk.threads,
    )  # fmt: skip
    save_arrays(smk.output.augmented, images=augmented, labels=train["labels"][source],
                case_ids=train["case_ids"][source], base=base)  # fmt: skip
    save_figure(augmentation_grid(train["images"], train["labels"], augmented[base], source[base],
                                  names=smk.params.sides), smk.output.grid)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
