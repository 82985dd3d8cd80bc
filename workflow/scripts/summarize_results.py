"""Rule summarize_results: every run's metrics, mean ± sd per arm and model, the comparison with baseline,
the best seeds (labelled as best-of-trials), the phantom's Bayes-optimal ceiling, and the AUC-by-arm figure.
"""

from synthaug.io import run_logged, write_csv, write_text
from synthaug.plots.common import save_figure
from synthaug.plots.evaluation import auc_by_arm_figure
from synthaug.summary import (
    bayes_ceiling,
    best_seeds,
    comparison_table,
    markdown_report,
    read_run_metrics,
    summary_table,
)


def main(smk):
    arms, models = smk.params.experiment["arms"], smk.params.experiment["models"]
    metrics = read_run_metrics(smk.input.metrics)
    ground_truth = smk.input.get("ground_truth")
    ceiling = bayes_ceiling(smk.input.split, ground_truth) if ground_truth else None
    table = summary_table(metrics, arms, models)
    comparison = comparison_table(metrics, arms, models)
    best = best_seeds(metrics)

    write_csv(metrics, smk.output.metrics)
    write_csv(table, smk.output.table)
    write_csv(comparison, smk.output.comparison)
    write_csv(best, smk.output.best_seed)
    write_text(markdown_report(table, comparison, best, ceiling), smk.output.markdown)
    save_figure(auc_by_arm_figure(metrics, arms, models, ceiling), smk.output.figure)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
