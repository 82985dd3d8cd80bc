"""Checkpoint decide_look: after a look of seeds until decided, are the positive controls and the study's question
decided? Writes results/summary/looks/look{k}.json (stop, reason, seeds); the workflow asks for the next look's
trainings only when stop is false (workflow/rules/common.smk: final_seeds)."""

import logging

from synthaug.io import run_logged, write_json
from synthaug.summary import experiment_comparison, look_decision, read_predictions, read_run_metrics

log = logging.getLogger("synthaug")


def main(smk):
    look = int(smk.wildcards.look)
    metrics = read_run_metrics(smk.input.metrics)
    comparison = experiment_comparison(metrics, read_predictions(smk.input.predictions), smk.params.arms,
                                       smk.params.experiment, smk.params.synthetic_ratio, smk.params.looks)
    decision = look_decision(comparison)
    log.info("look %d (%d seeds): %s -> %s", look, len(smk.params.looks[look - 1]), decision["reason"],
             "stop" if decision["stop"] else "add seeds")
    write_json({**decision, "look": look, "seeds": smk.params.looks[look - 1]}, smk.output.decision)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
