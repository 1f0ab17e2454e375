"""`steve1 gen-mixed-agents --ray`: the worlds as Ray actors (one each), the two agents and MineCLIP batched
in one model actor (a whole GPU on CUDA), the run itself (switches, spins, episode writing, retries,
resuming) the local path's `MixedAgentGenerator` on the driver.

Episode k gets the same seed, switch/spin stream and agent calls in the same order as in a local run with
the same --num-worlds, so the episodes (names, actions, metadata) are the local run's. The output folder must
be one the driver writes (it writes the episodes); the worlds may run on any node.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from steve1.cluster.runtime import MODEL_ACTOR_GPUS, TASK_CPUS, connect
from steve1.cluster.worlds import remote_world_factory

log = logging.getLogger("steve1.cluster")


class ModelActor:
    """Both agents and the MineCLIP embedder in one process: every world's step is one batched call."""

    def __init__(self, specs: Sequence[tuple[str, int]], device: str, embed: tuple, threads: int):
        from steve1.data.agents import make_agent
        from steve1.data.embedding import embed_fn_for

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.agents = [make_agent(spec, seed=seed, device=device) for spec, seed in specs]
        self.embed_fn = embed_fn_for(*embed)

    def describe(self) -> list[tuple[str, str, str, bool]]:
        return [(a.name, a.in_model, a.in_weights, hasattr(a, "current_skill")) for a in self.agents]

    def reset(self, which: int, batch_size: int) -> None:
        self.agents[which].reset(batch_size)

    def reset_slots(self, which: int, slots: list[int]) -> None:
        self.agents[which].reset_slots(slots)

    def restart_slots(self, which: int, slots: list[int]) -> None:
        self.agents[which].restart_slots(slots)

    def act(self, which: int, obs_batch: list[dict], slots: list[int]) -> tuple[list[dict], list[str] | None]:
        """The actions, and what acted in each slot (a skill mix's current skill) when the agent says."""
        from steve1.data.agents import acting_name

        agent = self.agents[which]
        actions = agent.act(obs_batch, slots)
        names = [acting_name(agent, s) for s in slots] if hasattr(agent, "current_skill") else None
        return actions, names

    def embed(self, frames):
        return self.embed_fn(frames)


class RemoteAgent:
    """One of the model actor's agents, with the Agent protocol (steve1.data.agents)."""

    def __init__(self, ray, actor, which: int, name: str, in_model: str, in_weights: str, has_skill: bool):
        self._ray, self.actor, self.which = ray, actor, which
        self.name, self.in_model, self.in_weights = name, in_model, in_weights
        self._acting: dict[int, str] = {}
        if has_skill:
            self.current_skill = self._acting.__getitem__

    def reset(self, batch_size: int) -> None:
        self._ray.get(self.actor.reset.remote(self.which, batch_size))

    def reset_slots(self, slots) -> None:
        self._ray.get(self.actor.reset_slots.remote(self.which, list(slots)))

    def restart_slots(self, slots) -> None:
        self._ray.get(self.actor.restart_slots.remote(self.which, list(slots)))

    def act(self, obs_batch, slots) -> list[dict]:
        actions, names = self._ray.get(self.actor.act.remote(self.which, list(obs_batch), list(slots)))
        if names is not None:
            self._acting.update(zip(slots, names, strict=True))
        return actions


def ray_parts(s, specs: Sequence[tuple[str, int]], world_kwargs: dict):
    """(agent1, agent2, embed_fn, make_world) for MixedAgentGenerator, on Ray (`s`: GenerateSettings)."""
    ray = connect(s.ray)
    gpus = MODEL_ACTOR_GPUS if str(s.device).startswith("cuda") else 0
    embed = (s.mineclip_config, s.mineclip_weights, s.device, s.batch_size, s.mineclip_dtype)
    actor = ray.remote(ModelActor).options(num_cpus=TASK_CPUS, num_gpus=gpus).remote(
        list(specs), s.device, embed, s.threads)
    agents = [RemoteAgent(ray, actor, k, *d) for k, d in enumerate(ray.get(actor.describe.remote()))]

    def embed_fn(frames):
        return ray.get(actor.embed.remote(frames))

    log.info("agents and MineCLIP in one Ray actor (%g GPU); %d world actor(s) of %s", gpus, s.num_worlds,
             s.world)
    return agents[0], agents[1], embed_fn, remote_world_factory(s.world, world_kwargs)
