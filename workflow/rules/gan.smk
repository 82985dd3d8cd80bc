# The generators (synthaug.generators): the built-in ones trained on the training split only, then every one sampled
# for labelled synthetic images (an external set's images are read from its folder, never written). First, as soon as
# the split is known, a cheap check that every generator can supply what the arms draw.


rule check_synthetic_counts:
    input:
        split="results/data/split.csv",
    output:
        counts="results/synthetic/counts.json",
    params:
        arms=ARM_NAMES,
        needed_ratio=SYNTHETIC_NEEDED,
        synthesize=config["synthesize"],
        external=EXTERNAL_COUNTS,
        sides=SIDES,
    localrule: True
    # Before everything else that becomes ready with it (preprocess_images, which every training waits for): a failed
    # check stops the run before any generator or classifier starts. Not an input of those jobs: a changed check
    # (other arms) must not retrain them, and Snakemake plans nothing downstream of a rerun ancient() input.
    priority: 100
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/check_synthetic_counts.log",
    conda:
        ENV
    script:
        "../scripts/check_synthetic_counts.py"


# Each built-in generator is trained once per experiment.generator_seeds entry k (instance i{k}, seed gan.seed + k or
# ddpm.seed + k); an external set is one instance, i0 (synthaug.generators.instances).
rule train_generator:
    wildcard_constraints:
        generator="|".join(generators.trained()),
    input:
        train="results/data/train.npz",
    output:
        model="results/gan/{generator}/i{instance}/model.keras",
        losses="results/gan/{generator}/i{instance}/losses.csv",
        kid="results/gan/{generator}/i{instance}/kid.csv",
        samples=report(
            "results/gan/{generator}/i{instance}/samples.png",
            caption="../report/gan.rst",
            category="3. Synthetic images",
            labels={"figure": "samples during training", "generator": "{generator}", "instance": "{instance}"},
        ),
    params:
        module=generator_module,
        options=generator_options,
        checkpoint_dir="results/gan/{generator}/i{instance}/checkpoint",
        compute=config["compute"],
        sides=SIDES,
    threads: config["compute"]["threads"]
    priority: 10  # first when it can start: the synthetic arms wait for it, the other arms can run beside it
    resources:
        mem_mb=8000,
        runtime=generator_runtime,
        gpu=1,
    log:
        "logs/train_generator/{generator}/i{instance}.log",
    benchmark:
        "benchmarks/train_generator/{generator}/i{instance}.tsv"
    conda:
        ENV
    script:
        "../scripts/train_generator.py"


rule synthesize_images:
    input:
        source=generator_source,
        train="results/data/train.npz",
    output:
        images="results/synthetic/{generator}/i{instance}/images.npz",
        # One grid per class, in label order (two for a binary dataset, k for k classes).
        grids=[
            report(
                f"results/synthetic/{{generator}}/i{{instance}}/grid_{name}.png",
                caption="../report/synthetic.rst",
                category="3. Synthetic images",
                labels={"figure": f"synthetic {name}", "generator": "{generator}", "instance": "{instance}"},
            )
            for name in SIDES
        ],
    params:
        module=generator_module,
        options=generator_options,
        synthesize=config["synthesize"],
        needed_ratio=SYNTHETIC_NEEDED,
        compute=config["compute"],
    threads: config["compute"]["threads"]
    priority: 10  # first when it can start: the synthetic arms wait for it, the other arms can run beside it
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        "logs/synthesize_images/{generator}/i{instance}.log",
    benchmark:
        "benchmarks/synthesize_images/{generator}/i{instance}.tsv"
    conda:
        ENV
    script:
        "../scripts/synthesize_images.py"
