"""Validate the agents on a classic control task: gymnasium's CartPole-v1.

Not part of the test suite (it takes minutes): a check that DQN, REINFORCE and
A2C, driven through the same ``act`` / ``observe`` contract a backtest uses,
actually solve a standard benchmark. CartPole-v1 pays +1 per step and ends
(terminated) when the pole falls, or is truncated at 500 steps; 500 is perfect,
and the task counts as solved at an average of 475.

gymnasium is an optional extra (``pip install gymnasium``); ``agents/`` never
imports it: the small loop below adapts the env to the agent contract.

Seeds. DQN's settings (``make_dqn``) were chosen on the tuning seeds 100-102
(``TUNING_SEEDS``) only; the README reports DQN on seeds 0-4, which were never
used to choose anything. (REINFORCE's and A2C's settings were tuned partly on
their reported seeds 0-2, as the README says.) A seed fixes the agent
(``seed``), the training env (``reset(seed=seed)``), the validation episodes
(env seeds ``seed + 20000 + i``) and the evaluation episodes (env seeds
``seed + 10000 + i``), so the three sets of episodes never share a start state.

Model selection (DQN by default, ``--select``). DQN on CartPole is unsteady:
its greedy policy reaches 500 within 30k-65k steps, then falls back and
recovers again, so the state after exactly 100k steps is a lottery (seeds
0-4: 207 +- 155 greedy with ``--select last``). So, as rl-baselines3-zoo's
``EvalCallback`` does, the script evaluates the greedy policy every
``--val-every`` env steps (and after the last) on ``--val-episodes``
validation episodes of their own env seeds, keeps the agent state
(``state_dict``) with the best validation mean (the earliest on a tie) and
restores it before the evaluation episodes. That is selection on a validation
set: the evaluation episodes are never used for it. The validation episodes
are greedy, not learned from, not counted in the 100k training steps, and
leave training unchanged (greedy ``act`` draws no random numbers), so
``--select last`` evaluates the final state of the very same run.

Usage::

    python benchmarks/validate_control.py                       # all agents, seeds 0-2
    python benchmarks/validate_control.py --agents dqn --seeds 0-4   # the README's DQN row
    python benchmarks/validate_control.py --agents a2c --seeds 1 --steps 100000

``--seeds`` takes a count N (seeds 0..N-1), a range ``A-B`` or a list
``A,B,C``. Prints, per agent, mean +- std over the seeds of (a) the average
return of the last 10 training episodes and (b) the average return of 10
greedy evaluation episodes after training (after selection, when it
selects). Seeds run one after another on one torch thread.
"""

from __future__ import annotations

import argparse
import copy
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
VALIDATION_SEED_OFFSET = 20_000  # and model selection others again
TUNING_SEEDS = (100, 101, 102)  # make_dqn's settings were chosen on these seeds only


