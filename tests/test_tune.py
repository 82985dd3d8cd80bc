"""Optuna tuning: workers share n_trials and one journal study, a rerun continues its trial numbers, the search
space is respected, pruning stops trials, and the gathered outputs (best parameters, figures) load."""

import json

import numpy as np
import pytest
from fixtures.arrays import separable_images

optuna = pytest.importorskip("optuna")
keras = pytest.importorskip("keras")

from synthaug.io import write_json  # noqa: E402
from synthaug.plots.common import save_figure  # noqa: E402
from synthaug.tune import (  # noqa: E402
    best_params,
    finished_trials,
    history_figure,
    importance_figure,
    open_study,
    run_worker,
    split_params,
    suggest,
    worker_quota,
)

SIZE = 32
SPACE = {
    "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
    "dropout": {"low": 0.0, "high": 0.5, "log": False},
    "activation": ["relu", "tanh"],
    "filters": [4, 8],
    "dense_units": [8, 16],
    "batch_size": [8, 16],
}
CLASSIFIER = {"learning_rate": 1e-3, "batch_size": 16, "patience": 2}


TRAIN, VAL = separable_images(32, 0), separable_images(16, 1)


def _settings(n_trials, workers=2, epochs=1, **pruner):
    return {"n_trials": n_trials, "workers": workers, "epochs": epochs, "seed": 0, "search_space": SPACE,
            "pruner": {"startup_trials": 5, "warmup_epochs": 0, **pruner}}


def _work(journal, settings, worker):
    return run_worker(TRAIN, VAL, settings=settings, classifier=CLASSIFIER, model="simple_cnn", worker=worker,
                      journal=journal, threads=2)


@pytest.mark.parametrize("n_trials, workers", [(20, 1), (20, 3), (7, 2), (1, 4)])
def test_worker_quotas_add_up_to_n_trials(n_trials, workers):
    quotas = [worker_quota(n_trials, workers, w) for w in range(workers)]
    assert sum(quotas) == n_trials and max(quotas) - min(quotas) <= 1


def test_suggestions_stay_in_the_search_space():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        params = suggest(study.ask(), SPACE)
        assert 1e-4 <= params["learning_rate"] <= 1e-2 and 0 <= params["dropout"] <= 0.5
        assert params["activation"] in SPACE["activation"] and params["filters"] in SPACE["filters"]
    architecture, training = split_params({"filters": 8, "learning_rate": 0.01}, CLASSIFIER)
    assert architecture == {"filters": 8} and training == {"learning_rate": 0.01, "batch_size": 16}


def test_two_workers_fill_one_study_and_a_rerun_continues_it(tmp_path):
    journal = tmp_path / "tune" / "study.journal"
    first = [_work(journal, _settings(3), w) for w in (0, 1)]
    assert [len(t) for t in first] == [2, 1]
    assert sorted(first[0]["number"].tolist() + first[1]["number"].tolist()) == [0, 1, 2]
    assert set(first[1]["worker"]) == {1}
    # A rerun with nothing missing adds nothing; raising n_trials adds the missing trials, numbered on.
    assert len(_work(journal, _settings(3), 0)) == 2
    again = [_work(journal, _settings(5), w) for w in (0, 1)]
    assert [len(t) for t in again] == [3, 2]
    study = open_study(journal, "simple_cnn")
    assert sorted(t.number for t in finished_trials(study)) == [0, 1, 2, 3, 4]
    assert not list(tmp_path.glob("tune/trial*"))  # per-trial checkpoints are cleaned up

    best = best_params(study, journal)
    assert best["n_trials"] == 5 and set(best["params"]) == set(SPACE)
    assert best["val_auc"] == max(t.value for t in study.trials if t.state.name == "COMPLETE")
    write_json(best, tmp_path / "best_params.json")
    assert json.loads((tmp_path / "best_params.json").read_text())["trial"] == best["trial"]
    save_figure(history_figure(study), tmp_path / "history.png")
    save_figure(importance_figure(study), tmp_path / "importances.png")
    for name in ("history.png", "importances.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_pruner_stops_trials_below_the_median(tmp_path):
    journal = tmp_path / "study.journal"
    study = open_study(journal, "simple_cnn")
    # A finished trial with a perfect validation AUC at every epoch sets the median that later trials must reach.
    study.add_trial(optuna.trial.create_trial(value=1.0, intermediate_values={1: 1.0, 2: 1.0, 3: 1.0}))
    settings = _settings(3, workers=1, epochs=3, startup_trials=1)
    noise = (VAL[0], np.random.default_rng(5).permutation(VAL[1]))  # labels unrelated to images: AUC well below 1
    trials = run_worker(TRAIN, noise, settings=settings, classifier=CLASSIFIER, model="simple_cnn", worker=0,
                        journal=journal, threads=2)
    assert trials["state"].tolist() == ["PRUNED", "PRUNED"] and trials["number"].tolist() == [1, 2]
    for trial in open_study(journal, "simple_cnn").trials[1:]:
        assert list(trial.intermediate_values) == [1]  # stopped after the first epoch's report


def test_importances_with_one_trial_say_why_they_are_missing(tmp_path):
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(params={"dropout": 0.1},
                                              distributions={"dropout": optuna.distributions.FloatDistribution(0, 1)},
                                              value=0.6))
    fig = importance_figure(study)
    assert "at least 2" in fig.axes[0].texts[0].get_text()
    save_figure(fig, tmp_path / "importances.png")


def test_preempted_trial_is_marked_failed_and_retried_by_the_rerun(tmp_path, monkeypatch):
    import synthaug.tune as tune_module
    from synthaug.checkpoint import Preempted

    def preempted(*args, **kwargs):
        raise Preempted("signal 15 during epoch 1")

    journal = tmp_path / "study.journal"
    with monkeypatch.context() as patch:
        patch.setattr(tune_module, "train_classifier", preempted)
        with pytest.raises(Preempted):
            _work(journal, _settings(1, workers=1), 0)
    assert [t.state.name for t in open_study(journal, "simple_cnn").trials] == ["FAIL"]
    trials = _work(journal, _settings(1, workers=1), 0)
    assert trials["number"].tolist() == [1] and trials["state"].tolist() == ["COMPLETE"]


@pytest.mark.parametrize("spec, message", [
    ({"low": 0.01, "high": 0.001}, "low 0.01 is above high 0.001"),
    ({"low": 0.0, "high": 0.01, "log": True}, "log-scale range needs low > 0"),
])
def test_a_search_range_that_cannot_be_drawn_is_a_config_error_at_parse_time(spec, message):
    from synthaug.errors import ConfigError
    from synthaug.preflight import check_search_space

    with pytest.raises(ConfigError, match=f"tune.search_space.learning_rate.*{message}"):
        check_search_space({"learning_rate": spec, "activation": ["relu"]})
    with pytest.raises(ConfigError, match=message):  # and where a worker draws, if it is reached another way
        suggest(None, {"learning_rate": spec})
