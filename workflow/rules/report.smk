# The answer: metrics of every run, mean and standard deviation per arm and model, the comparisons with their
# verdicts, and the figures to look at.


# Seeds until decided (experiment.max_seeds): after each look but the last, this checkpoint reads the look's
# evaluations and decides whether the positive controls and the study's question are decided; if not, the next
# look's trainings are asked for (common.smk: final_seeds). One look: never runs.
checkpoint decide_look:
    input:
        metrics=look_run_files("metrics.json"),
        predictions=look_run_files("predictions.csv"),
    output:
        decision="results/summary/looks/look{look}.json",
    params:
        experiment=EXPERIMENT,
        arms=ARM_NAMES,
        synthetic_ratio=SYNTHETIC_RATIO,
        looks=LOOKS,
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/decide_look/look{look}.log",
    conda:
        ENV
    script:
        "../scripts/decide_look.py"


rule summarize_results:
    input:
        unpack(generator_quality_reports),
        metrics=run_files("metrics.json"),
        predictions=run_files("predictions.csv"),
        histories=histories,
        looks=look_decisions,
        split="results/data/split.csv",
        ground_truth=ground_truth(),
    output:
        metrics="results/summary/metrics.csv",
        table="results/summary/table.csv",
        markdown=report("results/summary/table.md", caption="../report/table.rst", category="5. Summary"),
        comparison="results/summary/comparison.csv",
        best_seed="results/summary/best_seed.csv",
        figure=report(
            "results/summary/auc_by_arm.png", caption="../report/auc_by_arm.rst", category="5. Summary"
        ),
        forest=report("results/summary/forest.png", caption="../report/forest.rst", category="5. Summary"),
        dose_response=report(
            "results/summary/dose_response.png", caption="../report/dose_response.rst", category="5. Summary"
        ),
        learning_curve=report(
            "results/summary/learning_curve.png", caption="../report/learning_curve.rst", category="5. Summary"
        ),
        validation=report(
            "results/summary/validation_curves.png", caption="../report/validation_curves.rst", category="5. Summary"
        ),
    params:
        experiment=EXPERIMENT,
        arms=ARM_NAMES,
        synthetic_ratio=SYNTHETIC_RATIO,
        looks=LOOKS,
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/summarize_results.log",
    benchmark:
        "benchmarks/summarize_results.tsv"
    conda:
        ENV
    script:
        "../scripts/summarize_results.py"
