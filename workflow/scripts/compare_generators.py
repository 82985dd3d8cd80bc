"""Rule compare_generators: real vs each generator's images per class side by side, and the metrics of every
generator with their real-vs-real floors (``comparison.csv`` long format, ``comparison.md`` overall table).
It reads images and quality.json files only: no Keras is started here (tests/test_evaluation.py).
"""

import json

import pandas as pd

from synthaug.io import load_arrays, run_logged, write_csv, write_text
from synthaug.plots.common import save_figure
from synthaug.plots.gan import generator_comparison
from synthaug.quality import comparison_markdown, summary_rows


def main(smk):
    generators = smk.params.generators
    reports = {g: json.loads(open(path).read()) for g, path in zip(generators, smk.input.quality)}
    rows = [row for g, report in reports.items() for row in summary_rows(g, report)]
    write_csv(pd.DataFrame(rows), smk.output.table)
    write_text(comparison_markdown(reports), smk.output.markdown)
    real = load_arrays(smk.input.train, required=("images", "labels"))
    # One row per trained instance (experiment.generator_seeds), in the order of smk.input.images.
    names = [f"{g} i{k}" if len(smk.params.instances[g]) > 1 else g
             for g in generators for k in smk.params.instances[g]]
    generated = {name: load_arrays(path, required=("images", "labels")) for name, path in zip(names, smk.input.images)}
    save_figure(generator_comparison(real, generated, names=smk.params.sides), smk.output.figure)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
