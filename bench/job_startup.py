"""Benchmark: the CPU a rule script spends starting Keras on TensorFlow, as the rules start it, vs a plain import.

Every job that trains, evaluates, samples or assesses is a new Python process that imports Keras, so the start-up
is paid once per job: on the 2-core machines here it is most of the CPU time of a tiny job, and so of the test
suite's workflow runs. ``synthaug.backends.use_backend`` starts TensorFlow with JAX hidden (``tensorflow.lite``
imports JAX, when it is installed, for a converter no rule uses) and with scikit-learn, matplotlib and OpenCV hidden
(Keras imports them for its scikit-learn wrappers and visualisation utilities). Side by side and alternated ``--repeats`` times,
each in a fresh process: ``use_backend("tensorflow")`` (what a rule script runs first) and ``import keras`` with
``KERAS_BACKEND=tensorflow``. Prints both medians (CPU seconds, user + system, of the child) and the ratio
use_backend / plain (below 1: the rules start faster than a plain import).

    .venv/bin/python bench/job_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from common import REPO, children_cpu_s, report_ratio

RULE_START = ("import sys; sys.path.insert(0, {workflow!r})\n"
              "from synthaug.backends import use_backend\n"
              "use_backend('tensorflow')\n"
              "assert not {{'jax', 'sklearn', 'matplotlib', 'cv2'}} & set(sys.modules)\n")
PLAIN = "import keras\n"


def cpu_of(code: str) -> float:
    """CPU seconds (user + system) of a fresh interpreter running ``code``."""
    before = children_cpu_s()
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return children_cpu_s() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rule_start = RULE_START.format(workflow=str(REPO / "workflow"))
    times = {"use_backend": [], "plain import keras": []}
    for _ in range(args.repeats):  # alternated, so that a change of load hits both alike
        times["use_backend"].append(cpu_of(rule_start))
        times["plain import keras"].append(cpu_of(PLAIN))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:>20}: {value:.2f} CPU s (median of {args.repeats})")
    ratio = medians["use_backend"] / medians["plain import keras"]
    report_ratio("job start-up CPU, use_backend / plain import keras", ratio, "< 1", ratio < 1)


if __name__ == "__main__":
    main()
