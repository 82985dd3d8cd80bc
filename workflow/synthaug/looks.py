"""Seeds until decided: which seeds each look trains (no numpy: the Snakefile imports this to build the DAG).

The first look trains ``experiment.seeds``; each further look adds ``experiment.seeds_per_look`` seeds (default: as
many as the first), continuing after the largest seed, until ``experiment.max_seeds`` (default: one look). Rule
``decide_look`` (a Snakemake checkpoint) reads the evaluations of a look and says whether the positive controls and
the study's question are decided; only then does the workflow ask for the next look's trainings or the summary.
"""

from __future__ import annotations

def planned_looks(experiment: dict) -> list[list[int]]:
    """The seeds of every planned look, cumulative: ``[[0, 1, 2, 3, 4], [0, ..., 9], ...]``. A cap at or below the
    first look's number of seeds means one look (a config that lists more seeds than max_seeds runs them all)."""
    first = list(experiment["seeds"])
    cap = experiment.get("max_seeds") or len(first)
    step = experiment.get("seeds_per_look") or len(first)
    looks, next_seed = [first], max(first) + 1
    while len(looks[-1]) < cap:
        added = list(range(next_seed, next_seed + min(step, cap - len(looks[-1]))))
        looks.append(looks[-1] + added)
        next_seed += len(added)
    return looks
