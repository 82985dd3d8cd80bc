"""The Table I layout: means over seeds per row, the best seed labelled as such, rows not run, a second split."""

import numpy as np
import pandas as pd

from synthaug.paper_table import ROWS, markdown_table, paper_table


def _metrics(offset=0.0):
    rows = []
    for arm, model in [("baseline", "simple_cnn"), ("baseline", "inception_resnet_v2"),
                       ("synthetic", "inception_resnet_v2")]:
        for seed, auc in enumerate([0.6, 0.7, 0.8]):
            rows.append({"arm": arm, "model": model, "seed": seed, "train_accuracy": 0.9,
                         "accuracy": auc - 0.05 + offset, "auc": auc + offset})
    return pd.DataFrame(rows)


def test_rows_follow_table_i_with_means_best_seed_and_gaps():
    table = paper_table(_metrics())
    assert table["row"].tolist() == [r[0] for r in ROWS]
    by_model = table.set_index("row")
    assert by_model.loc["Simple CNN", "auc"] == np.mean([0.6, 0.7, 0.8])
    assert np.isclose(by_model.loc["Simple CNN", "auc_sd"], 0.1)
    best = table.iloc[-1]
    assert "best trial" in best["row"] and best["seed"] == 2 and best["auc"] == 0.8
    assert by_model.loc["Simple CNN (Optuna)", "n_seeds"] == 0
    assert list(table["study_auc"]) == [0.49, 0.50, 0.52, 0.75, 0.76, 0.89]
    text = markdown_table(table, "grouped")
    assert "not run" in text and "seed 2" in text and "0.700 ± 0.100" in text


def test_other_split_sits_beside_and_vgg16_from_scratch_is_named():
    table = paper_table(_metrics(), _metrics(offset=0.1), vgg16_pretrained=False)
    assert np.isclose(table.loc[0, "other_auc"], 0.8)
    assert "from scratch" in table.loc[2, "row"]
    text = markdown_table(table, "grouped", "random")
    assert "AUC (random split)" in text and "AUC (grouped split)" in text
