"""Reading DICOM, JPEG and PNG pixels, and telling masks from crops by their pixel values."""

import cv2
import numpy as np
import pytest
from fixtures.cbis import write_dicom

from synthaug import imageio
from synthaug.errors import DataError
from synthaug.imageio import header_shape, looks_like_mask, read_pixels

JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"  # no decoder without pylibjpeg-libjpeg or gdcm (Pillow reads no lossless JPEG)


def test_dicom_pixels_and_header_shape(tmp_path):
    pixels = np.arange(12 * 9, dtype=np.uint16).reshape(12, 9) * 30
    path = tmp_path / "a.dcm"
    write_dicom(path, pixels, "Mass-Training_P_00001_LEFT_CC", "1.2.3", "1.2.4", 12)
    out = read_pixels(path)
    assert out.dtype == np.uint16 and np.array_equal(out, pixels)
    assert header_shape(path) == (12, 9)


def test_raster_files_read_as_one_grey_channel(tmp_path):
    grey = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (8, 1))
    cv2.imwrite(str(tmp_path / "a.png"), np.dstack([grey] * 3))
    cv2.imwrite(str(tmp_path / "b.png"), grey.astype(np.uint16) * 200)
    assert np.array_equal(read_pixels(tmp_path / "a.png"), grey)
    assert read_pixels(tmp_path / "b.png").dtype == np.uint16


