"""Breast-region extraction for full mammograms: background and film labels go, the breast stays whole."""

import cv2
import numpy as np

from synthaug.breast import WORK_SIDE, _breast_mask, breast_mask, crop_breast
from synthaug.preprocess import preprocess_image

DENSE = (slice(90, 110), slice(20, 40))  # a lesion inside the synthetic breast


def mammogram(shape=(200, 160), seed=0):
    """A dark film with a textured half-ellipse breast on the left edge and a bright label in the top-right corner."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0.05, 0.02, shape)
    breast = np.zeros(shape, np.uint8)
    cv2.ellipse(breast, (0, shape[0] // 2), (90, 70), 0, -90, 90, 1, thickness=-1)
    image[breast == 1] = rng.uniform(0.35, 0.8, int(breast.sum()))
    image[DENSE] = 0.95
    image[10:22, 130:150] = 1.0  # the film label
    return np.clip(image, 0, 1).astype(np.float32), breast


def test_keeps_the_breast_and_drops_background_and_label():
    image, breast = mammogram()
    mask = breast_mask(image)
    overlap = (mask & breast).sum() / breast.sum()
    assert overlap > 0.97
    assert mask[10:22, 130:150].sum() == 0  # the label is not the largest component
    out = crop_breast(image)
    assert out.dtype == np.float32
    assert abs(out.shape[0] - 140) <= 4 and abs(out.shape[1] - 90) <= 4  # the ellipse's bounding box
    assert out.max() <= 0.95 + 1e-6  # the label's white is gone


def test_bright_film_edge_touching_the_breast_is_dropped():
    image, breast = mammogram()
    image[:3, :] = 1.0  # an unexposed strip along the top edge, touching the breast's tip
    image[:, :3] = np.maximum(image[:, :3], 0.9)  # and along the chest-wall edge
    mask = breast_mask(image)
    assert mask[:3, 100:].sum() == 0
    assert (mask & breast).sum() / breast.sum() > 0.95
    out = crop_breast(image)
    assert out.shape[1] < 100  # the strip no longer widens the box to the whole film


def test_dense_tissue_inside_the_breast_is_kept():
    image, _ = mammogram()
    image[DENSE] = 0.02  # a hole darker than background inside the breast must not become a hole in the mask
    assert breast_mask(image)[DENSE].all()


def test_flat_image_is_returned_unchanged():
    flat = np.zeros((50, 40), np.float32)
    assert crop_breast(flat) is flat


def test_full_image_preprocessing_uses_the_breast_region():
    image, _ = mammogram()
    out = preprocess_image((image * 255).astype(np.uint8), size=32, blur_kernel=5, full_image=True)
    assert out.shape == (32, 32, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    # the breast fills the square's height: no empty rows of background above or below it
    assert out[:, :, 0].max(axis=1).min() > 0.1


def test_large_image_mask_is_computed_small_and_matches_the_full_size_one():
    small, _ = mammogram()
    scale = 3 * WORK_SIDE // min(small.shape)  # shorter side 3x WORK_SIDE, like a (smaller) full-size scan
    image = cv2.resize(small, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    fast, full = breast_mask(image), _breast_mask(image)  # the working-size mask, and the one at full size
    assert fast.shape == image.shape and fast.dtype == np.uint8
    assert (fast & full).sum() / (fast | full).sum() > 0.98
    assert np.abs(np.subtract(cv2.boundingRect(fast), cv2.boundingRect(full))).max() <= 2 * scale
    assert fast[10 * scale : 22 * scale, 130 * scale : 150 * scale].sum() == 0  # the label is still dropped


def test_crop_breast_multiplies_only_inside_the_box_with_the_same_result():
    image, _ = mammogram()
    mask = breast_mask(image)
    x, y, w, h = cv2.boundingRect(mask)
    assert np.array_equal(crop_breast(image), (image * mask)[y : y + h, x : x + w])
