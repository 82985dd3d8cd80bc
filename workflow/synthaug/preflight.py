"""Checks run when the workflow is parsed, before any job: config mistakes and dataset folders that must not be used.

Everything here needs the config alone (and a look at ``dataset.root``), imports nothing heavy (``snakemake -n``
stays fast) and raises :class:`~synthaug.errors.ConfigError` with a message of a few lines that names the key, the
file it came from and what to do. The Snakefile turns that into a WorkflowError, so a dry run already says it.

The user's dataset is read-only input: for ``cbis-ddsm``, ``cbis-ddsm-kaggle`` and ``image-folder`` the workflow
only reads ``dataset.root``; for ``phantom`` and ``digits`` it writes there only if the folder is new, empty or holds
nothing but an earlier export of the same dataset (recognised by :data:`~synthaug.constants.PHANTOM_MARKER` or
:data:`~synthaug.constants.DIGITS_MARKER`, which only ``simulate_phantom`` and ``export_digits`` write).
"""

from __future__ import annotations

import csv
import difflib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from .constants import (
    CASE_CSV_FILES,
    DIGIT_FOLDERS,
    DIGITS_CLASSES,
    DIGITS_ENTRIES,
    DIGITS_MARKER,
    IMAGE_FOLDER_MANIFEST,
    MANIFEST_COLUMNS,
    MANIFEST_PATIENT,
    MANIFEST_SPLIT,
    MIN_IMAGE_SIZE,
    PHANTOM_ENTRIES,
    PHANTOM_MARKER,
)
from .embedded import root_problem
from .errors import ConfigError, UserError
from . import generators
from .generators import external

log = logging.getLogger("synthaug")

KAGGLE_CSV_DIR, KAGGLE_JPEG_DIR, KAGGLE_DICOM_INFO = "csv", "jpeg", "dicom_info.csv"
_MAX_ERRORS = 5


# --- the schema, with messages a newcomer can act on ---------------------------------------------------------------

def check_schema(config: dict, schema_path, sources: list[tuple[str, dict]]) -> None:
    """Validate ``config`` against the JSON Schema; raise UserError listing each problem in a line or two.

    ``sources`` = [(name, the mapping that file or option set)] in the order they were layered (later wins), used to
    say which file a wrong key came from.
    """
    import jsonschema

    with open(schema_path) as fh:
        schema = yaml.safe_load(fh)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    lines = []
    for error in errors[:_MAX_ERRORS]:
        lines.extend(_describe(error, sources))
    if len(errors) > _MAX_ERRORS:
        lines.append(f"... and {len(errors) - _MAX_ERRORS} more.")
    lines.append(f"Every key, with its meaning and default, is described in {Path(schema_path).name} "
                 "(workflow/schemas/) and commented in config.yaml.")
    raise UserError("invalid configuration:\n  " + "\n  ".join(lines))


def _describe(error, sources) -> list[str]:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        lines = []
        for key in sorted(set(error.instance) - set(allowed)):
            where = _source_of([*path, key], sources)
            near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{_join(path, near[0])}'?" if near else f"valid keys here: {', '.join(allowed)}"
            lines.append(f"'{_join(path, key)}'{where} is not a setting synthaug knows; {hint}")
        return lines
    where = _source_of(path, sources)
    name = ".".join(path) or "(top level)"
    message = error.message if len(error.message) < 200 else error.message[:200] + "..."
    line = f"'{name}'{where}: {message}"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if description:
        line += f"\n    ({name}: {' '.join(str(description).split())[:300]})"
    return [line]


def _join(path, key) -> str:
    return ".".join([*path, key])


def _source_of(path: list[str], sources) -> str:
    """' (set in <file>)' for the last layered source that holds ``path``, or ''."""
    found = None
    for name, mapping in sources:
        node = mapping
        for part in path:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            found = name
    return f" (set in {found})" if found else ""


