# Small helpers shared by the rules: paths derived from config, and checks that need the config alone.
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

# Scripts import the synthaug package from workflow/ whether or not it was pip-installed
# (jobs inherit this environment, locally and on SLURM).
_package_dir = str(Path(workflow.basedir) / "workflow")
# (Set, not read: nothing here requires the user to define it.)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_package_dir, os.environ.get("PYTHONPATH")) if p))

# The Keras backend: every model script selects config's compute.backend before importing Keras
# (synthaug.backends.use_backend); an inherited KERAS_BACKEND naming another one stops here, before any job runs.
_inherited_backend = os.environ.get("KERAS_BACKEND")
if _inherited_backend and _inherited_backend != config["compute"]["backend"]:
    raise WorkflowError(
        f"config key 'compute.backend' is '{config['compute']['backend']}' but the environment variable "
        f"KERAS_BACKEND is '{_inherited_backend}'; set compute.backend: {_inherited_backend} in your config, "
        "or unset KERAS_BACKEND"
    )

# The conda environment of the backend: synthaug.yaml (TensorFlow), synthaug-jax.yaml, synthaug-torch.yaml.
_BACKEND = config["compute"]["backend"]
ENV = "../../envs/synthaug.yaml" if _BACKEND == "tensorflow" else f"../../envs/synthaug-{_BACKEND}.yaml"
DATASET = config["dataset"]
EXPERIMENT = config["experiment"]
GENERATOR = config["gan"]["generator"]


wildcard_constraints:
    arm="|".join(["baseline", "augmented", "synthetic", "combined"]),
    model="|".join(["simple_cnn", "vgg16", "densenet169", "inception_resnet_v2"]),
    generator="cgan",
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
    """Training images of an arm: real images, plus classic augmentation and/or synthetic images."""
    inputs = {"train": "results/data/train.npz", "val": "results/data/val.npz"}
    if wildcards.arm in ("augmented", "combined"):
        inputs["augmented"] = "results/augmented/train.npz"
    if wildcards.arm in ("synthetic", "combined"):
        inputs["synthetic"] = f"results/synthetic/{GENERATOR}/images.npz"
    return inputs


def _runs(pattern):
    return expand(pattern, arm=EXPERIMENT["arms"], model=EXPERIMENT["models"], seed=EXPERIMENT["seeds"])


def all_metrics():
    return _runs("results/evaluation/{arm}/{model}/seed{seed}/metrics.json")


def confusion_matrices():
    return _runs("results/evaluation/{arm}/{model}/seed{seed}/confusion_matrix.png")
