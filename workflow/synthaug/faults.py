"""Faults of the machine a job runs on, named for the user: a full disk, a quota, a folder that cannot be written,
memory exhausted.

None of them is a bug or a mistake in the data. :func:`synthaug.io.run_logged` ends such a job with two lines: what
happened and where (the path being written, the free space there), then what to do; and with exit status
:data:`EXIT_STATUS` = 75 (``EX_TEMPFAIL`` of sysexits.h: a temporary failure, try again), distinct from a user's
mistake (1) and a preemption (143). Outputs are written whole or not at all (:func:`synthaug.io.atomic_path`) and
checkpoints are swapped in whole (:mod:`synthaug.checkpoint`), so nothing half-written survives the fault: once its
cause is fixed, rerunning the same snakemake command continues from the finished outputs, and a training from its
last complete checkpoint.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

EXIT_STATUS = 75  # sysexits.h EX_TEMPFAIL

DISK_FULL = {errno.ENOSPC: "disk full (no space left on the device)", errno.EDQUOT: "disk quota exceeded"}
NOT_WRITABLE = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                errno.EPERM: "operation not permitted"}
# Out-of-memory errors by class name (importing them would load every backend): Python's own, TensorFlow's and
# PyTorch's; JAX raises a runtime error whose message starts with RESOURCE_EXHAUSTED.
MEMORY_ERRORS = ("MemoryError", "ResourceExhaustedError", "OutOfMemoryError")
JAX_RUNTIME_ERRORS = ("XlaRuntimeError", "JaxRuntimeError")
RERUN = ("then rerun the same snakemake command: it continues from the finished outputs, and a training from its "
         f"last complete checkpoint (this job stopped with exit status {EXIT_STATUS})")


def is_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in MEMORY_ERRORS or (name in JAX_RUNTIME_ERRORS and str(exc).startswith("RESOURCE_EXHAUSTED"))


# Errors that are a program's own mistakes: one raised while an OSError was being handled is a bug in the handler,
# not a library wrapping the fault, so the search stops there and the bug keeps its traceback.
BUG_ERRORS = (LookupError, TypeError, AttributeError, NameError, AssertionError, ArithmeticError, NotImplementedError)


def find(exc: BaseException | None) -> BaseException | None:
    """The environment fault behind ``exc``: itself or an exception it was raised from, or one a library error
    (h5py's, Keras') was raised while handling; else None. A programming error (:data:`BUG_ERRORS`) raised while
    handling a fault is not the fault's: it stays a bug."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if is_memory(exc) or (isinstance(exc, OSError) and exc.errno in DISK_FULL.keys() | NOT_WRITABLE.keys()):
            return exc
        if exc.__cause__ is not None:
            exc = exc.__cause__
        elif isinstance(exc, BUG_ERRORS) or exc.__suppress_context__:
            return None
        else:
            exc = exc.__context__
    return None


def free_space(path) -> str:
    """'12.3 GB free of 50.0 GB' on the filesystem of ``path`` (its nearest existing folder), or '' if unknown."""
    folder = Path(os.path.abspath(path))
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return ""
    return f"{_size(usage.free)} free of {_size(usage.total)}"


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def describe(fault: BaseException, folder, rule: str | None = None) -> str:
    """Two lines for the log: what happened and where, then what to do (``folder``: the job's outputs' folder,
    named when the error carries no file name)."""
    if is_memory(fault):
        detail = f"{type(fault).__name__}: {fault}" if str(fault) else type(fault).__name__
        return (f"out of memory in rule {rule or '?'} ({detail})\n"
                "Give the job more memory (snakemake --resources mem_mb=N, or the rule's mem_mb on a cluster), run "
                "fewer jobs at once (fewer --cores), or lower this stage's batch size (classifier.batch_size, "
                f"gan.batch_size or ddpm.batch_size); {RERUN}.")
    path = fault.filename or folder
    if fault.errno in DISK_FULL:
        space = free_space(path)
        quota = " (a quota may allow less than the disk has free: see `quota -s`)" if fault.errno == errno.EDQUOT else ""
        return (f"{DISK_FULL[fault.errno]} while writing {path}{f' ({space} there)' if space else ''}{quota}\n"
                "Free space there, or move the working directory to a disk with room (snakemake --directory DIR); "
                f"{RERUN}.")
    if fault.errno == errno.EROFS:
        return (f"read-only file system: cannot write {path}\n"
                "Move the working directory to a writable disk (snakemake --directory DIR), or have this file system "
                f"mounted read-write; {RERUN}.")
    return (f"{NOT_WRITABLE[fault.errno]}: cannot open {path}\n"
            f"If it is an output, make {Path(path).parent if fault.filename else path} writable for your user "
            "(ls -ld, chmod u+w) or move the working directory to a writable disk (snakemake --directory DIR); if it "
            f"is an input, make it readable (chmod u+r); {RERUN}.")
