"""What every figure shares: a headless backend and atomic saving."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: workflow jobs have no display

import matplotlib.pyplot as plt  # noqa: E402

from ..io import atomic_path  # noqa: E402

DPI = 120


def save_figure(fig, path) -> None:
    """Write ``fig`` as PNG to ``path`` whole or not at all, then free it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png")
    plt.close(fig)


def image_grid(images, rows: int, cols: int, titles=None, row_labels=None, size: float = 1.4):
    """A rows x cols grid of images (H, W, C) in [0, 1] without axes; returns the figure."""
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images):
            ax.imshow(images[i].clip(0, 1), cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    if row_labels is not None:
        for r, label in enumerate(row_labels):
            axes[r, 0].text(-0.08, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig
