# Classic augmentation of the training split only (validation and test images are never touched).


rule augment_images:
    input:
        train="results/data/train.npz",
    output:
        augmented="results/augmented/train.npz",
        grid=report(
            "results/augmented/grid.png", caption="../report/augment.rst", category="2. Augmentation", labels={"figure": "grid"}
        ),
    params:
        augment=config["augment"],
        more_copies=MORE_AUGMENTED_COPIES,
        sides=SIDES,  # the classes' names, for the grid
    threads: 4
    priority: 20  # a short step that unblocks many trainings: before the generators take a core each
    resources:
        mem_mb=8000,
        runtime=30,
    log:
        "logs/augment_images.log",
    benchmark:
        "benchmarks/augment_images.tsv"
    conda:
        ENV
    script:
        "../scripts/augment_images.py"
