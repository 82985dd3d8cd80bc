"""k-class classifiers, stage 2 of issue 28 item 1: a k-way softmax head when k > 2 (two classes keep the sigmoid
unit), trained with sparse categorical cross-entropy, chosen on the validation macro one-vs-rest AUC; predictions
tables hold one probability column per class. Checked against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

keras = pytest.importorskip("keras")

from synthaug.errors import DataError  # noqa: E402
from synthaug.metrics import (  # noqa: E402
    confusion_table,
    predictions_table,
    require_both_classes,
    validation_scores,
)
from synthaug.pretrain import STAGES  # noqa: E402
from synthaug.models.classifiers import build_classifier, compile_classifier, n_outputs  # noqa: E402
from synthaug.train import HISTORY_COLUMNS, predict  # noqa: E402
from synthaug.transfer import train_run  # noqa: E402

SIZE, K = 32, 3


def _data(n, seed, k=K):
    """Noise with a bright square in one of k places: the place is the class."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    images = rng.random((n, SIZE, SIZE, 3)).astype(np.float32) * 0.5
    for i, label in enumerate(labels):
        y, x = divmod(int(label), 2)
        images[i, 4 + 14 * y : 14 + 14 * y, 4 + 14 * x : 14 + 14 * x] += 0.5
    return images, labels


def _settings(epochs=4):
    return {"epochs": epochs, "batch_size": 16, "learning_rate": 2e-3, "patience": 5, "weights": {},
            "pretrain": {"epochs": 1, "learning_rate": 2e-3}}


def test_k_classes_get_a_softmax_head_and_two_keep_the_sigmoid_unit():
    model = build_classifier("simple_cnn", SIZE, learning_rate=1e-3, n_classes=K)
    assert model.output_shape == (None, K) and n_outputs(model) == K
    images, _ = _data(8, 0)
    p = predict(model, images)
    assert p.shape == (8, K) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    binary = build_classifier("simple_cnn", SIZE, learning_rate=1e-3)
    assert binary.output_shape == (None, 1) and binary.layers[-1].name == "p_malignant" and n_outputs(binary) == 2
    assert predict(binary, images).shape == (8,)
    compile_classifier(model, 1e-3)  # a second stage recompiles it for its own k
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    compile_classifier(binary, 1e-3)
    assert isinstance(binary.loss, keras.losses.BinaryCrossentropy)


def test_validation_scores_match_scikit_learn():
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 4
    p = rng.dirichlet(np.ones(4), 60) + np.eye(4)[labels] * 0.3
    p /= p.sum(axis=1, keepdims=True)
    scores = validation_scores(labels, p)
    assert scores["loss"] == pytest.approx(log_loss(labels, p), rel=1e-6)
    assert scores["accuracy"] == pytest.approx(accuracy_score(labels, p.argmax(axis=1)))
    assert scores["auc"] == pytest.approx(roc_auc_score(labels, p, multi_class="ovr", average="macro"))
    binary = validation_scores(labels % 2, p[:, 1])
    assert binary["auc"] == pytest.approx(roc_auc_score(labels % 2, p[:, 1]))
    assert binary["loss"] == pytest.approx(log_loss(labels % 2, p[:, 1]), rel=1e-6)


def test_a_k_class_run_trains_chooses_its_epoch_on_macro_auc_and_learns(tmp_path):
    train, val = _data(96, 1), _data(48, 2)
    model, history = train_run("simple_cnn", train, val, settings=_settings(), seed=0, checkpoint_dir=tmp_path / "c",
                               threads=2, n_classes=K)
    assert list(history.columns) == list(HISTORY_COLUMNS) and len(history) >= 1
    assert history["val_auc"].between(0, 1).all() and history["val_accuracy"].between(0, 1).all()
    p = predict(model, val[0])
    assert p.shape == (48, K)
    best = history["val_auc"].max()
    assert roc_auc_score(val[1], p, multi_class="ovr") == pytest.approx(best, abs=1e-6)  # the kept epoch's
    assert best > 0.8  # the square's place is easy to learn


def test_a_k_class_pretrain_run_keeps_its_head_through_both_stages(tmp_path):
    train, val = _data(48, 3), _data(24, 4)
    model, history = train_run("simple_cnn", train, val, settings=_settings(epochs=1), seed=0,
                               checkpoint_dir=tmp_path / "p", threads=2, pretraining=_data(32, 5), n_classes=K)
    assert model.output_shape == (None, K)
    assert history["stage"].tolist() == [STAGES[0], STAGES[1]]  # one epoch each
    assert predict(model, val[0]).shape == (24, K)


def test_predictions_hold_one_probability_column_per_class():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    table = predictions_table(["a", "b", "c"], [0, 2, 0], p, names=("disc", "square", "cross"))
    assert list(table.columns) == ["case_id", "label", "probability_disc", "probability_square", "probability_cross",
                                   "prediction"]
    assert table["prediction"].tolist() == [0, 2, 1]
    np.testing.assert_allclose(table.iloc[:, 2:5].to_numpy(), p)
    binary = predictions_table(["a", "b"], [0, 1], np.array([0.2, 0.7]))
    assert list(binary.columns) == ["case_id", "label", "probability", "prediction"]


def test_confusion_table_and_class_checks_take_k_classes():
    table = confusion_table([[3, 1, 0], [0, 4, 0], [1, 1, 2]], names=("a", "b", "c"))
    assert table["true_class"].tolist() == ["a", "b", "c"]
    assert table[["predicted_a", "predicted_b", "predicted_c"]].to_numpy().tolist() == [[3, 1, 0], [0, 4, 0],
                                                                                     [1, 1, 2]]
    np.testing.assert_allclose(table[["percent_predicted_a", "percent_predicted_b", "percent_predicted_c"]].sum(axis=1),
                               100)
    require_both_classes(np.array([0, 1, 2, 1]), "val.npz", 3)
    with pytest.raises(DataError, match="all 3 classes"):
        require_both_classes(np.array([0, 1, 1]), "val.npz", 3)


def test_tuning_trials_train_k_class_networks_scored_by_macro_auc(tmp_path, monkeypatch):
    optuna = pytest.importorskip("optuna")
    from synthaug import tune
    from synthaug.tune import run_worker

    built = []

    def recording(*args, **kwargs):
        built.append(build_classifier(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(tune, "build_classifier", recording)

    space = {"learning_rate": {"low": 1e-3, "high": 3e-3, "log": True}, "dropout": {"low": 0.0, "high": 0.2,
             "log": False}, "activation": ["relu"], "filters": [4], "dense_units": [8], "batch_size": [16]}
    settings = {"n_trials": 2, "workers": 1, "epochs": 1, "seed": 0, "search_space": space,
                "pruner": {"startup_trials": 5, "warmup_epochs": 0}}
    trials = run_worker(_data(48, 6), _data(24, 7), settings=settings, classifier=_settings(), model="simple_cnn",
                        worker=0, journal=tmp_path / "study.log", threads=2, n_classes=K)
    assert len(trials) == 2 and (trials["state"] == optuna.trial.TrialState.COMPLETE.name).all()
    assert trials["value"].between(0, 1).all()
    assert [model.output_shape for model in built] == [(None, K), (None, K)]