def load_sources(configfiles, overrides: dict | None) -> list[tuple[str, dict]]:
    """[(file name, its YAML mapping)] for each config file in layering order, then --config's values."""
    sources = []
    for path in configfiles:
        try:
            with open(path) as fh:
                sources.append((str(path), yaml.safe_load(fh) or {}))
        except (OSError, yaml.YAMLError):
            continue  # Snakemake itself reports unreadable config files
    if overrides:
        sources.append(("--config", overrides))
    return sources


# --- values the schema allows but the models cannot use -------------------------------------------------------------

def check_models(config: dict, uses_generator: bool) -> None:
    """Each model's minimum input size, and each trained generator's size multiple, against ``preprocess.image_size``;
    the pretrain arms with a backbone's weights file (they train from scratch)."""
    size = config["preprocess"]["image_size"]
    for model in config["experiment"]["models"]:
        minimum = MIN_IMAGE_SIZE.get(model)
        if minimum is not None and size < minimum:
            raise ConfigError(
                "preprocess.image_size",
                f"{size} px is too small for '{model}' in experiment.models, which needs at least {minimum} px. "
                f"Raise preprocess.image_size to >= {minimum} or drop '{model}' "
                f"(minimum sizes: {', '.join(f'{m} {s}' for m, s in MIN_IMAGE_SIZE.items())}).",
            )
    from .arm_names import PRETRAINING

    pretrain_arms = [k for k in config["experiment"].get("arms", []) if k in PRETRAINING]
    weights = config.get("classifier", {}).get("weights", {})
    backbones = [m for m in config["experiment"]["models"] if weights.get(m)]
    if pretrain_arms and backbones:
        raise ConfigError(
            "classifier.weights",
            f"the arms {pretrain_arms} pre-train a network from scratch, but {backbones} start from a weights file. "
            f"Set classifier.weights.{backbones[0]} to null, or leave {pretrain_arms} out of experiment.arms.",
        )
    used = config["experiment"]["generators"] if uses_generator else []
    for name in (n for n in used if size % generators.entry(n, config).size_multiple):
        multiple = generators.entry(name, config).size_multiple
        raise ConfigError(
            "preprocess.image_size",
            f"{size} px cannot be made by generator {name} (it doubles a start grid 4 times): use a multiple of "
            f"{multiple} (e.g. 64 or 224), or run only arms without synthetic images.",
        )


# --- the generators: built-in ones and external image sets -----------------------------------------------------------

def check_search_space(space: dict) -> None:
    """Each ``tune.search_space`` range must have low <= high (and low > 0 on a log scale): else the tuner would
    fail inside its first trial, as if it were a bug."""
    for name, spec in space.items():
        if not isinstance(spec, dict):
            continue  # a list of choices: the schema checked it
        key, low, high = f"tune.search_space.{name}", spec["low"], spec["high"]
        if low > high:
            raise ConfigError(key, f"low {low} is above high {high}; swap them")
        if spec.get("log") and low <= 0:
            raise ConfigError(key, f"a log-scale range needs low > 0, got {low}; raise low or set log: false")


