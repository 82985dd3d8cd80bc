"""Training throughput of the project's own classifier loop, per backend x model x precision x batch size.

For each combination, on random images of ``--image-size`` px:

- **project loop**: ``synthaug.train.train_classifier`` (per-epoch fit over the seeded order, validation AUC,
  checkpoint), training images per second of its epochs after the first (the first compiles);
- **model-only**: the same model's training steps (``train_on_batch``, as the loop calls them) fed a few prepared
  batches converted once to the backend's tensors (device-resident on JAX and PyTorch): no indexing, no copies;
- **share**: project / model-only, the share of the model's speed the input pipeline and loop keep.

Each backend runs in its own process (Keras has one backend per process). Prints a table, writes JSON.

    python bench/train_throughput.py --backends tensorflow jax --models simple_cnn --batch-sizes 32 128
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))


def measure(model_name, precision, batch_size, args):
    import keras
    import numpy as np

    from synthaug import backends
    from synthaug.models.classifiers import build_classifier
    from synthaug.train import train_classifier

    rng = np.random.default_rng(0)
    images = rng.random((args.images, args.image_size, args.image_size, 3), dtype=np.float32)
    labels = (rng.random(args.images) > 0.5).astype(np.int64)
    val = (images[: args.images // 8], labels[: args.images // 8])
    with tempfile.TemporaryDirectory() as tmp:
        _, history = train_classifier(model_name, (images, labels), val, epochs=args.epochs, batch_size=batch_size,
                                      learning_rate=1e-4, patience=args.epochs, seed=0, weights=None,
                                      checkpoint_dir=Path(tmp) / "checkpoint", threads=args.threads,
                                      precision=precision)
    seconds = history["seconds"].to_numpy()
    project = args.images / float(np.median(seconds[1:]))

    backends.configure(0, args.threads, precision=precision)
    model = build_classifier(model_name, args.image_size, learning_rate=1e-4)
    steps = args.images // batch_size
    prepared = [(keras.ops.convert_to_tensor(images[i * batch_size : (i + 1) * batch_size]),
                 keras.ops.convert_to_tensor(labels[i * batch_size : (i + 1) * batch_size].astype("float32")))
                for i in range(min(steps, 8))]

    for x, y in prepared:  # compiles
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(args.epochs - 1):
        for i in range(steps):
            model.train_on_batch(*prepared[i % len(prepared)])
    model_only = steps * batch_size * (args.epochs - 1) / (time.perf_counter() - start)
    return {"backend": backends.backend_name(), "model": model_name, "precision": precision,
            "batch_size": batch_size, "image_size": args.image_size, "first_epoch_s": round(float(seconds[0]), 2),
            "project_img_s": round(project, 1), "model_only_img_s": round(model_only, 1),
            "share": round(project / model_only, 3)}


def run_backend(backend, args):
    """All combinations on one backend, in this process."""
    from synthaug.backends import use_backend

    use_backend({"backend": backend, "cpu_isa": args.cpu_isa})
    import keras

    rows = []
    for model_name in args.models:
        for precision in args.precisions:
            for batch_size in args.batch_sizes:
                rows.append({**measure(model_name, precision, batch_size, args),
                             "device": _device(), "keras": keras.__version__})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def _device():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else "cpu"


def table(rows):
    head = "| backend | model | precision | batch | px | project img/s | model-only img/s | share | 1st epoch s |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['model']} | {r['precision']} | {r['batch_size']} | {r['image_size']} | "
                     f"{r['project_img_s']:,.0f} | {r['model_only_img_s']:,.0f} | {r['share']:.2f} | "
                     f"{r['first_epoch_s']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow"], choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--models", nargs="+", default=["simple_cnn"])
    parser.add_argument("--precisions", nargs="+", default=["float32"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=1024, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="the first compiles; the others are timed")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--cpu-isa", default="native", choices=["avx2", "native"])
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "train_throughput.json"),
                        help="where the rows are written (default bench/results/, git-ignored)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one backend, print JSON rows
    args = parser.parse_args()
    if args.one:
        run_backend(args.one, args)
        return
    rows = []
    for backend in args.backends:
        cmd = [sys.executable, __file__, "--one", backend, *sys.argv[1:]]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "KERAS_BACKEND": backend})
        rows += [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode:
            print(f"{backend}: failed (exit {proc.returncode}); see its stderr above", file=sys.stderr)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    print(f"(written to {args.json})")


if __name__ == "__main__":
    main()
