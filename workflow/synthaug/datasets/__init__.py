"""Dataset adapters: each reads one on-disk layout into the canonical case table (see :mod:`.tables`).

``load_cases`` picks the adapter named by ``dataset.name``; the phantom is written in TCIA's DICOM layout,
so it is read by the same code as a real CBIS-DDSM download; ``image-folder`` reads a user's own class folders, and
the exported digits (:mod:`synthaug.digits`) the same way. An adapter is ``load_cases(dataset, threads) ->
(cases, qc)`` built from :mod:`.tables` (CSV normalisation, QCLog, CaseProblem, locate_all).
"""

from __future__ import annotations

import pandas as pd

from ..errors import ConfigError
from . import cbis_ddsm, image_folder, kaggle, tables

ADAPTERS = {"phantom": cbis_ddsm.load_cases, "cbis-ddsm": cbis_ddsm.load_cases, "cbis-ddsm-kaggle": kaggle.load_cases,
            "image-folder": image_folder.load_cases, "digits": image_folder.load_cases}


def load_cases(dataset: dict, threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cases, qc) for the ``dataset:`` config section; stops if either class ends up empty."""
    name = dataset["name"]
    if name not in ADAPTERS:
        raise ConfigError("dataset.name", f"no reader for '{name}' in this version; use one of {sorted(ADAPTERS)}")
    cases, qc = ADAPTERS[name](dataset, threads)
    tables.check_classes(cases, dataset["root"])
    return cases, qc
