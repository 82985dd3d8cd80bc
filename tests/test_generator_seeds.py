"""Generator seeds (``experiment.generator_seeds``): a generator's training run as a source of variance.

A simulation of known truth in the style of tests/test_calibration.py (numpy only, seconds): the treatment arm's
per-seed AUC carries a *generator-instance* effect ``G_i`` (how good this training run of the generator happened to
be), shared by every classifier seed that trains on instance i:

    score(treatment, seed s, case) = label * (mu + shift + G[i(s)] + g_s) + x + b_case + c_{s, case}

The generator *method*'s effect is the difference over new instances, seeds and test sets (``G`` integrated out).
With as many instances as seeds (seed s on instance s) the ``G`` are part of the seed-to-seed spread and
:func:`synthaug.stats.two_source_comparison` covers the method's effect at the nominal rate. With one instance every
seed shares ``G_0``: the interval covers that instance's effect, not the method's. Then the registry and the
workflow: instance i trained with seed gan.seed + generator_seeds[i], classifier seed s paired with instance
generator_seeds[s mod n].
"""

import base64
import json
import math
import re
import subprocess

import numpy as np
import pytest
from scipy import stats as sps

from synthaug import generators
from synthaug.errors import ConfigError
from synthaug.metrics import roc_auc
from synthaug.stats import two_source_comparison
from workflow_helpers import TINY, prepare_workdir, snakemake

MU = 1.0
# training sd, test-set sd, seed x case sd (small), and the generator instance's sd (dominant: a GAN's quality varies
# eightfold from run to run, docs/generators.md).
S_TRAIN, S_TEST, S_SEED_CASE, S_GEN = 0.05, 0.1, 0.1, 0.3


def _auc(shift, spread):
    """Population AUC over new test sets for a model whose class separation is mu + shift + N(0, spread^2)."""
    noise = 1.0 + S_TEST**2 + S_SEED_CASE**2
    return float(sps.norm.cdf((MU + shift) / math.sqrt(2 * noise + spread**2)))


CONTROL_AUC = _auc(0.0, S_TRAIN)
METHOD_EFFECT = _auc(0.0, math.hypot(S_TRAIN, S_GEN)) - CONTROL_AUC  # G integrated out: the method's effect


def experiment(rng, n_instances, *, n_seeds=5, n_cases=300):
    """One comparison; seed s trains on instance s mod n. Returns the result and that design's instance effect
    (the mean over the seeds of their instance's effect: what the interval is centred on when G is fixed)."""
    labels = rng.permutation(np.arange(n_cases) % 2)
    difficulty = rng.normal(size=n_cases)
    instance_effect = rng.normal(size=n_instances) * S_GEN
    used = instance_effect[np.arange(n_seeds) % n_instances]

    def arm(extra):
        shared = rng.normal(size=n_cases) * S_TEST
        training = rng.normal(size=(n_seeds, 1)) * S_TRAIN
        seed_case = rng.normal(size=(n_seeds, n_cases)) * S_SEED_CASE
        return labels * (MU + extra[:, None] + training) + difficulty + shared + seed_case

    treatment, control = arm(used), arm(np.zeros(n_seeds))
    aucs = lambda scores: [roc_auc(labels, s) for s in scores]  # noqa: E731
    result = two_source_comparison(aucs(treatment), aucs(control), labels, treatment, control)
    conditional = float(np.mean([_auc(g, S_TRAIN) for g in used])) - CONTROL_AUC
    return result, conditional


def _covers(result, truth):
    return result["ci_low"] <= truth <= result["ci_high"]


def test_as_many_generator_instances_as_seeds_covers_the_method_effect():
    # 1,000 replicates: a 95% interval's coverage has sd 0.007; [0.925, 0.975] is more than 3 sd either side.
    rng = np.random.default_rng(29)
    runs = [experiment(rng, n_instances=5) for _ in range(1000)]
    coverage = np.mean([_covers(r, METHOD_EFFECT) for r, _ in runs])
    assert 0.925 <= coverage <= 0.975
    assert np.mean([r["mean_difference"] for r, _ in runs]) == pytest.approx(METHOD_EFFECT, abs=0.004)


def test_one_generator_instance_covers_that_instance_not_the_method():
    """With one instance the interval is about one training run of the generator: it covers that run's effect at
    the nominal rate, and the method's effect far less often (its run-to-run variance is missing)."""
    rng = np.random.default_rng(30)
    runs = [experiment(rng, n_instances=1) for _ in range(1000)]
    assert 0.925 <= np.mean([_covers(r, instance) for r, instance in runs]) <= 0.975
    assert np.mean([_covers(r, METHOD_EFFECT) for r, _ in runs]) < 0.6


# --- the registry and the parse-time check ----------------------------------------------------------------------

def _config(seeds, generator_seeds, **extra):
    return {"experiment": {"seeds": seeds, "generator_seeds": generator_seeds},
            "gan": {"seed": 3, "epochs": 1}, "ddpm": {"seed": 5}, "preprocess": {}, **extra}


def test_instances_seeds_and_pairing():
    config = _config([0, 1, 2, 3, 4], [7, 8])
    assert generators.instances("cgan", config) == [7, 8] == generators.instances("ddpm", config)
    assert [generators.instance_for_seed("cgan", config, s) for s in range(5)] == [7, 8, 7, 8, 7]
    assert generators.options("cgan", config, 8)["gan"] == {"seed": 11, "epochs": 1}
    assert generators.options("ddpm", config, 8)["ddpm"]["seed"] == 13
    assert generators.options("cgan", config, 0)["gan"]["seed"] == 3  # the default instance: gan.seed unchanged
    external = {**config, "external": {"mysynth": {"root": "/x"}}, "dataset": {"name": "phantom"}}
    assert generators.instances("mysynth", external) == [0]  # one instance by nature
    assert generators.instance_for_seed("mysynth", external, 3) == 0
    assert generators.instances("cgan", {"experiment": {"seeds": [0]}}) == [0]  # default


