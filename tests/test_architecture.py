"""DESIGN.md's dependency arrows, checked in fresh interpreters on the installed
names: rlbt.agents -> torch/numpy only; rlbt.engine -> never torch, agents or
strategies; and the house rules (one level of subpackages, files under 400 lines)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import rlbt

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "rlbt.agents": {"backtrader", "pandas", "rlbt.engine", "rlbt.strategies", "matplotlib",
                    "click"},
    "rlbt.engine": {"torch", "rlbt.agents", "rlbt.strategies"},
    "rlbt.strategies": {"matplotlib", "click"},
}


def _modules(package: str) -> list[str]:
    path = ROOT / package.split(".")[1]
    names = [package]
    for info in pkgutil.walk_packages([str(path)], prefix=f"{package}."):
        names.append(info.name)
    return names


def _loaded_after_import(modules: list[str]) -> set[str]:
    """Top-level packages and rlbt subpackages in sys.modules after importing
    ``modules`` in a fresh interpreter run outside the repository."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "names = {n.split('.')[0] for n in sys.modules}\n"
        "names |= {'.'.join(n.split('.')[:2]) for n in sys.modules if n.startswith('rlbt.')}\n"
        "print(json.dumps(sorted(names)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT / "tests")
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_design_arrows(package: str) -> None:
    modules = _modules(package)
    assert len(modules) > 5, modules
    loaded = _loaded_after_import(modules)
    assert not loaded & FORBIDDEN[package], f"{package} pulled in {loaded & FORBIDDEN[package]}"


def test_cli_help_and_public_api_load_neither_backtrader_nor_torch() -> None:
    loaded = _loaded_after_import(["rlbt", "rlbt.engine.cli"])
    assert "backtrader" not in loaded and "torch" not in loaded


def test_no_generic_top_level_names_are_importable_from_the_install() -> None:
    """Outside the repository, only ``rlbt`` is there: not ``engine`` or ``agents``."""
    code = ("import importlib.util, json\n"
            "print(json.dumps([importlib.util.find_spec(n) is not None "
            "for n in ('rlbt', 'rlbt.engine', 'engine', 'strategies', 'agents')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert json.loads(out.stdout) == [True, True, False, False, False]


def test_public_api_names_resolve() -> None:
    for name in rlbt.__all__:
        assert getattr(rlbt, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = rlbt.nope  # type: ignore[attr-defined]


def test_subpackages_are_one_level_deep_and_files_stay_small() -> None:
    too_long = {}
    for top in ("engine", "strategies", "agents", "rlbt"):
        for path in (ROOT / top).rglob("*.py"):
            depth = len(path.relative_to(ROOT / top).parts)
            assert depth <= 2, f"{path} is nested too deep"
            lines = len(path.read_text().splitlines())
            if lines > 400:
                too_long[str(path.relative_to(ROOT))] = lines
    assert not too_long, f"files over 400 lines: {too_long}"
