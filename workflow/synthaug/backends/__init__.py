"""Which Keras backend runs the models (``compute.backend``), its seeding and determinism, precision, and quiet logs.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so :func:`use_backend` must run before anything
imports ``keras``: every rule script calls it on its first line, and ``common.smk`` checks at planning time that
an inherited ``KERAS_BACKEND`` agrees with the config. Nothing in this package imports TensorFlow, JAX or PyTorch
except the module of the backend in use (:mod:`.tensorflow`, :mod:`.jax`, :mod:`.torch`); each of those holds
that backend's seeding/determinism settings and the gradient plumbing of the GAN's training step, nothing else.

What is bit-identical (docs/gpus-and-backends.md): on one machine, with ``compute.deterministic: true``, the same config
gives the same weights and metrics on every backend run after run; resumed runs end where uninterrupted ones do.
Different backends give different numbers (different kernels and random streams). Across x86 CPUs,
``compute.cpu_isa: avx2`` (:data:`CPU_ISA_ENV`) runs the same kernels everywhere.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
import subprocess
import sys

from ..errors import ConfigError

log = logging.getLogger("synthaug")

BACKENDS = ("tensorflow", "jax", "torch")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DEFAULT_BACKEND = "tensorflow"
# Which package each backend needs, for messages.
PACKAGES = {"tensorflow": "tensorflow-cpu (extra 'cpu') or tensorflow[and-cuda] (extra 'gpu')",
            "jax": "jax (extra 'jax')", "torch": "torch (extra 'torch')"}

# Environment set before the backend's library is imported. Quiet C++ logs once absl logging runs: INFO and
# WARNING are dropped, errors stay (what is printed before that, and known noise, goes through drop_noise()).
_QUIET = {
    "tensorflow": {"TF_CPP_MIN_LOG_LEVEL": "2"},
    "jax": {"TF_CPP_MIN_LOG_LEVEL": "2"},  # XLA's C++ logging reads the same variable
    "torch": {},
}
# compute.cpu_isa: avx2 caps every CPU kernel library at AVX2, so that x86 machines with AVX-512 or AMX run the
# same kernels (and round-off) as those without. oneDNN serves TensorFlow's convolutions and matrix products
# (also with TF_ENABLE_ONEDNN_OPTS=0) and PyTorch's convolutions; MKL PyTorch's matrix products; ATen its
# element-wise kernels; XLA compiles JAX's.
CPU_ISA_ENV = {
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
             "XLA_FLAGS": "--xla_cpu_max_isa=AVX2"},
    "native": {},
}


def use_backend(compute: dict | str | None = None, quiet: bool = True) -> str:
    """Select the Keras backend named by ``compute['backend']`` (or the string itself) before Keras is imported.

    Sets ``KERAS_BACKEND`` and the backend's environment settings, routes stderr through :func:`drop_noise`
    (``quiet``) and imports Keras; stops with a :class:`ConfigError` naming
    ``compute.backend`` when ``KERAS_BACKEND`` is already set to another backend, when Keras was already imported
    with another one, or when the backend's package is not installed.
    """
    settings = compute if isinstance(compute, dict) else {"backend": compute or DEFAULT_BACKEND}
    name = settings.get("backend", DEFAULT_BACKEND)
    if name not in BACKENDS:
        raise ConfigError("compute.backend", f"unknown backend '{name}'; choose one of {list(BACKENDS)}")
    inherited = os.environ.get("KERAS_BACKEND")
    if inherited and inherited != name:
        raise ConfigError("compute.backend", disagreement(name, inherited))
    if "keras" in sys.modules:
        running = sys.modules["keras"].backend.backend()
        if running != name:
            raise ConfigError("compute.backend", f"Keras is already running on '{running}', not '{name}'; select "
                                                 "the backend before anything imports keras")
    if importlib.util.find_spec(name) is None:
        raise ConfigError("compute.backend", f"backend '{name}' is not installed; install {PACKAGES[name]}, or "
                                             "choose an installed backend")
    os.environ["KERAS_BACKEND"] = name
    for key, value in _QUIET[name].items():
        os.environ.setdefault(key, value)
    env = list(CPU_ISA_ENV[settings.get("cpu_isa", "avx2")].items())
    if settings.get("precision") == "mixed_bfloat16" and settings.get("cpu_isa", "avx2") == "avx2":
        # oneDNN has no bfloat16 convolutions below AVX-512 BF16: cap there instead (same results on such CPUs).
        env = [(k, "AVX512_CORE_BF16" if k == "ONEDNN_MAX_CPU_ISA" else v) for k, v in env]
    if settings.get("deterministic", True):
        env += DETERMINISTIC_ENV[name].items()
    for key, value in env:
        _merge_env(key, value)
    if quiet:
        drop_noise()
    _import_keras(name)
    return name


# Optional packages Keras imports at start-up, when installed, for parts no rule uses: scikit-learn for its
# scikit-learn wrappers, matplotlib and OpenCV for its visualisation utilities (each import is guarded by
# ``except ImportError``). About 1-2 s of CPU per job together (bench/README.md, job_startup.py); a rule that needs
# one imports it itself afterwards.
KERAS_OPTIONAL = ("sklearn", "matplotlib", "cv2")


def _import_keras(name: str) -> None:
    """Import Keras (which starts the backend) with :data:`KERAS_OPTIONAL` hidden, and on TensorFlow JAX too:
    ``tensorflow.lite`` imports JAX, when installed beside it, for a converter no rule uses (about 1 s of CPU per
    job on these machines). Every start-up here is paid once per job. Hidden modules raise ImportError, which Keras
    and TensorFlow expect, while Keras starts, and are importable again afterwards."""
    hidden = [m for m in (*KERAS_OPTIONAL, *(("jax",) if name == "tensorflow" else ())) if m not in sys.modules]
    for module in hidden:
        sys.modules[module] = None  # "import module" raises ImportError
    try:
        import keras  # noqa: F401
    finally:
        for module in hidden:
            if sys.modules.get(module, 0) is None:
                del sys.modules[module]


# Lines the backends' C++ code prints to stderr that say nothing to a user, whatever TF_CPP_MIN_LOG_LEVEL: notices
# printed before absl logging is initialised, and TensorFlow's "NodeDef mentions attribute" (an E-level message
# per tf.data pipeline, because Keras is newer than TensorFlow). Nothing else is dropped.
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|port\.cc:\d+\] oneDNN custom operations are on"
    r"|cpu_feature_guard\.cc|^To enable the following instructions:|rebuild TensorFlow with the appropriate"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|TF-TRT Warning"
    r"|NodeDef mentions attribute use_unbounded_threadpool"
)
# The filter: a child process between this process's file descriptor 2 and the real stderr. It passes every other
# line at once, ignores SIGINT/SIGTERM (so that a preempted job's last words still pass) and ends when this
# process closes its end, even on a crash, so nothing is lost.
_FILTER = """import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
noise = re.compile(sys.argv[1])
for line in sys.stdin.buffer:
    if not noise.search(line.decode(errors="replace")):
        sys.stderr.buffer.write(line)
        sys.stderr.buffer.flush()
