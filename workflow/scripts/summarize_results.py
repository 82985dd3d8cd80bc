"""Rule summarize_results: every run's metrics, mean ± sd per arm and model, the comparisons with baseline and with
the equal-count controls (both sources of variance, Holm, verdicts), overfitting, power, and the figures.
"""

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
    compare,
    comparison_table,
    control_pairs,
    design_power,
    n_training_images,
    overfitting_table,
    read_histories,
    read_predictions,
    read_run_metrics,
    summary_table,
)
from synthaug.summary_markdown import markdown_report


def main(smk):
    arms, models = smk.params.arms, smk.params.experiment["models"]
    alpha, power = smk.params.experiment["alpha"], smk.params.experiment["power"]
    metrics = read_run_metrics(smk.input.metrics)
    predictions = read_predictions(smk.input.predictions)
    ground_truth = smk.input.get("ground_truth")
    ceiling = bayes_ceiling(smk.input.split, ground_truth) if ground_truth else None
    n_real = n_training_images(smk.input.split)
    table = summary_table(metrics, arms, models)
    comparison = comparison_table(metrics, predictions, arms, models, alpha, power)
    controls = compare(metrics, predictions, control_pairs(arms), models, alpha, power)
    overfitting = overfitting_table(metrics, arms, models)
    power_table = design_power(comparison, alpha, power)
    notes = [f"`{kind}` needs the phantom (only it can simulate more patients) and did not run on this dataset."
             for kind in smk.params.experiment["arms"] if kind not in {a.split("-")[0] for a in arms}]

    write_csv(metrics, smk.output.metrics)
    write_csv(table, smk.output.table)
    write_csv(comparison, smk.output.comparison)
    write_csv(controls, smk.output.controls)
    write_csv(best_seeds(metrics), smk.output.best_seed)
    write_text(markdown_report(table, comparison, controls, overfitting, power_table, best_seeds(metrics),
                               n_real=n_real, ceiling=ceiling, alpha=alpha, power=power, notes=notes),
               smk.output.markdown)
    save_figure(auc_by_arm_figure(metrics, arms, models, ceiling), smk.output.figure)
    save_figure(forest_figure(comparison, models), smk.output.forest)
    save_figure(dose_response_figure(table, models, n_real, ceiling), smk.output.dose_response)
    save_figure(learning_curve_figure(table, models, n_real, ceiling), smk.output.learning_curve)
    save_figure(validation_curves_figure(read_histories(smk.input.histories), arms, models), smk.output.validation)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
