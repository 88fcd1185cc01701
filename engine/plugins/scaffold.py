"""``rlbt new strategy NAME``: a plugin package that installs and runs as is."""

from __future__ import annotations

import re
from pathlib import Path

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.atomic import write_text
from rlbt.engine.plugins import templates as t

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def scaffold_strategy(name: str, parent: Path, *, agent: bool = False) -> Path:
    """Write the package ``rlbt-NAME`` under ``parent``; returns its folder.

    :param name: the strategy's name (lowercase letters, digits, ``-``, ``_``).
    :param parent: folder to create the package in.
    :param agent: an agent strategy (with its own agent class) instead of a rule.
    """
    if not _NAME.match(name):
        raise ConfigError(
            f"strategy name {name!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter (e.g. my-momentum)."
        )
    package = "rlbt_" + name.replace("-", "_")
    dist = "rlbt-" + name.replace("_", "-")
    cls = "".join(part.capitalize() for part in re.split(r"[-_]", name))
    root = parent / dist
    if root.exists():
        raise ConfigError(f"{root} already exists; choose another name or folder.")
    fields = {"name": name, "package": package, "dist": dist, "cls": cls}
    entry = t.AGENT_ENTRY_POINT.format(**fields) if agent else ""
    files = {
        "pyproject.toml": t.PYPROJECT.format(**fields, agent_entry_point=entry),
        "README.md": t.README.format(**fields),
        f"{package}/__init__.py": t.INIT.format(**fields),
        f"{package}/strategy.py": (t.AGENT_STRATEGY if agent else t.RULE_STRATEGY).format(**fields),
        f"tests/test_{package}.py": t.TEST.format(**fields),
    }
    if agent:
        files[f"{package}/agent.py"] = t.AGENT.format(**fields)
    for relative, text in files.items():
        write_text(root / relative, text)
    return root
