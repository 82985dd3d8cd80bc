# Small helpers shared by the rules: the config checked before anything runs, paths derived from it.
import json
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

from synthaug import generators, oracle, preflight
from synthaug.arm_names import (
    WILDCARD as ARM_WILDCARD,
    Arm,
    experiment_arms,
    extra_real_ratio,
    more_augmented_copies,
    synthetic_needed,
)
from synthaug.constants import (
    CASE_CSV_FILES,
    DIGIT_FOLDERS,
    DIGITS_MARKER,
    GROUND_TRUTH_FILE,
    METADATA_FILE,
    PHANTOM_IMAGES_DIR,
    PHANTOM_MARKER,
)
from synthaug.errors import UserError
from synthaug.looks import planned_looks
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
IS_PHANTOM = DATASET["name"] == "phantom"
IS_DIGITS = DATASET["name"] == "digits"
# What outputs and figures call labels 0 .. k-1 (an image-folder dataset's classes, else benign, malignant): two names
# for a binary dataset (its negative and positive side), k for a k-class image folder (synthaug.generators.class_names).
SIDES = generators.class_names(DATASET)  # the embedded second domain, exported by rule export_digits

if IS_PHANTOM and DATASET["abnormality"] != "mass":
    raise WorkflowError(
        f"config key 'dataset.abnormality': the phantom simulates mass cases only, not "
        f"'{DATASET['abnormality']}'. Use 'mass', or a real CBIS-DDSM download for calcifications."
    )
# A pretrained backbone's weights file (cannot be downloaded by the workflow) is checked before anything runs.
_stop_on_user_error(check_weights_files, config["classifier"]["weights"], EXPERIMENT["models"])
# The user's dataset is read-only input: its case tables (or class folders) are checked here and no rule writes under
# its root.
# The phantom and the digits are written only into a new, empty or earlier-export folder; the digits' two sides
# (dataset.classes, default low digits against high) are filled in here for every rule to read.
if IS_PHANTOM:
    _stop_on_user_error(preflight.check_phantom_root, DATASET)
elif IS_DIGITS:
    DATASET["classes"] = _stop_on_user_error(preflight.check_digits, DATASET)
else:
    DATASET_INPUTS = _stop_on_user_error(preflight.dataset_inputs, DATASET, ".", config["split"]["strategy"])
SYNTHETIC_RATIO = config["classifier"]["synthetic_ratio"]
# Seeds until decided: the seeds of every planned look (one look unless experiment.max_seeds asks for more).
LOOKS = planned_looks(EXPERIMENT)
# Every arm trained (main arms x generators, dose sweep, learning curve); names are documented in synthaug.arm_names.
ARM_NAMES = experiment_arms(EXPERIMENT, SYNTHETIC_RATIO)
# The oracle arms draw real images of new patients from the reserve (experiment.reserve): is its share large enough?
_stop_on_user_error(oracle.check_reserve_share, EXPERIMENT["reserve"], ARM_NAMES)
# Synthetic images per real training image the generators must supply, and extra real ones the reserve must.
SYNTHETIC_NEEDED = synthetic_needed(EXPERIMENT, SYNTHETIC_RATIO)
MORE_REAL_RATIO = extra_real_ratio(ARM_NAMES)
# Further augmented copies per image, beyond the augmented set, for the augmented_extra controls of combined and the
# pre-training of pretrain_augmented.
MORE_AUGMENTED_COPIES = more_augmented_copies(ARM_NAMES)
_EQUAL_RATIO = max((Arm.parse(a).ratio for a in ARM_NAMES if Arm.parse(a).kind == "augmented_equal"), default=0.0)
if _EQUAL_RATIO > config["augment"]["copies"]:
    raise WorkflowError(
        f"config key 'augment.copies': augmented_equal at ratio {_EQUAL_RATIO:g} needs at least that many augmented "
        f"copies per image, but augment.copies is {config['augment']['copies']}; raise it or lower the ratio "
        "(classifier.synthetic_ratio, experiment.dose_ratios)."
    )
# Generator names, and each external image set used (read-only input): its folder, class folders and image counts.
EXTERNAL_FILES = _stop_on_user_error(preflight.check_generators, config)
EXTERNAL_COUNTS = {name: {label: len(paths) for label, paths in files.items()}
                   for name, files in EXTERNAL_FILES.items()}
_stop_on_user_error(preflight.check_models, config, SYNTHETIC_NEEDED > 0)
_stop_on_user_error(generators.check_instances, config)
_stop_on_user_error(preflight.check_search_space, config["tune"]["search_space"])


wildcard_constraints:
    arm=ARM_WILDCARD,
    model="|".join(["simple_cnn", "simple_cnn_tuned", "vgg16", "densenet169", "inception_resnet_v2"]),
    worker=r"\d+",
    generator="|".join(generators.names(config)),
    seed=r"\d+",
    look=r"\d+",
    instance=r"\d+",
    split="train|val|test",


def generator_module(wildcards):
    return generators.entry(wildcards.generator, config).module


def generator_options(wildcards):
    """The config a generator's train() and sample() read (synthaug.generators.options), for one instance."""
    return generators.options(wildcards.generator, config, int(wildcards.get("instance", 0)))


