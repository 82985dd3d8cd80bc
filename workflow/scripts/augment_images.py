"""Rule augment_images: classic augmentation of the training split (only the augmented copies are written).

Each copy keeps its original's label and case id; ``grid.png`` shows originals beside their augmentations.
"""

from synthaug.augment import AugmentSettings, augment_images
from synthaug.io import load_arrays, run_logged, save_arrays
from synthaug.plots.augment import augmentation_grid
from synthaug.plots.common import save_figure


def main(smk):
    cfg = smk.params.augment
    train = load_arrays(smk.input.train, required=("images", "labels", "case_ids"))
    augmented, source = augment_images(
        train["images"], AugmentSettings.from_config(cfg), copies=cfg["copies"], seed=cfg["seed"], threads=smk.threads
    )
    save_arrays(
        smk.output.augmented, images=augmented, labels=train["labels"][source], case_ids=train["case_ids"][source]
    )
    save_figure(augmentation_grid(train["images"], train["labels"], augmented, source), smk.output.grid)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
