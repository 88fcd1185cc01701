"""``rlbt new strategy NAME``: a plugin package that installs and runs as is.

The package is written into a hidden temporary folder beside its final place
and renamed into place only when every file is written, so a failure (a full
disk, a permission) leaves nothing half-created.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from pathlib import Path

from rlbt.engine.errors import ConfigError
from rlbt.engine.plugins import templates as t
from rlbt.engine.plugins.loader import entry_points
from rlbt.engine.plugins.registry import BUILTINS, STRATEGY_GROUP
from rlbt.file_target import FileTargetError, check_name_lengths

# Lowercase words joined by single '-' or '_': a valid distribution name, and
# "rlbt_" + the name with '_' is a valid Python package name.
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_NAME = 64
"""Characters in a strategy name: it is typed on the command line and becomes a
folder, a package and a class name."""


def scaffold_strategy(name: str, parent: Path, *, agent: bool = False) -> Path:
    """Write the package ``rlbt-NAME`` under ``parent``; returns its folder.

    :param name: the strategy's name (lowercase letters, digits, ``-``, ``_``).
    :param parent: folder to create the package in.
    :param agent: an agent strategy (with its own agent class) instead of a rule.
    :raises ConfigError: a bad or taken name, an existing package folder, or a
        ``parent`` that is not a writable folder.
    """
    check_name(name)
    package = "rlbt_" + name.replace("-", "_")
    dist = "rlbt-" + name.replace("_", "-")
    cls = "".join(part.capitalize() for part in re.split(r"[-_]", name))
    root = parent / dist
    try:
        check_name_lengths(root)
    except FileTargetError as exc:
        raise ConfigError(f"--dir {exc}.") from None
    if root.exists():
        raise ConfigError(f"{root} already exists; choose another name or folder.")
    fields = {"name": name, "package": package, "dist": dist, "cls": cls}
    _write_atomically(root, _files(fields, agent))
    return root


def check_name(name: str) -> None:
    """Refuse a name that is not a valid package name, or that a built-in or an
    installed plugin already uses (``rlbt run NAME`` would never reach it)."""
    if len(name) > MAX_NAME:
        raise ConfigError(f"strategy name {name[:24]}... is {len(name):,} characters; "
                          f"use at most {MAX_NAME}.")
    if not _NAME.match(name):
        raise ConfigError(
            f"strategy name {name!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter, with no '-' or '_' at the end or twice in a row "
            "(e.g. my-momentum)."
        )
    module = "rlbt_" + name.replace("-", "_")
    if keyword.iskeyword(name) or not module.isidentifier():
        raise ConfigError(f"strategy name {name!r} is not usable as a Python name.")
    if name in BUILTINS:
        raise ConfigError(
            f"strategy name {name!r} is a built-in strategy: `rlbt run {name}` would always "
            "run the built-in. Choose another name (e.g. my-" + name + ")."
        )
    point = entry_points(STRATEGY_GROUP).get(name)
    if point is not None:
        dist = point.dist.name if point.dist else "an installed package"
        raise ConfigError(
            f"strategy name {name!r} is taken by the installed plugin {dist} "
            f"({point.value}). Choose another name."
        )


def _files(fields: dict[str, str], agent: bool) -> dict[str, str]:
    package = fields["package"]
    entry = t.AGENT_ENTRY_POINT.format(**fields) if agent else ""
    files = {
        "pyproject.toml": t.PYPROJECT.format(**fields, agent_entry_point=entry),
        "README.md": t.README.format(**fields),
        f"{package}/__init__.py": t.INIT.format(**fields),
        f"{package}/strategy.py": (t.AGENT_STRATEGY if agent else t.RULE_STRATEGY).format(
            **fields
        ),
        f"tests/test_{package}.py": t.TEST.format(**fields),
    }
    if agent:
        files[f"{package}/agent.py"] = t.AGENT.format(**fields)
    return files


def _write_atomically(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path -> text) under a temporary folder beside
    ``root``, then rename it to ``root``."""
    parent = _writable_folder(root.parent)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise ConfigError(f"--dir {parent}: cannot write there ({exc}).") from exc
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.rename(staging, root)
    except OSError as exc:
        raise ConfigError(f"--dir {parent}: could not write {root.name} ({exc}).") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _writable_folder(folder: Path) -> Path:
    """``folder``, created if missing, or a ``ConfigError`` naming ``--dir``
    when it (or a folder above it) is a file or is not writable."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--dir {folder}: {existing} is a file, not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--dir {folder}: {existing} is not writable.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--dir {folder}: cannot create it ({exc}).") from exc
    return folder