def test_an_unused_generator_instance_stops_naming_the_key():
    generators.check_instances(_config([0, 1, 2], [0, 1]))
    with pytest.raises(ConfigError, match="experiment.generator_seeds.*use only 1 of them"):
        generators.check_instances(_config([0], [0, 1]))
    with pytest.raises(ConfigError, match="experiment.generator_seeds"):
        generators.check_instances(_config([0, 2], [0, 1]))  # both seeds even: instance 1 unused


# --- the workflow: two instances on the tiny config ------------------------------------------------------------------

TWO = ("experiment:\n  arms: [baseline, synthetic_only]\n  seeds: [0, 1, 2]\n  generator_seeds: [0, 1]\n"
       "  train_fractions: []\n")


def _classifier(seed):
    return f"results/classifiers/synthetic_only-cgan/simple_cnn/seed{seed}/model.keras"


@pytest.mark.workflow
def test_plan_pairs_each_classifier_seed_with_one_instance(tmp_path):
    workdir = prepare_workdir(tmp_path)
    (workdir / "two.yaml").write_text(TWO)
    proc = snakemake(workdir, "--dry-run", _classifier(0), _classifier(1), _classifier(2),
                     configfiles=(TINY, workdir / "two.yaml"))
    text = proc.stdout + proc.stderr
    assert "results/gan/cgan/i0/model.keras" in text and "results/gan/cgan/i1/model.keras" in text
    jobs = re.split(r"\n(?=(?:local)?rule \w+:)", text)  # one block per planned job
    for seed, instance in ((0, 0), (1, 1), (2, 0)):
        inputs = next(line for j in jobs if f"output: {_classifier(seed)}" in j for line in j.splitlines()
                      if line.strip().startswith("input:"))
        assert f"results/synthetic/cgan/i{instance}/images.npz" in inputs
        assert f"results/synthetic/cgan/i{1 - instance}/images.npz" not in inputs


@pytest.mark.workflow
def test_two_generator_instances_run_on_the_tiny_config(tiny_run, tmp_path):
    """Two cgan instances trained (seeds 0 and 1), each sampled; quality.json holds both and their mean; classifier
    seeds 0 and 1 each trained on its own instance's images (the inputs Snakemake recorded for each job). Continues a
    copy of the tiny run (its data and instance 0 are reused)."""
    workdir = tmp_path / "work"
    subprocess.run(["cp", "-a", f"{tiny_run}/.", str(workdir)], check=True)  # -a keeps mtimes: no rerun of those
    (workdir / "two.yaml").write_text(TWO.replace("[0, 1, 2]", "[0, 1]"))
    configs = (TINY, workdir / "two.yaml")
    snakemake(workdir, _classifier(0), _classifier(1), "results/synthetic/cgan/quality.json",
              "results/synthetic/comparison.png", configfiles=configs)
    images = [np.load(workdir / f"results/synthetic/cgan/i{k}/images.npz")["images"] for k in (0, 1)]
    assert images[0].shape == images[1].shape and not np.allclose(images[0], images[1])  # two different GANs
    for k in (0, 1):
        assert (workdir / f"results/gan/cgan/i{k}/model.keras").is_file()
        assert (workdir / f"logs/train_generator/cgan/i{k}.log").is_file()
    quality = json.loads((workdir / "results/synthetic/cgan/quality.json").read_text())
    assert quality["n_instances"] == 2 and [i["generator_seed"] for i in quality["instances"]] == [0, 1]
    coverage = [i["metrics"]["random_cnn"]["overall"]["coverage"]["synthetic"] for i in quality["instances"]]
    assert quality["metrics"]["random_cnn"]["overall"]["coverage"]["synthetic"] == pytest.approx(np.mean(coverage))
    for seed in (0, 1):  # the inputs each classifier job actually ran with, as Snakemake recorded them
        record = workdir / ".snakemake/metadata" / base64.urlsafe_b64encode(_classifier(seed).encode()).decode()
        used = json.loads(record.read_text())["input"]
        assert f"results/synthetic/cgan/i{seed}/images.npz" in used
        assert f"results/synthetic/cgan/i{1 - seed}/images.npz" not in used
    record = workdir / ".snakemake/metadata" / base64.urlsafe_b64encode(b"results/synthetic/comparison.png").decode()
    used = json.loads(record.read_text())["input"]  # the side-by-side figure shows both instances
    assert {f"results/synthetic/cgan/i{k}/images.npz" for k in (0, 1)} <= set(used)


def test_cgan_does_not_read_cgan_diffaugs_settings_so_changing_them_does_not_retrain_it():
    """gan.diffaug is cgan_diffaug's alone: it is not in cgan's options (the train_generator params Snakemake
    compares), while cgan_diffaug gets it; both get the shared gan settings."""
    config = {"gan": {"seed": 0, "epochs": 30, "diffaug": {"auxiliary": 2.0}}, "experiment": {"seeds": [0]}}
    assert generators.options("cgan", config)["gan"] == {"seed": 0, "epochs": 30}
    assert generators.options("cgan_diffaug", config)["gan"]["diffaug"] == {"auxiliary": 2.0}
    changed = {**config, "gan": {**config["gan"], "diffaug": {"auxiliary": 1.0}}}
    assert generators.options("cgan", changed) == generators.options("cgan", config)
    assert generators.options("cgan_diffaug", changed) != generators.options("cgan_diffaug", config)
