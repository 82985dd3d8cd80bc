# Judging the synthetic images: quality and memorisation against real-vs-real floors, label fidelity through the
# baseline classifier (the first model and seed of `experiment`), and one comparison of all generators.

ASSESSING_CLASSIFIER = (
    f"results/classifiers/baseline/{EXPERIMENT['models'][0]}/seed{EXPERIMENT['seeds'][0]}/model.keras"
)


rule assess_synthetic:
    input:
        synthetic=generator_instance_images,
        train="results/data/train.npz",
        val="results/data/val.npz",
        test="results/data/test.npz",
        split="results/data/split.csv",
        classifier=ASSESSING_CLASSIFIER,
    output:
        quality="results/synthetic/{generator}/quality.json",
        closest_pairs=report(
            "results/synthetic/{generator}/closest_pairs.png",
            caption="../report/closest_pairs.rst",
            category="3. Synthetic images",
            labels={"figure": "closest synthetic-training pairs", "generator": "{generator}"},
        ),
    params:
        instances=lambda wildcards: generators.instances(wildcards.generator, config),
        assess=config["assess"],
        compute=config["compute"],
        sides=SIDES,  # the classes, in label order
    threads: config["compute"]["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/assess_synthetic/{generator}.log",
    benchmark:
        "benchmarks/assess_synthetic/{generator}.tsv"
    conda:
        ENV
    script:
        "../scripts/assess_synthetic.py"


rule compare_generators:
    input:
        quality=expand("results/synthetic/{generator}/quality.json", generator=EXPERIMENT["generators"]),
        images=[path for g in EXPERIMENT["generators"] for path in generator_instance_images(g)],  # every instance's
        train="results/data/train.npz",
    output:
        table="results/synthetic/comparison.csv",
        markdown=report(
            "results/synthetic/comparison.md", caption="../report/generator_table.rst", category="3. Synthetic images"
        ),
        figure=report(
            "results/synthetic/comparison.png",
            caption="../report/generator_comparison.rst",
            category="3. Synthetic images",
        ),
    params:
        generators=EXPERIMENT["generators"],
        instances={g: generators.instances(g, config) for g in EXPERIMENT["generators"]},
        sides=SIDES,
    resources:
        mem_mb=2000,
        runtime=5,
    log:
        "logs/compare_generators.log",
    conda:
        ENV
    script:
        "../scripts/compare_generators.py"