def check_generators(config: dict, workdir=".") -> dict[str, dict[int, list[str]]]:
    """Stop on a generator name that is neither built in nor declared under ``external:``, an external set named like
    a built-in one, a missing or misshapen external folder, or one with too few images where the config alone says
    how many the arms need (an explicit ``synthesize.n_images``; else rule check_synthetic_counts does it, once the
    split is known). Returns each used external set's image files per label."""
    declared = config.get(generators.EXTERNAL_SECTION) or {}
    for name in declared:
        if name in generators.BUILTIN:
            raise ConfigError(external.root_key(name), f"'{name}' is a built-in generator; an external image set "
                              f"needs a name of its own. Rename external.{name} (e.g. {name}_external) and its entry "
                              "in experiment.generators.")
        if not _arm_names_keep(name):
            raise ConfigError(external.root_key(name), f"'{name}' cannot name an external set: arm names would read "
                              "it as a ratio or fraction (r0.5, f0.5). Choose another name.")
    known = generators.names(config)
    for name in config["experiment"]["generators"]:
        if name not in known:
            raise ConfigError("experiment.generators", f"'{name}' is not a generator. Built-in: "
                              f"{', '.join(generators.BUILTIN)}; external sets (external:): "
                              f"{', '.join(declared) or 'none declared'}. Fix the name, or declare it under "
                              f"external: as  {name}: {{root: /folder/with/class/subfolders}}.")
    used = [n for n in config["experiment"]["generators"] if n in declared]
    classes = generators.class_folders(config["dataset"])
    found = {}
    for name in used:
        root = Path(declared[name]["root"])
        files = external.list_images(name, root, classes)
        _refuse_outputs_inside(root, external.root_key(name), workdir)
        counts = {label: len(paths) for label, paths in files.items()}
        external.check_counts(name, counts, _parse_time_needs(config), "the arms")
        n_images = config["synthesize"]["n_images"]
        if n_images != "auto" and sum(counts.values()) < n_images:
            raise ConfigError(external.root_key(name), f"'{name}' holds {sum(counts.values())} images, but "
                              f"synthesize.n_images asks for {n_images}. Add images, or lower synthesize.n_images.")
        found[name] = files
    return found


def _arm_names_keep(name: str) -> bool:
    from .arm_names import Arm

    try:
        return Arm.parse(f"synthetic-{name}-r0.5").generator == name == Arm.parse(f"synthetic_only-{name}").generator
    except UserError:
        return False


def _parse_time_needs(config: dict) -> dict[int, int]:
    """Images per label an external set must hold, as far as the config alone tells (before the split)."""
    n_images, fraction = config["synthesize"]["n_images"], config["synthesize"]["malignant_fraction"]
    if n_images != "auto" and fraction != "train":
        malignant = int(round(n_images * fraction))
        return {0: n_images - malignant, 1: malignant}
    # The class mix (or the count) follows the training split: at least one image of each class it needs.
    if fraction == "train":
        return {0: 1, 1: 1}
    return {0: int(fraction < 1), 1: int(fraction > 0)}


def _refuse_outputs_inside(root: Path, key: str, workdir) -> None:
    """An external set is read-only input: the working directory (results/, logs/ ...) must not lie inside it,
    nor it inside the working directory's outputs."""
    work, data = Path(workdir).resolve(), root.resolve()
    outputs = [work / folder for folder in ("results", "logs", "benchmarks", ".snakemake")]
    if work == data or data in work.parents or any(o == data or o in data.parents for o in outputs):
        raise ConfigError(key, f"'{root}' and the working directory '{work}' overlap, so the workflow's outputs could "
                               "be written into the image set. Keep the set in a folder of its own, outside results/.")


# --- the dataset folder -----------------------------------------------------------------------------------------------

DOCS_SECTIONS = {"cbis-ddsm": "Using real CBIS-DDSM", "cbis-ddsm-kaggle": "Using real CBIS-DDSM",
                 "image-folder": "Your own images: image-folder", "digits": "The second domain: digits"}


def dataset_inputs(dataset: dict, workdir=".", split_strategy: str = "grouped") -> list[str]:
    """The files (and folders) ingest_cases reads from a user's dataset; raises ConfigError if it cannot be used.

    Not for the phantom (its files are simulate_phantom's outputs); see :func:`check_phantom_root`. The checks of
    each layout are in :data:`ROOT_CHECKS`, by ``dataset.name``.
    """
    root = Path(dataset["root"])
    name = dataset["name"]
    if not root.is_dir():
        raise ConfigError(
            "dataset.root",
            f"the folder '{root}' does not exist (dataset.name: {name}). Point it at your dataset "
            f"(see docs/datasets.md, '{DOCS_SECTIONS.get(name, 'Datasets')}'), or use dataset.name: phantom.",
        )
    _refuse_workdir_inside(root, workdir)
    return ROOT_CHECKS[name](dataset, root, split_strategy)


