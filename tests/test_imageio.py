"""Reading DICOM, JPEG and PNG pixels, and telling masks from crops by their pixel values."""

import cv2
import numpy as np
import pytest
from fixtures.cbis import write_dicom

from synthaug.errors import DataError
from synthaug.imageio import header_shape, looks_like_mask, read_pixels


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
    ("broken.jpg", b"garbage", "not a readable image"),
    ("image.tif", b"II*\x00", "unsupported image type"),
])
def test_bad_files_raise_data_error_naming_them(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        read_pixels(path)
    assert error.value.path == str(path)


def test_masks_are_told_from_crops_even_after_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 10:50] = 255
    crop = rng.normal(120, 30, (64, 64)).clip(0, 255).astype(np.uint8)
    assert looks_like_mask(mask) and not looks_like_mask(crop)
    cv2.imwrite(str(tmp_path / "mask.jpg"), mask)
    jpeg_mask = read_pixels(tmp_path / "mask.jpg")
    assert len(np.unique(jpeg_mask)) > 2 and looks_like_mask(jpeg_mask)
