"""Checkpoints that let long trainings survive interruption.

SLURM (and most schedulers) send SIGTERM some seconds before they kill or requeue a job. A training loop
wrapped in :class:`SignalFlag` notices the signal after the current batch (:class:`StopOnSignal`), keeps the
checkpoint of the last finished epoch and ends with :class:`Preempted`; rerunning the same job resumes from
that epoch instead of starting over.

A checkpoint is a folder holding the model's weights, the state of its layers' random generators (Keras'
``save_weights`` leaves those out, so a resumed Dropout would draw other masks), the backend's own global
generators where it draws from them (PyTorch: Keras' unseeded Dropout), each optimizer's variables
and a small JSON state (finished epochs, history, anything the caller adds). Each
save is written whole into a fresh folder (``<name>.saving``), closed by a manifest of every file's size and SHA-256
(``complete.json``, written last), then swapped in; the checkpoint it replaces is kept as ``<name>.old`` until the
next save. A kill during a save therefore leaves the previous checkpoint intact, and a full disk during a save
removes the partial folder before the error goes on.

On resume a checkpoint is used only if every file matches its manifest. One cut short (truncated, corrupted, without
its manifest: a kill or a full disk during a save or a copy, a crash of the machine before its writes reached the
disk) is deleted with a warning saying so, and the previous complete checkpoint is used instead; if there is none,
the training restarts its stage from the first epoch, with a warning too. A resume is never silently wrong: it
loads a complete checkpoint or none. Resumed training is exact when the data order of epoch ``e`` depends only on
``(seed, e)``, which is how the training loops in this package shuffle.
"""

from __future__ import annotations

import hashlib
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
_MANIFEST = "complete.json"  # written last: {file name: {"bytes": size, "sha256": digest}} of every other file
_MISSING = "no such folder"


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(folder: Path) -> None:
    files = {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in sorted(folder.iterdir())}
    (folder / _MANIFEST).write_text(json.dumps(files, indent=1))


def _problem(folder: Path) -> str | None:
    """Why ``folder`` is not a complete checkpoint (its files differ from its manifest), or None if it is one."""
    if not folder.is_dir():
        return _MISSING
    try:
        files = json.loads((folder / _MANIFEST).read_text())
        expected = {name: (int(entry["bytes"]), str(entry["sha256"])) for name, entry in files.items()}
    except FileNotFoundError:
        return f"no {_MANIFEST}: its save did not finish"
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"its {_MANIFEST} is unreadable ({exc})"
    for name, (size, digest) in expected.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} holds {path.stat().st_size} bytes of the {size} written"
        if _sha256(path) != digest:
            return f"{name} differs from what was written (checksum)"
    return None


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
    """The checkpoint folder of one training job (and, beside it, the previous checkpoint and a save in progress)."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.previous = self.directory.with_name(self.directory.name + ".old")
        self.saving = self.directory.with_name(self.directory.name + ".saving")

    def exists(self) -> bool:
        """Whether a complete checkpoint is there to resume from (one cut short is set aside first, see module)."""
        self._check()
        return (self.directory / _MANIFEST).is_file()

    def state(self) -> dict | None:
        """The JSON state of the complete checkpoint, without loading anything into a model; None if there is none."""
        return json.loads((self.directory / _STATE).read_text()) if self.exists() else None

    def _check(self) -> None:
        """Keep ``directory`` only if it is complete: else put the previous checkpoint in its place, or delete both.

        Idempotent: once it ran, ``directory`` is complete or absent, so a second call changes and logs nothing.
        """
        problem = _problem(self.directory)
        if problem is None:
            return
        previous = _problem(self.previous)
        if problem == previous == _MISSING:
            return  # nothing saved yet
        shutil.rmtree(self.directory, ignore_errors=True)
        if previous is None:
            epochs = json.loads((self.previous / _STATE).read_text()).get("epoch", 0)
            log.warning("checkpoint %s is incomplete (%s): resuming from the previous complete checkpoint "
                        "(%d epochs done)", self.directory, problem, epochs)
            self.previous.rename(self.directory)
        else:
            log.warning("checkpoint %s is incomplete (%s) and no complete one is left before it (%s): training "
                        "restarts this stage from its first epoch", self.directory, problem, previous)
            shutil.rmtree(self.previous, ignore_errors=True)

    def save(self, model, optimizers: dict, state: dict, arrays: dict[str, list] | None = None) -> None:
        """Save ``model``'s weights, the variables of each named optimizer, ``state`` (JSON-able) and any named
        lists of arrays (``arrays``, e.g. the best weights so far: read back with :meth:`arrays`)."""
        tmp = self.saving
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            for name, values in (arrays or {}).items():
                with open(tmp / f"arrays_{name}.npz", "wb") as fh:
                    np.savez(fh, **{f"v{i:04d}": np.asarray(v) for i, v in enumerate(values)})
            model.save_weights(tmp / _WEIGHTS)
            _save_variables(tmp / _RNG, _seed_states(model))
            with open(tmp / _BACKEND_RNG, "wb") as fh:
                np.savez(fh, **backends.rng_state())
            for name, optimizer in optimizers.items():
                _save_variables(tmp / f"optimizer_{name}.npz", optimizer.variables)
            (tmp / _STATE).write_text(json.dumps(state, indent=1))
            _write_manifest(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # e.g. a full disk: give back what the partial save took
            raise
        # Swap in the new checkpoint; the one it replaces stays as the previous one.
        shutil.rmtree(self.previous, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(self.previous)
        tmp.rename(self.directory)

    def restore(self, model, optimizers: dict) -> dict | None:
        """Load a saved checkpoint into ``model`` and the optimizers; return its state, or None if there is none.

        ``optimizers`` maps each name to ``(optimizer, variables_it_updates)`` so that an optimizer not yet
        built can be built before its saved variables are assigned. Only a complete checkpoint is loaded (see module).
        """
        if not self.exists():
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

    def arrays(self, name: str) -> list | None:
        """The list of arrays saved as ``name`` by :meth:`save` in the complete checkpoint, or None."""
        path = self.directory / f"arrays_{name}.npz"
        if not self.exists() or not path.is_file():
            return None
        with np.load(path) as saved:
            return [saved[k] for k in sorted(saved.files)]

    def remove(self) -> None:
        """Delete the checkpoint (and the previous one) once the job's outputs are written."""
        for folder in (self.directory, self.previous, self.saving):
            shutil.rmtree(folder, ignore_errors=True)
