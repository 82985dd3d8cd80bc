# Small helpers shared by the rules: the config checked before anything runs, paths derived from it.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# Scripts import the synthaug package from workflow/ whether or not it was pip-installed
# (jobs inherit this environment, locally and on SLURM); the checks below import it here too.
_package_dir = str(Path(workflow.basedir) / "workflow")
sys.path.insert(0, _package_dir)
# (Set, not read: nothing here requires the user to define it.)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_package_dir, os.environ.get("PYTHONPATH")) if p))

from synthaug import preflight
from synthaug.constants import (
    CASE_CSV_FILES,
    GENERATOR_ARMS,
    GROUND_TRUTH_FILE,
    METADATA_FILE,
    PHANTOM_IMAGES_DIR,
    PHANTOM_MARKER,
)
from synthaug.errors import UserError
from synthaug.models.classifiers import check_weights_files


def _stop_on_user_error(check, *args):
    """Run a parse-time check; a user's mistake stops the workflow with its message (a few lines, no traceback)."""
    try:
        return check(*args)
    except UserError as exc:
        raise WorkflowError(str(exc)) from None


# Config mistakes stop here, naming the key and the file it came from; then the schema fills in every default.
_stop_on_user_error(
    preflight.check_schema,
    config,
    Path(workflow.basedir) / "workflow/schemas/config.schema.yaml",
    preflight.load_sources(["config.yaml", *workflow.overwrite_configfiles], workflow.config_settings.config),
)
validate(config, "../schemas/config.schema.yaml")

ENV = "../../envs/synthaug.yaml"
DATASET = config["dataset"]
EXPERIMENT = config["experiment"]
GENERATOR = config["gan"]["generator"]
IS_PHANTOM = DATASET["name"] == "phantom"

if IS_PHANTOM and DATASET["abnormality"] != "mass":
    raise WorkflowError(
        f"config key 'dataset.abnormality': the phantom simulates mass cases only, not "
        f"'{DATASET['abnormality']}'. Use 'mass', or a real CBIS-DDSM download for calcifications."
    )
_stop_on_user_error(preflight.check_models, config, bool(set(EXPERIMENT["arms"]) & GENERATOR_ARMS))
# A pretrained backbone's weights file (cannot be downloaded by the workflow) is checked before anything runs.
_stop_on_user_error(check_weights_files, config["classifier"]["weights"], EXPERIMENT["models"])
# The user's download is read-only input: its case tables are checked here and no rule writes under its root.
# The phantom is generated only into a new, empty or earlier-phantom folder.
if IS_PHANTOM:
    _stop_on_user_error(preflight.check_phantom_root, DATASET)
else:
    DATASET_INPUTS = _stop_on_user_error(preflight.dataset_inputs, DATASET)


wildcard_constraints:
    arm="|".join(["baseline", "augmented", "synthetic", "combined"]),
    model="|".join(["simple_cnn", "simple_cnn_tuned", "vgg16", "densenet169", "inception_resnet_v2"]),
    worker=r"\d+",
    generator="cgan",
    seed=r"\d+",
    split="train|val|test",


def dataset_files():
    """The files ingest_cases reads: the phantom that simulate_phantom writes, or the CSVs of a user's download."""
    return rules.simulate_phantom.output if IS_PHANTOM else DATASET_INPUTS


def ground_truth():
    """The phantom's ideal-observer table (empty for real data, which has none)."""
    return rules.simulate_phantom.output.ground_truth if IS_PHANTOM else []


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
    _stop_on_user_error(check_weights_files, config["classifier"]["weights"], [wildcards.model])
    return {"weights": path} if path is not None else {}


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
