"""Finding plugin objects (strategies, agents) by name.

A name is, in this order: a built-in name; the name of an entry point in the
plugin group (``rlbt.strategies`` or ``rlbt.agents``) of any installed
distribution; ``path/to/file.py:Class``, the file imported under a private
module name (never added to ``sys.path``); or ``package.module:Class``.

Built-ins are lazy ``"module:attr"`` strings, so the engine imports no
strategy or agent code until one is asked for. An import error inside a
plugin is the plugin author's to fix: it is shown once, with the plugin's own
traceback, labelled as such.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from rlbt.engine.errors import ConfigError, UnknownNameError

# What a plugin's import may raise that is its author's to fix. SystemExit is
# among them: a module that calls sys.exit() at import would otherwise end rlbt
# silently with the plugin's exit code. KeyboardInterrupt is the user's: it passes.
IMPORT_FAILURES = (Exception, SystemExit)

# Where the plugins imported in this process live (resolved files and package
# folders), so that a failure in their code can be told from rlbt's (blame.py).
_PLACES: list[str] = []


class PluginError(ConfigError):
    """A plugin's own code did something rlbt cannot use (a bad action, a failed
    import); the message names the plugin."""


class PluginImportError(PluginError):
    """A plugin's own code raised (or exited) while being imported."""

    def __init__(self, spec: str, exc: BaseException) -> None:
        if isinstance(exc, SystemExit):
            super().__init__(f"Plugin {spec!r} failed to import: its code called "
                             f"sys.exit({exc.code!r}) while being imported.")
            return
        super().__init__(
            f"Plugin {spec!r} failed to import. Its traceback:\n" + plugin_traceback(exc)
        )


def plugin_traceback(exc: BaseException) -> str:
    """The frames of ``exc`` that are the plugin's own and the exception line
    (for a syntax error: its file, line and caret)."""
    frames = traceback.extract_tb(exc.__traceback__)
    # Keep the plugin's frames; importlib's machinery and rlbt's are noise to its author.
    own = [f for f in frames if "importlib" not in f.filename and not _is_rlbt(f.filename)]
    lines = traceback.format_list(own) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


@dataclass(frozen=True)
class Found:
    """A plugin object and where it came from (for ``rlbt strategies``)."""

    obj: Any
    source: str


def entry_points(group: str) -> dict[str, importlib.metadata.EntryPoint]:
    """Entry points of ``group`` by name, across installed distributions."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=group)}


def find(spec: str, *, kind: str, group: str, builtins: Mapping[str, str]) -> Found:
    """Resolve ``spec`` to an object.

    :param spec: a built-in name, entry-point name, ``file.py:Attr`` or ``module:Attr``.
    :param kind: what is looked for, for messages ("strategy", "agent").
    :param group: the entry-point group.
    :param builtins: built-in names -> ``"module:attr"``.
    :raises UnknownNameError: an unknown plain name ("did you mean", known names).
    :raises ConfigError: a missing file, module or attribute.
    :raises PluginImportError: the plugin's code raised on import.
    """
    if spec in builtins:
        module_name, _, attr = builtins[spec].partition(":")
        return Found(getattr(importlib.import_module(module_name), attr), "built-in")
    points = entry_points(group)
    if spec in points:
        return _load_entry_point(spec, points[spec])
    location, sep, attr = spec.rpartition(":")
    if not sep or not location or not attr:
        raise UnknownNameError(kind, spec, [*builtins, *points])
    if location.endswith(".py") or "/" in location or "\\" in location:
        module, source = import_file(Path(location), spec), f"file ({location})"
    else:
        module, source = _import_module(location, spec), f"module ({location})"
    if not hasattr(module, attr):
        raise ConfigError(f"{kind} {spec!r}: {location} has no attribute {attr!r}.")
    _remember(module.__name__)
    return Found(getattr(module, attr), source)


def plugin_places() -> tuple[str, ...]:
    """The files and package folders of the plugins imported so far."""
    return tuple(_PLACES)


def _remember(module_name: str) -> None:
    """Record the top-level package (or file) that ``module_name`` belongs to,
    unless it is rlbt's own."""
    top = sys.modules.get(module_name.partition(".")[0]) or sys.modules.get(module_name)
    if top is None:
        return
    paths = list(getattr(top, "__path__", []) or [])
    places = paths or [getattr(top, "__file__", None)]
    for place in places:
        if place and not _is_rlbt(place):
            resolved = str(Path(place).resolve())
            if resolved not in _PLACES:
                _PLACES.append(resolved)


def _load_entry_point(spec: str, point: importlib.metadata.EntryPoint) -> Found:
    dist = point.dist.name if point.dist else "?"
    try:
        obj = point.load()
    except ModuleNotFoundError as exc:
        if exc.name and _is_prefix(exc.name, point.module):
            raise PluginError(
                f"Plugin {spec!r}: its entry point ({dist}: {point.value}) names module "
                f"{exc.name!r}, which is not installed; reinstall {dist} "
                "(pip install -e PATH) or remove it."
            ) from exc
        raise PluginImportError(spec, exc) from exc
    except IMPORT_FAILURES as exc:
        raise PluginImportError(spec, exc) from exc
    _remember(point.module)
    return Found(obj, f"entry point ({dist}: {point.value})")


def import_file(path: Path, spec: str) -> ModuleType:
    """Import a Python file under a private module name."""
    if not path.is_file():
        raise ConfigError(f"{spec!r}: file {path} not found.")
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"_rlbt_plugin_{resolved.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(f"{spec!r}: {path} is not an importable Python file.")
    module = importlib.util.module_from_spec(module_spec)
    # Registered so that classes defined in it can be found again (pickling,
    # dataclasses); the file's folder is never put on sys.path.
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except IMPORT_FAILURES as exc:
        del sys.modules[name]
        raise PluginImportError(spec, exc) from exc
    return module


def _import_module(name: str, spec: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and _is_prefix(exc.name, name):
            raise ConfigError(
                f"{spec!r}: no module named {exc.name!r}. Is the package installed "
                "(pip install -e PATH), or did you mean a file (path/to/file.py:Class)?"
            ) from exc
        raise PluginImportError(spec, exc) from exc
    except IMPORT_FAILURES as exc:
        raise PluginImportError(spec, exc) from exc


def _rlbt_folders() -> tuple[str, ...]:
    """The folders of rlbt's own packages, found without importing them (the
    engine never imports strategies or agents)."""
    folders = []
    for name in ("rlbt.engine", "rlbt.strategies", "rlbt.agents"):
        spec = importlib.util.find_spec(name)
        folders += list(spec.submodule_search_locations or []) if spec else []
    return tuple(str(Path(folder).resolve()) for folder in folders)


def _is_rlbt(filename: str) -> bool:
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return any(resolved.startswith(folder + os.sep) for folder in _rlbt_folders())


def _is_prefix(missing: str, module: str) -> bool:
    """True when the missing module is ``module`` itself or a package above it
    (then the plugin is absent; otherwise the plugin lacks a dependency)."""
    return module == missing or module.startswith(missing + ".")
