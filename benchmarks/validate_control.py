"""Validate the agents on a classic control task: gymnasium's CartPole-v1.

Not part of the test suite (it takes minutes): a check that DQN, REINFORCE and
A2C, driven through the same ``act`` / ``observe`` contract a backtest uses,
actually solve a standard benchmark. CartPole-v1 pays +1 per step and ends
(terminated) when the pole falls, or is truncated at 500 steps; 500 is perfect,
and the task counts as solved at an average of 475.

gymnasium is an optional extra (``pip install gymnasium``); ``agents/`` never
imports it: the small loop below adapts the env to the agent contract.

Usage::

    python benchmarks/validate_control.py                       # all agents, 3 seeds
    python benchmarks/validate_control.py --agents a2c --seeds 1 --steps 100000

Prints, per agent, mean +- std over the seeds of (a) the average return of the
last 10 training episodes and (b) the average return of 10 greedy evaluation
episodes after training. Seeds run one after another on one torch thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rlbt.agents.a2c import A2CAgent, A2CConfig
from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.agents.policy_gradient import PolicyGradientAgent, PolicyGradientConfig

ENV_ID = "CartPole-v1"
OBS_DIM, N_ACTIONS = 4, 2
EVAL_SEED_OFFSET = 10_000  # evaluation episodes use other env seeds than training


def make_dqn(seed: int) -> Any:
    """Double DQN, 2 gradient steps every 4 env steps, hard target copy every 250
    gradient steps, epsilon 1 -> 0.04 over the first 10k steps."""
    return DQNAgent(DQNConfig(
        obs_dim=OBS_DIM, n_actions=N_ACTIONS, hidden=(256, 256), lr=1e-3, gamma=0.99,
        buffer_size=100_000, batch_size=64, warmup=1_000, learn_every=4, gradient_steps=2,
        target_every=250, eps_start=1.0, eps_end=0.04, eps_decay_steps=10_000, seed=seed,
    ))


def make_reinforce(seed: int) -> Any:
    """REINFORCE, learning once per episode on normalised returns."""
    return PolicyGradientAgent(PolicyGradientConfig(
        obs_dim=OBS_DIM, n_actions=N_ACTIONS, hidden=(64, 64), lr=1e-3, gamma=0.99,
        entropy_coef=0.0, rollout_bars=0, seed=seed,
    ))


def make_a2c(seed: int) -> Any:
    """A2C with one env: 5-step rollouts and no entropy bonus (as the zoo's CartPole).
    No gradient clipping: with +1 per step the value loss is large (returns up to ~100)
    and a clipped step mostly shrinks the policy's share, so the critic lags, every
    advantage comes out positive and the policy collapses onto one action."""
    return A2CAgent(A2CConfig(
        obs_dim=OBS_DIM, n_actions=N_ACTIONS, hidden=(64, 64), lr=5e-4, gamma=0.99,
        rollout_bars=5, entropy_coef=0.0, max_grad_norm=None, seed=seed,
    ))


AGENTS: dict[str, tuple[Callable[[int], Any], int]] = {
    "dqn": (make_dqn, 100_000),
    "reinforce": (make_reinforce, 300_000),
    "a2c": (make_a2c, 150_000),
}


def train(agent: Any, env: Any, steps: int, seed: int) -> list[float]:
    """Run ``steps`` exploring env steps, learning online; return every finished
    episode's return."""
    returns: list[float] = []
    obs, _ = env.reset(seed=seed)
    episode_return = 0.0
    for _ in range(steps):
        action = agent.act(obs, explore=True)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        # the pole falling is a true terminal; the 500-step limit is a truncation
        agent.observe(obs, action, float(reward), next_obs, terminated, truncated)
        episode_return += float(reward)
        obs = next_obs
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            obs, _ = env.reset()
    return returns


def evaluate(agent: Any, env: Any, episodes: int, seed: int) -> list[float]:
    """Greedy returns of ``episodes`` episodes, without learning."""
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def run_one(gym: Any, name: str, seed: int, steps: int, episodes: int) -> tuple[float, float]:
    """Train and evaluate one agent with one seed; print and return (train, eval) scores."""
    factory, _ = AGENTS[name]
    started = time.perf_counter()
    env = gym.make(ENV_ID)
    env.action_space.seed(seed)
    agent = factory(seed)
    train_returns = train(agent, env, steps, seed)
    last = float(np.mean(train_returns[-10:])) if train_returns else float("nan")
    evaluation = float(np.mean(evaluate(agent, gym.make(ENV_ID), episodes,
                                        seed + EVAL_SEED_OFFSET)))
    print(f"  {name:9s} seed {seed}: {len(train_returns):5d} episodes, last 10 train {last:6.1f}, "
          f"greedy eval {evaluation:6.1f}  ({time.perf_counter() - started:5.0f} s)", flush=True)
    return last, evaluation


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default=",".join(AGENTS),
                        help=f"comma-separated, from {', '.join(AGENTS)} (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per agent (default 3)")
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps per agent and seed (default: " + ", ".join(
                            f"{k} {v[1]:,}" for k, v in AGENTS.items()) + ")")
    parser.add_argument("--eval-episodes", type=int, default=10,
                        help="greedy episodes after training (default 10)")
    args = parser.parse_args(argv)
    args.agents = [name.strip() for name in args.agents.split(",") if name.strip()]
    unknown = [name for name in args.agents if name not in AGENTS]
    if unknown:
        parser.error(f"unknown agents {unknown}; known: {sorted(AGENTS)}")
    if args.seeds < 1 or (args.steps is not None and args.steps < 1):
        parser.error("--seeds and --steps must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import gymnasium as gym
    except ImportError:
        print("validate_control.py needs gymnasium, an optional extra: "
              "pip install gymnasium", file=sys.stderr)
        return 1
    torch.set_num_threads(1)  # tiny networks: one thread is fastest and shares the machine
    summary = []
    for name in args.agents:
        steps = args.steps or AGENTS[name][1]
        print(f"{name}: {steps:,} steps x {args.seeds} seeds on {ENV_ID}", flush=True)
        scores = np.array([run_one(gym, name, seed, steps, args.eval_episodes)
                           for seed in range(args.seeds)])
        summary.append((name, steps, scores))
    print(f"\n{ENV_ID}, mean +- std over seeds (max 500):")
    for name, steps, scores in summary:
        (train_mean, eval_mean), (train_std, eval_std) = scores.mean(0), scores.std(0)
        print(f"  {name:9s} {steps:>8,} steps: last 10 train episodes {train_mean:6.1f} +- "
              f"{train_std:5.1f}   greedy eval (10 episodes) {eval_mean:6.1f} +- {eval_std:5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
