"""Preprocessing: grey levels to [0, 1], blur, aspect-preserving resize, 3 channels, npz bundles per split."""

import numpy as np
import pandas as pd
import pytest
from fixtures.cbis import write_cbis

from synthaug.datasets import load_cases
from synthaug.errors import ConfigError, DataError
from synthaug.preprocess import preprocess_image, resize_padded, split_bundles, to_unit_range
from synthaug.split import split_cases


def test_unit_range_is_per_image_min_max():
    pixels = np.array([[100, 200], [300, 500]], np.uint16)
    out = to_unit_range(pixels)
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 1
    assert out[0, 1] == pytest.approx(0.25)
    assert not to_unit_range(np.full((4, 4), 7, np.uint16)).any()


def test_unit_range_in_place_equals_the_plain_formula_bit_for_bit():
    pixels = np.random.default_rng(0).integers(17, 4000, (300, 200)).astype(np.uint16)
    plain = pixels.astype(np.float32)
    plain = (plain - float(plain.min())) / (float(plain.max()) - float(plain.min()))
    assert np.array_equal(to_unit_range(pixels), plain)


def test_resize_keeps_aspect_ratio_by_padding():
    out = resize_padded(np.ones((20, 40), np.float32), 32)
    rows, cols = np.nonzero(out > 0.5)
    assert out.shape == (32, 32)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (16, 32)
    assert rows.min() == 8  # centred
    tall = resize_padded(np.ones((30, 10), np.float32), 48)  # enlarging too
    assert np.count_nonzero(tall.any(axis=0)) == 16


def test_preprocess_image_shape_dtype_range_and_blur():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 4096, (50, 70), dtype=np.uint16)
    sharp = preprocess_image(pixels, 64, blur_kernel=0)
    blurred = preprocess_image(pixels, 64, blur_kernel=5)
    for out in (sharp, blurred):
        assert out.shape == (64, 64, 3) and out.dtype == np.float32
        assert 0 <= out.min() and out.max() <= 1
        assert np.array_equal(out[..., 0], out[..., 2])
    inside = slice(20, 40)  # away from the padding, blur removes pixel-to-pixel noise
    assert blurred[inside, inside, 0].std() < 0.6 * sharp[inside, inside, 0].std()


def test_even_blur_kernel_is_a_config_error(tmp_path):
    from synthaug.preprocess import preprocess_files

    with pytest.raises(ConfigError, match="preprocess.blur_kernel"):
        preprocess_files([], 32, blur_kernel=4)


def test_split_bundles_follow_the_npz_contract(tmp_path):
    write_cbis(tmp_path, "nbia", n_patients=9)
    cases, _ = load_cases({"name": "cbis-ddsm", "root": str(tmp_path), "abnormality": "mass", "image": "crop",
                           "on_error": "stop"})
    split = split_cases(cases, "official", seed=0, val_fraction=0.3, test_fraction=0.2)
    bundles = split_bundles(cases, split, "crop", size=32, blur_kernel=3, threads=2)
    assert sum(len(b["labels"]) for b in bundles.values()) == len(cases)
    for name, bundle in bundles.items():
        expected = split[split["split"] == name]
        assert bundle["images"].shape == (len(expected), 32, 32, 3) and bundle["images"].dtype == np.float32
        assert bundle["images"].min() >= 0 and bundle["images"].max() <= 1
        assert bundle["labels"].dtype == np.int64 and bundle["case_ids"].dtype.kind == "U"
        assert bundle["case_ids"].tolist() == expected["case_id"].tolist()
        assert bundle["labels"].tolist() == expected["label"].tolist()
    # The fixture's first crop is 13 x 11 pixels: 32 x 27 once resized, so 2-3 columns of padding each side.
    images = np.concatenate([b["images"] for b in bundles.values()])
    first = images[np.concatenate([b["case_ids"] for b in bundles.values()]) == "Mass-Training_P_00001_RIGHT_CC_1"][0]
    filled_columns = np.flatnonzero(first[..., 0].any(axis=0))
    assert (filled_columns.min(), filled_columns.max()) == (2, 28)


def test_split_naming_unknown_cases_stops(tmp_path):
    cases = pd.DataFrame({"case_id": ["a"], "crop_path": ["a.dcm"], "image_path": ["a.dcm"]})
    split = pd.DataFrame({"case_id": ["b"], "patient_id": ["P"], "label": [1], "split": ["train"]})
    with pytest.raises(DataError, match="not in cases.csv"):
        split_bundles(cases, split, "crop", 32, 0, source="split.csv")


def test_full_mammogram_keeps_the_breast_region():
    rng = np.random.default_rng(0)
    mammogram = np.zeros((100, 200), np.uint16)
    mammogram[:, :100] = rng.integers(1500, 4000, (100, 100))  # breast on the left, dark background on the right
    whole = preprocess_image(mammogram, 64, blur_kernel=0)
    breast = preprocess_image(mammogram, 64, blur_kernel=0, full_image=True)
    assert (whole[..., 0] > 0.1).mean() < 0.3
    assert (breast[..., 0] > 0.1).mean() > 0.9


def _picture(rows, cols):
    """The same scene (a hard-edged disk on a ramp with a fine grating) rendered at ``rows`` x ``cols`` pixels."""
    y, x = np.mgrid[0:rows, 0:cols]
    u, v = (x + 0.5) / cols, (y + 0.5) / rows
    disk = ((u - 0.45) ** 2 + (v - 0.55) ** 2 < 0.09).astype(float)
    grating = 0.3 * (np.sin(2 * np.pi * 10 * u) > 0)  # 10 periods: ~6 output pixels each at 64 px
    return np.round(4095 * (0.2 * u + 0.5 * disk + grating) / 1.5).astype(np.uint16)


def test_the_same_picture_at_two_sizes_preprocesses_alike():
    """Issue 27: the blur is in output pixels, so a picture given at 4x the size is not 4x sharper."""
    import cv2

    large = _picture(384, 384)
    small = cv2.resize(large.astype(np.float32), (96, 96), interpolation=cv2.INTER_AREA)  # the same picture, 1/4
    new_small, new_large = (preprocess_image(x, 64, blur_kernel=5)[..., 0] for x in (small, large))
    assert np.abs(new_small - new_large).mean() < 0.005 and np.abs(new_small - new_large).max() < 0.02

    # The study's order (blur in source pixels, then resize) leaves the large one far sharper: 10x the difference.
    def blur_then_resize(pixels):
        return resize_padded(cv2.GaussianBlur(to_unit_range(pixels), (5, 5), 0), 64)

    assert np.abs(blur_then_resize(small) - blur_then_resize(large)).mean() > 0.02


def test_content_aspect_and_crop_to_aspect():
    from synthaug.preprocess import content_aspect, crop_to_aspect

    pixels = np.random.default_rng(0).integers(0, 4096, (30, 60)).astype(np.uint16)
    wide = np.stack([preprocess_image(pixels, 32, 0)] * 3)
    assert content_aspect(wide) == pytest.approx(2.0)
    assert content_aspect(np.zeros((0, 8, 8, 3))) == 1.0
    assert crop_to_aspect(np.zeros((96, 128)), 1.0).shape == (96, 96)
    assert crop_to_aspect(np.zeros((96, 128)), 2.0).shape == (64, 128)
