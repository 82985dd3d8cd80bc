"""Rule summarize_results: every run's metrics, mean ± sd per arm and model, the comparisons (the study's question
first, then each GAN arm against its base and its equal-count controls, augmentation, TSTR) with both sources of
variance, Holm-level intervals and verdicts, overfitting, power and the design table, and the figures.
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
    comparison_pairs,
    design_table,
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
    alpha, power, margin = (smk.params.experiment[k] for k in ("alpha", "power", "margin"))
    metrics = read_run_metrics(smk.input.metrics)
    predictions = read_predictions(smk.input.predictions)
    ground_truth = smk.input.get("ground_truth")
    ceiling = bayes_ceiling(smk.input.split, ground_truth) if ground_truth else None
    n_real = n_training_images(smk.input.split)
    table = summary_table(metrics, arms, models)
    pairs = comparison_pairs(arms, smk.params.synthetic_ratio)
    comparison = compare(metrics, predictions, pairs, models, alpha, power, margin)
    overfitting = overfitting_table(metrics, arms, models, alpha, margin)
    design = design_table(comparison, int(metrics["n_test"].iloc[0]), margin)
    notes = [f"`{kind}` needs the phantom (only it can simulate more patients) and did not run on this dataset."
             for kind in smk.params.experiment["arms"] if kind not in {a.split("-")[0] for a in arms}]

    write_csv(metrics, smk.output.metrics)
    write_csv(table, smk.output.table)
    write_csv(comparison, smk.output.comparison)
    write_csv(best_seeds(metrics), smk.output.best_seed)
    write_text(markdown_report(table, comparison, overfitting, design, best_seeds(metrics), n_real=n_real,
                               ceiling=ceiling, alpha=alpha, power=power, margin=margin, notes=notes),
               smk.output.markdown)
    save_figure(auc_by_arm_figure(metrics, arms, models, ceiling), smk.output.figure)
    save_figure(forest_figure(comparison, models, margin), smk.output.forest)
    save_figure(dose_response_figure(table, models, n_real, ceiling), smk.output.dose_response)
    save_figure(learning_curve_figure(table, models, n_real, ceiling), smk.output.learning_curve)
    save_figure(validation_curves_figure(read_histories(smk.input.histories), arms, models), smk.output.validation)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
