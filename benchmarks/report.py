"""Print pytest-benchmark's JSON as one table per group, with ratios, then the targets.

Usage::

    python benchmarks/report.py .benchmarks/latest.json
    python -m benchmarks.report .benchmarks/latest.json

Each row is one implementation: its median time per call, its rate in the
group's unit (transitions, batches, updates, bars, steps per second), and that
rate as a multiple of the baseline's (the course's code, or SMA cross for the
backtests) and of the best peer library's in the same group of the same run.
The tables are Markdown, ready for the README. The targets of the benchmark
issue are checked last: each is met, or missed by a stated factor. Nothing
here fails on a time; it only reports.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Row:
    """One benchmark of the run."""

    group: str
    impl: str
    role: str
    median: float
    """Seconds per timed call (median over rounds)."""
    per_call: int
    unit: str
    extra: dict[str, Any]

    @property
    def rate(self) -> float:
        """Units per second."""
        return self.per_call / self.median if self.median > 0 else float("nan")


def load_rows(path: str | Path) -> tuple[list[Row], dict[str, Any]]:
    """The benchmarks of a pytest-benchmark JSON file, in run order, and its machine info."""
    data = json.loads(Path(path).read_text())
    rows = []
    for bench in data.get("benchmarks", []):
        extra = bench.get("extra_info", {})
        rows.append(Row(
            group=bench.get("group") or bench["name"], impl=extra.get("impl", bench["name"]),
            role=extra.get("role", "rlbt"), median=float(bench["stats"]["median"]),
            per_call=int(extra.get("per_call", 1)), unit=extra.get("unit", "calls"), extra=extra,
        ))
    return rows, data.get("machine_info", {})


_SINGULAR = {"batches": "batch", "transitions": "transition", "updates": "update",
             "bars": "bar", "steps": "step", "calls": "call"}


def _fmt_rate(rate: float) -> str:
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.3g}{suffix}"
    return f"{rate:.3g}"


def _fmt_time(seconds: float) -> str:
    for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {suffix}"
    return f"{seconds / 1e-9:.3g} ns"


def _ratio(rate: float, other: float | None) -> str:
    return "-" if other is None or not other > 0 else f"{rate / other:.2f}x"


def group_table(rows: list[Row]) -> list[str]:
    """Markdown lines of one group's table."""
    baseline = next((r.rate for r in rows if r.role == "baseline"), None)
    peers = [r.rate for r in rows if r.role == "peer"]
    best_peer = max(peers) if peers else None
    unit = rows[0].unit
    lines = [
        f"| implementation | role | time per {_SINGULAR.get(unit, unit)} "
        f"| {unit}/s | vs baseline | vs best peer |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: -r.rate):
        lines.append(
            f"| {r.impl} | {r.role} | {_fmt_time(r.median / r.per_call)} | {_fmt_rate(r.rate)} "
            f"| {_ratio(r.rate, baseline)} | {_ratio(r.rate, best_peer)} |"
        )
    return lines


def report(rows: list[Row]) -> list[str]:
    """Every group's table, in the order the groups first ran."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    lines: list[str] = []
    for name, members in groups.items():
        lines += [f"### {name}", "", *group_table(members), ""]
    return lines


# --------------------------------------------------------------------------- targets


def _find(rows: list[Row], group: Callable[[str], bool], impl: str) -> Row | None:
    return next((r for r in rows if group(r.group) and r.impl == impl), None)


def _check(name: str, mine: Row | None, other: Row | None, factor: float) -> str:
    """``mine`` must be at least ``factor`` times as fast as ``other``."""
    if mine is None or other is None:
        return f"| {name} | n/a (not in this run) | |"
    ratio = mine.rate / other.rate
    verdict = "met" if ratio >= factor else f"missed by {factor / ratio:.2f}x"
    return f"| {name} | {ratio:.2f}x (needs {factor:g}x) | {verdict} |"


def targets(rows: list[Row]) -> list[str]:
    """The benchmark issue's targets, each computed from this run's figures."""
    lines = ["| target | measured | status |", "|---|---|---|"]
    for cap in ("100k", "1M"):
        for batch in (32, 256, 1024):
            def group(g: str, cap: str = cap, batch: int = batch) -> bool:
                return g == f"replay sample uniform, capacity {cap}, B={batch}"
            mine = _find(rows, group, "rlbt")
            lines.append(_check(f"sample >= 2.5x cpprb, {cap}, B={batch}", mine,
                                _find(rows, group, "cpprb"), 2.5))
            if cap == "1M":
                lines.append(_check(f"sample >= 500x course deque, 1M, B={batch}", mine,
                                    _find(rows, group, "course deque"), 500))
    def add_group(g: str) -> bool:
        return g.startswith("replay add one transition")
    lines.append(_check("add one transition >= 5x SB3", _find(rows, add_group, "rlbt"),
                        _find(rows, add_group, "stable-baselines3"), 5))
    memory = _find(rows, lambda g: g == "replay sample uniform, capacity 1M, B=32", "rlbt")
    if memory is not None and memory.extra.get("nbytes"):
        megabytes = memory.extra["nbytes"] / 1e6
        lines.append(f"| 1M x 32-float buffer <= 160 MB | {megabytes:.1f} MB | "
                     f"{'met' if megabytes <= 160 else 'missed'} |")
    def update(g: str) -> bool:
        return g == "DQN update B=64, 1 thread, cpu"
    fast = _find(rows, update, "rlbt fast path (NumPy)")
    lines.append(_check("update B=64 >= 3x CleanRL-style", fast,
                        _find(rows, update, "CleanRL-style torch step"), 3))
    lines.append(_check("update B=64 within 2x of the no-autograd floor", fast,
                        _find(rows, update, "torch matmuls, no autograd (floor)"), 0.5))
    def backtest(g: str) -> bool:
        return g.startswith("backtest")
    sb3 = _find(rows, backtest, "stable-baselines3 DQN on gym-anytrading stocks-v0")
    training = _find(rows, backtest, "DQN learning, training pass (no analyzers)")
    # SB3's learn() records nothing per step: rlbt's training pass is its like;
    # the audited pass (every analyzer, as the test slice runs) is shown too.
    lines.append(_check("DQN learning (training pass) >= 3x SB3 DQN on gym-anytrading",
                        training, sb3, 3))
    lines.append(_check("DQN learning (audited, all analyzers) >= 3x SB3 DQN",
                        _find(rows, backtest, "DQN learning every 4 bars, B=64"), sb3, 3))
    lines.append(_check("DQN training pass that trades >= 0.9x the same pass with no orders",
                        training, _find(rows, backtest,
                                        "DQN learning, training pass, no orders (positions=0,0)"),
                        0.9))
    lines.append(_check("DQN greedy >= SMA cross", _find(rows, backtest,
                                                         "DQN greedy, not learning"),
                        _find(rows, backtest, "SMA cross"), 1))
    return lines


def main(argv: list[str]) -> int:
    """Print the report of the JSON file named in ``argv``; exit 2 on a usage error."""
    if len(argv) != 1:
        print("usage: python benchmarks/report.py BENCHMARK.json", file=sys.stderr)
        return 2
    rows, machine = load_rows(argv[0])
    if not rows:
        print(f"{argv[0]}: no benchmarks in this file", file=sys.stderr)
        return 1
    cpu = machine.get("cpu", {})
    versions = ", ".join(f"{k} {v}" for k, v in machine.get("rlbt_versions", {}).items())
    print(f"machine: {cpu.get('brand_raw', machine.get('processor', '?'))}, "
          f"{cpu.get('count', '?')} cores, python {machine.get('python_version', '?')}"
          f"{', ' + versions if versions else ''}\n")
    print("\n".join(report(rows)))
    print("### targets\n")
    print("\n".join(targets(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
