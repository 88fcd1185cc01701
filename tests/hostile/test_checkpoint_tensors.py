"""Hostile checkpoints, part two (issue 14, findings 3, 10, 11): a file that
unpickles safely but whose tensors, optimizer state, counters, RNG state or
stored config are damaged is refused at load, in one line naming the file and
the entry, in the user's terms (never ``DQNConfig.lr``, never torch's repr).

Each damaged file is made from a good checkpoint saved by ``rlbt run --save``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from harness import assert_refused, assert_unchanged, cli, snapshot

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's casting warnings

Payload = dict[str, Any]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real DQN checkpoint, trained for one episode (its optimizer has moments)."""
    root = tmp_path_factory.mktemp("good")
    outcome = cli("run", "dqn", "--data", "orcl", "--episodes", "1", "--end", "2002-12-31",
                  "--no-report", "--save", str(root / "x.pt"), "--out", str(root / "run"))
    assert outcome.exit_code == 0, outcome.output
    return root / "x.pt"


def weights(key: str, make: Callable[[torch.Tensor], Any]) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        p["state"]["q_network"][key] = make(p["state"]["q_network"][key])
    return change


def all_weights(make: Callable[[torch.Tensor], Any], net: str = "q_network"
                ) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        p["state"][net] = {k: make(v) for k, v in p["state"][net].items()}
    return change


def moments(make: Callable[[str, Any], Any]) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        for entry in p["state"]["optimizer"]["state"].values():
            for key in list(entry):
                entry[key] = make(key, entry[key])
    return change


def group(key: str, value: Any) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        for g in p["state"]["optimizer"]["param_groups"]:
            g[key] = value
    return change


def state(key: str, value: Any) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        p["state"][key] = value
    return change


def config(**changes: Any) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        p["config"] = json.dumps({**json.loads(p["config"]), **changes})
    return change


def entry_key(key: str, value: Any) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        p[key] = value
    return change


def _drop_first(key: str) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        for entry in p["state"]["optimizer"]["state"].values():
            del entry[key]
    return change


def _scaled_sq(key: str, v: Any) -> Any:
    return -v - 1 if key == "exp_avg_sq" else v


def _resized(key: str, v: Any) -> Any:
    return torch.zeros(3) if key != "step" else v


