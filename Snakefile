# synthaug: does adding GAN-synthesised images to classic augmentation make a classifier better?
# This file is the table of contents; each stage lives in workflow/rules/<stage>.smk,
# its scripts in workflow/scripts/ and all logic in the synthaug package under workflow/synthaug/.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


# First: the config is checked (schema with clear messages, then model sizes and the dataset folder) and its
# defaults filled in, before any rule is defined.
include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/augment.smk"
include: "workflow/rules/gan.smk"
include: "workflow/rules/quality.smk"
include: "workflow/rules/tune.smk"
include: "workflow/rules/classify.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/oracle.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/paper.smk"


# Cheap bookkeeping runs on the submitting machine, not as cluster jobs.
localrules:
    all,
    split_cases,
    check_reserve_counts,
    summarize_results,
    compare_generators,
    tabulate_paper,


rule all:
    input:
        "results/data/summary.png",
        "results/summary/table.md",
        "results/summary/auc_by_arm.png",
        "results/summary/forest.png",
        "results/summary/dose_response.png",
        "results/summary/learning_curve.png",
        confusion_matrices,
        generator_assessments(),
        synthetic_counts(),
        reserve_counts(),
        paper_table(),
    default_target: True
