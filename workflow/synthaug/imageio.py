"""Read image pixels (DICOM, JPEG, PNG, TIFF) into numpy, with errors that name the file.

Every reader returns a 2-D array in the file's own dtype (uint16 for CBIS-DDSM DICOMs and 16-bit PNG/TIFF, uint8
for JPEG and 8-bit PNG): how grey levels become model input is preprocessing's decision (:mod:`synthaug.preprocess`),
not the reader's. Colour PNG/JPEG/TIFF (RGB or RGBA) become one grey channel (ITU-R BT.601 luma, cv2's weights); a
DICOM must hold one grey frame (a colour or multi-frame DICOM is an unreadable image). A DICOM is recognised by its suffix (.dcm, .dicom) or, whatever its name (hospital exports often have
none, or a UID whose last number looks like a suffix), by the ``DICM`` marker of the Part 10 file format.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from . import faults
from .constants import DICOM_SUFFIXES, RASTER_SUFFIXES, SERIES_CROP, SERIES_MASK
from .errors import DataError

DICOM_MAGIC_OFFSET, DICOM_MAGIC = 128, b"DICM"  # DICOM Part 10: a 128-byte preamble, then "DICM"
_FIX = "re-download it, or set dataset.on_error: skip to drop its row"
# What lets pydicom decode each compressed transfer syntax (pydicom's pixel data handlers; pylibjpeg's plugins:
# libjpeg for JPEG and JPEG-LS, openjpeg for JPEG 2000 and HTJ2K, rle for RLE; GDCM does JPEG, JPEG-LS and JPEG 2000).
_LIBJPEG, _OPENJPEG, _GDCM = "pylibjpeg pylibjpeg-libjpeg", "pylibjpeg pylibjpeg-openjpeg", "python-gdcm"
DECODER_PACKAGES = {
    **dict.fromkeys([f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 57, 70, 80, 81)], (_LIBJPEG, _GDCM)),
    **dict.fromkeys([f"1.2.840.10008.1.2.4.{n}" for n in (90, 91)], (_OPENJPEG, _GDCM)),
    **dict.fromkeys([f"1.2.840.10008.1.2.4.{n}" for n in (201, 202, 203)], (_OPENJPEG,)),
    "1.2.840.10008.1.2.5": ("pylibjpeg pylibjpeg-rle",),
}
# JPEG start-of-frame markers (0xC0-0xCF except DHT, JPG and DAC): they carry the image's height and width.
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Share of an ROI mask's pixels that must lie within 5% of the grey range of black or white. DICOM masks are
# exactly binary; JPEG compression rings at the mask's edge, so JPEG masks get a looser share (measured on the
# Kaggle copy's masks: 96-99.9% of pixels near 0/255; crops: well under 50%).
MASK_SHARE = {"dicom": 0.98, "jpeg": 0.95}


def read_header(path, tags=None) -> pydicom.Dataset:
    """A DICOM header without pixel data (fast), optionally only ``tags`` (keywords such as "SeriesInstanceUID")."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=tags)
    except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError) as exc:
        if faults.find(exc) is not None:  # e.g. permission denied: the machine's fault, named by run_logged
            raise
        raise DataError(path, f"not a readable DICOM file ({exc}); {_FIX}") from exc


def header_shape(path) -> tuple[int, int]:
    """(rows, columns) of a DICOM image, from its header alone."""
    header = read_header(path, ["Rows", "Columns"])
    if "Rows" not in header or "Columns" not in header:
        raise DataError(path, f"DICOM header has no Rows/Columns, so it holds no image; {_FIX}")
    return int(header.Rows), int(header.Columns)


def _check_jpeg_ends(fh, path) -> None:
    """A JPEG must start with start-of-image and end with end-of-image: OpenCV decodes a truncated JPEG (an
    interrupted download or unzip) without an error, filling the missing rows with grey."""
    if fh.read(2) != b"\xff\xd8":
        raise DataError(path, f"not a JPEG file; {_FIX}")
    fh.seek(max(0, fh.seek(0, 2) - 64))
    if not fh.read().rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        raise DataError(path, f"truncated JPEG file (no end-of-image marker: cut short in a download or a copy); "
                              f"{_FIX}")


