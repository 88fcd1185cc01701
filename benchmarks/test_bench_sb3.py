"""rlbt's native DQN training pass beside stable-baselines3's DQN learning on
``rlbt.gym.BarEnv``: the same bars, costs, observation, network (MLP 64-64),
batch 64, an update every 4 steps, Adam 1e-3, target every 250 steps. Both
in one run, in steps (bars) per second.

The native pass is what ``rlbt run dqn``'s episodes run (``cerebro.run_strategy``
without analyzers, the agent learning online in the bridge); the SB3 one is
what ``rlbt run sb3:DQN`` runs (``model.learn`` stepping a BarEnv, whose
backtrader run sits in a worker thread). Building the agents and the env is setup.
"""

from __future__ import annotations

from typing import Any

import pytest
from bench_common import full_run, label, peer
from test_bench_backtest import price_frame

from rlbt.engine.cerebro import run_strategy
from rlbt.engine.config import BacktestConfig
from rlbt.strategies.dqn_strategy import DQNStrategy

BARS = 5_000
SMALL_BARS = 600  # timing disabled: past the 256-step warm-up, a few updates
CONFIG = BacktestConfig(commission=0.001)
NATIVE = {"learn_every": 4, "batch_size": 64, "lr": 1e-3, "warmup": 256, "target_every": 250,
          "hidden": (64, 64), "gradient_steps": 1, "window": 16}
SB3 = {"learning_rate": 1e-3, "batch_size": 64, "learning_starts": 256, "train_freq": 4,
       "gradient_steps": 1, "target_update_interval": 250, "buffer_size": 100_000}
GROUP = "DQN training steps/s on the same bars: rlbt native vs SB3 on BarEnv"


def _bars(benchmark: Any) -> int:
    return BARS if full_run(benchmark) else SMALL_BARS


def test_native_dqn_training_pass(benchmark: Any) -> None:
    frame = price_frame(_bars(benchmark))

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        agent = DQNStrategy.build_agent(NATIVE, seed=0, device="cpu", threads=1)
        return (agent,), {}

    def train(agent: Any) -> Any:
        params = {**NATIVE, "agent": agent, "learn": True, "explore": True}
        return run_strategy(DQNStrategy, params, frame, None, CONFIG, analyzers=False)

    label(benchmark, GROUP, "rlbt DQN, training pass", "rlbt", per_call=len(frame),
          unit="bars")
    benchmark.pedantic(train, setup=setup, rounds=3 if full_run(benchmark) else 1)


@pytest.mark.filterwarnings("ignore")  # SB3's own warnings
def test_sb3_dqn_on_bar_env(benchmark: Any) -> None:
    peer("stable_baselines3")
    from rlbt.strategies.sb3_strategy import strategy_for

    frame = price_frame(_bars(benchmark))
    cls = strategy_for("DQN")
    params = {**SB3, "window": 16, "net_arch": (64, 64)}
    steps = len(frame) - 17  # one episode: every decision bar of the frame

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        agent = cls.build_agent(params, seed=0, device="cpu", threads=1)
        cls.train_episode(agent, frame, params, CONFIG, 1, None)  # the env is built here
        return (agent,), {}

    label(benchmark, GROUP, "stable-baselines3 DQN on rlbt.gym.BarEnv", "peer",
          per_call=steps, unit="steps")
    benchmark.pedantic(lambda agent: agent.learn(steps), setup=setup,
                       rounds=3 if full_run(benchmark) else 1)
