"""The registry of price datasets shipped inside the package (``engine/bundled``).

The files are located with :mod:`importlib.resources`, never with a path relative
to the repository, so they are found the same way from a source checkout, an
editable install and a wheel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rlbt.engine.errors import UnknownNameError

_PACKAGE = "rlbt.engine.data"  # the CSV files sit beside this module


@dataclass(frozen=True)
class BundledDataset:
    """One shipped dataset.

    :param name: the name users type (``rlbt run --data orcl``).
    :param filename: the file inside ``engine/bundled``.
    :param description: one line for listings and help.
    :param bars: the number of bars in the file (checked by the tests).
    """

    name: str
    filename: str
    description: str
    bars: int


BUNDLED_DATASETS: dict[str, BundledDataset] = {
    d.name: d
    for d in (
        BundledDataset("orcl", "orcl.csv", "Oracle daily bars, 1995-2014 (Yahoo)", 5036),
        BundledDataset("nvda", "nvda.csv", "NVIDIA daily bars, 1999-2014 (Yahoo)", 4012),
        BundledDataset("yhoo", "yhoo.csv", "Yahoo daily bars, 1996-2014 (Yahoo)", 4713),
        BundledDataset(
            "intraday", "intraday.csv", "5-minute index bars, Jan 2006, no volume", 2142
        ),
    )
}


def bundled_names() -> list[str]:
    """The names of all bundled datasets, sorted."""
    return sorted(BUNDLED_DATASETS)


def is_bundled(name: str) -> bool:
    """True when ``name`` (case-insensitive, trimmed) names a bundled dataset."""
    return name.strip().lower() in BUNDLED_DATASETS


def get_bundled(name: str) -> BundledDataset:
    """The dataset called ``name``; :class:`UnknownNameError` ("did you mean") if none."""
    key = name.strip().lower()
    if key not in BUNDLED_DATASETS:
        raise UnknownNameError("bundled dataset", name, BUNDLED_DATASETS)
    return BUNDLED_DATASETS[key]


@contextlib.contextmanager
def bundled_path(name: str) -> Iterator[Path]:
    """A real filesystem path to the dataset's file, valid inside the ``with`` block.

    ``as_file`` extracts the file to a temporary copy when the package lives in
    a zip archive; for a normal install it yields the installed file directly.
    """
    dataset = get_bundled(name)
    with resources.as_file(resources.files(_PACKAGE).joinpath(dataset.filename)) as path:
        yield Path(path)
