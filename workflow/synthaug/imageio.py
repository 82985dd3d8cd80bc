"""Read image pixels (DICOM, JPEG, PNG) into numpy, with errors that name the file.

Every reader returns a 2-D array in the file's own dtype (uint16 for CBIS-DDSM DICOMs, uint8 for JPEG/PNG):
how grey levels become model input is preprocessing's decision (:mod:`synthaug.preprocess`), not the reader's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from .errors import DataError

DICOM_SUFFIXES = (".dcm", ".dicom")
RASTER_SUFFIXES = (".jpg", ".jpeg", ".png")
_FIX = "re-download it, or set dataset.on_error: skip to drop its row"


def read_header(path, tags=None) -> pydicom.Dataset:
    """A DICOM header without pixel data (fast), optionally only ``tags`` (keywords such as "SeriesInstanceUID")."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=tags)
    except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError) as exc:
        raise DataError(path, f"not a readable DICOM file ({exc}); {_FIX}") from exc


def header_shape(path) -> tuple[int, int]:
    """(rows, columns) of a DICOM image, from its header alone."""
    header = read_header(path, ["Rows", "Columns"])
    if "Rows" not in header or "Columns" not in header:
        raise DataError(path, f"DICOM header has no Rows/Columns, so it holds no image; {_FIX}")
    return int(header.Rows), int(header.Columns)


def read_dicom(path) -> np.ndarray:
    """Pixels of a single-frame grey DICOM; MONOCHROME1 (white = low values) is inverted so bright = dense tissue."""
    try:
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
    except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError, RuntimeError) as exc:
        raise DataError(path, f"not a readable DICOM image ({exc}); {_FIX}") from exc
    if pixels.ndim != 2:
        raise DataError(path, f"expected one grey image, found pixel array of shape {pixels.shape}; {_FIX}")
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        pixels = pixels.max() - pixels
    return pixels


def read_raster(path) -> np.ndarray:
    """Pixels of a JPEG/PNG as one grey channel (colour files are converted; 16-bit PNGs keep their depth)."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise DataError(path, f"not a readable image file; {_FIX}")
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2GRAY if pixels.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return pixels


def read_pixels(path) -> np.ndarray:
    """Pixels of a DICOM, JPEG or PNG file, chosen by its suffix."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "image file not found; check dataset.root, or set dataset.on_error: skip")
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES:
        return read_dicom(path)
    if suffix in RASTER_SUFFIXES:
        return read_raster(path)
    raise DataError(path, f"unsupported image type '{suffix}'; expected one of {DICOM_SUFFIXES + RASTER_SUFFIXES}")


def looks_like_mask(pixels: np.ndarray, tolerance: float = 0.05, share: float = 0.98) -> bool:
    """True if nearly all pixels sit at the two extremes of the grey range, as in a binary ROI mask.

    Tolerant on purpose: JPEG compression leaves masks near 0/255 rather than exactly binary,
    while a lesion crop spreads its pixels over many grey levels.
    """
    low, high = float(pixels.min()), float(pixels.max())
    if high == low:
        return True  # an all-background (or all-lesion) mask; no crop is flat
    band = tolerance * (high - low)
    at_extremes = (pixels <= low + band) | (pixels >= high - band)
    return float(at_extremes.mean()) >= share
