"""File I/O shared by every stage: outputs written whole or not at all, array bundles, and per-rule logging.

Every output goes through :func:`atomic_path`: the writer fills a temporary file beside the target, which is
renamed over it only when the writer finished without error. An interrupted or failed job therefore never
leaves a half-written file that a later run would take for finished work.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from . import faults
from .checkpoint import Preempted
from .errors import DataError, UserError

INTERRUPTED_LOG = "interrupted.log"  # a preempted job's log, kept in its checkpoint folder for the rerun

log = logging.getLogger("synthaug")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(df: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_json(obj, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_text(text: str, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_arrays(path, **arrays: np.ndarray) -> None:
    """Save named arrays as an uncompressed ``.npz`` (fast to load; images dominate and barely compress)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_arrays(path, required: tuple[str, ...] = (), only_required: bool = False) -> dict[str, np.ndarray]:
    """Load an ``.npz`` bundle into a dict, checking that ``required`` keys are present.

    ``only_required``: read just those arrays (e.g. labels without the images beside them)."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found; rerun the rule that produces it")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if not only_required or k in required}
    except (OSError, ValueError) as exc:
        if faults.find(exc) is not None:  # e.g. permission denied: the machine's fault, named by run_logged
            raise
        raise DataError(path, f"not a readable .npz file ({exc}); delete it and rerun") from exc
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(path, f"missing arrays {missing}; it was written by another version, delete it and rerun")
    return arrays


def read_csv(path, required: tuple[str, ...] | list[str] = (), strip_header: bool = False, **kwargs) -> pd.DataFrame:
    """Read a CSV, stopping with a message that names the file and the missing columns.

    ``strip_header``: column names lose surrounding spaces first ("path, label" has the columns path and label)."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        df = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError as exc:
        raise DataError(path, "the CSV file is empty; replace it with the original file") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable CSV file ({exc})") from exc
    if strip_header:
        df = df.rename(columns=lambda c: c.strip() if isinstance(c, str) else c)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            path,
            f"missing column(s) {missing}; found {list(df.columns)}. "
            "Is this the right file? Column names must match the original exactly.",
        )
    return df


def setup_logging(log_file=None, level=logging.INFO, append: bool = False) -> logging.Logger:
    """Send the ``synthaug`` logger (and warnings) to the rule's log file and to stderr.

    ``append``: keep what the file holds (a job resuming from its checkpoint keeps the interrupted attempt's log).
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a" if append else "w"))
    # Other libraries (jax's platform probing, absl) log at WARNING and above; this package at ``level``.
    logging.basicConfig(
        level=max(level, logging.WARNING), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers, force=True,
    )
    log.setLevel(level)
    logging.captureWarnings(True)
    return log


def run_logged(main: Callable[..., object], snakemake) -> None:
    """Run a rule script's ``main(snakemake)`` with logging to the rule's log file.

    A :class:`~synthaug.errors.UserError` ends the job with its message alone (exit status 1),
    so the user reads what to fix instead of a traceback. A fault of the machine (a full disk or quota, a folder that
    cannot be written, memory exhausted: :mod:`synthaug.faults`) ends it with two lines saying what happened, where
    and what to do (exit status :data:`synthaug.faults.EXIT_STATUS`, 75). Anything else is a bug and keeps its
    traceback. A job that started Keras and succeeded ends at once (:func:`_exit_without_teardown`).
    """
    log_file = snakemake.log[0] if len(snakemake.log) else None
    # Snakemake deletes a job's log before every attempt; a preempted job keeps its log in its checkpoint folder,
    # and the attempt that resumes from that checkpoint starts its log with it.
    checkpoint = snakemake.params.get("checkpoint_dir") if hasattr(snakemake, "params") else None
    kept = Path(checkpoint) / INTERRUPTED_LOG if checkpoint else None
    try:
        _start_log(log_file, kept)
        main(snakemake)
        if "keras" in sys.modules and sys.modules["__main__"].__dict__.get("snakemake") is snakemake:
            _exit_without_teardown()
    except UserError as exc:
        log.error("%s", exc)
        sys.exit(1)
    except Preempted as exc:
        log.warning("preempted: %s; rerun the job to resume from its checkpoint", exc)
        if log_file and kept is not None and kept.parent.is_dir():
            shutil.copyfile(log_file, kept)
        sys.exit(Preempted.exit_code)
    except Exception as exc:
        fault = faults.find(exc)
        if fault is None:
            log.exception("unexpected error (a bug, please report it with this log)")
            raise
        log.error("%s", faults.describe(fault, outputs_folder(snakemake), getattr(snakemake, "rule", None)))
        sys.exit(faults.EXIT_STATUS)


def _exit_without_teardown() -> None:
    """End a Snakemake job that started Keras now, with exit status 0, skipping the interpreter's teardown of the
    backend's thousands of modules: about 1 s of CPU per job (bench/README.md). Every output is written and closed
    by then (written atomically); the logs and standard streams are flushed first."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _start_log(log_file, kept: Path | None) -> None:
    """Log to ``log_file``, after the interrupted attempt's log ``kept`` if there is one (stderr alone if the log
    cannot be written: the fault is then reported there)."""
    earlier = kept.read_text() if kept is not None and kept.is_file() else ""
    try:
        if log_file and earlier:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
            Path(log_file).write_text(earlier)
        setup_logging(log_file, append=bool(earlier))
    except OSError:
        setup_logging(None)
        raise
    if log_file and earlier:
        log.info("---- rerun: resuming the interrupted attempt logged above ----")


def outputs_folder(snakemake) -> str:
    """The folder holding a job's outputs (their deepest common folder), or the working directory if it has none."""
    outputs = [os.path.abspath(path) for path in getattr(snakemake, "output", [])]
    return os.path.commonpath([os.path.dirname(path) for path in outputs]) if outputs else os.getcwd()
