# Small helpers shared by the rules: paths derived from config, and checks that need the config alone.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# Scripts import the synthaug package from workflow/ whether or not it was pip-installed
# (jobs inherit this environment, locally and on SLURM).
_package_dir = str(Path(workflow.basedir) / "workflow")
# (Set, not read: nothing here requires the user to define it.)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_package_dir, os.environ.get("PYTHONPATH")) if p))
if _package_dir not in sys.path:  # the arm names below come from synthaug.arm_names (no numpy)
    sys.path.insert(0, _package_dir)

from synthaug.arm_names import WILDCARD as ARM_WILDCARD, Arm, experiment_arms, synthetic_needed  # noqa: E402

ENV = "../../envs/synthaug.yaml"
DATASET = config["dataset"]
EXPERIMENT = config["experiment"]
SYNTHETIC_RATIO = config["classifier"]["synthetic_ratio"]
# Every arm trained (main arms x generators, dose sweep, learning curve); names are documented in synthaug.arm_names.
ARM_NAMES = experiment_arms(EXPERIMENT, SYNTHETIC_RATIO, phantom=DATASET["name"] == "phantom")
# Synthetic images per real training image the generators must supply, and extra real ones the oracle must.
SYNTHETIC_NEEDED = synthetic_needed(EXPERIMENT, SYNTHETIC_RATIO)
MORE_REAL_RATIO = max((Arm.parse(a).ratio for a in ARM_NAMES if Arm.parse(a).kind == "more_real"), default=0.0)
_EQUAL_RATIO = max((Arm.parse(a).ratio for a in ARM_NAMES if Arm.parse(a).kind == "augmented_equal"), default=0.0)
if _EQUAL_RATIO > config["augment"]["copies"]:
    raise WorkflowError(
        f"config key 'augment.copies': augmented_equal at ratio {_EQUAL_RATIO:g} needs at least that many augmented "
        f"copies per image, but augment.copies is {config['augment']['copies']}; raise it or lower the ratio "
        "(classifier.synthetic_ratio, experiment.dose_ratios)."
    )


wildcard_constraints:
    arm=ARM_WILDCARD,
    model="|".join(["simple_cnn", "vgg16", "densenet169", "inception_resnet_v2"]),
    generator="cgan|cgan_diffaug|ddpm",
    seed=r"\d+",
    split="train|val|test",


def _abnormalities():
    return ["mass", "calc"] if DATASET["abnormality"] == "both" else [DATASET["abnormality"]]


def dataset_files():
    """The files ingest_cases reads: the phantom that simulate_phantom writes, or the CSVs of a user's download."""
    root = Path(DATASET["root"])
    if DATASET["name"] == "phantom":
        if DATASET["abnormality"] != "mass":
            raise WorkflowError(
                f"config key 'dataset.abnormality': the phantom simulates mass cases only, not "
                f"'{DATASET['abnormality']}'. Use 'mass', or a real CBIS-DDSM download for calcifications."
            )
        return rules.simulate_phantom.output
    if not root.is_dir():
        raise WorkflowError(
            f"config key 'dataset.root': the folder '{root}' does not exist. "
            f"Point it at your {DATASET['name']} download (see README, 'Using real CBIS-DDSM')."
        )
    csv_dir = root / "csv" if DATASET["name"] == "cbis-ddsm-kaggle" else root
    files = [
        csv_dir / f"{abn}_case_description_{part}_set.csv" for abn in _abnormalities() for part in ("train", "test")
    ]
    if DATASET["name"] == "cbis-ddsm-kaggle":
        files.append(csv_dir / "dicom_info.csv")
    return [str(f) for f in files]


def ground_truth():
    """The phantom's ideal-observer table (empty for real data, which has none)."""
    return rules.simulate_phantom.output.ground_truth if DATASET["name"] == "phantom" else []


def arm_inputs(wildcards):
    """Training images of an arm: real images, plus augmented, synthetic or extra real images (synthaug.arm_names)."""
    arm = Arm.parse(wildcards.arm)
    inputs = {"train": "results/data/train.npz", "val": "results/data/val.npz"}
    if "augmented" in arm.sources:
        inputs["augmented"] = "results/augmented/train.npz"
    if "synthetic" in arm.sources:
        inputs["synthetic"] = f"results/synthetic/{arm.generator}/images.npz"
    if "extra_real" in arm.sources:
        inputs["extra_real"] = "results/oracle/train.npz"
    if arm.fraction != 1.0:
        inputs["split"] = "results/data/split.csv"  # the training images' patients
    return inputs


def _runs(pattern):
    return expand(pattern, arm=ARM_NAMES, model=EXPERIMENT["models"], seed=EXPERIMENT["seeds"])


def run_files(name):
    """``name`` (metrics.json, predictions.csv, ...) of every evaluation run."""
    return _runs(f"results/evaluation/{{arm}}/{{model}}/seed{{seed}}/{name}")


def histories():
    return _runs("results/classifiers/{arm}/{model}/seed{seed}/history.csv")


def confusion_matrices():
    return _runs("results/evaluation/{arm}/{model}/seed{seed}/confusion_matrix.png")
