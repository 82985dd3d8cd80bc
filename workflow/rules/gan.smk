# The generators: trained on the training split only, then sampled for labelled synthetic images.
# cgan (the study's conditional GAN) and cgan_diffaug (the same networks with DiffAugment) train here; ddpm has its own rule.


rule train_gan:
    wildcard_constraints:
        generator="cgan|cgan_diffaug",
    input:
        train="results/data/train.npz",
    output:
        model="results/gan/{generator}/model.keras",
        losses="results/gan/{generator}/losses.csv",
        samples=report(
            "results/gan/{generator}/samples.png",
            caption="../report/gan.rst",
            category="3. Synthetic images",
            labels={"figure": "samples during training", "generator": "{generator}"},
        ),
    params:
        gan=config["gan"],
        checkpoint_dir="results/gan/{generator}/checkpoint",
        compute=config["compute"],
    threads: config["compute"]["threads"]
    priority: 10  # first when it can start: the synthetic arms wait for it, the other arms can run beside it
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    log:
        "logs/train_gan/{generator}.log",
    benchmark:
        "benchmarks/train_gan/{generator}.tsv"
    conda:
        ENV
    script:
        "../scripts/train_gan.py"


rule train_ddpm:
    input:
        train="results/data/train.npz",
    output:
        model="results/gan/{generator}/model.keras",
        losses="results/gan/{generator}/losses.csv",
        samples=report(
            "results/gan/{generator}/samples.png",
            caption="../report/gan.rst",
            category="3. Synthetic images",
            labels={"figure": "samples during training", "generator": "{generator}"},
        ),
    wildcard_constraints:
        generator="ddpm",
    params:
        ddpm=config["ddpm"],
        checkpoint_dir="results/gan/{generator}/checkpoint",
        compute=config["compute"],
    threads: config["compute"]["threads"]
    priority: 10  # first when it can start: the synthetic arms wait for it, the other arms can run beside it
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=1,
    log:
        "logs/train_ddpm/{generator}.log",
    benchmark:
        "benchmarks/train_ddpm/{generator}.tsv"
    conda:
        ENV
    script:
        "../scripts/train_ddpm.py"


rule synthesize_images:
    input:
        model="results/gan/{generator}/model.keras",
        train="results/data/train.npz",
    output:
        images="results/synthetic/{generator}/images.npz",
        grid_benign=report(
            "results/synthetic/{generator}/grid_benign.png",
            caption="../report/synthetic.rst",
            category="3. Synthetic images",
            labels={"figure": "synthetic benign", "generator": "{generator}"},
        ),
        grid_malignant=report(
            "results/synthetic/{generator}/grid_malignant.png",
            caption="../report/synthetic.rst",
            category="3. Synthetic images",
            labels={"figure": "synthetic malignant", "generator": "{generator}"},
        ),
    params:
        synthesize=config["synthesize"],
        ddpm=config["ddpm"],
        needed_ratio=SYNTHETIC_NEEDED,
        compute=config["compute"],
    threads: config["compute"]["threads"]
    priority: 10  # first when it can start: the synthetic arms wait for it, the other arms can run beside it
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        "logs/synthesize_images/{generator}.log",
    benchmark:
        "benchmarks/synthesize_images/{generator}.tsv"
    conda:
        ENV
    script:
        "../scripts/synthesize_images.py"
