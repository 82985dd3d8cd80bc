"""Benchmark: two single-thread classifier trainings at once vs one 2-thread training after the other.

On 2 cores the default experiment's trainings can run as one job at a time with compute.threads 2, or as two jobs
at a time with compute.threads 1. Each training here is a whole job: a fresh Python process that imports Keras,
builds simple_cnn and trains it with ``synthaug.train.train_classifier`` on the same images (``--n`` random
64-px images, the default run's training-set size) for ``--epochs`` epochs. Side by side, alternated ``--repeats``
times: one training with threads=2 (wall time x 2 = two such jobs in a row) and two trainings with threads=1
started together. Ratio: trainings per second of two 1-thread jobs / of 2-thread jobs in a row.

    .venv/bin/python bench/train_parallel.py [--n 890] [--epochs 3] [--repeats 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

from common import REPO, report_ratio

WORKER = """
import sys, tempfile
import numpy as np
sys.path.insert(0, {workflow!r})
from synthaug.train import train_classifier
n, size, epochs, threads = {n}, {size}, {epochs}, {threads}
rng = np.random.default_rng(0)
images = rng.random((n, size, size, 3), dtype=np.float32)
labels = (images[:, :, :, 0].mean(axis=(1, 2)) > 0.5).astype(np.int64)
val = (images[: n // 8], labels[: n // 8])
with tempfile.TemporaryDirectory() as tmp:
    train_classifier("simple_cnn", (images, labels), val, epochs=epochs, batch_size=32, learning_rate=1e-3,
                     patience=epochs, seed=0, weights=None, checkpoint_dir=tmp + "/checkpoint", threads=threads)
"""


def trainings(count: int, threads: int, args) -> float:
    """Wall seconds of ``count`` training processes with ``threads`` threads each, started together."""
    code = WORKER.format(workflow=str(REPO / "workflow"), n=args.n, size=args.size, epochs=args.epochs,
                         threads=threads)
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=tempfile.gettempdir(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(count)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            sys.exit(f"training failed:\n{err.decode()[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=890, help="training images")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    one_two_threads, two_one_thread = [], []
    for _ in range(args.repeats):
        one_two_threads.append(trainings(1, 2, args))
        two_one_thread.append(trainings(2, 1, args))
    sequential, parallel = 2 * min(one_two_threads), min(two_one_thread)
    print(f"simple_cnn, {args.n} images of {args.size} px, {args.epochs} epochs, one job = one process")
    print(f"two jobs of 2 threads, one after the other: {sequential:7.1f} s (2 x {sequential / 2:.1f} s)")
    print(f"two jobs of 1 thread, at the same time    : {parallel:7.1f} s")
    ratio = sequential / parallel
    report_ratio("two 1-thread trainings at once / 2-thread trainings in turn", ratio, "> 1 to prefer threads 1",
                 ratio > 1)


if __name__ == "__main__":
    main()
