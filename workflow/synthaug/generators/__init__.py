"""The generators of synthetic images, in one table that the rules and the parse-time checks read.

No numpy or Keras here: the Snakefile imports this module to build the DAG. Each entry names the module under
``synthaug.generators`` that implements it (imported only by the jobs that run it, :func:`implementation`):

- ``train(images, labels, options, *, checkpoint_dir, source, threads, compute)`` -> a
  :class:`synthaug.gan.GanResult` (generator, losses, sample snapshots), resuming from ``checkpoint_dir``
  (entries with ``trains=True`` only: rule train_generator);
- ``sample(source, labels, *, seed, options, threads)`` -> images (N, S, S, 3) in [0, 1], one per label, in the
  labels' order (rule synthesize_images). ``source`` is the trained model file, or the folder of an external set.

``options`` holds the config sections the entry names (:func:`options`). Built-in generators are trained on the
training split; an external set is a folder of labelled images made elsewhere (``external.<name>.root``), read-only
input like a dataset, with nothing to train. Adding a generator is one module, one entry here, its schema section
and its tests.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from ..constants import CLASS_NAMES, GAN_SIZE_MULTIPLE

IMAGE_FOLDER = "image-folder"  # dataset.name whose class folders the user names


@dataclass(frozen=True)
class Generator:
    """One kind of generator: its implementation, the config sections it reads, and what its training asks for."""

    module: str  # synthaug.generators.<module>
    sections: tuple[str, ...]  # config sections handed to train() and sample() as ``options``
    trains: bool = True  # False: nothing to train (rule train_generator never runs for it)
    runtime: int = 240  # minutes the training rule asks the scheduler for (resources.runtime)
    size_multiple: int = 1  # preprocess.image_size must be a multiple of this
    # (section, key) pairs of those sections that it does not read: left out of ``options``, so that changing them
    # does not retrain it (cgan shares the ``gan`` section with cgan_diffaug but not its ``gan.diffaug``)
    unread: tuple[tuple[str, str], ...] = ()


# The built-in generators, trained by the workflow (the ddpm's U-Net halves the grid per level: the GANs' multiple
# covers it too). The ddpm trains for longer: its runtime is the scheduler's limit, in minutes.
BUILTIN = {
    "cgan": Generator("cgan", ("gan",), size_multiple=GAN_SIZE_MULTIPLE, unread=(("gan", "diffaug"),)),
    "cgan_diffaug": Generator("cgan_diffaug", ("gan",), size_multiple=GAN_SIZE_MULTIPLE),
    "ddpm": Generator("ddpm", ("ddpm",), runtime=480, size_multiple=GAN_SIZE_MULTIPLE),
}
# Every name declared under the config's ``external:`` section: a folder of images, one subfolder per class.
EXTERNAL = Generator("external", ("preprocess",), trains=False)
EXTERNAL_SECTION = "external"


def names(config: dict) -> list[str]:
    """The built-in generators, then the external image sets the config declares."""
    return [*BUILTIN, *config.get(EXTERNAL_SECTION, {})]


def entry(name: str, config: dict | None = None) -> Generator:
    """The table entry of ``name`` (an external set's name gives :data:`EXTERNAL`)."""
    if name in BUILTIN:
        return BUILTIN[name]
    if config is not None and name in config.get(EXTERNAL_SECTION, {}):
        return EXTERNAL
    raise KeyError(f"'{name}' is neither a built-in generator ({', '.join(BUILTIN)}) nor under {EXTERNAL_SECTION}:")


def trained() -> list[str]:
    """The generators that rule train_generator trains."""
    return [name for name, gen in BUILTIN.items() if gen.trains]


def instances(name: str, config: dict) -> list[int]:
    """The trained instances of ``name``, each named by its generator seed (``experiment.generator_seeds``); an
    external set is one instance by nature, ``0``."""
    if not entry(name, config).trains:
        return [0]
    return [int(k) for k in config["experiment"].get("generator_seeds", [0])]


def instance_for_seed(name: str, config: dict, seed: int) -> int:
    """The instance of ``name`` whose images classifier seed ``seed`` trains on: generator_seeds[seed mod n]."""
    found = instances(name, config)
    return found[int(seed) % len(found)]


def check_instances(config: dict) -> None:
    """Every trained instance is used by some classifier seed (else it is trained for nothing and the interval
    would not carry it); raises ConfigError naming ``experiment.generator_seeds``."""
    from ..errors import ConfigError  # parse-time checks import this module; keep it light

    experiment = config["experiment"]
    n = len(experiment.get("generator_seeds", [0]))
    used = {int(s) % n for s in experiment["seeds"]}
    if len(used) < n:
        raise ConfigError("experiment.generator_seeds", (
            f"{n} generator instances but classifier seeds {list(experiment['seeds'])} use only {len(used)} of "
            f"them (seed s uses instance generator_seeds[s mod {n}]); give at most as many generator seeds as "
            "classifier seeds, or consecutive classifier seeds"))


def options(name: str, config: dict, instance: int = 0) -> dict:
    """What ``name``'s train() and sample() read: its config sections, and for an external set its own entry
    (``root``) and the class folders (:func:`class_folders`). Trained instance ``instance`` (its generator seed)
    has its section's ``seed`` (``gan.seed``, ``ddpm.seed``) raised by ``instance``."""
    found = entry(name, config)
    out = {section: config[section] for section in found.sections}
    for section, key in found.unread:
        out[section] = {k: v for k, v in out[section].items() if k != key}
    if found.trains and instance:
        out = {section: {**values, "seed": int(values["seed"]) + int(instance)} if "seed" in values else values
               for section, values in out.items()}
    if not found.trains:
        out.update(name=name, root=config[EXTERNAL_SECTION][name]["root"], classes=class_folders(config["dataset"]))
    return out


def class_folders(dataset: dict) -> dict[int, list[str]]:
    """Label -> the class folder names an external set holds for it: an image-folder dataset's classes (its
    ``classes`` mapping: two sides or k named classes; without one, every class folder in sorted order), else
    CBIS-DDSM's and the phantom's benign / malignant."""
    classes = dataset.get("classes") or {}
    if classes:
        from ..preflight import class_groups  # parse-time checks import this module; import here, not at the top

        return {label: list(group) for label, group in enumerate(class_groups(classes)[1])}
    if dataset.get("name") == IMAGE_FOLDER:
        from ..preflight import resolve_classes

        return {label: list(group) for label, group in enumerate(resolve_classes(dataset["root"], None).groups)}
    return {label: [name] for label, name in enumerate(CLASS_NAMES)}


def class_names(dataset: dict) -> tuple[str, ...]:
    """What outputs and figures call labels 0 .. k - 1: for an image-folder dataset the names of a named
    ``dataset.classes`` mapping, else each class's folders (joined by '+'); else benign and malignant. Fit for a file
    name (other characters become '_')."""
    import re

    names = []
    if dataset.get("classes"):
        from ..preflight import class_groups

        names = class_groups(dataset["classes"])[0]
    if not names:
        names = ["+".join(group) for group in class_folders(dataset).values()]
    return tuple(re.sub(r"[^\w.+-]+", "_", name) for name in names)


def implementation(module: str) -> ModuleType:
    """The module ``synthaug.generators.<module>`` (imported now: it may import Keras)."""
    return importlib.import_module(f"{__name__}.{module}")
