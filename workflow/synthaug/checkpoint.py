"""Checkpoints that let long trainings survive interruption.

SLURM (and most schedulers) send SIGTERM some seconds before they kill or requeue a job. A training loop
wrapped in :class:`SignalFlag` notices the signal after the current batch (:class:`StopOnSignal`), keeps the
checkpoint of the last finished epoch and ends with :class:`Preempted`; rerunning the same job resumes from
that epoch instead of starting over.

A checkpoint is a folder holding the model's weights, the state of its layers' random generators (Keras'
``save_weights`` leaves those out, so a resumed Dropout would draw other masks), the backend's own global
generators where it draws from them (PyTorch: Keras' unseeded Dropout), each optimizer's variables
and a small JSON state (finished epochs, history, anything the caller adds). Each
save is written whole into a fresh folder and then swapped in, so a kill during a save leaves the previous
checkpoint intact. Resumed training is exact when the data order of epoch ``e`` depends only on
``(seed, e)``, which is how the training loops in this package shuffle.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
from pathlib import Path

import numpy as np

from . import backends

log = logging.getLogger("synthaug")

_STATE = "state.json"
_WEIGHTS = "model.weights.h5"
_RNG = "rng_states.npz"
_BACKEND_RNG = "backend_rng.npz"  # generators the backend keeps outside the model (torch's global ones)


def _seed_states(model) -> list:
    """The state variables of the model's ``keras.random.SeedGenerator``s (Dropout, noise layers, train_step)."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def _save_variables(path: Path, variables) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, **{f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(variables)})


def _load_variables(path: Path, variables, directory) -> None:
    with np.load(path) as saved:
        values = [saved[k] for k in sorted(saved.files)]
    if len(values) != len(variables):
        raise RuntimeError(f"{directory}: checkpoint does not match the model; delete the folder to restart")
    for var, value in zip(variables, values):
        var.assign(value)


class Preempted(Exception):
    """Training stopped on a signal after saving its checkpoint; rerun the job to resume."""

    exit_code = 128 + signal.SIGTERM


class SignalFlag:
    """Context manager that records SIGTERM/SIGINT/SIGUSR1 instead of dying at once, then restores the handlers."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)

    def __init__(self):
        self.received: int | None = None
        self._previous = {}

    def _handle(self, signum, frame):
        log.warning("received signal %d: stopping after the current batch", signum)
        self.received = signum

    def __enter__(self):
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def stop_on_signal_callback(flag: SignalFlag):
    """A Keras callback that ends ``fit`` after the batch during which ``flag`` saw a signal."""
    import keras

    class StopOnSignal(keras.callbacks.Callback):
        # It reads a Python flag only, so Keras may call it from its callback thread without waiting for the
        # step's results: no device-to-host round trip per batch (on JAX and PyTorch; the stop may come one
        # batch later, which the epoch-level checkpoints allow for).
        async_safe = True

        def on_train_batch_end(self, batch, logs=None):
            if flag.received is not None:
                self.model.stop_training = True

    return StopOnSignal()


class Checkpoint:
    """The checkpoint folder of one training job."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def exists(self) -> bool:
        return (self.directory / _STATE).is_file()

    def save(self, model, optimizers: dict, state: dict) -> None:
        """Save ``model``'s weights, the variables of each named optimizer and ``state`` (JSON-able)."""
        tmp = self.directory.with_name(self.directory.name + ".saving")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        model.save_weights(tmp / _WEIGHTS)
        _save_variables(tmp / _RNG, _seed_states(model))
        with open(tmp / _BACKEND_RNG, "wb") as fh:
            np.savez(fh, **backends.rng_state())
        for name, optimizer in optimizers.items():
            _save_variables(tmp / f"optimizer_{name}.npz", optimizer.variables)
        (tmp / _STATE).write_text(json.dumps(state, indent=1))
        # Swap in the new checkpoint; the old one is removed only once the new one is complete.
        old = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        tmp.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)

    def restore(self, model, optimizers: dict) -> dict | None:
        """Load a saved checkpoint into ``model`` and the optimizers; return its state, or None if there is none.

        ``optimizers`` maps each name to ``(optimizer, variables_it_updates)`` so that an optimizer not yet
        built can be built before its saved variables are assigned.
        """
        if not self.exists():
            old = self.directory.with_name(self.directory.name + ".old")
            if (old / _STATE).is_file():  # killed between the two renames of save()
                old.rename(self.directory)
            else:
                return None
        for optimizer, variables in optimizers.values():
            if not optimizer.built:  # built first, so that its variables exist to be assigned
                optimizer.build(variables)
        model.load_weights(self.directory / _WEIGHTS)
        _load_variables(self.directory / _RNG, _seed_states(model), self.directory)
        if (self.directory / _BACKEND_RNG).is_file():
            with np.load(self.directory / _BACKEND_RNG) as saved:
                generators = {k: saved[k] for k in saved.files}
            if generators:
                backends.set_rng_state(generators)
        for name, (optimizer, _) in optimizers.items():
            _load_variables(self.directory / f"optimizer_{name}.npz", optimizer.variables, self.directory)
        state = json.loads((self.directory / _STATE).read_text())
        log.info("resuming from checkpoint %s (%d epochs done)", self.directory, state.get("epoch", 0))
        return state

    def remove(self) -> None:
        """Delete the checkpoint once the job's outputs are written."""
        shutil.rmtree(self.directory, ignore_errors=True)
