"""Optuna tuning of the simple CNN on the validation split, resumable and shared by parallel workers.

The study lives in Optuna's file journal (``results/tune/{model}/study.journal``): an append-only log that
several processes, on one machine or on the nodes of a cluster sharing a filesystem, can write safely without a
database server. Worker ``w`` of ``tune.workers`` runs trials until it has finished its share of
``tune.n_trials`` (finished = completed or pruned; a failed or preempted trial does not count and is retried),
so the workers together add exactly ``tune.n_trials`` to one study whether they run at once (SLURM) or one
after another (a laptop). A rerun reopens the study and continues it: trial numbers go on, and raising
``tune.n_trials`` adds the missing trials.

Each trial trains the CNN on the training split with parameters drawn by a TPE sampler from
``tune.search_space`` and scores it by its best validation AUC; a median pruner stops trials whose validation
AUC after an epoch is below the median of earlier trials at that epoch. The test split is never read. The
sampler's seed is derived from (``tune.seed``, worker, trials already in the study), so a study run by one
worker is reproducible; trials run in parallel depend on the order in which they finish.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .backends import training_settings
from .errors import ConfigError, DataError
from .models.classifiers import build_classifier
from .train import train_classifier

log = logging.getLogger("synthaug")

TUNABLE_MODELS = ("simple_cnn",)
ARCHITECTURE_KEYS = ("filters", "dense_units", "dropout", "activation")
TRAINING_KEYS = ("learning_rate", "batch_size")
WORKER_ATTR = "worker"


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_study(journal, model: str, *, seed: int = 0, worker: int = 0, pruner: dict | None = None):
    """Create or reopen the study of ``model`` in the journal file ``journal``, seeded for ``worker``."""
    optuna = _optuna()
    from optuna.storages import JournalStorage

    try:
        from optuna.storages.journal import JournalFileBackend
    except ImportError:  # optuna < 4.0 called it JournalFileStorage
        from optuna.storages import JournalFileStorage as JournalFileBackend

    Path(journal).parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(journal)))
    pruner = pruner or {"startup_trials": 5, "warmup_epochs": 1}
    study = optuna.create_study(
        study_name=f"tune_{model}", storage=storage, direction="maximize", load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=pruner["startup_trials"],
                                           n_warmup_steps=pruner["warmup_epochs"]),
    )
    # Seeded by what the study already holds, so that a resumed worker does not redraw its first run's points.
    entropy = np.random.SeedSequence([seed, worker, len(study.trials)]).generate_state(1)[0]
    study.sampler = optuna.samplers.TPESampler(seed=int(entropy))
    return study


def finished_trials(study, worker: int | None = None) -> list:
    """Completed or pruned trials (of ``worker`` only, if given)."""
    states = _finished_states()
    return [t for t in study.get_trials(deepcopy=False, states=states)
            if worker is None or t.user_attrs.get(WORKER_ATTR) == worker]


def _finished_states():
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED)


def worker_quota(n_trials: int, workers: int, worker: int) -> int:
    """Trials worker ``worker`` (0-based) adds: ``n_trials`` shared as evenly as possible."""
    if not 0 <= worker < workers:
        raise ConfigError("tune.workers", f"worker {worker} does not exist with tune.workers = {workers}")
    return n_trials // workers + (worker < n_trials % workers)


def suggest(trial, space: dict) -> dict:
    """Draw one point of ``space``: a list is a set of choices, {low, high, log} a range of real numbers."""
    from .preflight import check_search_space

    check_search_space(space)
    params = {}
    for name, spec in space.items():
        if isinstance(spec, list):
            params[name] = trial.suggest_categorical(name, spec)
        else:
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
    return params


def split_params(params: dict, defaults: dict) -> tuple[dict, dict]:
    """(architecture for build_classifier, training settings) from tuned ``params``; ``defaults`` fill the rest."""
    architecture = {k: params[k] for k in ARCHITECTURE_KEYS if k in params}
    training = {k: params.get(k, defaults[k]) for k in TRAINING_KEYS}
    return architecture, training


def run_worker(train, val, *, settings: dict, classifier: dict, model: str, worker: int, journal, threads: int,
               compute: dict | None = None, n_classes: int = 2):
    """Add worker ``worker``'s share of trials to the study; returns a table of the trials it finished.
    ``n_classes``: 2 (a sigmoid unit) or k > 2 (a k-way softmax, trials scored by the validation macro AUC)."""
    if model not in TUNABLE_MODELS:
        raise ConfigError("tune", f"only {list(TUNABLE_MODELS)} can be tuned, not '{model}'")
    optuna = _optuna()
    import keras

    study = open_study(journal, model, seed=settings["seed"], worker=worker, pruner=settings["pruner"])
    quota = worker_quota(settings["n_trials"], settings["workers"], worker)
    image_size = train[0].shape[1]

    def objective(trial):
        trial.set_user_attr(WORKER_ATTR, worker)
        architecture, training = split_params(suggest(trial, settings["search_space"]), classifier)

        def report(row):
            trial.report(row["val_auc"], row["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"validation AUC {row['val_auc']:.4f} at epoch {row['epoch']}")

        keras.backend.clear_session()
        with tempfile.TemporaryDirectory(prefix=f"trial{trial.number}_", dir=Path(journal).parent) as tmp:
            _, history = train_classifier(
                model, train, val, epochs=settings["epochs"], batch_size=training["batch_size"],
                learning_rate=training["learning_rate"], patience=classifier["patience"], seed=settings["seed"],
                weights=None, checkpoint_dir=Path(tmp) / "checkpoint", threads=threads, on_epoch_end=report,
                **training_settings(compute),
                build_model=lambda: build_classifier(model, image_size, learning_rate=training["learning_rate"],
                                                     architecture=architecture, n_classes=n_classes),
            )
        best = history.loc[history["val_auc"].idxmax()]
        trial.set_user_attr("best_epoch", int(best["epoch"]))
        return float(best["val_auc"])

    while (len(finished_trials(study, worker)) < quota
           and len(finished_trials(study)) < settings["n_trials"]):
        study.optimize(objective, n_trials=1)  # a failed trial (incl. preemption) re-raises and stops the worker
        last = study.trials[-1]
        log.info("worker %d: trial %d %s, value %s, params %s", worker, last.number, last.state.name,
                 last.value, last.params)
    return trials_table(finished_trials(study, worker))


def trials_table(trials) -> pd.DataFrame:
    """One row per trial: number, worker, state, value (best validation AUC), best epoch, then its parameters."""
    rows = [{"number": t.number, "worker": t.user_attrs.get(WORKER_ATTR), "state": t.state.name,
             "value": t.value, "best_epoch": t.user_attrs.get("best_epoch"),
             "seconds": t.duration.total_seconds() if t.duration else None, **t.params} for t in trials]
    columns = ["number", "worker", "state", "value", "best_epoch", "seconds"]
    return pd.DataFrame(rows, columns=columns + sorted({k for r in rows for k in r} - set(columns)))


def best_params(study, journal) -> dict:
    """The best completed trial's parameters, with its number, validation AUC and the study's trial counts."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise DataError(journal, "the study has no completed trial (all pruned or failed); raise tune.n_trials "
                                 "or widen tune.search_space, then rerun")
    best = study.best_trial
    return {"params": best.params, "trial": best.number, "val_auc": best.value,
            "best_epoch": best.user_attrs.get("best_epoch"), "n_trials": len(finished_trials(study)),
            "n_complete": len(complete), "n_pruned": len(finished_trials(study)) - len(complete)}


def history_figure(study):
    """Optuna's optimisation history (validation AUC per trial and the best so far)."""
    import warnings

    from optuna.visualization.matplotlib import plot_optimization_history

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's matplotlib plots are flagged experimental
        ax = plot_optimization_history(study, target_name="validation AUC")
    ax.figure.set_size_inches(7, 4)
    ax.figure.tight_layout()
    return ax.figure


def importance_figure(study):
    """Optuna's fANOVA parameter importances; with fewer than 2 completed trials, a figure saying so."""
    import warnings

    import matplotlib.pyplot as plt
    from optuna.trial import TrialState
    from optuna.visualization.matplotlib import plot_param_importances

    n_complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    reason = f"only {n_complete} completed trial(s); importances need at least 2" if n_complete < 2 else None
    if reason is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = plot_param_importances(study)
            ax.figure.set_size_inches(7, 4)
            ax.figure.tight_layout()
            return ax.figure
        except (ValueError, RuntimeError) as exc:  # e.g. every completed trial drew the same point
            reason = f"importances could not be estimated: {exc}"
    log.warning("parameter importances: %s", reason)
    fig, ax = plt.subplots(figsize=(7, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, reason, ha="center", va="center", wrap=True)
    return fig