def cbis_inputs(dataset: dict, root: Path, split_strategy: str) -> list[str]:
    """The case CSVs (and, for Kaggle, dicom_info.csv) of a CBIS-DDSM download; stops naming what is missing."""
    name = dataset["name"]
    abnormalities = ["mass", "calc"] if dataset["abnormality"] == "both" else [dataset["abnormality"]]
    csv_dir = root / KAGGLE_CSV_DIR if name == "cbis-ddsm-kaggle" else root
    files = [csv_dir / CASE_CSV_FILES[(abn, part)] for abn in abnormalities for part in ("train", "test")]
    if name == "cbis-ddsm-kaggle":
        files.append(csv_dir / KAGGLE_DICOM_INFO)
    missing = [f for f in files if not f.is_file()]
    if name == "cbis-ddsm-kaggle" and not (root / KAGGLE_JPEG_DIR).is_dir():
        missing.append(root / KAGGLE_JPEG_DIR)
    if missing:
        layout = ("the folder holding csv/ (the case CSVs and dicom_info.csv) and jpeg/" if name == "cbis-ddsm-kaggle"
                  else "the folder holding the case CSVs next to the CBIS-DDSM/ folder the NBIA Data Retriever wrote")
        raise ConfigError(
            "dataset.root",
            f"'{root}' is not a {name} download: missing {', '.join(str(m) for m in missing)}. "
            f"dataset.root must be {layout} (docs/datasets.md, 'Using real CBIS-DDSM'). Nothing was written there.",
        )
    return [str(f) for f in files]


# --- image-folder: root/<class>/** and an optional manifest.csv -------------------------------------------------------
# The class folders and their mapping to the two sides are worked out here, from the folder names alone, both when
# the workflow is parsed and by the adapter (synthaug.datasets.image_folder) when ingest_cases runs: one rule.

def is_hidden(name: str) -> bool:
    """Hidden files and folders (.DS_Store, .ipynb_checkpoints, ._x from macOS) are never part of a dataset."""
    return name.startswith(".")


def class_folders(root) -> list[str]:
    """The class folders of an image-folder dataset: the visible subfolders of ``root``, sorted."""
    return sorted(e.name for e in os.scandir(root) if e.is_dir() and not is_hidden(e.name))


@dataclass(frozen=True)
class ClassMap:
    """Which class folders form each class (label = position in ``groups``), and which are not used.

    Two classes are the binary sides: ``negative`` (label 0) and ``positive`` (label 1). k > 2 classes are named
    (``names``): the keys of a named ``dataset.classes`` mapping, or the class folders themselves without one.
    """

    groups: tuple[tuple[str, ...], ...]
    ignored: tuple[str, ...]
    from_config: bool  # False: no dataset.classes, every class folder a class, in sorted order
    names: tuple[str, ...] = ()  # the classes' names (empty: named by their folders, joined by '+')

    @property
    def negative(self) -> tuple[str, ...]:
        return self.groups[0]

    @property
    def positive(self) -> tuple[str, ...]:
        return self.groups[1]

    @property
    def n_classes(self) -> int:
        return len(self.groups)

    @property
    def used(self) -> tuple[str, ...]:
        """Every used class folder, class by class."""
        return tuple(folder for group in self.groups for folder in group)

    def class_names(self) -> tuple[str, ...]:
        return self.names or tuple("+".join(group) for group in self.groups)

    def label(self, folder: str) -> int | None:
        return next((label for label, group in enumerate(self.groups) if folder in group), None)

    def describe(self) -> str:
        if self.n_classes == 2 and not self.names:
            return f"negative (label 0) = {', '.join(self.negative)}; positive (label 1) = {', '.join(self.positive)}"
        return "; ".join(f"{name} (label {label}) = {', '.join(group)}"
                         for label, (name, group) in enumerate(zip(self.class_names(), self.groups)))


BINARY_KEYS = ("negative", "positive")


def class_groups(classes: dict) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """``dataset.classes`` as (names, folder groups) in label order: ``{negative: [..], positive: [..]}`` is the two
    sides (no names: they are named by their folders); any other keys name k >= 2 classes in the order given."""
    if set(classes) == set(BINARY_KEYS):
        return (), tuple(tuple(classes[key]) for key in BINARY_KEYS)
    return tuple(str(name) for name in classes), tuple(tuple(folders) for folders in classes.values())


