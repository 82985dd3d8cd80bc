"""Rule summarize_results: every run's metrics, mean ± sd per arm and model, the comparisons in their testing order
(positive controls, the study's question, the rest) at each look of seeds until decided, with both sources of
variance and the interval that decides each verdict, each generator's quality beside its rows, overfitting, power
and the design table, and the figures.
"""

import json
from pathlib import Path

from synthaug.io import run_logged, write_csv, write_text
from synthaug.plots.common import save_figure
from synthaug.plots.evaluation import auc_by_arm_figure
from synthaug.plots.evidence import (
    dose_response_figure,
    forest_figure,
    learning_curve_figure,
    validation_curves_figure,
)
from synthaug.summary import (
    bayes_ceiling,
    best_seeds,
    design_table,
    experiment_comparison,
    looks_summary,
    n_training_images,
    overfitting_table,
    read_histories,
    read_predictions,
    read_run_metrics,
    summary_table,
    with_generator_quality,
)
from synthaug.summary_markdown import markdown_report


def main(smk):
    arms, experiment = smk.params.arms, smk.params.experiment
    models = experiment["models"]
    metrics = read_run_metrics(smk.input.metrics)
    predictions = read_predictions(smk.input.predictions)
    ground_truth = smk.input.get("ground_truth")
    ceiling = bayes_ceiling(smk.input.split, ground_truth) if ground_truth else None
    n_real = n_training_images(smk.input.split)
    table = summary_table(metrics, arms, models)
    comparison = experiment_comparison(metrics, predictions, arms, experiment, smk.params.synthetic_ratio,
                                       smk.params.looks)  # fmt: skip
    reports = {key.removeprefix("quality_"): json.loads(Path(path).read_text())
               for key, path in smk.input.items() if key.startswith("quality_")}  # fmt: skip
    comparison, quality = with_generator_quality(comparison, reports)
    decisions = [json.loads(Path(path).read_text()) for path in smk.input.looks]
    looks = looks_summary(comparison, decisions, smk.params.looks, experiment["spending"])
    design = design_table(comparison, int(metrics["n_test"].iloc[0]), experiment["margin"])
    best = best_seeds(metrics)

    write_csv(metrics, smk.output.metrics)
    write_csv(table, smk.output.table)
    write_csv(comparison, smk.output.comparison)
    write_csv(best, smk.output.best_seed)
    write_text(markdown_report(table, comparison, overfitting_table(metrics, arms, models), design, best,
                               n_real=n_real, ceiling=ceiling, alpha=experiment["alpha"], power=experiment["power"],
                               margin=experiment["margin"], quality=quality, looks=looks),
               smk.output.markdown)  # fmt: skip
    save_figure(auc_by_arm_figure(metrics, arms, models, ceiling), smk.output.figure)
    save_figure(forest_figure(comparison, models, experiment["margin"]), smk.output.forest)
    save_figure(dose_response_figure(table, models, n_real, ceiling), smk.output.dose_response)
    save_figure(learning_curve_figure(table, models, n_real, ceiling), smk.output.learning_curve)
    save_figure(validation_curves_figure(read_histories(smk.input.histories), arms, models), smk.output.validation)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