@pytest.mark.parametrize("name, content, message", [
    ("missing.dcm", None, "not found"),
    ("broken.dcm", b"\x00garbage" * 50, "not a readable DICOM"),
    ("broken.jpg", b"garbage", "not a JPEG file"),
    ("image.tif", b"II*\x00", "not a readable image"),  # TIFF is read (image-folder); this one is cut short
    ("image.bmp", b"BM\x00\x00", "unsupported image type"),
    ("no_suffix", b"\x00" * 200, "unsupported image type"),  # no DICOM marker either
])
def test_bad_files_raise_data_error_naming_them(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        read_pixels(path)
    assert error.value.path == str(path)


def _compressed(tmp_path, uid=JPEG_LOSSLESS):
    path = tmp_path / "compressed.dcm"
    write_dicom(path, np.zeros((8, 8), np.uint16), "S", "1.2", "1.3", 12, compressed=uid)
    return path


def test_a_compressed_dicom_without_its_decoder_names_the_syntax_and_the_package(tmp_path):
    if imageio._decoder_available(imageio.pydicom.uid.UID(JPEG_LOSSLESS)):
        pytest.skip("a JPEG Lossless decoder is installed here")
    path = _compressed(tmp_path)
    with pytest.raises(DataError) as error:
        read_pixels(path)
    message = str(error.value)
    assert error.value.path == str(path)
    for words in ["JPEG Lossless, Non-Hierarchical (Process 14)", JPEG_LOSSLESS, "pip install pylibjpeg pylibjpeg-libjpeg",
                  "pip install python-gdcm"]:
        assert words in message
    assert "re-download" not in message


def test_jpeg2000_without_its_decoder_names_openjpeg(tmp_path, monkeypatch):
    monkeypatch.setattr(imageio, "_decoder_available", lambda uid: False)
    with pytest.raises(DataError, match=r"JPEG 2000 Image Compression \(Lossless Only\).*pylibjpeg-openjpeg"):
        read_pixels(_compressed(tmp_path, "1.2.840.10008.1.2.4.90"))


def test_a_compressed_dicom_that_its_decoder_cannot_read_is_corrupt(tmp_path, monkeypatch):
    monkeypatch.setattr(imageio, "_decoder_available", lambda uid: True)
    with pytest.raises(DataError, match=r"(?s)not a readable DICOM image.*re-download it"):
        read_pixels(_compressed(tmp_path))


@pytest.mark.parametrize("reader", [read_pixels, header_shape])
def test_a_dicom_we_may_not_read_is_the_machines_fault_not_a_corrupt_file(tmp_path, monkeypatch, reader):
    """Permission denied goes on to run_logged, which names it; 're-download it' would not help."""
    import errno

    path = tmp_path / "a.dcm"
    write_dicom(path, np.zeros((4, 4), np.uint16), "S", "1.2", "1.3", 12)

    def denied(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(imageio.pydicom, "dcmread", denied)
    with pytest.raises(PermissionError):
        reader(path)


def test_masks_are_told_from_crops_even_after_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 10:50] = 255
    crop = rng.normal(120, 30, (64, 64)).clip(0, 255).astype(np.uint8)
    assert looks_like_mask(mask) and not looks_like_mask(crop)
    cv2.imwrite(str(tmp_path / "mask.jpg"), mask)
    jpeg_mask = read_pixels(tmp_path / "mask.jpg")
    assert len(np.unique(jpeg_mask)) > 2 and looks_like_mask(jpeg_mask)


def test_one_roi_rule_for_dicom_and_jpeg(tmp_path):
    """roi_kind: full-size file = mask; otherwise binary pixels = mask (looser share for JPEG), else crop."""
    from synthaug.constants import SERIES_CROP, SERIES_MASK
    from synthaug.imageio import image_shape, roi_kind

    rng = np.random.default_rng(0)
    full_shape = (60, 48)
    crop = rng.integers(200, 4000, (20, 18), dtype=np.uint16)
    mask = np.zeros((20, 18), np.uint8)
    mask[5:15, 4:12] = 255
    write_dicom(tmp_path / "crop.dcm", crop, "S", "1.2", "1.3", 12)
    write_dicom(tmp_path / "mask.dcm", mask, "S", "1.2", "1.3", 8)
    write_dicom(tmp_path / "full.dcm", crop[:1, :1].repeat(60, 0).repeat(48, 1), "S", "1.2", "1.3", 12)
    assert roi_kind(tmp_path / "crop.dcm", full_shape) == SERIES_CROP
    assert roi_kind(tmp_path / "mask.dcm", full_shape) == SERIES_MASK
    assert roi_kind(tmp_path / "full.dcm", full_shape) == SERIES_MASK  # by size from the header alone

    big_mask = np.zeros((64, 64), np.uint8)
    big_mask[10:40, 12:50] = 255  # JPEG rings at the edges: not exactly binary, but within the JPEG tolerance
    cv2.imwrite(str(tmp_path / "mask.jpg"), big_mask, [cv2.IMWRITE_JPEG_QUALITY, 70])
    cv2.imwrite(str(tmp_path / "crop.jpg"), rng.integers(0, 255, (64, 64), dtype=np.uint8))
    ringing = read_pixels(tmp_path / "mask.jpg")
    assert not np.isin(ringing, [0, 255]).all()
    assert image_shape(tmp_path / "mask.jpg") == (64, 64) and image_shape(tmp_path / "crop.dcm") == (20, 18)
    assert roi_kind(tmp_path / "mask.jpg", full_shape) == SERIES_MASK
    assert roi_kind(tmp_path / "crop.jpg", full_shape) == SERIES_CROP


def test_a_truncated_jpeg_is_refused_by_the_pixel_reader_too(tmp_path):
    """Issue 27: OpenCV decodes a JPEG cut short with a grey bottom and no error; only jpeg_shape checked its end."""
    image = (np.arange(64 * 64).reshape(64, 64) % 251).astype(np.uint8)
    whole = tmp_path / "whole.jpg"
    cv2.imwrite(str(whole), image)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.7)])
    assert cv2.imread(str(cut), cv2.IMREAD_UNCHANGED) is not None  # what made it pass: OpenCV reads it
    assert read_pixels(whole).shape == (64, 64)
    with pytest.raises(DataError, match="truncated JPEG"):
        read_pixels(cut)


def test_an_empty_file_has_its_own_message(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty file \(0 bytes\)") as error:
        read_pixels(path)
    assert "not a readable image" not in str(error.value)


def test_a_file_without_read_permission_says_so_not_re_download_it(tmp_path, monkeypatch):
    import builtins

    path = tmp_path / "locked.png"
    cv2.imwrite(str(path), np.zeros((4, 4), np.uint8))

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(imageio, "open", denied, raising=False)  # the tests run as root, whom chmod does not stop
    with pytest.raises(DataError, match="no permission to read this file.*chmod a\\+r") as error:
        read_pixels(path)
    assert "re-download" not in str(error.value)