def make_dqn(seed: int) -> Any:
    """rl-baselines3-zoo's DQN for CartPole-v1 in DQNConfig's terms: lr 2.3e-3, batch 64,
    replay 100k, [256, 256], gamma 0.99, learning from step 1000, 128 gradient steps every
    256 env steps (train_freq 256, gradient_steps 128), epsilon 1 -> 0.04 over 8k steps
    (exploration_fraction 0.16 of the zoo's 50k), plain (not double) DQN as SB3's, Huber
    loss and a 10 gradient-norm clip (both as SB3's). The zoo copies the target every 10 env
    steps (SB3 counts target_update_interval in env steps), but no gradient step happens
    between two learning rounds, so its target is the online net as it was after the
    previous round: here, a hard copy every 128 gradient steps. Chosen on TUNING_SEEDS,
    100k steps, greedy eval of the validation-selected state 500.0 +- 0.0 (final state
    413 +- 123); with double DQN there 497.1 +- 4.1 selected (final 94 +- 29)."""
    return DQNAgent(DQNConfig(
        obs_dim=OBS_DIM, n_actions=N_ACTIONS, hidden=(256, 256), lr=2.3e-3, gamma=0.99,
        buffer_size=100_000, batch_size=64, warmup=1_000, learn_every=256, gradient_steps=128,
        target_every=128, tau=1.0, double=False, huber=True, max_grad_norm=10.0,
        eps_start=1.0, eps_end=0.04, eps_decay_steps=8_000, seed=seed,
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


# name: (factory, default env steps, default --select)
AGENTS: dict[str, tuple[Callable[[int], Any], int, str]] = {
    "dqn": (make_dqn, 100_000, "best"),
    "reinforce": (make_reinforce, 300_000, "last"),
    "a2c": (make_a2c, 150_000, "last"),
}


class Selector:
    """Model selection on validation episodes: every ``every`` env steps, the greedy
    mean return of ``episodes`` episodes (env seeds ``seed``, ``seed + 1``, ...);
    the agent state with the best mean (the earliest on a tie) is kept in memory."""

    def __init__(self, env: Any, every: int, episodes: int, seed: int) -> None:
        self.env, self.every, self.episodes, self.seed = env, every, episodes, seed
        self.best = -np.inf
        self.best_step = 0
        self.best_state: dict[str, Any] | None = None

    def check(self, agent: Any, step: int) -> None:
        score = float(np.mean(evaluate(agent, self.env, self.episodes, self.seed)))
        if score > self.best:  # deep copy: state_dict() holds the live tensors
            self.best, self.best_step = score, step
            self.best_state = copy.deepcopy(agent.state_dict())

    def restore(self, agent: Any) -> None:
        if self.best_state is not None:
            agent.load_state_dict(self.best_state)


def train(agent: Any, env: Any, steps: int, seed: int,
          selector: Selector | None = None) -> list[float]:
    """Run ``steps`` exploring env steps, learning online; return every finished
    episode's return. With a ``selector``, validate every ``selector.every`` steps
    (and after the last one)."""
    returns: list[float] = []
    obs, _ = env.reset(seed=seed)
    episode_return = 0.0
    for step in range(1, steps + 1):
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
        if selector is not None and (step % selector.every == 0 or step == steps):
            selector.check(agent, step)
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


def run_one(gym: Any, name: str, seed: int, steps: int, args: argparse.Namespace,
            ) -> tuple[float, float]:
    """Train and evaluate one agent with one seed; print and return (train, eval) scores."""
    factory, _, select_default = AGENTS[name]
    started = time.perf_counter()
    env = gym.make(ENV_ID)
    env.action_space.seed(seed)
    agent = factory(seed)
    selector = None
    if (args.select or select_default) == "best":
        selector = Selector(gym.make(ENV_ID), args.val_every, args.val_episodes,
                            seed + VALIDATION_SEED_OFFSET)
    train_returns = train(agent, env, steps, seed, selector)
    chosen = ""
    if selector is not None:
        selector.restore(agent)
        chosen = f", selected step {selector.best_step:,} (validation {selector.best:5.1f})"
    last = float(np.mean(train_returns[-10:])) if train_returns else float("nan")
    evaluation = float(np.mean(evaluate(agent, gym.make(ENV_ID), args.eval_episodes,
                                        seed + EVAL_SEED_OFFSET)))
    print(f"  {name:9s} seed {seed}: {len(train_returns):5d} episodes, last 10 train {last:6.1f}"
          f"{chosen}, greedy eval {evaluation:6.1f}  ({time.perf_counter() - started:5.0f} s)",
          flush=True)
    return last, evaluation


def parse_seeds(text: str) -> list[int]:
    """``N`` (seeds 0..N-1), ``A-B`` (inclusive) or ``A,B,C``."""
    text = text.strip()
    if "," in text:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    elif "-" in text:
        low, high = (int(part) for part in text.split("-", 1))
        seeds = list(range(low, high + 1))
    else:
        seeds = list(range(int(text)))
    if not seeds or min(seeds) < 0:
        raise ValueError(text)
    return seeds


def seed_text(seeds: list[int] | tuple[int, ...]) -> str:
    seeds = list(seeds)
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default=",".join(AGENTS),
                        help=f"comma-separated, from {', '.join(AGENTS)} (default: all)")
    parser.add_argument("--seeds", default="3",
                        help="N (seeds 0..N-1), A-B or A,B,C (default 3: seeds 0-2); DQN's "
                             f"settings were tuned on {seed_text(TUNING_SEEDS)}")
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps per agent and seed (default: " + ", ".join(
                            f"{k} {v[1]:,}" for k, v in AGENTS.items()) + ")")
    parser.add_argument("--eval-episodes", type=int, default=10,
                        help="greedy episodes after training (default 10)")
    parser.add_argument("--select", choices=("best", "last"), default=None,
                        help="evaluate the state with the best validation score, or the last "
                             "(default: " + ", ".join(f"{k} {v[2]}" for k, v in AGENTS.items())
                             + ")")
    parser.add_argument("--val-every", type=int, default=5_000,
                        help="with --select best: validate every this many env steps "
                             "(default 5000)")
    parser.add_argument("--val-episodes", type=int, default=10,
                        help="with --select best: greedy validation episodes (default 10)")
    args = parser.parse_args(argv)
    args.agents = [name.strip() for name in args.agents.split(",") if name.strip()]
    unknown = [name for name in args.agents if name not in AGENTS]
    if unknown:
        parser.error(f"unknown agents {unknown}; known: {sorted(AGENTS)}")
    try:
        args.seeds = parse_seeds(args.seeds)
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: expected N >= 1 (seeds 0..N-1), A-B or A,B,C "
                     "(seed 0 alone: 0-0)")
    if min(args.eval_episodes, args.val_every, args.val_episodes) < 1 or (
            args.steps is not None and args.steps < 1):
        parser.error("--steps, --eval-episodes, --val-every and --val-episodes must be >= 1")
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
    overlap = sorted(set(args.seeds) & set(TUNING_SEEDS))
    if "dqn" in args.agents and overlap:
        print(f"note: seeds {overlap} are DQN's tuning seeds: not an out-of-sample check",
              flush=True)
    summary = []
    for name in args.agents:
        steps = args.steps or AGENTS[name][1]
        select = args.select or AGENTS[name][2]
        how = (f"best of validation every {args.val_every:,} steps ({args.val_episodes} "
               "episodes)" if select == "best" else "last state")
        print(f"{name}: {steps:,} steps x seeds {seed_text(args.seeds)} on {ENV_ID}, "
              f"evaluating the {how}", flush=True)
        scores = np.array([run_one(gym, name, seed, steps, args) for seed in args.seeds])
        summary.append((name, steps, scores))
    print(f"\n{ENV_ID}, mean +- std over seeds {seed_text(args.seeds)} (max 500; DQN's settings "
          f"were tuned on seeds {seed_text(TUNING_SEEDS)}):")
    for name, steps, scores in summary:
        (train_mean, eval_mean), (train_std, eval_std) = scores.mean(0), scores.std(0)
        print(f"  {name:9s} {steps:>8,} steps: last 10 train episodes {train_mean:6.1f} +- "
              f"{train_std:5.1f}   greedy eval ({args.eval_episodes} episodes) {eval_mean:6.1f} "
              f"+- {eval_std:5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
