"""Seeds until decided, run the way users run it: the tiny run continued with a first look of two seeds and up to
three, one seed per look. The checkpoint decide_look writes each look's decision, the next look's trainings run only
when it says so, the summary says how many looks and seeds it took and why it stopped, and a second run has nothing
to do (it resumes like any run)."""

import json
import subprocess

import pandas as pd
import pytest

from synthaug.looks import planned_looks
from workflow_helpers import TINY, snakemake

pytestmark = pytest.mark.workflow


def test_planned_looks_add_seeds_after_the_largest_up_to_the_cap():
    assert planned_looks({"seeds": [0, 1, 2, 3, 4]}) == [[0, 1, 2, 3, 4]]  # one look by default
    assert planned_looks({"seeds": [3, 7], "max_seeds": 5, "seeds_per_look": 2}) == [[3, 7], [3, 7, 8, 9], [3, 7, 8, 9, 10]]
    assert planned_looks({"seeds": [0, 1, 2], "max_seeds": 2}) == [[0, 1, 2]]  # more seeds listed than the cap


@pytest.fixture(scope="module")
def looks_run(tiny_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("looks")
    subprocess.run(["cp", "-a", f"{tiny_run}/.", str(workdir)], check=True)  # -a keeps mtimes: its data are reused
    looks = workdir / "looks.yaml"
    # No learning curve (the tiny run's train_fractions): its arm would train each look's seeds too (two more
    # trainings), and no look decides on it.
    looks.write_text("experiment:\n  arms: [baseline, more_real]\n  train_fractions: []\n"
                     "  seeds: [0, 1]\n  max_seeds: 3\n  seeds_per_look: 1\n")  # fmt: skip
    snakemake(workdir, configfiles=(TINY, looks))
    return workdir, looks


def test_each_look_decides_whether_more_seeds_run_and_the_table_says_why_it_stopped(looks_run):
    workdir, looks = looks_run
    decision = json.loads((workdir / "results/summary/looks/look1.json").read_text())
    assert decision["seeds"] == [0, 1] and decision["look"] == 1
    metrics = pd.read_csv(workdir / "results/summary/metrics.csv")
    ran = sorted(metrics["seed"].unique())
    # The tiny run's classifiers cannot show a benefit of more real images, so look 1 is undecided and seed 2 runs;
    # were it decided, the workflow must have stopped at two seeds.
    assert ran == ([0, 1] if decision["stop"] else [0, 1, 2])
    comparison = pd.read_csv(workdir / "results/summary/comparison.csv")
    assert comparison["role"].tolist() == ["positive_control"]  # more_real vs baseline: the one gate looked at
    assert (comparison["n_looks"] == len(ran) - 1).all()
    text = (workdir / "results/summary/table.md").read_text()
    assert f"**Seeds until decided**: {len(ran) - 1} look(s) at" in text
    assert ("stopped at max_seeds (3)" in text) != decision["stop"]
    # Resumes like any run: nothing is left to do.
    proc = snakemake(workdir, "--dry-run", configfiles=(TINY, looks))
    assert "Nothing to be done" in proc.stdout + proc.stderr