def jpeg_shape(path) -> tuple[int, int]:
    """(rows, columns) of a JPEG from its start-of-frame header, without decoding the pixels.

    Also checks that the file ends with JPEG's end-of-image marker: OpenCV decodes a truncated JPEG (an interrupted
    download or unzip) without an error, filling the missing rows with grey.
    """
    try:
        with open(path, "rb") as fh:
            _check_jpeg_ends(fh, path)
            fh.seek(2)
            while True:
                byte = fh.read(1)
                if byte != b"\xff":
                    raise DataError(path, f"malformed JPEG header; {_FIX}")
                while byte == b"\xff":  # a marker, possibly after fill bytes
                    byte = fh.read(1)
                segment = fh.read(7 if byte and byte[0] in SOF_MARKERS else 2)
                if len(segment) < 2:
                    raise DataError(path, f"JPEG file ends before its image header; {_FIX}")
                if byte[0] in SOF_MARKERS:  # length (2), precision (1), height (2), width (2)
                    return int.from_bytes(segment[3:5], "big"), int.from_bytes(segment[5:7], "big")
                fh.seek(int.from_bytes(segment, "big") - 2, 1)
    except OSError as exc:
        raise DataError(path, f"cannot read the file ({exc}); check its permissions, or {_FIX}") from exc


def read_dicom(path) -> np.ndarray:
    """Pixels of a single-frame grey DICOM; MONOCHROME1 (white = low values) is inverted so bright = dense tissue."""
    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError) as exc:
        if faults.find(exc) is not None:  # e.g. permission denied: the machine's fault, named by run_logged
            raise
        raise DataError(path, f"not a readable DICOM file ({exc}); {_FIX}") from exc
    try:
        pixels = ds.pixel_array
    except (OSError, ValueError, EOFError, AttributeError, RuntimeError, NotImplementedError) as exc:
        missing = missing_decoder(ds)
        if missing:
            raise DataError(path, missing) from exc
        raise DataError(path, f"not a readable DICOM image ({exc}); {_FIX}") from exc
    if pixels.ndim != 2:
        colour = " (a colour DICOM: export it as PNG or JPEG, which are made grey)" if int(
            ds.get("SamplesPerPixel", 1)) > 1 else ""
        raise DataError(path, f"expected one grey image, found pixel array of shape {pixels.shape}{colour}; {_FIX}")
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        pixels = pixels.max() - pixels
    return pixels


def missing_decoder(ds: pydicom.Dataset) -> str | None:
    """What to install when ``ds``'s pixel data are compressed in a transfer syntax pydicom has no decoder for here,
    else None (uncompressed, or a decoder is installed: a failure to decode is then the file's)."""
    uid = getattr(ds.get("file_meta"), "TransferSyntaxUID", None)
    available = _decoder_available(uid) if uid is not None and uid.is_compressed else True
    if available:
        return None
    packages = " or ".join(f"'pip install {p}'" for p in DECODER_PACKAGES.get(str(uid), ())) or "see pydicom's docs"
    what = f"its pixel data are compressed as {uid.name} (transfer syntax {uid})"
    if available is None:  # pydicom 2 cannot tell
        return f"{what} and could not be decoded: if no decoder for it is installed, install one ({packages}); {_FIX}"
    return (f"{what} and pydicom has no decoder for it installed: install one ({packages}) in the workflow's "
            "environment, then rerun")


def _decoder_available(uid) -> bool | None:
    """Whether pydicom has a working decoder for ``uid`` (pydicom >= 3); None where it cannot tell (pydicom 2)."""
    try:
        from pydicom.pixels import get_decoder
    except ImportError:
        return None
    try:
        return bool(get_decoder(uid).is_available)
    except NotImplementedError:  # no decoder exists for this transfer syntax
        return False


