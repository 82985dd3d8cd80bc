"""Benchmark: images/s of the OpenCV augmentation vs Keras 3 preprocessing layers on the same 64-px batch.

Both apply rotation, translation, zoom and flips to one batch; the OpenCV path also shears and changes brightness,
so the comparison favours Keras. Both sides run on the same images, alternated, best of ``--repeats`` runs after a
warm-up. Ratio: images/s of the OpenCV path / of the Keras layers.

    .venv/bin/python bench/augment_throughput.py [--n 2000] [--threads 2] [--repeats 3]
"""

import argparse
import time

import numpy as np

from common import report_ratio

from synthaug.augment import AugmentSettings, augment_images  # noqa: E402 (common puts synthaug on the path)


def keras_layers(settings: AugmentSettings, seed: int):
    """The closest Keras 3 layer stack (no shear layer in the same family; brightness left out)."""
    import keras

    fill = settings.fill_mode  # Keras spells the three modes the same way
    return keras.Sequential(
        [
            keras.layers.RandomRotation(settings.rotation_deg / 360, fill_mode=fill, seed=seed),
            keras.layers.RandomTranslation(settings.shift, settings.shift, fill_mode=fill, seed=seed),
            keras.layers.RandomZoom(settings.zoom, fill_mode=fill, seed=seed),
            keras.layers.RandomFlip("horizontal_and_vertical", seed=seed),
        ]
    )


def best_rates(fns: dict, n_images: int, repeats: int) -> dict:
    """Images/s of each function's fastest of ``repeats`` runs, the functions alternated (after one warm-up each)."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: n_images / min(seconds) for name, seconds in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images in the batch")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    images = np.random.default_rng(0).random((args.n, args.size, args.size, 3)).astype(np.float32)
    settings = AugmentSettings()
    layers = keras_layers(settings, seed=0)
    batch = 256

    def run_keras():
        for i in range(0, args.n, batch):
            np.asarray(layers(images[i : i + batch], training=True))

    rates = best_rates({"opencv": lambda: augment_images(images, settings, copies=1, seed=0, threads=args.threads),
                        "keras": run_keras}, args.n, args.repeats)
    print(f"{args.n} images of {args.size} px, {args.threads} threads")
    print(f"opencv warpAffine : {rates['opencv']:10.0f} images/s")
    print(f"keras 3 layers    : {rates['keras']:10.0f} images/s")
    ratio = rates["opencv"] / rates["keras"]
    report_ratio("opencv augmentation / keras preprocessing layers", ratio, ">= 5", ratio >= 5)


if __name__ == "__main__":
    main()
