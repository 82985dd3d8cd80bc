"""Classic augmentation: real transformations, labels kept, identity when switched off, seed-determined output."""

import numpy as np
import pytest

from synthaug.augment import AugmentSettings, augment_images, augment_training_set
from synthaug.errors import ConfigError
from synthaug.plots.augment import augmentation_grid
from synthaug.plots.common import save_figure

IDENTITY = AugmentSettings(
    rotation_deg=0, shift=0, shear_deg=0, zoom=0, horizontal_flip=False, vertical_flip=False,
    brightness=(1.0, 1.0), channel_shift=0,
)


def _images(n=6, size=32, seed=0):
    rng = np.random.default_rng(seed)
    # Smooth blobs, so that warping visibly moves structure rather than noise.
    yy, xx = np.mgrid[:size, :size]
    out = np.zeros((n, size, size, 3), np.float32)
    for i in range(n):
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        out[i] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 8) ** 2))[..., None]
    return out


def test_augmentation_moves_pixels_but_keeps_shape_range_and_sources():
    images = _images()
    out, source = augment_images(images, AugmentSettings(), copies=3, seed=0, threads=2)
    assert out.shape == (18, 32, 32, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(source, np.repeat(np.arange(6), 3))
    moved = np.abs(out - images[source]).mean(axis=(1, 2, 3))
    assert (moved > 0.01).all()


def test_identity_settings_return_the_input():
    images = _images()
    out, source = augment_images(images, IDENTITY, copies=2, seed=3)
    np.testing.assert_allclose(out, images[source], atol=1e-6)


def test_shear_slants_a_vertical_line():
    image = np.zeros((1, 33, 33, 3), np.float32)
    image[0, :, 16] = 1.0
    settings = AugmentSettings(**{**IDENTITY.__dict__, "shear_deg": 20.0, "fill_mode": "constant"})
    out, _ = augment_images(image, settings, copies=4, seed=0)
    for sheared in out[..., 0]:
        top, bottom = np.argmax(sheared[4]), np.argmax(sheared[-5])
        assert abs(int(top) - int(bottom)) >= 3  # the line's column changes along its height


def test_flips_mirror_exactly():
    images = _images(1)
    settings = AugmentSettings(**{**IDENTITY.__dict__, "horizontal_flip": True})
    out, _ = augment_images(images, settings, copies=16, seed=0)
    for copy in out:
        assert np.allclose(copy, images[0]) or np.allclose(copy, images[0, :, ::-1])
    assert not all(np.allclose(c, images[0]) for c in out)


def test_same_seed_same_output_regardless_of_threads():
    images = _images(10)
    a, _ = augment_images(images, AugmentSettings(), copies=2, seed=7, threads=1)
    b, _ = augment_images(images, AugmentSettings(), copies=2, seed=7, threads=3)
    c, _ = augment_images(images, AugmentSettings(), copies=2, seed=8, threads=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_brightness_multiplies():
    images = np.full((1, 32, 32, 3), 0.5, np.float32)
    settings = AugmentSettings(**{**IDENTITY.__dict__, "brightness": (1.2, 1.2)})
    out, _ = augment_images(images, settings, copies=1, seed=0)
    np.testing.assert_allclose(out, 0.6, atol=1e-6)


def test_bad_brightness_range_names_the_key():
    with pytest.raises(ConfigError, match="augment.brightness"):
        AugmentSettings.from_config({"copies": 1, "seed": 0, "brightness": [1.2, 0.8]})


def test_grid_shows_originals_and_copies(tmp_path):
    images = _images(4)
    out, source = augment_images(images, AugmentSettings(), copies=2, seed=0)
    fig = augmentation_grid(images, np.array([0, 0, 1, 1]), out, source, n_rows=4)
    assert len(fig.axes) == 4 * 3
    save_figure(fig, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_further_copies_leave_the_augmented_set_unchanged_and_are_new_draws():
    images = _images()
    alone, source_alone = augment_images(images, AugmentSettings(), copies=1, seed=4)
    out, source, base = augment_training_set(images, AugmentSettings(), copies=1, more_copies=2, seed=4)
    assert base.sum() == len(images) and (~base).sum() == 2 * len(images)
    np.testing.assert_array_equal(out[base], alone)  # the augmented arms see the same images either way
    np.testing.assert_array_equal(source[base], source_alone)
    further = out[~base][source[~base] == 0]
    assert not any(np.allclose(f, alone[0]) for f in further)  # not the augmented set's copy again
    none, _, flags = augment_training_set(images, AugmentSettings(), copies=1, more_copies=0, seed=4)
    assert flags.all() and np.array_equal(none, alone)
