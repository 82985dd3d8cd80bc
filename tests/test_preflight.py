"""Parse-time checks (synthaug.preflight): schema messages a newcomer can act on, the phantom's folder rule and the
case tables a real download must hold. The same checks run through Snakemake in tests/test_data_safety.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from synthaug import preflight
from synthaug.constants import PHANTOM_MARKER
from synthaug.errors import ConfigError, UserError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_the_default_config_passes():
    preflight.check_schema(default_config(), SCHEMA, [])


def test_a_misspelt_key_names_its_file_and_the_nearest_key():
    config = default_config()
    config["classifer"] = {"epochs": 3}
    config["preprocess"]["image_sise"] = 64
    sources = [("config.yaml", default_config()), ("mine.yaml", {"classifer": {"epochs": 3}, "preprocess": {"image_sise": 64}})]
    with pytest.raises(UserError) as caught:
        preflight.check_schema(config, SCHEMA, sources)
    message = str(caught.value)
    assert "'classifer' (set in mine.yaml) is not a setting synthaug knows; did you mean 'classifier'?" in message
    assert "did you mean 'preprocess.image_size'?" in message
    assert len(message.splitlines()) < 8


def test_a_wrong_value_quotes_the_key_description():
    config = default_config()
    config["split"]["strategy"] = "by-image"
    with pytest.raises(UserError, match=r"'split.strategy'.*by-image") as caught:
        preflight.check_schema(config, SCHEMA, [("--config", {"split": {"strategy": "by-image"}})])
    assert "(set in --config)" in str(caught.value)


@pytest.mark.parametrize("models, size, generator, expected", [
    (["inception_resnet_v2"], 64, False, "needs at least 75 px"),
    (["vgg16"], 24, False, "needs at least 32 px"),
    (["simple_cnn"], 40, True, "multiple of 16"),
])
def test_model_sizes(models, size, generator, expected):
    config = {"preprocess": {"image_size": size}, "experiment": {"models": models, "generators": ["cgan"]}}
    with pytest.raises(ConfigError, match=expected):
        preflight.check_models(config, generator)
    preflight.check_models({"preprocess": {"image_size": 80}, "experiment": {"models": models}}, False)


def test_phantom_root_rule(tmp_path):
    assert preflight.phantom_root_problem(tmp_path / "new") is None
    (tmp_path / "empty").mkdir()
    assert preflight.phantom_root_problem(tmp_path / "empty") is None
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / PHANTOM_MARKER).write_text(json.dumps({"written_by": "synthaug simulate_phantom"}))
    (earlier / "ground_truth.csv").write_text("x\n")
    assert preflight.phantom_root_problem(earlier) is None
    (earlier / "notes.txt").write_text("mine")
    assert "notes.txt" in preflight.phantom_root_problem(earlier)
    download = tmp_path / "download"
    download.mkdir()
    (download / "metadata.csv").write_text("x\n")  # a phantom's file name, but no marker
    assert PHANTOM_MARKER in preflight.phantom_root_problem(download)


def test_a_download_must_hold_its_case_tables(tmp_path):
    dataset = {"name": "cbis-ddsm", "root": str(tmp_path), "abnormality": "both"}
    with pytest.raises(ConfigError, match="calc_case_description_test_set.csv"):
        preflight.dataset_inputs(dataset, workdir=tmp_path.parent)
    for name in ("mass_case_description_train_set.csv", "mass_case_description_test_set.csv",
                 "calc_case_description_train_set.csv", "calc_case_description_test_set.csv"):
        (tmp_path / name).write_text("patient_id\n")
    assert len(preflight.dataset_inputs(dataset, workdir=tmp_path.parent)) == 4
    with pytest.raises(ConfigError, match="working directory"):  # results would land inside the dataset
        preflight.dataset_inputs(dataset, workdir=tmp_path / "analysis")