CASES: list[tuple[str, Callable[[Payload], None], tuple[str, ...]]] = [
    # tensors: layout, device, dtype, shape, keys, values
    ("sparse", weights("head.bias", lambda t: t.to_sparse()), ("q_network['head.bias']", "sparse")),
    ("meta", weights("head.bias", lambda t: torch.empty(2, device="meta")), ("head.bias", "meta")),
    ("complex", weights("head.bias", lambda t: t.to(torch.complex64)), ("head.bias", "complex64")),
    ("int64", all_weights(lambda t: t.long()), ("q_network", "int64", "floating-point")),
    ("bool", weights("head.bias", lambda t: t > 0), ("head.bias", "bool")),
    ("transposed", weights("trunk.0.weight", lambda t: t.t().contiguous()),
     ("trunk.0.weight", "shape (18, 64)", "(64, 18)")),
    ("missing key", lambda p: p["state"]["q_network"].pop("head.bias"),
     ("q_network", "missing", "head.bias")),
    ("extra key", lambda p: p["state"]["q_network"].update({"evil.weight": torch.zeros(3)}),
     ("q_network", "unexpected", "evil.weight")),
    ("weights 1e38", all_weights(lambda t: torch.full_like(t, 1e38)), ("q_network", "1e+06")),
    ("target NaN", all_weights(lambda t: torch.full_like(t, float("nan")), "target_network"),
     ("target_network", "NaN")),
    ("a list for a tensor", weights("head.bias", lambda t: t.tolist()), ("head.bias", "tensor")),
    # optimizer
    ("moments of the wrong shape", moments(_resized), ("exp_avg", "shape (3,)")),
    ("negative second moment", moments(_scaled_sq), ("exp_avg_sq", "negative")),
    ("huge first moment", moments(lambda k, v: v * 0 + 1e30 if k == "exp_avg" else v),
     ("exp_avg", "1e+06")),
    ("step -1", moments(lambda k, v: torch.tensor(-1.0) if k == "step" else v), ("step",)),
    ("step NaN", moments(lambda k, v: torch.tensor(float("nan")) if k == "step" else v),
     ("step",)),
    ("exp_avg missing", _drop_first("exp_avg"), ("optimizer", "missing", "exp_avg")),
    ("lr NaN", group("lr", float("nan")), ("lr", "nan", "--param lr")),
    ("lr 0", group("lr", 0.0), ("lr", "> 0")),
    ("lr a string", group("lr", "0.001"), ("lr",)),
    ("betas 1.5", group("betas", (1.5, 0.999)), ("betas", "[0, 1)")),
    ("eps 0", group("eps", 0.0), ("eps",)),
    ("amsgrad flag", group("amsgrad", True), ("amsgrad",)),
    ("fused flag", group("fused", True), ("fused",)),
    ("other params", group("params", [0, 1]), ("params",)),
    ("an optimizer state of a foreign param",
     lambda p: p["state"]["optimizer"]["state"].update({99: {}}), ("optimizer", "99")),
    # counters and RNG state
    ("env_steps -5", state("env_steps", -5), ("env_steps", "-5")),
    ("env_steps 1e30", state("env_steps", 10**30), ("env_steps",)),
    ("updates NaN", state("updates", float("nan")), ("updates",)),
    ("updates True", state("updates", True), ("updates",)),
    ("rng out of range", state("rng", {"bit_generator": "PCG64", "state": {"state": -1, "inc": "x"},
                                       "has_uint32": 0, "uinteger": 0}), ("rng", "PCG64")),
    ("rng of another generator", state("rng", {"bit_generator": "MT19937", "state": {}}),
     ("rng", "PCG64")),
    ("rng not a dict", state("rng", 5), ("rng",)),
    # header and stored config
    ("version True", entry_key("version", True), ("version True",)),
    ("deeply nested config", entry_key("config", "[" * 200_000 + "]" * 200_000),
     ("config", "nested too deeply")),
    ("seed 2**70", config(seed=2**70), ("stored config", f"seed={2**70}", "--seed")),
    ("seed -1", config(seed=-1), ("seed=-1", "--seed")),
    ("lr a string in the config", config(lr="0.001"), ("stored config", "--param lr")),
    ("n_actions 3", config(n_actions=3), ("head.weight", "shape (2, 64)", "(3, 64)")),
    ("missing field", lambda p: p.update(config=json.dumps(
        {k: v for k, v in json.loads(p["config"]).items() if k != "obs_dim"})), ("obs_dim",)),
]


@pytest.mark.parametrize(("damage", "culprits"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_damaged_checkpoint_is_refused_naming_the_entry(
    good: Path, tmp_path: Path, damage: Callable[[Payload], None], culprits: tuple[str, ...]
) -> None:
    payload = copy.deepcopy(dict(torch.load(good, weights_only=True)))
    damage(payload)
    path = tmp_path / "damaged.pt"
    torch.save(payload, path)
    before = snapshot(tmp_path)
    outcome = cli("run", "dqn", "--data", "orcl", "--end", "2002-12-31", "--episodes", "0",
                  "--no-report", "--load", str(path), "--out", str(tmp_path / "run"))
    assert_refused(outcome, str(path), *culprits)
    text = outcome.output
    assert "DQNConfig" not in text and "Error(s) in loading" not in text, text
    assert len(text.strip().splitlines()) == 1, text  # one line: never torch's multi-line repr
    assert_unchanged(before, tmp_path)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("damage", [
    weights("head.bias", lambda t: t.half()),  # narrower float: torch casts it back
    weights("head.bias", lambda t: t.double()),
], ids=["float16", "float64"])
def test_a_checkpoint_with_other_float_widths_still_loads(
    good: Path, tmp_path: Path, damage: Callable[[Payload], None]
) -> None:
    """The dtype rule is "a real floating dtype", not "exactly float32"."""
    payload = copy.deepcopy(dict(torch.load(good, weights_only=True)))
    damage(payload)
    torch.save(payload, tmp_path / "ok.pt")
    outcome = cli("run", "dqn", "--data", "orcl", "--end", "2002-12-31", "--episodes", "0",
                  "--no-report", "--load", str(tmp_path / "ok.pt"), "--out", str(tmp_path / "r"))
    assert outcome.exit_code == 0, outcome.output
