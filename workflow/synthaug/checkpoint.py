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

A checkpoint also records what it was trained from (:func:`fingerprint`: the settings that change training, a
checksum of every input array, the networks' architecture). A training that finds a checkpoint made from anything
else (``batch_size`` lowered after an out-of-memory error, regenerated synthetic images, another architecture)
discards it with a warning naming what changed, and restarts its stage from the first epoch; so the result always
equals an uninterrupted run with the settings now given. Only the number of epochs may grow: epoch ``e`` depends on
``(seed, e)`` alone, so continuing a finished training for more epochs is the longer training.
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
from .errors import DataError

log = logging.getLogger("synthaug")

_STATE = "state.json"
_WEIGHTS = "model.weights.h5"
_RNG = "rng_states.npz"
_BACKEND_RNG = "backend_rng.npz"  # generators the backend keeps outside the model (torch's global ones)
_FINGERPRINT = "fingerprint.json"  # what the checkpoint was trained from (see fingerprint())
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
    if len(values) != len(variables) or any(np.shape(v) != tuple(var.shape) for var, v in zip(variables, values)):
        raise DataError(directory, "this checkpoint was saved from another model (its architecture changed since); "
                                   "delete the folder to restart this training from its first epoch")
    for var, value in zip(variables, values):
        var.assign(value)


def array_digest(array) -> str:
    """SHA-256 of an array's dtype, shape and bytes: the identity of an input in a :func:`fingerprint`."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _unnamed(config):
    """A layer config without its names (Keras numbers them per process: dense_3 in one run is dense_7 in the next)."""
    if isinstance(config, dict):
        return {k: _unnamed(v) for k, v in config.items() if k not in ("name", "inbound_nodes", "build_config")}
    if isinstance(config, (list, tuple)):
        return [_unnamed(v) for v in config]
    return config


def _layers(layer):
    yield layer
    for child in getattr(layer, "layers", []):
        yield from _layers(child)


def architecture_digest(*models) -> str:
    """SHA-256 of the models' layers (class and config, names left out) and their variables' shapes and dtypes."""
    digest = hashlib.sha256()
    for model in models:
        for layer in _layers(model):
            try:
                config = _unnamed(layer.get_config())
            except (NotImplementedError, TypeError, ValueError, AttributeError):
                config = None  # a subclassed layer without get_config: its class and variables name it
            if layer is model or getattr(layer, "layers", None):
                config = None  # a container: its layers are listed one by one
            digest.update(f"{type(layer).__name__}{json.dumps(config, sort_keys=True, default=str)}".encode())
        for variable in model.weights:
            digest.update(f"{tuple(variable.shape)}{variable.dtype}".encode())
    return digest.hexdigest()


def fingerprint(settings: dict, arrays: dict, models=()) -> dict:
    """What a training starts from, as a flat JSON-able dict: each setting, each array's digest, the architecture.

    ``settings``: name -> JSON-able value (batch size, learning rate, seed, ...); ``arrays``: name -> array (the
    training images, their labels, the validation images, ...); ``models``: the networks being trained.
    """
    entry = {name: json.loads(json.dumps(value, default=str)) for name, value in settings.items()}
    entry.update({name: array_digest(array) for name, array in arrays.items()})
    if models:
        entry["architecture"] = architecture_digest(*models)
    return entry


def _differences(saved: dict, now: dict) -> list[str]:
    """What differs between two fingerprints, one phrase each: 'batch_size 16 -> 8', 'train images changed'."""
    out = []
    for name in sorted(saved.keys() | now.keys()):
        before, after = saved.get(name, "(not recorded)"), now.get(name, "(not recorded)")
        if before == after:
            continue
        if isinstance(before, str) and isinstance(after, str) and len(before) == len(after) == 64:
            out.append(f"{name} changed")
        else:
            out.append(f"{name} {before} -> {after}")
    return out


def file_digest(path) -> str:
    """SHA-256 of a file's bytes (e.g. a backbone's weights file), or the path itself if there is no such file."""
    path = Path(path)
    return _sha256(path) if path.is_file() else str(path)


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

    def __init__(self, directory, fingerprint: dict | None = None, epochs: int | None = None):
        """``fingerprint`` (:func:`fingerprint`): a checkpoint saved from anything else is discarded; ``epochs``:
        one holding more finished epochs than that is discarded too (the shorter training is not inside it)."""
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.epochs = epochs
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
            self._check_origin()
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
            self._check_origin()
        else:
            log.warning("checkpoint %s is incomplete (%s) and no complete one is left before it (%s): training "
                        "restarts this stage from its first epoch", self.directory, problem, previous)
            shutil.rmtree(self.previous, ignore_errors=True)

    def _check_origin(self) -> None:
        """Discard the (complete) checkpoint if it was trained from other settings, inputs or architecture."""
        reasons = []
        if self.fingerprint is not None:
            try:
                saved = json.loads((self.directory / _FINGERPRINT).read_text())
            except FileNotFoundError:
                saved = {}
            reasons = _differences(saved, self.fingerprint)
            if not saved:
                reasons = ["it records nothing of what it was trained from (saved by an older version)"]
        if self.epochs is not None and not reasons:
            done = json.loads((self.directory / _STATE).read_text()).get("epoch", 0)
            if done > self.epochs:
                reasons = [f"it holds {done} finished epochs, more than the {self.epochs} now asked"]
        if reasons:
            log.warning("checkpoint %s was trained from something else (%s): discarding it; training restarts this "
                        "stage from its first epoch", self.directory, "; ".join(reasons))
            for folder in (self.directory, self.previous):
                shutil.rmtree(folder, ignore_errors=True)

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
            if self.fingerprint is not None:
                (tmp / _FINGERPRINT).write_text(json.dumps(self.fingerprint, indent=1, sort_keys=True))
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
        try:
            model.load_weights(self.directory / _WEIGHTS)
        except ValueError as exc:  # Keras' words for a layer count or shape that differs
            raise DataError(self.directory, "this checkpoint was saved from another model (its layers or their shapes "
                                            "differ: the architecture changed since); delete the folder to restart "
                                            "this training from its first epoch") from exc
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
