"""The dataset's summary figure: the study's pie chart of pathologies (or classes), and counts per source split."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..constants import PATHOLOGIES, SOURCE_SPLITS

COLOURS = {"MALIGNANT": "#c0392b", "BENIGN": "#2e86c1", "BENIGN_WITHOUT_CALLBACK": "#85c1e9"}


def dataset_summary(cases):
    """Pie of pathologies over all cases (left) and grouped bars of pathology x source split (right).

    CBIS-DDSM's three pathologies come in their fixed order and colours; an image-folder dataset's class folders
    (its ``pathology``) follow, sorted, in reds (positive side) and blues (negative side). Cases without a source
    split are counted under "none".
    """
    source = cases["source_split"].fillna("").replace("", "none")
    counts = cases.assign(source_split=source).groupby(["pathology", "source_split"]).size().unstack(fill_value=0)
    present = set(counts.index)
    order = [p for p in PATHOLOGIES if p in present] + sorted(present - set(PATHOLOGIES))
    known = list(SOURCE_SPLITS) if not len(cases) or present <= set(PATHOLOGIES) else []
    columns = known + [s for s in ("train", "val", "test", "none") if s in counts.columns and s not in known]
    columns += sorted(set(counts.columns) - set(columns))
    counts = counts.reindex(index=order or list(PATHOLOGIES), columns=columns or list(SOURCE_SPLITS), fill_value=0)
    label_of = cases.groupby("pathology")["label"].first() if len(cases) else {}
    colours = _colours(counts.index, label_of)
    fig, (pie, bars) = plt.subplots(1, 2, figsize=(10, 4))
    totals = counts.sum(axis=1)
    shown = totals[totals > 0]
    pie.pie(shown, labels=[p.replace("_", " ").lower() for p in shown.index], autopct="%1.1f%%",
            colors=[colours[p] for p in shown.index], startangle=90, counterclock=False)
    pie.set_title(f"{'Pathology' if set(counts.index) <= set(PATHOLOGIES) else 'Class folder'} of {len(cases)} images")
    width = 0.8 / len(counts)
    for i, pathology in enumerate(counts.index):
        x = [j + (i - (len(counts) - 1) / 2) * width for j in range(len(counts.columns))]
        rects = bars.bar(x, counts.loc[pathology], width, label=pathology.replace("_", " ").lower(), color=colours[pathology])
        bars.bar_label(rects, fontsize=8)
    bars.set_xticks(range(len(counts.columns)), [f"source {s}" for s in counts.columns])
    bars.set_ylabel("images")
    bars.set_title("Images per source split")
    bars.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _colours(pathologies, label_of) -> dict:
    """CBIS-DDSM's fixed colours; other classes in shades of red (label 1) or blue (label 0), and of further colours
    for the labels of a k-class dataset (2, 3, ...)."""
    colours = {}
    others = [p for p in pathologies if p not in COLOURS]
    extra = sorted({int(label_of.get(p, 0)) for p in others} - {0, 1})
    maps = ("Greens", "Purples", "Oranges", "Greys", "YlOrBr", "BuGn", "PuRd", "GnBu")
    for label, cmap in ((1, plt.get_cmap("Reds")), (0, plt.get_cmap("Blues")),
                        *((lab, plt.get_cmap(maps[i % len(maps)])) for i, lab in enumerate(extra))):
        side = [p for p in others if label_of.get(p, 0) == label]
        for i, pathology in enumerate(side):
            colours[pathology] = cmap(0.75 - 0.4 * i / max(len(side), 1))
    return {p: COLOURS.get(p, colours.get(p)) for p in pathologies}
