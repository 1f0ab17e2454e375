"""Training the real (tiny) VPT policy end to end: episodes on disk, a sampling, the CLI, VPT weights in,
STEVE-1 weights out in the released layout."""
from __future__ import annotations

import json

import numpy as np
import torch
from conftest import load_parity

from steve1.data.episode import save_episode
from steve1.data.hindsight_synthetic import synthetic_episodes
from steve1.spaces import BUTTON_KEYS, noop_action
from steve1.training.train import main
from steve1.vpt.config import policy_config
from steve1.vpt.policy import VPTPolicy
from steve1.vpt.weights import load_policy_weights


def write_episodes(root, names, length, seed):
    for name, mem in zip(names, synthetic_episodes(len(names), length, seed=seed), strict=True):
        actions = []
        for colour in mem.colour_index:  # actions follow the frame colour, so they can be learned
            a = noop_action()
            a[BUTTON_KEYS[int(colour) % len(BUTTON_KEYS)]] = 1
            a["camera"] = np.array([0.0, 2.0 * (int(colour) - 4)])
            actions.append(a)
        save_episode(root, name, mem.frames(0, length), actions, mem.embeds())
    return [str(root / n) for n in names]


def test_cli_trains_tiny_vpt_from_vpt_weights_and_writes_released_layout(tmp_path):
    episodes = tmp_path / "episodes"
    train = write_episodes(episodes, [f"train_{i}" for i in range(3)], 80, seed=1)
    val = write_episodes(episodes, ["val_0"], 80, seed=2)
    (tmp_path / "s_train.txt").write_text("\n".join(train) + "\n")
    (tmp_path / "s_val.txt").write_text("\n".join(val) + "\n")
    vpt = load_parity("vpt_policy_tiny.pt")["state_dict"]
    torch.save(vpt, tmp_path / "vpt.weights")
    out = tmp_path / "out" / "steve1_tiny.weights"

    rc = main(["--config", "tiny", "--sampling", "s", "--sampling_dir", str(tmp_path), "--num_workers", "0",
               "--in_weights", str(tmp_path / "vpt.weights"), "--out_weights", str(out),
               "--checkpoint_dir", str(tmp_path / "ckpt"), "--T", "16", "--trunc_t", "8", "--batch_size", "2",
               "--n_frames", "256", "--warmup_frames", "0", "--learning_rate", "3e-3",
               "--val_freq_begin", "1000", "--val_freq", "1000", "--log_freq", "2",
               "--progress_bar", "false"])
    assert rc == 0
    logs = [json.loads(line) for line in (tmp_path / "ckpt" / "metrics.jsonl").read_text().splitlines()]
    losses = [m["loss"] for m in logs if "loss" in m]
    assert len(losses) == 8 and np.mean(losses[-3:]) < 0.9 * np.mean(losses[:3]), losses
    val = [m["val_loss"] for m in logs if "val_loss" in m]
    assert len(val) == 2 and val[1] < val[0]  # at step 1 and after training
    trained = torch.load(out, weights_only=True)
    steve1_keys = set(load_parity("steve1_policy_tiny.pt")["state_dict"])
    assert set(trained) == steve1_keys  # released layout: bare keys, goal layer included
    fresh = VPTPolicy(policy_config("tiny"), goal_dim=512)
    assert load_policy_weights(fresh, out) == []  # strict, nothing left at init
    changed = [k for k in vpt if not torch.equal(trained[k], vpt[k].to(trained[k].dtype))]
    assert len(changed) > len(vpt) // 2  # started from the VPT file and trained
    for tag in ("latest", "best"):
        assert (out.parent / f"steve1_tiny_{tag}.weights").is_file()


def test_initialised_from_vpt_weights_plus_new_goal_layer(tmp_path):
    from steve1.training.policy_io import build_policy

    vpt = load_parity("vpt_policy_tiny.pt")["state_dict"]
    torch.save(vpt, tmp_path / "vpt.weights")
    policy = build_policy("tiny", str(tmp_path / "vpt.weights"))
    sd = policy.state_dict()
    for k, v in vpt.items():
        assert torch.equal(sd[k], v.to(sd[k].dtype)), k
    goal_layer = {"net.mineclip_embed_linear.weight", "net.mineclip_embed_linear.bias"}
    assert {k for k in sd if k not in vpt} == goal_layer
