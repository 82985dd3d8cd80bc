"""external: a folder of labelled synthetic images made elsewhere (``external.<name>.root``); nothing to train.

The folder holds one subfolder per class, named as the dataset's classes (:func:`synthaug.generators.class_folders`:
``benign`` and ``malignant`` for CBIS-DDSM and the phantom), with images in any format the readers take
(:mod:`synthaug.imageio`: PNG 8/16-bit, JPEG, TIFF, DICOM) at any depth below it. It is read-only input, like a
dataset: listed at parse time (:func:`list_images`, pure Python), read by rule synthesize_images, never written.

Sampling draws, per class, as many images as the labels ask for, without replacement and seeded, and gives them
the real images' preprocessing (:func:`synthaug.preprocess.preprocess_image`: per-image min-max, resize to
``preprocess.image_size``, the ``preprocess.blur_kernel`` blur in output pixels, padding to a square, three grey
channels). Images whose aspect ratio differs from the real training images' (``options["real_aspect"]``, measured
inside their padding by :func:`synthaug.preprocess.content_aspect`) are centre-cropped to it first, with a WARNING
naming both: else they would be padded where real images are not, a frame that tells them apart.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..constants import DICOM_SUFFIXES, RASTER_SUFFIXES
from ..errors import ConfigError, UserError

log = logging.getLogger("synthaug")

SUFFIXES = DICOM_SUFFIXES + RASTER_SUFFIXES
ASPECT_TOLERANCE = 0.05  # |log(aspect ratio / the real images')| above which an image is cropped to theirs


def root_key(name: str) -> str:
    return f"external.{name}.root"


def list_images(name: str, root, classes: dict[int, list[str]]) -> dict[int, list[str]]:
    """Label -> the sorted image files of ``root``'s class folders; stops (naming ``external.<name>.root``) on a
    missing folder, a subfolder that is not a class, or image files lying outside the class folders."""
    key, root = root_key(name), Path(root)
    folders = {folder: label for label, names in classes.items() for folder in names}
    layout = f"one subfolder per class ({', '.join(folders)}) holding its images"
    if not root.is_dir():
        raise ConfigError(key, f"'{root}' is not a folder. Set {key} to the folder of '{name}': {layout}; "
                               f"or remove '{name}' from experiment.generators.")
    entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    unknown = sorted(p.name for p in entries if p.is_dir() and p.name not in folders)
    if unknown:
        import difflib

        guesses = [f"'{name}' -> '{match[0]}'" for name in unknown
                   if (match := difflib.get_close_matches(name.lower(), list(folders), n=1, cutoff=0.6))]
        hint = f" Did you mean {', '.join(guesses)}?" if guesses else ""
        raise ConfigError(key, f"'{root}' holds folder(s) {', '.join(unknown)}, which are not classes of the dataset "
                               f"({', '.join(folders)}).{hint} Rename them, or move them out of {root}: it must hold "
                               f"{layout}.")
    loose = sorted(p.name for p in entries if p.is_file() and p.suffix.lower() in SUFFIXES)
    if loose:
        raise ConfigError(key, f"'{root}' holds images outside the class folders ({', '.join(loose[:3])}"
                               f"{' ...' if len(loose) > 3 else ''}); their class is unknown. It must hold {layout}.")
    files = {label: [] for label in classes}
    for folder, label in folders.items():
        files[label] += sorted(str(p) for p in (root / folder).rglob("*")
                               if p.suffix.lower() in SUFFIXES and p.is_file()
                               and not any(part.startswith(".") for part in p.relative_to(root).parts))
    return files


def check_counts(name: str, have: dict[int, int], needed: dict[int, int], why: str) -> None:
    """Stop (naming ``external.<name>.root``) if a class holds fewer images (``have``) than ``needed`` asks of it."""
    from ..split import class_name

    if any(have.get(label, 0) < n for label, n in needed.items()):
        key = root_key(name)
        k = max(2, len(have), max(needed) + 1)  # the dataset's classes (the set holds a folder per class)
        held = ", ".join(f"{have.get(label, 0)} {class_name(label, k)}" for label in needed)
        want = ", ".join(f"{n} {class_name(label, k)}" for label, n in needed.items())
        raise ConfigError(key, f"'{name}' holds {held} images, but {why} need {want}. Add images to {key}, or "
                               "lower classifier.synthetic_ratio (and experiment.dose_ratios) or synthesize.n_images, "
                               "or change synthesize.malignant_fraction.")


def sample(source, labels, *, seed, options, threads=1):
    """Images for ``labels``: per class, that many of the class's files (``source``: the set's listed files) drawn
    without replacement with ``seed``, preprocessed as the real images are."""
    import numpy as np

    from ..imageio import read_pixels
    from ..preprocess import check_blur_kernel, crop_to_aspect, preprocess_image

    name, cfg = options["name"], options["preprocess"]
    classes = {int(k): v for k, v in options["classes"].items()}
    files = list_images(name, options["root"], classes)
    listed = set(map(str, source))
    files = {label: [f for f in paths if f in listed] for label, paths in files.items()}  # what the rule tracked
    labels = np.asarray(labels)
    wanted = {int(label): int(np.sum(labels == label)) for label in np.unique(labels)}
    check_counts(name, {label: len(paths) for label, paths in files.items()}, wanted, "the synthetic images asked for")
    check_blur_kernel(cfg["blur_kernel"])
    rng = np.random.default_rng(seed)
    images = np.empty((len(labels), cfg["image_size"], cfg["image_size"], 3), np.float32)
    aspect = options.get("real_aspect")
    shapes, dtypes, cropped = set(), set(), set()
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        chosen = rng.choice(len(files[label]), size=len(rows), replace=False)
        for row, index in zip(rows, sorted(chosen)):
            try:
                pixels = read_pixels(files[label][index])
            except UserError as exc:
                raise ConfigError(root_key(name), f"{exc} (an image of external set '{name}': replace or remove it)")
            shapes.add(pixels.shape[:2])
            dtypes.add(str(pixels.dtype))
            h, w = pixels.shape[:2]
            if aspect is not None and abs(np.log((w / h) / aspect)) > ASPECT_TOLERANCE:
                cropped.add((w, h))
                pixels = crop_to_aspect(pixels, aspect)
            images[row] = preprocess_image(pixels, cfg["image_size"], cfg["blur_kernel"])
        log.info("external set '%s': %d of the %d images in %s drawn (seed %d)",
                 name, len(rows), len(files[label]), "/".join(classes[label]), seed)
    sides = sorted(side for shape in shapes for side in shape)
    if cropped:
        sizes = ", ".join(f"{w}x{h}" for w, h in sorted(cropped)[:4]) + (" ..." if len(cropped) > 4 else "")
        log.warning("external set '%s': images of %s px (width x height) have another aspect ratio than the real "
                    "training images (%.2f, measured inside their padding): each is centre-cropped to %.2f before "
                    "the same preprocessing, so that it is not padded where real images are not", name, sizes,
                    aspect, aspect)
    log.info("external set '%s': read %d images (%s, sides %d-%d px), preprocessed as the real images: per-image "
             "min-max to [0, 1], longer side resized to %d px, Gaussian blur %s there, zero-padded to a square, "
             "grey copied to 3 channels", name, len(labels), "/".join(sorted(dtypes)), sides[0], sides[-1],
             cfg["image_size"], f"{cfg['blur_kernel']} px" if cfg["blur_kernel"] else "off")
    return images
