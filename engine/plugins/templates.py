"""File templates of ``rlbt new strategy`` (``str.format`` fields: name,
package, dist, cls). Doubled braces are literal braces."""

PYPROJECT = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "The {name} strategy for rlbt"
requires-python = ">=3.10"
dependencies = ["rlbt"]

[project.entry-points."rlbt.strategies"]
{name} = "{package}.strategy:{cls}"
{agent_entry_point}
[tool.setuptools]
packages = ["{package}"]
'''

AGENT_ENTRY_POINT = '''
[project.entry-points."rlbt.agents"]
{name} = "{package}.agent:{cls}Agent"
'''

INIT = '''"""The {name} strategy for rlbt."""
'''

RULE_STRATEGY = '''"""{cls}: a rule-based strategy for rlbt."""

from __future__ import annotations

from typing import Any

from rlbt.strategies.exposure import ExposureStrategy

FLAT, LONG = 0, 1


class {cls}(ExposureStrategy):
    """Long while the close is above its close `lookback` bars ago, else flat."""

    # Every param can be set from the command line: --param lookback=50
    params: Any = (("lookback", 20),)

    def decide(self) -> int:
        # Called once per bar from the first tradable bar on. Read bars <= now
        # only: self.data.close[0] is this bar, [-1] the one before. The
        # returned action index picks a target exposure from `positions`
        # (default 0.0 flat, 1.0 long), filled at the next bar's open.
        if len(self.data) <= self.p.lookback:
            return FLAT
        return LONG if self.data.close[0] > self.data.close[-self.p.lookback] else FLAT
'''

AGENT_STRATEGY = '''"""{cls}: an agent strategy for rlbt whose agent learns online from bars."""

from __future__ import annotations

from typing import Any

from rlbt.strategies.agent_strategy import AgentStrategy

from {package}.agent import {cls}Agent


class {cls}(AgentStrategy):
    """The {cls}Agent bandit learning online from the signs of recent returns."""

    # The bridge's params (window, positions, reward_scale, ...) plus your own.
    params: Any = (("window", 2), ("epsilon", 0.1))

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> {cls}Agent:
        # The runner calls this once, then trains the same agent over
        # --episodes passes of the train slice.
        merged = cls.with_defaults(params)
        return {cls}Agent(
            obs_dim=cls.observation_size(merged),
            n_actions=len(tuple(merged["positions"])),
            seed=seed,
            epsilon=merged["epsilon"],
        )

    @classmethod
    def load_agent(
        cls, path: Any, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> {cls}Agent:
        raise NotImplementedError("{cls}Agent has no checkpoints yet")
'''

AGENT = '''"""{cls}Agent: a tiny contextual bandit in NumPy, following rlbt's Agent
contract (act / observe). Replace it with your own PyTorch model."""

from __future__ import annotations

import numpy as np


class {cls}Agent:
    """Mean reward per (signs of the observation, action), epsilon-greedy."""

    def __init__(self, obs_dim: int, n_actions: int, seed: int, epsilon: float = 0.1) -> None:
        self.obs_dim, self.n_actions, self.epsilon = obs_dim, n_actions, epsilon
        self.rng = np.random.default_rng(seed)  # own generator: same seed, same run
        self.total: dict[tuple[tuple[int, ...], int], float] = {{}}
        self.count: dict[tuple[tuple[int, ...], int], int] = {{}}

    def _key(self, obs: np.ndarray) -> tuple[int, ...]:
        return tuple(int(v) for v in np.sign(obs))

    def act(self, obs: np.ndarray, explore: bool) -> int:
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        key = self._key(obs)
        means = [
            self.total.get((key, a), 0.0) / max(self.count.get((key, a), 0), 1)
            for a in range(self.n_actions)
        ]
        return int(np.argmax(means))

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> dict[str, float] | None:
        # Called one bar after act(), when the reward (log change of portfolio
        # value, costs included) is known.
        key = (self._key(obs), action)
        self.total[key] = self.total.get(key, 0.0) + reward
        self.count[key] = self.count.get(key, 0) + 1
        return None

    def state_dict(self) -> dict[str, object]:
        # What `rlbt lookahead` compares bar by bar, besides the decisions.
        return {{"total": sorted(self.total.items()), "count": sorted(self.count.items()),
                "rng": self.rng.bit_generator.state}}
'''

TEST = '''"""Runs {cls} on rlbt's bundled data and checks it never reads the future."""

from rlbt import backtest, check_lookahead

from {package}.strategy import {cls}


def test_runs_on_bundled_data() -> None:
    result = backtest({cls}, "orcl", start="2012-01-01", episodes=1)
    assert len(result.test.actions) > 100
    assert result.test.metrics["final_value"] > 0


def test_no_look_ahead() -> None:
    report = check_lookahead({cls}, "orcl", cuts=2, start="2013-01-01", episodes=1)
    assert report.clean, [str(leak) for leak in report.leaks]
'''

README = '''# {dist}

The `{name}` strategy for [rlbt](https://pypi.org/project/rlbt/).

```bash
pip install -e .          # registers the entry point "{name}"
rlbt run {name} --data orcl
rlbt lookahead {name}     # proves it never reads a bar after the one it decides on
pytest                    # this package's own tests
```

Edit `{package}/strategy.py`; its params are set with `--param KEY=VALUE`.
'''