def generator_instance_images(wildcards_or_name):
    """Every trained instance's synthetic images of a generator (a name, or wildcards naming one)."""
    name = getattr(wildcards_or_name, "generator", wildcards_or_name)
    return [f"results/synthetic/{name}/i{k}/images.npz" for k in generators.instances(name, config)]


def generator_runtime(wildcards):
    return generators.entry(wildcards.generator, config).runtime


def generator_source(wildcards):
    """What a generator is sampled from: its trained model, or an external set's image files (read-only input)."""
    if generators.entry(wildcards.generator, config).trains:
        return f"results/gan/{wildcards.generator}/i{wildcards.instance}/model.keras"
    return [path for paths in EXTERNAL_FILES[wildcards.generator].values() for path in paths]


def dataset_files():
    """The files ingest_cases reads: the phantom that simulate_phantom writes, the digits that export_digits writes,
    or the CSVs (class folders) of a user's download."""
    if IS_PHANTOM:
        return rules.simulate_phantom.output
    return rules.export_digits.output if IS_DIGITS else DATASET_INPUTS


def ground_truth():
    """The phantom's ideal-observer table (empty for real data, which has none)."""
    return rules.simulate_phantom.output.ground_truth if IS_PHANTOM else []


def arm_inputs(wildcards):
    """Training images of an arm: real images, plus augmented, synthetic or extra real images (synthaug.arm_names)."""
    arm = Arm.parse(wildcards.arm)
    inputs = {"train": "results/data/train.npz", "val": "results/data/val.npz"}
    if "augmented" in arm.sources:
        inputs["augmented"] = "results/augmented/train.npz"
    if "synthetic" in arm.sources:
        # Classifier seed s trains on instance generator_seeds[s mod n] of the generator (synthaug.generators).
        instance = generators.instance_for_seed(arm.generator, config, int(wildcards.seed))
        inputs["synthetic"] = f"results/synthetic/{arm.generator}/i{instance}/images.npz"
    if "extra_real" in arm.sources:
        inputs["extra_real"] = "results/oracle/train.npz"
    if arm.fraction != 1.0:
        inputs["split"] = "results/data/split.csv"  # the training images' patients
    return inputs


def classifier_settings(wildcards):
    """The classifier section a training reads: without classifier.pretrain for arms that do not pre-train, so that
    changing the pre-training schedule reruns only the pretrain arms."""
    if Arm.parse(wildcards.arm).pretraining:
        return config["classifier"]
    return {k: v for k, v in config["classifier"].items() if k != "pretrain"}


def synthetic_counts():
    """Rule check_synthetic_counts' output, when an arm uses synthetic images (a target of rule all; the rule runs
    first as soon as the split is known, before any training can start: see its priority)."""
    return ["results/synthetic/counts.json"] if SYNTHETIC_NEEDED > 0 else []


def reserve_counts():
    """Rule check_reserve_counts' output, when an arm draws real images from the reserve (a target of rule all; it
    runs as soon as the split is known, before any training can start)."""
    return ["results/oracle/counts.json"] if MORE_REAL_RATIO > 0 else []


def final_seeds():
    """The seeds of the last look that runs: each look's decision (checkpoint decide_look) says whether to go on."""
    for look, seeds in enumerate(LOOKS[:-1], start=1):
        if json.loads(Path(checkpoints.decide_look.get(look=look).output.decision).read_text())["stop"]:
            return seeds
    return LOOKS[-1]


def look_decisions(wildcards=None):
    """The decision files of the looks that ran before the last (none with one look)."""
    files = []
    for look in range(1, len(LOOKS)):
        files.append(checkpoints.decide_look.get(look=look).output.decision)
        if json.loads(Path(files[-1]).read_text())["stop"]:
            break
    return files


def _runs(pattern, seeds=None):
    return expand(pattern, arm=ARM_NAMES, model=EXPERIMENT["models"], seed=final_seeds() if seeds is None else seeds)


def run_files(name):
    """Input function: ``name`` (metrics.json, predictions.csv, ...) of every evaluation run of the last look."""
    return lambda wildcards: _runs(f"results/evaluation/{{arm}}/{{model}}/seed{{seed}}/{name}")


def look_run_files(name):
    """Input function: ``name`` of every evaluation run of look ``wildcards.look``."""
    return lambda wildcards: _runs(f"results/evaluation/{{arm}}/{{model}}/seed{{seed}}/{name}",
                                   LOOKS[int(wildcards.look) - 1])


def histories(wildcards=None):
    return _runs("results/classifiers/{arm}/{model}/seed{seed}/history.csv")


def generator_assessments():
    """Each generator's quality.json and the comparison of generators, when an arm uses synthetic images."""
    if SYNTHETIC_NEEDED == 0:
        return []
    quality = expand("results/synthetic/{generator}/quality.json", generator=EXPERIMENT["generators"])
    return [*quality, "results/synthetic/comparison.md", "results/synthetic/comparison.png"]


def generator_quality_reports(wildcards=None):
    """Each generator's quality.json, keyed quality_{generator}, for the summary (none without synthetic arms)."""
    if SYNTHETIC_NEEDED == 0:
        return {}
    return {f"quality_{g}": f"results/synthetic/{g}/quality.json" for g in EXPERIMENT["generators"]}


def confusion_matrices(wildcards=None):
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
