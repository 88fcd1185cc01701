"""``sweep.png``: the ranked test metric per parameter set, every seed as a
dot, the mean with its 95% interval, and buy-and-hold's mean beside it."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from rlbt.engine.output.atomic import atomic_path  # noqa: E402
from rlbt.engine.sweep.summary import t95  # noqa: E402


def write_sweep_plot(rows: pd.DataFrame, group_keys: list[str], rank: str, path: Path) -> None:
    """Draw and write the plot atomically."""
    column, bench = f"test_{rank}", f"test_bh_{rank}"
    groups = list(rows.groupby(group_keys, dropna=False, sort=False))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(groups) + 3), 4.5))
    try:
        for x, (_, part) in enumerate(groups):
            values = part[column].astype(float)
            ax.scatter([x] * len(values), values, color="tab:blue", s=14, alpha=0.6)
            n = len(values)
            half = t95(n) * values.std() / n**0.5 if n > 1 else 0.0
            ax.errorbar(
                [x + 0.15], [values.mean()], yerr=[half], fmt="o", color="tab:blue", capsize=4
            )
            ax.scatter([x + 0.3], [part[bench].mean()], marker="_", s=200, color="black")
        labels = [
            ", ".join(f"{k}={v}" for k, v in zip(group_keys, _tuple(key), strict=True))
            for key, _ in groups
        ]
        ax.set_xticks(range(len(groups)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(f"test {rank}")
        ax.set_title(
            f"test {rank} per parameter set: seeds (dots), mean and 95% CI, buy-and-hold (bar)",
            fontsize=10,
        )
        ax.grid(alpha=0.3)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)


def _tuple(key: object) -> tuple[object, ...]:
    return key if isinstance(key, tuple) else (key,)
