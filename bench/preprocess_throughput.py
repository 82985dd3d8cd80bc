"""Benchmark: preprocessing of full-size 16-bit DICOM mammograms vs pydicom's decode alone, and 1 vs 2 threads.

Writes ``--n`` full-size mammograms (4,592 x 3,144, 12 bits in 16-bit words, uncompressed like CBIS-DDSM's; the
phantom's anatomy rendered at a quarter of the size, enlarged, with film grain added) once into a cache folder.
Then, side by side and repeated (median): pydicom's ``dcmread(...).pixel_array`` on every file, and
``synthaug.preprocess.preprocess_files`` (read, min-max, breast region, blur, resize: what preprocess_images does
with ``dataset.image: full``) with 1 and with 2 threads. Ratios: decode time / preprocessing time (1 thread; the
preprocessing includes the decode, so 1.0 would be free), and preprocessing time 1 thread / 2 threads.

    .venv/bin/python bench/preprocess_throughput.py [--n 8] [--size 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pydicom

from common import median_time, report_ratio

from synthaug.dicom_writer import DicomIds, write_dicom  # noqa: E402 (common puts synthaug on the path)
from synthaug.phantom.mammogram import render_mammogram  # noqa: E402
from synthaug.preprocess import preprocess_files  # noqa: E402
from synthaug.simulate import ASPECT  # noqa: E402

ROWS = 4592  # a typical CBIS-DDSM mammogram's height


def full_size_dicoms(folder: Path, n: int) -> list[Path]:
    """``n`` full-size 16-bit mammogram DICOMs in ``folder`` (made once, then reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = ROWS, round(ROWS * ASPECT)
    paths = []
    for i in range(n):
        path = folder / f"mammogram_{i}.dcm"
        if not path.exists():
            rng = np.random.default_rng(i)
            small, _ = render_mammogram((rows // 4, cols // 4), ("LEFT", "RIGHT")[i % 2], ("CC", "MLO")[i // 2 % 2],
                                        1 + i % 4, [], rng)
            image = cv2.resize(small.astype(np.float32), (cols, rows), interpolation=cv2.INTER_LINEAR)
            image += rng.normal(0, 20, image.shape).astype(np.float32)
            uid = f"1.2.826.0.1.3680043.9.7.{i}"
            ids = DicomIds(f"P_{i:05d}", uid, f"{uid}.1", f"{uid}.1.1", "full mammogram images", 1, "20000101",
                           ("LEFT", "RIGHT")[i % 2], ("CC", "MLO")[i // 2 % 2])
            write_dicom(path, np.clip(image, 0, 4095).astype(np.uint16), ids)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="mammograms")
    parser.add_argument("--size", type=int, default=64, help="preprocess.image_size")
    parser.add_argument("--blur", type=int, default=5, help="preprocess.blur_kernel")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthaug-bench-dicoms")
    args = parser.parse_args()

    paths = full_size_dicoms(args.cache, args.n)
    cv2.setNumThreads(1)

    def decode():
        for path in paths:
            pydicom.dcmread(path).pixel_array

    def preprocess(threads, full_image=True):
        return lambda: preprocess_files(paths, args.size, args.blur, threads=threads, full_image=full_image)

    decode()  # warm the page cache: both sides read from memory
    times = {"decode": [], "full, 1 thread": [], "full, 2 threads": [], "crop path, 1 thread": []}
    for _ in range(args.repeats):  # interleaved, so a busy spell on a shared machine hits every side
        times["decode"].append(median_time(decode, 1))
        times["full, 1 thread"].append(median_time(preprocess(1), 1))
        times["full, 2 threads"].append(median_time(preprocess(2), 1))
        times["crop path, 1 thread"].append(median_time(preprocess(1, full_image=False), 1))
    medians = {k: float(np.median(v)) for k, v in times.items()}
    print(f"{args.n} mammograms of {ROWS} x {round(ROWS * ASPECT)} px (16-bit), to {args.size} px, blur {args.blur}")
    for name, seconds in medians.items():
        print(f"{name:22s}: {seconds / args.n * 1000:8.1f} ms/image")
    scaling = medians["full, 1 thread"] / medians["full, 2 threads"]
    report_ratio("preprocessing 1 thread / 2 threads", scaling, ">= 1.6 on an idle 2-core machine", scaling >= 1.6)
    ratio = medians["decode"] / medians["full, 1 thread"]
    report_ratio("pydicom decode / preprocessing (1 thread)", ratio, ">= 0.5", ratio >= 0.5)


if __name__ == "__main__":
    main()