def resolve_classes(root, classes: dict | None, folders=None) -> ClassMap:
    """The classes of an image-folder dataset from ``dataset.classes`` (without it: every class folder is a class,
    in sorted order; two folders are the negative and the positive side).

    ``folders``: the class folders, when they are known before they exist (the digits export); else root's.
    """
    root = Path(root)
    folders = class_folders(root) if folders is None else list(folders)
    shown = ", ".join(folders)
    if not folders:
        raise ConfigError(
            "dataset.root",
            f"'{root}' holds no class folders. dataset.name: image-folder reads one subfolder per class, "
            "root/<class>/**/<image> (docs/datasets.md, 'Your own images: image-folder').",
        )
    if not classes:
        if len(folders) == 1:
            raise ConfigError(
                "dataset.root",
                f"'{root}' holds one class folder ({shown}); a classifier needs two or more. Add the other "
                "class's folder, or point dataset.root at the folder that holds both.",
            )
        names = () if len(folders) == 2 else tuple(folders)
        return ClassMap(tuple((f,) for f in folders), (), from_config=False, names=names)
    if len(classes) < 2:
        raise ConfigError("dataset.classes", f"names {len(classes)} class; a classifier needs two or more, e.g. "
                          f"{{negative: [{folders[0]}], positive: [{folders[-1]}]}}.")
    names, groups = class_groups(classes)
    missing = [c for group in groups for c in group if c not in folders]
    if missing:
        near = {m: difflib.get_close_matches(m, folders, n=1, cutoff=0.6) for m in missing}
        hints = "; ".join(f"did you mean '{n[0]}' for '{m}'?" for m, n in near.items() if n)
        raise ConfigError(
            "dataset.classes",
            f"names {', '.join(repr(m) for m in missing)}, not a class folder under '{root}' (its class folders: "
            f"{shown}). {hints + ' ' if hints else ''}Use the folder names exactly (case matters).",
        )
    seen = [folder for group in groups for folder in set(group)]
    both = sorted({f for f in seen if seen.count(f) > 1})
    if both:
        where = "on both sides; put each class folder on one side" if not names else (
            "in more than one class; put each class folder in one class")
        raise ConfigError("dataset.classes", f"{', '.join(both)} is {where}.")
    used = set(seen)
    return ClassMap(groups, tuple(f for f in folders if f not in used), from_config=True, names=names)


def _has_a_file(folder: Path) -> bool:
    for _, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_hidden(d)]
        if any(not is_hidden(f) for f in files):
            return True
    return False


