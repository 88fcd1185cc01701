"""DESIGN.md's dependency arrows, checked in fresh interpreters:
agents -> torch/numpy only; engine -> never torch, agents or strategies."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "agents": {"backtrader", "pandas", "engine", "strategies", "matplotlib", "click"},
    "engine": {"torch", "agents", "strategies"},
    "strategies": {"matplotlib", "click"},
}


def _modules(package: str) -> list[str]:
    names = [package]
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
        names.append(info.name)
    return names


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_design_arrows(package: str) -> None:
    loaded = _loaded_after_import(_modules(package))
    assert not loaded & FORBIDDEN[package], f"{package} pulled in {loaded & FORBIDDEN[package]}"


def test_cli_help_does_not_load_backtrader() -> None:
    loaded = _loaded_after_import(["engine.cli"])
    assert "backtrader" not in loaded and "torch" not in loaded
