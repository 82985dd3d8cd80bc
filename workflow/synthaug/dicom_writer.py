"""Write one image as a DICOM file shaped like CBIS-DDSM's: uncompressed, Implicit VR Little Endian, MG modality.

Mammograms and crops are 16-bit words holding 12-bit values; ROI masks are 8-bit with 0 (background) and 255
(lesion), like CBIS-DDSM's masks. A reader must tell crop from mask by pixel content or size, not by file order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ImplicitVRLittleEndian, SecondaryCaptureImageStorage

from .io import atomic_path

MASK_VALUE = 255  # lesion pixels of an ROI mask; background is 0


@dataclass(frozen=True)
class DicomIds:
    """Who and where an image belongs: the TCIA subject, its study and series, and the image's place in the series."""

    subject: str
    study_uid: str
    series_uid: str
    sop_uid: str
    series_description: str
    instance_number: int
    study_date: str  # YYYYMMDD
    breast: str  # LEFT | RIGHT
    view: str  # CC | MLO


def write_dicom(path, pixels: np.ndarray, ids: DicomIds) -> None:
    """Save ``pixels`` (uint16 12-bit image, or uint8 0/255 mask) with ``ids`` as a DICOM Part 10 file at ``path``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = ids.sop_uid
    meta.TransferSyntaxUID = ImplicitVRLittleEndian
    meta.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ids.sop_uid
    ds.StudyInstanceUID = ids.study_uid
    ds.SeriesInstanceUID = ids.series_uid
    ds.PatientID = ids.subject
    ds.PatientName = ids.subject
    ds.StudyDate = ds.SeriesDate = ids.study_date
    ds.Modality = "MG"
    ds.ConversionType = "WSD"  # secondary capture from digitised film, as in DDSM
    ds.SeriesDescription = ids.series_description
    ds.SeriesNumber = 1
    ds.InstanceNumber = ids.instance_number
    ds.Laterality = ids.breast[0]
    ds.ViewPosition = ids.view
    ds.BodyPartExamined = "BREAST"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    bits = 8 if pixels.dtype == np.uint8 else 16
    ds.BitsAllocated = bits
    ds.BitsStored = 8 if bits == 8 else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    with atomic_path(path) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
