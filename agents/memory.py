"""The allocation guard: estimate what an agent's settings will allocate and
refuse, before allocating, what this process cannot hold.

``--param hidden=100000000`` or a crafted checkpoint whose stored config says
``buffer_size=100000000000`` would otherwise run the machine into the OOM
killer (no message) or die in NumPy ("Unable to allocate 6.65 TiB"). Each
agent lists its big allocations as ``Need``\\ s (the setting that drives each
one, and its bytes); ``check_memory`` compares their sum with the memory this
process may still take: the least of the machine's available memory, the
cgroup's remaining limit and the ``ulimit`` address-space headroom. The
estimate counts arrays and parameters with their optimiser and gradient
copies, not Python overhead, so it is a floor: anything it refuses would fail.

``RLBT_MEMORY_LIMIT`` (bytes, or with a K/M/G/T suffix) caps the budget
further, for a user who wants a guard below the machine's size.
"""

from __future__ import annotations

import math
import os
import re
import resource
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlbt.agents.errors import AgentError, SettingError

SHARE = 0.9
"""Refuse when the estimate passes this share of the budget: the rest of the
run (torch, backtrader, the data) needs some memory too."""
FLOAT32 = 4
ENV_LIMIT = "RLBT_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


@dataclass(frozen=True)
class Need:
    """One allocation: ``nbytes`` driven by the setting ``field`` (= ``value``)."""

    field: str
    value: Any
    nbytes: int
    what: str


def blamed(what: str, nbytes: int, *factors: tuple[str, Any, float]) -> Need:
    """A ``Need`` for a product of settings, blamed on the factor farthest above
    its usual size: ``factors`` are ``(field, value, typical)``, ``value`` a
    number or a tuple of widths (its largest counts)."""

    def ratio(factor: tuple[str, Any, float]) -> float:
        value = factor[1]
        size = max(value, default=0) if isinstance(value, tuple) else value
        return float(size) / factor[2]

    field, value, _ = max(factors, key=ratio)
    return Need(field, value, nbytes, what)


def mlp_parameters(inputs: int, hidden: Sequence[int], outputs: int) -> int:
    """Weights and biases of a fully connected network ``inputs -> hidden... -> outputs``."""
    widths = [inputs, *hidden, outputs]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:], strict=False))


def lstm_parameters(inputs: int, hidden: int, layers: int) -> int:
    """Weights and biases of ``nn.LSTM`` (four gates, two bias vectors per layer)."""
    first = 4 * hidden * (inputs + hidden + 2)
    return first + (layers - 1) * 4 * hidden * (2 * hidden + 2)


def check_memory(owner: str, needs: Iterable[Need]) -> None:
    """Raise ``AgentError`` naming the biggest allocation's setting when the
    needs do not fit in ``SHARE`` of this process's memory budget.

    :param owner: the config class name, for the message (``DQNConfig``).
    """
    needs = list(needs)
    total = sum(n.nbytes for n in needs)
    budget, source = memory_budget()
    if total <= SHARE * budget:
        return
    worst = max(needs, key=lambda n: n.nbytes)
    raise SettingError(
        owner, worst.field, worst.value,
        f"{worst.what} needs about {format_bytes(worst.nbytes)} ({format_bytes(total)} in "
        f"all), more than the {format_bytes(budget)} this process may use ({source}); "
        f"choose a smaller {worst.field}",
    )


def memory_budget() -> tuple[int, str]:
    """The bytes this process may still allocate, and what sets that bound."""
    candidates = [
        (_available_memory(), "available memory"),
        (_cgroup_headroom(), "the cgroup's memory limit"),
        (_rlimit_headroom(), "the ulimit on address space"),
        (_env_limit(), ENV_LIMIT),
    ]
    known = [(b, s) for b, s in candidates if b is not None]
    if not known:
        return 2**62, "no limit found"
    return min(known)


def format_bytes(n: float) -> str:
    """``7.3 GiB``-style sizes."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _available_memory() -> int | None:
    meminfo = _read("/proc/meminfo")
    if meminfo:
        match = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.MULTILINE)
        if match:
            return int(match.group(1)) * 1024
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_headroom() -> int | None:
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # v2
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),  # v1
    ):
        limit, usage = _read(limit_file).strip(), _read(usage_file).strip()
        if limit.isdigit() and int(limit) < 2**60:  # v1 says "no limit" with a huge number
            return max(0, int(limit) - (int(usage) if usage.isdigit() else 0))
    return None


def _rlimit_headroom() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    status = _read("/proc/self/status")
    match = re.search(r"^VmSize:\s+(\d+) kB", status, re.MULTILINE)
    used = int(match.group(1)) * 1024 if match else 0
    return max(0, soft - used)


def _env_limit() -> int | None:
    text = os.environ.get(ENV_LIMIT, "").strip().upper().removesuffix("B").removesuffix("I")
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)", text)
    if not match:
        raise AgentError(f"{ENV_LIMIT}={os.environ[ENV_LIMIT]!r}: expected bytes, e.g. 4G or 512M")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""


def product(*factors: int) -> int:
    """``math.prod`` of Python ints: exact, never overflows like a NumPy product."""
    return math.prod(int(f) for f in factors)
