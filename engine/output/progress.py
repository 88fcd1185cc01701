"""Progress bars for training episodes (rich): bars/s, return, loss, epsilon."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def _fmt(stats: dict[str, float]) -> str:
    parts = []
    for key in ("return", "loss", "epsilon"):
        value = stats.get(key, math.nan)
        if isinstance(value, float) and math.isfinite(value):
            parts.append(f"{key} {value:.3g}")
    return "  ".join(parts)


class EpisodeBar:
    """One progress bar; called by the strategy with (bars since last call, stats)."""

    def __init__(self, progress: Progress | None, label: str, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task(label, total=total, rate="", stats="") if progress else None

    def __call__(self, bars: int, stats: dict[str, float]) -> None:
        if self._progress is None or self._task is None:
            return
        speed = self._progress.tasks[self._task].speed
        rate = f"{speed:,.0f} bars/s" if speed else ""
        self._progress.update(self._task, advance=bars, rate=rate, stats=_fmt(stats))

    def finish(self, stats: dict[str, float]) -> None:
        if self._progress is not None and self._task is not None:
            total = self._progress.tasks[self._task].total
            self._progress.update(self._task, completed=total, stats=_fmt(stats))


@contextmanager
def episode_progress(enabled: bool) -> Iterator[Callable[[str, int], EpisodeBar]]:
    """Yield ``start(label, total_bars) -> EpisodeBar``; disabled bars do nothing."""
    if not enabled:
        yield lambda label, total: EpisodeBar(None, label, total)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    with Progress(*columns) as progress:
        yield lambda label, total: EpisodeBar(progress, label, total)
