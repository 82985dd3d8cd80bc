"""The conda environments in envs/ install the same packages as pyproject.toml (names, not versions)."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
# Packages conda itself provides, not project dependencies.
CONDA_BASE = {"python", "pip"}


def package_name(requirement):
    """'tensorflow[and-cuda]>=2.16' -> 'tensorflow'; conda's 'numpy=1.26' -> 'numpy'; names normalised as PyPI does."""
    name = re.split(r"[\[<>=!~;\s]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def env_packages(path):
    names = set()
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        for requirement in dep["pip"] if isinstance(dep, dict) else [dep]:
            names.add(package_name(requirement))
    return names - CONDA_BASE


# Each environment is the base dependencies plus one backend's extra: synthaug.yaml TensorFlow for CPU,
# synthaug-<extra>.yaml that extra (jax, torch).
def backend_extra(path):
    return path.stem.partition("-")[2] or "cpu"


def project_packages(extra="cpu"):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = project["dependencies"] + project["optional-dependencies"][extra]
    return {package_name(r) for r in required}


def test_envs_exist():
    assert ENV_FILES, "envs/ holds no *.yaml environment"


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_matches_pyproject(path):
    in_env, in_project = env_packages(path), project_packages(backend_extra(path))
    assert in_env == in_project, (
        f"{path.name} and pyproject.toml disagree: only in {path.name}: {sorted(in_env - in_project)}, "
        f"only in pyproject.toml: {sorted(in_project - in_env)}"
    )


def test_package_name_normalises():
    assert package_name("tensorflow[and-cuda]>=2.16") == "tensorflow"
    assert package_name("opencv_python.Headless>=4.8") == "opencv-python-headless"
    assert package_name("numpy=1.26") == "numpy"
