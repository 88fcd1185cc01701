"""Progress bars for training episodes (rich): bars/s, return, loss, epsilon."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
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


class LineBar(EpisodeBar):
    """Off a terminal a bar cannot be redrawn (rich squeezes it to 80 columns
    once): one line per episode when it ends."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        super().__init__(None, label, total)
        self._console, self._label, self._total = console, label, total
        self._started = time.perf_counter()

    def finish(self, stats: dict[str, float]) -> None:
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._console.print(
            f"{self._label}: {self._total:,} bars in {elapsed:.1f} s "
            f"({self._total / elapsed:,.0f} bars/s)  {_fmt(stats)}".rstrip(),
            soft_wrap=True, highlight=False, markup=False)


@contextmanager
def episode_progress(enabled: bool) -> Iterator[Callable[[str, int], EpisodeBar]]:
    """Yield ``start(label, total_bars) -> EpisodeBar``; disabled bars do nothing."""
    if not enabled:
        yield lambda label, total: EpisodeBar(None, label, total)
        return
    console = Console(stderr=True)  # stdout keeps the results
    if not console.is_terminal:  # a log or a pipe: no redraws, one whole line per episode
        yield lambda label, total: LineBar(console, label, total)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    with Progress(*columns, console=console) as progress:
        yield lambda label, total: EpisodeBar(progress, label, total)
