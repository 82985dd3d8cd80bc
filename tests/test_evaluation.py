"""Rule evaluate_classifier reads the kept model's predictions (predictions.npz) instead of loading the model: it
starts no Keras, and a predictions file written for other data stops it with a message naming both files."""

import subprocess
import sys

import numpy as np
import pytest

from synthaug.errors import DataError
from synthaug.evaluation import load_predictions
from synthaug.io import save_arrays
from workflow_helpers import REPO

TEST = {"labels": np.array([0, 1, 0, 1]), "case_ids": np.array(["a", "b", "c", "d"])}
VAL, TRAIN = {"labels": np.array([0, 1, 1])}, {"labels": np.array([0, 1, 0, 1, 1])}


def _write(path, case_ids=TEST["case_ids"], n_val=3, n_train=5):
    rng = np.random.default_rng(0)
    save_arrays(path, p_train=rng.random(n_train, np.float32), p_val=rng.random(n_val, np.float32),
                p_test=rng.random(len(case_ids), np.float32), case_ids=np.asarray(case_ids))
    return path


# Scripts of rules that need no model: each job would pay Keras's start-up (seconds of CPU) for nothing.
WITHOUT_KERAS = ("evaluate_classifier", "compare_generators", "gather_tuning")


def test_the_scripts_that_need_no_model_import_no_keras_nor_any_backend():
    # Each script's own imports, in a fresh interpreter (this one has Keras loaded by conftest); all in one.
    code = ("import ast, sys\n"
            f"for script in {WITHOUT_KERAS!r}:\n"
            f"    tree = ast.parse(open({str(REPO / 'workflow/scripts')!r} + f'/{{script}}.py').read())\n"
            "    for node in tree.body:\n"
            "        if isinstance(node, (ast.Import, ast.ImportFrom)):\n"
            "            exec(compile(ast.Module([node], []), script, 'exec'))\n"
            "    print(script, sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines() == [f"{script} []" for script in WITHOUT_KERAS]
    scripts = [(REPO / "workflow/scripts" / f"{script}.py").read_text() for script in WITHOUT_KERAS]
    assert not any("use_backend" in text for text in scripts)


def test_the_predictions_are_read_for_their_own_test_cases(tmp_path):
    p = load_predictions(_write(tmp_path / "predictions.npz"), TEST, "test.npz", VAL, TRAIN)
    assert set(p) == {"p_train", "p_val", "p_test"} and len(p["p_test"]) == 4


def test_predictions_of_other_test_cases_name_both_files(tmp_path):
    path = _write(tmp_path / "predictions.npz", case_ids=["a", "b", "d", "c"])
    with pytest.raises(DataError, match=r"predictions\.npz: its test cases are not those of results/data/test\.npz"):
        load_predictions(path, TEST, "results/data/test.npz", VAL, TRAIN)


def test_predictions_for_another_number_of_validation_images_stop(tmp_path):
    with pytest.raises(DataError, match="2 val predictions for 3 val images"):
        load_predictions(_write(tmp_path / "predictions.npz", n_val=2), TEST, "test.npz", VAL, TRAIN)


def test_the_evaluation_reads_only_the_labels_and_case_ids_of_a_bundle(tmp_path):
    from synthaug.io import load_arrays

    path = tmp_path / "test.npz"
    save_arrays(path, images=np.zeros((4, 8, 8, 3), np.float32), **TEST)
    assert set(load_arrays(path, required=("labels", "case_ids"), only_required=True)) == {"labels", "case_ids"}
    assert set(load_arrays(path, required=("labels",))) == {"images", "labels", "case_ids"}
    with pytest.raises(DataError, match="missing arrays"):
        load_arrays(path, required=("labels", "p_test"), only_required=True)
