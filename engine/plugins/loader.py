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
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from rlbt.engine.errors import ConfigError, UnknownNameError


class PluginImportError(ConfigError):
    """A plugin's own code raised while being imported."""

    def __init__(self, spec: str, exc: BaseException) -> None:
        frames = traceback.extract_tb(exc.__traceback__)
        # Keep the plugin's frames; importlib's machinery is noise to its author.
        own = [
            f
            for f in frames
            if "importlib" not in f.filename
            and "engine/plugins" not in f.filename.replace("\\", "/")
        ]
        lines = traceback.format_list(own) + traceback.format_exception_only(type(exc), exc)
        super().__init__(
            f"Plugin {spec!r} failed to import. Its traceback:\n" + "".join(lines).rstrip()
        )


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
        point = points[spec]
        try:
            obj = point.load()
        except Exception as exc:
            raise PluginImportError(spec, exc) from exc
        dist = point.dist.name if point.dist else "?"
        return Found(obj, f"entry point ({dist}: {point.value})")
    location, sep, attr = spec.rpartition(":")
    if not sep or not location or not attr:
        raise UnknownNameError(kind, spec, [*builtins, *points])
    if location.endswith(".py") or "/" in location or "\\" in location:
        module, source = import_file(Path(location), spec), f"file ({location})"
    else:
        module, source = _import_module(location, spec), f"module ({location})"
    if not hasattr(module, attr):
        raise ConfigError(f"{kind} {spec!r}: {location} has no attribute {attr!r}.")
    return Found(getattr(module, attr), source)


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
    except Exception as exc:
        del sys.modules[name]
        raise PluginImportError(spec, exc) from exc
    return module


def _import_module(name: str, spec: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise ConfigError(
                f"{spec!r}: no module named {exc.name!r}. Is the package installed "
                "(pip install -e PATH), or did you mean a file (path/to/file.py:Class)?"
            ) from exc
        raise PluginImportError(spec, exc) from exc
    except Exception as exc:
        raise PluginImportError(spec, exc) from exc
