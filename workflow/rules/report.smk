# The answer: metrics of every run, mean and standard deviation per arm and model, and the figures to look at.


rule summarize_results:
    input:
        metrics=all_metrics(),
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
    params:
        experiment=EXPERIMENT,
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
