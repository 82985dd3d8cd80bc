"""The dataset's summary figure: the study's pie chart of pathologies, and counts per CBIS-DDSM source split."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..constants import PATHOLOGIES, SOURCE_SPLITS

COLOURS = {"MALIGNANT": "#c0392b", "BENIGN": "#2e86c1", "BENIGN_WITHOUT_CALLBACK": "#85c1e9"}


def dataset_summary(cases):
    """Pie of pathologies over all cases (left) and grouped bars of pathology x source split (right)."""
    counts = cases.groupby(["pathology", "source_split"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=list(PATHOLOGIES), columns=list(SOURCE_SPLITS), fill_value=0)
    fig, (pie, bars) = plt.subplots(1, 2, figsize=(10, 4))
    totals = counts.sum(axis=1)
    shown = totals[totals > 0]
    pie.pie(shown, labels=[p.replace("_", " ").lower() for p in shown.index], autopct="%1.1f%%",
            colors=[COLOURS[p] for p in shown.index], startangle=90, counterclock=False)
    pie.set_title(f"Pathology of {len(cases)} abnormality images")
    width = 0.8 / len(counts)
    for i, pathology in enumerate(counts.index):
        x = [j + (i - (len(counts) - 1) / 2) * width for j in range(len(counts.columns))]
        rects = bars.bar(x, counts.loc[pathology], width, label=pathology.replace("_", " ").lower(), color=COLOURS[pathology])
        bars.bar_label(rects, fontsize=8)
    bars.set_xticks(range(len(counts.columns)), [f"source {s}" for s in counts.columns])
    bars.set_ylabel("images")
    bars.set_title("Images per CBIS-DDSM source split")
    bars.legend(fontsize=8)
    fig.tight_layout()
    return fig
