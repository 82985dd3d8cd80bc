"""Rule gather_tuning: once every worker is done, the study's best parameters, all its trials and its figures.
It reads the study's journal only: no Keras is started here (tests/test_evaluation.py)."""

from synthaug.io import run_logged, write_csv, write_json
from synthaug.plots.common import save_figure
from synthaug.tune import best_params, finished_trials, history_figure, importance_figure, open_study, trials_table


def main(smk):
    study = open_study(smk.params.journal, smk.wildcards.model)
    write_csv(trials_table(finished_trials(study)), smk.output.trials)
    write_json(best_params(study, smk.params.journal), smk.output.best_params)
    save_figure(history_figure(study), smk.output.history)
    save_figure(importance_figure(study), smk.output.importances)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
