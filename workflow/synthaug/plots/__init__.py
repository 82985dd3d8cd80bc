"""Figures, one module per stage: data, augment, gan, evaluation. All use :func:`save_figure` for whole-or-nothing writes."""
