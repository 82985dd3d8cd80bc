"""Rule tabulate_paper: the run's results as the study's Table I, the study's figures beside them."""

from synthaug.io import read_csv, run_logged, write_csv, write_text
from synthaug.paper_table import markdown_table, paper_table
from synthaug.summary import kclass_names

COLUMNS = ("arm", "model", "seed", "train_accuracy", "accuracy", "auc")


def main(smk):
    metrics = read_csv(smk.input.metrics, required=COLUMNS)
    other = read_csv(smk.input.other, required=COLUMNS) if "other" in smk.input.keys() else None
    table = paper_table(metrics, other, vgg16_pretrained=smk.params.vgg16_pretrained,
                        synthetic_ratio=smk.params.synthetic_ratio)
    write_csv(table, smk.output.table)
    write_text(markdown_table(table, smk.params.split, smk.params.other_split if other is not None else None,
                              classes=kclass_names(metrics.columns)), smk.output.markdown)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
