# The study's Table I layout (paper_table.enabled, on in presets/paper.yaml), beside the study's own figures.


rule tabulate_paper:
    input:
        unpack(paper_other_split),
        metrics="results/summary/metrics.csv",
    output:
        table="results/summary/paper_table.csv",
        markdown=report("results/summary/paper_table.md", caption="../report/paper_table.rst", category="5. Summary"),
    params:
        vgg16_pretrained=config["classifier"]["weights"].get("vgg16") is not None,
        split=config["split"]["strategy"],
        synthetic_ratio=SYNTHETIC_RATIO,  # the CGAN rows take synthetic-cgan-r{ratio}
        other_split="other run's",
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/tabulate_paper.log",
    conda:
        ENV
    script:
        "../scripts/tabulate_paper.py"
