"""Faults of the machine (full disk, quota, read-only or unwritable folder, memory) are named, not called bugs.

Each fault is injected as the exception the operating system raises (no filesystem is mounted or filled): the job
ends with exit status 75 and two lines naming what happened, the path, the free space there and what to do.
"""

import errno
import logging
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from synthaug import faults, io
from synthaug.errors import DataError
from workflow_helpers import REPO


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    logging.getLogger().handlers.clear()  # run_logged points the root logger at a file under tmp_path


def _job(tmp_path):
    out = tmp_path / "results" / "classifiers" / "run"
    return SimpleNamespace(log=[str(tmp_path / "logs" / "job.log")], output=[str(out / "model.keras"),
                           str(out / "history.csv")], params={}, rule="train_classifier")


def _run(job, error):
    def main(_):
        raise error

    with pytest.raises(SystemExit) as stopped:
        io.run_logged(main, job)
    return stopped.value.code, open(job.log[0]).read()


@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, ["disk full", "free of", "Free space there", "--directory"]),
    (errno.EDQUOT, ["disk quota exceeded", "free of", "quota -s"]),
    (errno.EROFS, ["read-only file system", "cannot write", "writable disk", "mounted read-write"]),
    (errno.EACCES, ["permission denied", "chmod u+w"]),
])
def test_each_fault_names_the_path_and_what_to_do(tmp_path, code, words):
    job = _job(tmp_path)
    target = tmp_path / "results" / "data" / "train.npz"
    status, log = _run(job, OSError(code, os.strerror(code), str(target)))
    assert status == faults.EXIT_STATUS == 75
    assert str(target) in log
    for word in words + ["rerun the same snakemake command", "exit status 75"]:
        assert word in log
    assert "a bug" not in log and "Traceback" not in log
    assert len(log.strip().splitlines()) == 2


def test_a_fault_without_a_file_name_names_the_outputs_folder(tmp_path):
    job = _job(tmp_path)
    _, log = _run(job, OSError(errno.ENOSPC, "No space left on device"))
    assert str(tmp_path / "results" / "classifiers" / "run") in log and "free of" in log


def test_a_fault_under_another_error_is_found(tmp_path):
    """Libraries (h5py, Keras) wrap the OSError; the cause is still named."""
    job = _job(tmp_path)
    try:
        raise OSError(errno.ENOSPC, "No space left on device", "/x/model.weights.h5")
    except OSError as exc:
        wrapped = RuntimeError("Unable to synchronously write data")
        wrapped.__context__ = exc
    status, log = _run(job, wrapped)
    assert status == 75 and "disk full" in log and "/x/model.weights.h5" in log


@pytest.mark.parametrize("error", [
    MemoryError(),
    type("ResourceExhaustedError", (Exception,), {})("OOM when allocating tensor"),  # TensorFlow's
    type("XlaRuntimeError", (RuntimeError,), {})("RESOURCE_EXHAUSTED: Out of memory allocating 1 GiB"),  # JAX's
], ids=["python", "tensorflow", "jax"])
def test_memory_exhaustion_says_how_to_give_memory(tmp_path, error):
    status, log = _run(_job(tmp_path), error)
    assert status == 75
    for word in ["out of memory in rule train_classifier", "--resources mem_mb=", "--cores", "classifier.batch_size"]:
        assert word in log
    assert "a bug" not in log


def test_other_errors_stay_bugs_with_their_traceback(tmp_path):
    job = _job(tmp_path)

    def main(_):
        raise OSError(errno.ENOENT, "No such file or directory", "/nowhere")

    with pytest.raises(OSError):
        io.run_logged(main, job)
    log = open(job.log[0]).read()
    assert "a bug" in log and "Traceback" in log


def test_user_errors_keep_exit_status_1(tmp_path):
    status, log = _run(_job(tmp_path), DataError("cases.csv", "missing column"))
    assert status == 1 and "cases.csv: missing column" in log


def test_an_unwritable_log_folder_is_reported_on_stderr(tmp_path, monkeypatch, capsys):
    job = _job(tmp_path)
    real = io.setup_logging

    def setup(log_file=None, **kwargs):
        if log_file:
            raise OSError(errno.EROFS, "Read-only file system", str(log_file))
        return real(log_file, **kwargs)

    monkeypatch.setattr(io, "setup_logging", setup)
    with pytest.raises(SystemExit) as stopped:
        io.run_logged(lambda _: None, job)
    assert stopped.value.code == 75
    assert "read-only file system" in capsys.readouterr().err


def test_disk_full_mid_write_leaves_no_partial_output(tmp_path, monkeypatch):
    target = tmp_path / "train.npz"

    def half_written(fh, **arrays):
        fh.write(b"PK\x03\x04" + b"\0" * 100)  # the start of an archive, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", half_written)
    with pytest.raises(OSError):
        io.save_arrays(target, images=np.zeros(3))
    assert list(tmp_path.iterdir()) == []


def test_an_input_we_may_not_read_is_not_called_corrupt(tmp_path, monkeypatch):
    path = tmp_path / "train.npz"
    io.save_arrays(path, images=np.zeros(3))

    def denied(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(np, "load", denied)
    with pytest.raises(PermissionError):
        io.load_arrays(path)


def test_free_space_is_measured_on_the_nearest_existing_folder(tmp_path):
    assert "free of" in faults.free_space(tmp_path / "not" / "yet" / "there.npz")


def test_a_bug_raised_while_handling_a_fault_keeps_its_traceback(tmp_path):
    """Issue 27: find() followed __context__, so a KeyError raised inside an OSError handler was called a full disk."""
    job = _job(tmp_path)

    def main(_):
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/x/model.weights.h5")
        except OSError:
            {}["missing"]  # a bug in the handler

    with pytest.raises(KeyError):
        io.run_logged(main, job)
    log = open(job.log[0]).read()
    assert "a bug" in log and "Traceback" in log and "KeyError" in log and "disk full" not in log


def test_a_keras_job_ends_at_once_with_its_log_written_and_an_in_process_call_returns(tmp_path):
    """A Snakemake job that started Keras exits 0 right after its main, its log flushed, without the interpreter's
    teardown of the backend's modules (about 1 s of CPU per job); called in-process, run_logged returns."""
    io.run_logged(lambda _: None, _job(tmp_path))  # this process has Keras loaded, but is no job's script
    log = tmp_path / "job.log"
    script = "\n".join([
        "import atexit, logging, sys, types",
        f"sys.path.insert(0, {str(REPO / 'workflow')!r})",
        "sys.modules.setdefault('keras', types.ModuleType('keras'))  # as after use_backend, without a backend",
        "from types import SimpleNamespace",
        "from synthaug.io import run_logged",
        "atexit.register(lambda: print('teardown'))",
        f"snakemake = SimpleNamespace(log=[{str(log)!r}], output=[], params={{}}, rule='train_classifier')",
        "run_logged(lambda smk: logging.getLogger('synthaug').info('trained'), snakemake)",
        "print('after')",
    ])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # neither the script's next line nor the teardown ran
    assert "trained" in log.read_text()