def manifest_columns(path: Path) -> list[str]:
    """The header of an image-folder manifest (the first line only: parse time stays fast)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError("dataset.root", f"cannot read the manifest '{path}' ({exc}); fix or remove it.") from exc
    return [c.strip() for c in header]


def image_folder_inputs(dataset: dict, root: Path, split_strategy: str) -> list[str]:
    """The used class folders (and manifest.csv) of an image-folder dataset; stops on a layout it cannot use."""
    mapping = resolve_classes(root, dataset.get("classes"))
    for folder in mapping.used:
        if not _has_a_file(root / folder):
            raise ConfigError(
                "dataset.root",
                f"the class folder '{root / folder}' holds no files. Put its images there, or leave it out of "
                "dataset.classes (without dataset.classes every class folder is used).",
            )
    _refuse_full_image(dataset)
    manifest = root / IMAGE_FOLDER_MANIFEST
    inputs = [str(root / f) for f in mapping.used]
    columns = manifest_columns(manifest) if manifest.is_file() else []
    if manifest.is_file():
        missing = [c for c in MANIFEST_COLUMNS if c not in columns]
        if missing:
            raise ConfigError(
                "dataset.root",
                f"the manifest '{manifest}' has no {' or '.join(missing)} column (its header: {', '.join(columns)}). "
                f"It needs {', '.join(MANIFEST_COLUMNS)} and may add {MANIFEST_PATIENT} and {MANIFEST_SPLIT}; "
                "rename its columns, or remove the file to read the class folders alone.",
            )
        inputs.append(str(manifest))
    if split_strategy != "official" and MANIFEST_SPLIT in columns:
        log.warning("the manifest '%s' has a '%s' column, but split.strategy is '%s': the column is not used, and "
                    "images are split by patient afresh. Set split.strategy: official to keep it, or remove the "
                    "column.",
                    manifest, MANIFEST_SPLIT, split_strategy)
    if split_strategy == "official" and MANIFEST_SPLIT not in columns:
        raise ConfigError(
            "split.strategy",
            f"'official' keeps the dataset's own split, but '{root}' has no {IMAGE_FOLDER_MANIFEST} with a "
            f"'{MANIFEST_SPLIT}' column (train/val/test per image). Add one, or use split.strategy: grouped.",
        )
    return inputs


def _refuse_full_image(dataset: dict) -> None:
    if dataset["image"] == "full":
        raise ConfigError(
            "dataset.image",
            f"'full' crops the breast region of a whole mammogram (CBIS-DDSM); {dataset['name']} images are used "
            "whole. Leave dataset.image at its default, crop.",
        )


ROOT_CHECKS = {"cbis-ddsm": cbis_inputs, "cbis-ddsm-kaggle": cbis_inputs, "image-folder": image_folder_inputs}


def phantom_root_problem(root) -> str | None:
    """Why the phantom may not be written into ``root`` (None if it may: new, empty, or an earlier phantom)."""
    return root_problem(root, PHANTOM_ENTRIES, PHANTOM_MARKER, "phantom")


def check_phantom_root(dataset: dict, workdir=".") -> None:
    """Stop if the phantom would be written into a folder that holds anything but an earlier phantom."""
    problem = phantom_root_problem(dataset["root"])
    if problem:
        raise ConfigError(
            "dataset.root",
            f"dataset.name is 'phantom', which generates a dataset into dataset.root, but {problem}. "
            "The workflow never writes into a folder it did not create. Set dataset.root to a new or empty folder "
            "(default resources/phantom); if this is your CBIS-DDSM download, set dataset.name: cbis-ddsm "
            "(or cbis-ddsm-kaggle); if it is an old phantom you no longer need, delete it yourself.",
        )
    _refuse_workdir_inside(Path(dataset["root"]), workdir)


def check_digits(dataset: dict, workdir=".") -> dict:
    """The digits' two sides (``dataset.classes``, or low digits against high ones); stops if the export would be
    written into a folder that holds anything but an earlier export, or the mapping names a folder it has not."""
    problem = root_problem(dataset["root"], DIGITS_ENTRIES, DIGITS_MARKER, "digits")
    if problem:
        raise ConfigError(
            "dataset.root",
            f"dataset.name is 'digits', which exports scikit-learn's handwritten digits into dataset.root, but "
            f"{problem}. The workflow never writes into a folder it did not create. Set dataset.root to a new or "
            "empty folder (presets/digits.yaml uses resources/digits); for your own images use "
            "dataset.name: image-folder.",
        )
    _refuse_workdir_inside(Path(dataset["root"]), workdir)
    _refuse_full_image(dataset)
    classes = dataset.get("classes") or DIGITS_CLASSES
    resolve_classes(dataset["root"], classes, folders=DIGIT_FOLDERS)
    return {key: list(folders) for key, folders in classes.items()}


def _refuse_workdir_inside(root: Path, workdir) -> None:
    """Results are written under the working directory: it must not lie inside the dataset folder."""
    work, data = Path(workdir).resolve(), root.resolve()
    if work == data or data in work.parents:
        raise ConfigError(
            "dataset.root",
            f"'{root}' contains the working directory '{work}', so results/, logs/ and .snakemake/ would be written "
            "into the dataset folder. Run snakemake from (or with --directory) a folder outside the dataset.",
        )
