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
sys.path.insert(0, _package_dir)

from synthaug.models.classifiers import imagenet_weights_hint  # noqa: E402

ENV = "../../envs/synthaug.yaml"
DATASET = config["dataset"]
EXPERIMENT = config["experiment"]
GENERATOR = config["gan"]["generator"]


wildcard_constraints:
    arm="|".join(["baseline", "augmented", "synthetic", "combined"]),
    model="|".join(["simple_cnn", "simple_cnn_tuned", "vgg16", "densenet169", "inception_resnet_v2"]),
    worker=r"\d+",
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


def model_inputs(wildcards):
    """What a model needs besides its arm's images: the tuning study's best parameters, or a weights file."""
    if wildcards.model == "simple_cnn_tuned":
        return {"best_params": "results/tune/simple_cnn/best_params.json"}
    path = config["classifier"]["weights"].get(wildcards.model)
    if path is None:
        return {}
    if not Path(path).is_file():
        raise WorkflowError(
            f"config key 'classifier.weights.{wildcards.model}': weights file '{path}' not found "
            f"(relative paths start in the working directory). {imagenet_weights_hint(wildcards.model)} "
            f"-- save it at '{path}', or set the key to null to train {wildcards.model} from scratch."
        )
    return {"weights": path}


def tune_journal(wildcards):
    """The study's Optuna journal: shared by all workers and reruns, so not an output of any job."""
    return f"results/tune/{wildcards.model}/study.journal"


def tune_workers(wildcards):
    return expand("results/tune/{model}/workers/worker{worker}.csv", model=wildcards.model,
                  worker=range(config["tune"]["workers"]))


def paper_table():
    return ["results/summary/paper_table.md"] if config["paper_table"]["enabled"] else []


def paper_other_split(wildcards):
    """The metrics.csv of the same experiment run with another split, shown beside this run's (or nothing)."""
    path = config["paper_table"]["other_split"]
    return {"other": path} if path else {}
