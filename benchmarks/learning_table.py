"""The README's learning table: every learning strategy with its defaults on the
bundled daily datasets x 5 seeds, test Sharpe minus buy-and-hold's on the
same bars, mean over seeds and a 90% interval of that mean (Student t).

Not part of the test suite (about 15 minutes on 2 cores). Each cell is an
ordinary ``rlbt sweep`` run, kept under ``--out`` (a rerun resumes)::

    python benchmarks/learning_table.py --out runs/learning-table
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from rlbt.engine.config import BacktestConfig
from rlbt.engine.sweep.driver import sweep
from rlbt.engine.sweep.spec import SweepSpec

STRATEGIES = ("dqn", "qtable", "pg", "a2c", "lstm")
DATASETS = ("orcl", "nvda", "yhoo")
T90 = {2: 6.314, 3: 2.920, 4: 2.353, 5: 2.132, 6: 2.015}  # two-sided 90%, by n - 1


def edge_rows(out: Path, seeds: tuple[int, ...], workers: int) -> pd.DataFrame:
    rows = []
    for strategy in STRATEGIES:
        spec = SweepSpec(strategy, DATASETS, seeds=seeds, base=BacktestConfig())
        result = sweep(spec, out / strategy, workers=workers, progress=True)
        table = result.rows.assign(strategy=strategy)
        rows.append(table[["strategy", "dataset", "seed", "test_sharpe", "test_bh_sharpe"]])
    frame = pd.concat(rows, ignore_index=True)
    frame["edge"] = frame["test_sharpe"] - frame["test_bh_sharpe"]
    return frame


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| strategy | " + " | ".join(DATASETS) + " |",
             "|---|" + "---|" * len(DATASETS)]
    for strategy in STRATEGIES:
        cells = []
        for dataset in DATASETS:
            edge = frame[(frame.strategy == strategy) & (frame.dataset == dataset)]["edge"]
            n, mean = len(edge), edge.mean()
            half = T90.get(n - 1, 1.645) * edge.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
            cells.append(f"{mean:+.2f} [{mean - half:+.2f}, {mean + half:+.2f}]")
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/learning-table"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    frame = edge_rows(args.out, tuple(range(args.seeds)), args.workers)
    frame.to_csv(args.out / "edges.csv", index=False)
    print(markdown(frame))


if __name__ == "__main__":
    main()