def is_dicom_file(path) -> bool:
    """True if ``path`` is a DICOM Part 10 file (the ``DICM`` marker after the preamble), whatever its name."""
    try:
        with open(path, "rb") as fh:
            fh.seek(DICOM_MAGIC_OFFSET)
            return fh.read(len(DICOM_MAGIC)) == DICOM_MAGIC
    except OSError as exc:
        if faults.find(exc) is not None:  # e.g. permission denied: the machine's fault, named by run_logged
            raise
        return False


def is_dicom_path(path) -> bool:
    """A DICOM by suffix, or any other file that is not a known raster format and carries the DICOM marker."""
    suffix = Path(path).suffix.lower()
    return suffix in DICOM_SUFFIXES or (suffix not in RASTER_SUFFIXES and is_dicom_file(path))


def read_raster(path) -> np.ndarray:
    """Pixels of a JPEG/PNG/TIFF as one grey channel (colour files are converted; 16-bit PNG/TIFF keep their depth;
    a multi-page TIFF gives its first page). A JPEG must end with its end-of-image marker (see jpeg_shape)."""
    if Path(path).suffix.lower() in (".jpg", ".jpeg"):
        with open(path, "rb") as fh:
            _check_jpeg_ends(fh, path)
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise DataError(path, f"not a readable image file; {_FIX}")
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2GRAY if pixels.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return pixels


def check_readable(path) -> None:
    """Stop on an empty file or one the workflow may not read, each with its own cause (not 're-download it')."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(path, "empty file (0 bytes), as an interrupted copy or download leaves; fetch it again, "
                              "or remove it")
    try:
        with open(path, "rb"):
            pass
    except PermissionError as exc:
        raise DataError(path, f"no permission to read this file ({exc.strerror}); give the workflow's user read "
                              f"permission (chmod a+r '{path}'), or remove it") from exc


def without_advice(message: str) -> str:
    """A reader's message without its generic advice (the QC log adds its own: the advice is then said once)."""
    return message.replace(f"; {_FIX}", "")


def read_pixels(path) -> np.ndarray:
    """Pixels of a DICOM, JPEG, PNG or TIFF file, chosen by its suffix (a DICOM also by its marker, see above)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "image file not found; check dataset.root, or set dataset.on_error: skip")
    check_readable(path)
    suffix = path.suffix.lower()
    if suffix in RASTER_SUFFIXES:
        return read_raster(path)
    if is_dicom_path(path):
        return read_dicom(path)
    raise DataError(path, f"unsupported image type '{suffix}'; expected one of {DICOM_SUFFIXES + RASTER_SUFFIXES} "
                    "or a DICOM file with any name")


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


def image_shape(path) -> tuple[int, int]:
    """(rows, columns) of a DICOM or JPEG image from its header alone (the pixels are not decoded)."""
    suffix = Path(path).suffix.lower()
    if suffix in DICOM_SUFFIXES:
        return header_shape(path)
    if suffix in (".jpg", ".jpeg"):
        return jpeg_shape(path)
    raise DataError(path, f"unsupported image type '{suffix}' for an ROI series; expected DICOM or JPEG")


def roi_kind(path, full_shape: tuple[int, int]) -> str:
    """SERIES_MASK or SERIES_CROP for one file of an ROI series (DICOM or JPEG): the one rule both readers use.

    A file of the full mammogram's size is the mask (read from its header: a real mask is a 30 MB image); any other
    file is decoded and is a mask if nearly all its pixels sit at black or white (:data:`MASK_SHARE` per format),
    else the crop. Series descriptions, file names and file order are never trusted.
    """
    if image_shape(path) == tuple(full_shape):
        return SERIES_MASK
    share = MASK_SHARE["dicom" if Path(path).suffix.lower() in DICOM_SUFFIXES else "jpeg"]
    return SERIES_MASK if looks_like_mask(read_pixels(path), share=share) else SERIES_CROP