"""
_filter = None


def drop_noise() -> None:
    """Route this process's stderr (C++ libraries included) through a filter that drops :data:`NOISE` lines."""
    global _filter
    if _filter is not None:
        return
    sys.stderr.flush()
    _filter = subprocess.Popen([sys.executable, "-c", _FILTER, NOISE.pattern], stdin=subprocess.PIPE)
    os.dup2(_filter.stdin.fileno(), 2)


# Set before the backend starts (GPU kernels chosen for reproducibility).
DETERMINISTIC_ENV = {
    "tensorflow": {},  # tf.config.experimental.enable_op_determinism() in backends/tensorflow.py
    "jax": {"XLA_FLAGS": "--xla_gpu_deterministic_ops=true"},
    "torch": {"CUBLAS_WORKSPACE_CONFIG": ":4096:8"},
}


def disagreement(configured: str, inherited: str) -> str:
    return (f"is '{configured}' but the environment variable KERAS_BACKEND is '{inherited}'; set compute.backend: "
            f"{inherited} in your config, or unset KERAS_BACKEND")


def _merge_env(key: str, value: str) -> None:
    """Add ``value`` to ``key``: flag lists (XLA_FLAGS) are appended to, other variables set if unset."""
    current = os.environ.get(key)
    if key.endswith("_FLAGS") and current and value not in current.split():
        os.environ[key] = f"{current} {value}"
    else:
        os.environ.setdefault(key, value)


def backend_name() -> str:
    import keras

    return keras.backend.backend()


def _module(name: str | None = None):
    return importlib.import_module(f"{__name__}.{name or backend_name()}")


def configure(seed: int, threads: int | None = None, *, deterministic: bool = True, precision: str = "float32"):
    """Seed every generator (Python, NumPy, the backend), make kernels deterministic and set the dtype policy."""
    import keras

    if precision not in PRECISIONS:
        raise ConfigError("compute.precision", f"unknown precision '{precision}'; choose one of {list(PRECISIONS)}")
    keras.utils.set_random_seed(seed)
    _module().configure(threads, deterministic)
    keras.mixed_precision.set_dtype_policy(precision)
    log.info("Keras %s on %s, precision %s, deterministic %s, seed %d (TensorFlow loaded: %s)", keras.__version__,
             backend_name(), precision, deterministic, seed, "tensorflow" in sys.modules)


def training_settings(compute: dict | None) -> dict:
    """The ``compute`` settings every training takes as keyword arguments (``deterministic``, ``precision``)."""
    compute = compute or {}
    return {"deterministic": compute.get("deterministic", True), "precision": compute.get("precision", "float32")}


def configure_from(compute: dict, seed: int, threads: int | None = None) -> None:
    """:func:`configure` with the ``compute`` section of the config; ``threads`` (the job's) overrides its threads."""
    configure(seed, threads or compute.get("threads"), deterministic=compute.get("deterministic", True),
              precision=compute.get("precision", "float32"))


def gan_train_step(gan, *args):
    """One step of the conditional GAN on the running backend (TF/torch: ``(data)``; JAX: ``(state, data)``)."""
    return _module().gan_train_step(gan, *args)


def rng_state() -> dict:
    """Random-generator state the backend keeps outside Keras variables (name -> array); empty on TF and JAX."""
    return _module().rng_state()


def set_rng_state(state: dict) -> None:
    _module().set_rng_state(state)


class OptimizerPair:
    """Two optimizers seen by Keras' trainers as one ``model.optimizer``.

    Keras carries ``model.optimizer.variables`` through its compiled JAX step as state and writes them back after
    ``fit``; a GAN has two optimizers, so ``variables`` is both lists, first then second.
    """

    built = True

    def __init__(self, first, second):
        self.first, self.second = first, second

    @property
    def variables(self):
        return list(self.first.variables) + list(self.second.variables)

    def build(self, variables):  # both are built by their owners
        pass

    def scale_loss(self, loss):
        return loss
