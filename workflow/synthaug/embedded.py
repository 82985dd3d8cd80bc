"""Datasets the workflow writes itself (the phantom, the digits): where it may write them, and how.

An embedded dataset is written into ``dataset.root`` only if that folder is new, empty, or holds nothing but an earlier
export of the same dataset, recognised by its marker file (which only the workflow writes). It is built in a temporary
folder beside ``root`` and moved into place entry by entry, marker first, so an interrupted move leaves a folder that
is still recognisably the workflow's own. A user's folder is never deleted, not even an empty one.

Imports nothing heavy: the parse-time checks (:mod:`synthaug.preflight`) use :func:`root_problem`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import DataError


def root_problem(root, entries: frozenset[str], marker: str, what: str) -> str | None:
    """Why ``what`` may not be written into ``root`` (None if it may: new, empty, or an earlier export).

    ``entries`` are the names the export writes directly under ``root``, marker included.
    """
    root = Path(root)
    if not root.exists():
        return None
    if not root.is_dir():
        return f"'{root}' is a file, not a folder"
    present = set(os.listdir(root))
    if not present:
        return None
    foreign = sorted(present - entries)
    if foreign:
        shown = ", ".join(foreign[:4]) + (f" and {len(foreign) - 4} more" if len(foreign) > 4 else "")
        return f"'{root}' holds {shown}, which the {what} export did not write"
    if marker not in present:
        return (f"'{root}' holds files named like the {what}'s but no {marker}, so synthaug did not write them "
                f"(a real dataset looks like this, and so does a {what} written before synthaug marked its exports)")
    return None


def temporary_sibling(root: Path) -> Path:
    """A new hidden folder beside ``root`` (same file system, so the final moves are renames)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))


def move_into_place(tmp: Path, root: Path, entries: frozenset[str], marker: str, what: str) -> None:
    """Move the finished export's entries from ``tmp`` into ``root``, replacing an earlier export's; nothing else.

    ``root`` is checked again here, right before anything is replaced (:func:`root_problem`); the marker moves first.
    """
    problem = root_problem(root, entries, marker, what)
    if problem:
        raise DataError(root, f"{problem}; the {what} is only written into a new or empty folder or over an "
                        f"earlier {what} export (config key 'dataset.root')")  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    names = sorted(os.listdir(tmp), key=lambda n: (n != marker, n))
    assert set(names) <= entries, names
    for name in names:
        target = root / name
        if target.exists():  # an earlier export's own entry
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
            os.replace(target, old / name)
            os.replace(tmp / name, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp / name, target)
