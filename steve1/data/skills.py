"""Scripted skill agents for the Minetest world: purposeful behaviour (chop a tree, dig dirt, collect seeds,
look at the sky, explore, swim, build a tower, place blocks) recorded so that a policy can learn to follow
prompts from it.

They implement the `Agent` protocol of steve1.data.agents and act ONLY through MineRL env actions (every
button an int array of shape (1,), `camera` a (1, 2) array of degrees (pitch, yaw); positive pitch looks
down, positive yaw turns right). To decide, they read privileged facts from the world mod: the generator
passes each observation merged with `{SENSES_KEY: info["senses"]}` (Minetest's `info["senses"]`, written by
the bridge mod's senses.lua: nearest tree/dirt/grass/water relative to the eye, the pointed node, in_water,
ground height, hotbar). `act()` reads `obs.get(SENSES_KEY)`; without senses a skill wanders.

Geometry (verified in the game): a node at eye-relative Minetest offset (dx, dy, dz) (x east, y up, z north)
lies at MineRL yaw atan2(dx, dz) and pitch -atan2(dy, hypot(dx, dz)), in degrees.

Skills that place blocks need them in the inventory: the generator gives `SKILL_START_ITEMS[name]` at episode
start (`world.give(item, count)`); without them, they dig dirt first. `SKILL_WORLD_SEEDS[name]` lists
Minetest world seeds (mapgen v7) whose spawn has what the skill needs nearby.

`SKILLS` / `make_skill_agent(name, seed)` build a skill by name; `SkillMix` holds several and switches between
them per slot at random times (`current_skill(slot)` names the acting one, for recording); `SkillGoal` says
when a skill's goal (`GOALS`) is reached, from observations alone (benchmarks/skills.py).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from steve1.data.agents import AGENT_BUTTON_KEYS, RandomAgent
from steve1.data.states import SENSES_KEY  # noqa: F401 - where act() finds the world's senses; re-exported
from steve1.envs.items import LOG_ITEMS, MINETEST_TO_MINERL
from steve1.spaces import CAMERA_KEY

# ----------------------------------------------------------------- parameters (named once)
MAX_TURN_DEG = 15.0  # largest camera change per step (a quick but visible human turn)
SETTLE_TOLERANCE_DEG = 1.0  # a turn has arrived when the observed angles are this close to the expected
SETTLE_MAX_STEPS = 8  # steps a skill waits for its last turn to show in the observations before turning again
PITCH_LIMIT = 89.0  # Minetest stops the pitch here (straight up/down)
AIM_TOLERANCE_DEG = 6.0  # facing error below which a skill starts walking/digging
WALK_TOLERANCE_DEG = 30.0  # facing error below which a skill walks while still turning
REACH = 3.5  # nodes from the eye within which a skill digs/places (Minetest Game's hand reaches 4)
STUCK_WINDOW = 10  # steps over which less than STUCK_MOVE nodes of progress counts as stuck
STUCK_MOVE = 0.3
DIG_OUT_DIST = 1.5  # while stuck, dig what is pointed at closer than this (the way through leaves)
STUCK_TURN_AFTER = 3  # stuck windows in a row before turning away
MAX_SAFE_DROP = 4  # nodes of drop ahead (senses front.drop) a walker does not step down (falls hurt)
TARGET_TIMEOUT = 300  # steps spent on one target before giving it up and wandering WANDER_STEPS
WANDER_STEPS = 60
DETOUR_STEPS = 20  # steps walked in a new direction after getting stuck on the way to a target
MAX_DETOURS = 3  # detours on the way to one target before giving it up
WANDER_TURN_P = 0.02  # per step, while wandering: pick a new heading
AIMED_WAIT = 20  # steps aimed at a target without pointing at it before trying another
DIG_TIMEOUT = 120  # steps attacking one node (a trunk takes 3.5 s = 70 steps by hand) before giving it up
SKY_PITCH = -60.0  # looking at the sky means pitch <= this
SKY_PITCH_RANGE = (-85.0, -68.0)  # where look_at_sky keeps its pitch
SKY_YAW_SPEED = (1.0, 4.0)  # degrees per step it pans up there
SKY_CHANGE_P = 0.02  # per step: new pan speed/direction and pitch
EXPLORE_TURN_P = 0.005  # per step: a new heading (walk far in one direction: rare)
SWIM_TURN_DEG = 2.0  # degrees per step a swimmer turns while swimming
TOWER_PLACE_HEIGHT = 0.9  # hold use (place under the feet) while this high above the ground: the jump's top
TOWER_STUCK_STEPS = 60  # steps without height gained before moving TOWER_MOVE_STEPS steps and trying again
TOWER_MOVE_STEPS = 15
PLACE_PITCH = (25.0, 38.0)  # pitch at which place_blocks looks at the ground in front
PLACE_TURN_DEG = (20.0, 50.0)  # yaw turn between two placements
PLACE_MAX_RISE = 0  # place_blocks puts blocks on the ground around (feet level), not on top of each other
PLACE_WALK_P = 0.35  # after a placement: chance of a few steps of walking
GATHER_DIRT_FOR_BLOCKS = 8  # dirt a block skill digs first when it has no blocks

DIRT_NODES = ("default:dirt", "default:dirt_with_grass", "default:dirt_with_dry_grass",
              "default:dirt_with_snow", "default:dirt_with_rainforest_litter",
              "default:dirt_with_coniferous_litter")
GRASS_NODES = tuple(f"default:grass_{i}" for i in range(1, 6))  # drop farming:seed_wheat 1 time in 5
PLACEABLE_BLOCKS = ("default:dirt", "default:cobble", "default:wood", "default:stone", "default:sand",
                    "default:pine_wood", "default:aspen_wood", "default:junglewood", "default:acacia_wood")
HOTBAR_SLOTS = 9
PLAYER_RADIUS, PLAYER_HEIGHT = 0.3, 1.7  # Minetest Game's player collision box
GRASS_AIM_DY = -0.4  # aim near a grass plant's foot: grass_1's selection box is only 3/16 of a node high

SKILL_START_ITEMS: dict[str, dict[str, int]] = {  # Minetest item -> count, given at episode start
    "build_tower": {"default:dirt": 64},
    "place_blocks": {"default:dirt": 64},
}

# Minetest world seeds (mapgen v7, minetest.conf) whose spawn has what a skill needs nearby, surveyed with
# senses.lua over seeds 1..40: a trunk within 32 nodes, grass plants within 16, water within 32. Seed 5 is
# left out: its spawn puts the player's head inside a tree's leaves.
TREE_SEEDS = (1, 2, 3, 4, 17, 19, 27, 28, 29, 30)
GRASS_SEEDS = (6, 7, 8, 9, 12, 13, 14, 15, 16, 18)  # grassland: grass plants and dirt at the spawn
WATER_SEEDS = (1, 4, 8, 10, 11, 14, 15, 16, 18, 20)
ANY_SEEDS = (1, 2, 3, 4, 6, 7, 8, 9, 10, 11)
SKILL_WORLD_SEEDS: dict[str, tuple[int, ...]] = {
    "chop_tree": TREE_SEEDS, "dig_dirt": GRASS_SEEDS, "collect_seeds": GRASS_SEEDS, "look_at_sky": ANY_SEEDS,
    "explore": ANY_SEEDS, "swim": WATER_SEEDS, "build_tower": ANY_SEEDS, "place_blocks": GRASS_SEEDS,
    "random": ANY_SEEDS,
}


# ----------------------------------------------------------------- geometry and actions
def wrap_degrees(angle: float) -> float:
    """An angle in degrees wrapped to [-180, 180)."""
    return (angle + 180.0) % 360.0 - 180.0


def yaw_pitch_towards(rel: Sequence[float]) -> tuple[float, float]:
    """MineRL (yaw, pitch) degrees that look along the Minetest offset rel = (dx, dy, dz) (x east, y up,
    z north): yaw 0 looks north (+z), 90 east (+x); pitch positive looks down."""
    dx, dy, dz = (float(v) for v in rel)
    yaw = math.degrees(math.atan2(dx, dz))
    pitch = -math.degrees(math.atan2(dy, math.hypot(dx, dz)))
    return wrap_degrees(yaw), pitch


def camera_towards(obs: dict, yaw: float | None, pitch: float | None,
                   max_turn: float = MAX_TURN_DEG) -> tuple[np.ndarray, float]:
    """The camera change (1, 2) (pitch, yaw) that turns towards (yaw, pitch), at most max_turn degrees per
    axis (None keeps that axis), and the error in degrees (larger axis)."""
    loc = obs["location_stats"]
    d_pitch = 0.0 if pitch is None else float(pitch) - loc["pitch"]
    d_yaw = 0.0 if yaw is None else wrap_degrees(float(yaw) - loc["yaw"])
    turn = np.clip(np.array([d_pitch, d_yaw]), -max_turn, max_turn)
    camera = turn.reshape(1, 2)
    return camera, max(abs(d_pitch), abs(d_yaw))


def make_action(camera=None, **buttons) -> dict:
    """An env action: the named buttons (hotbar_3 for hotbar.3) pressed, the rest 0; camera (1, 2) degrees."""
    action = {k: np.array([0]) for k in AGENT_BUTTON_KEYS}
    for key, value in buttons.items():
        key = key.replace("_", ".") if key.startswith("hotbar") else key
        if key not in action:
            raise KeyError(f"unknown button {key!r}")
        action[key] = np.array([int(bool(value))])
    camera = np.zeros((1, 2)) if camera is None else np.asarray(camera, dtype=np.float64).reshape(1, 2)
    action[CAMERA_KEY] = camera
    return action


def horizontal(rel: Sequence[float]) -> float:
    return math.hypot(float(rel[0]), float(rel[2]))


def position(obs: dict) -> np.ndarray:
    loc = obs["location_stats"]
    return np.array([loc["xpos"], loc["ypos"], loc["zpos"]])  # (3,) Minetest x, y, z


def log_count(inventory: dict) -> int:
    return sum(int(inventory.get(k, 0)) for k in LOG_ITEMS)


def block_count(inventory: dict) -> int:
    """Placeable blocks in a MineRL-named inventory."""
    return sum(int(inventory.get(MINETEST_TO_MINERL.get(b, b), 0)) for b in PLACEABLE_BLOCKS)


# ----------------------------------------------------------------- base class
@dataclass
class SlotState:
    """One slot's state machine memory (episode-long)."""
    phase: str = "start"
    steps: int = 0  # steps since reset
    phase_steps: int = 0
    heading: float | None = None  # MineRL yaw a wandering/exploring skill keeps
    recent: deque = field(default_factory=lambda: deque(maxlen=STUCK_WINDOW))  # (x, z) positions
    stuck_windows: int = 0
    target: tuple | None = None  # node position being worked on
    target_steps: int = 0
    wander_left: int = 0
    expect: dict | None = None  # {"pitch"/"yaw": angle} the last turn should show in the observations
    expect_steps: int = 0  # steps waited for it
    detours: int = 0  # times walking to the current target got stuck and turned away
    avoid: set = field(default_factory=set)  # node positions given up on
    extra: dict = field(default_factory=dict)


class SkillAgent:
    """Base of the scripted skills: per-slot SlotState, a seeded RNG, and shared moves (walk to a node,
    aim and dig, wander with stuck detection). Subclasses implement `step(state, obs, senses) -> action`."""

    name = "skill"
    time_limit = 600  # steps within which the benchmark expects success

    def __init__(self, seed: int = 0):
        self.in_model, self.in_weights = "", f"{self.name}.scripted"
        self.rng = np.random.default_rng(seed)
        self.states: dict[int, SlotState] = {}

    def reset(self, batch_size: int) -> None:
        self.states = {i: SlotState() for i in range(batch_size)}

    def reset_slots(self, slots: Sequence[int]) -> None:
        for slot in slots:
            self.states[int(slot)] = SlotState()

    def restart_slots(self, slots: Sequence[int]) -> None:
        self.reset_slots(slots)  # one skill is its own task

    def act(self, obs_batch: Sequence[dict], slots: Sequence[int]) -> list[dict]:
        actions = []
        for obs, slot in zip(obs_batch, slots, strict=True):
            state = self.states.setdefault(int(slot), SlotState())
            senses = obs.get(SENSES_KEY) or {}
            xz = position(obs)[[0, 2]]
            state.recent.append(xz)
            action = self.step(state, obs, senses)
            state.steps += 1
            state.phase_steps += 1
            actions.append(action)
        return actions

    def step(self, state: SlotState, obs: dict, senses: dict) -> dict:
        raise NotImplementedError

    # ---- shared moves
    def look(self, state: SlotState, obs: dict, yaw: float | None,
             pitch: float | None) -> tuple[np.ndarray, float]:
        """camera_towards, robust to observations that lag behind: after a turn, hold the camera still until
        the observed angles show it (within SETTLE_TOLERANCE_DEG) or SETTLE_MAX_STEPS steps have passed.
        Returns the camera change (1, 2) and the observed error (degrees) to the wanted angles."""
        loc = obs["location_stats"]
        camera, err = camera_towards(obs, yaw, pitch)
        if state.expect is not None:
            arrived = all(abs(wrap_degrees(loc[k] - v)) <= SETTLE_TOLERANCE_DEG
                          for k, v in state.expect.items())
            state.expect_steps += 1
            if not arrived and state.expect_steps < SETTLE_MAX_STEPS:
                return np.zeros((1, 2)), err
            state.expect = None
        if np.abs(camera).max() > SETTLE_TOLERANCE_DEG:
            state.expect, state.expect_steps = {}, 0
            if pitch is not None:
                state.expect["pitch"] = float(np.clip(loc["pitch"] + camera[0, 0], -PITCH_LIMIT, PITCH_LIMIT))
            if yaw is not None:
                state.expect["yaw"] = wrap_degrees(loc["yaw"] + camera[0, 1])
        return camera, err

    def set_phase(self, state: SlotState, phase: str) -> None:
        if phase != state.phase:
            state.phase, state.phase_steps = phase, 0

    def is_stuck(self, state: SlotState) -> bool:
        """Moved less than STUCK_MOVE over the last STUCK_WINDOW steps (checked once per full window)."""
        if len(state.recent) < STUCK_WINDOW:
            return False
        moved = float(np.linalg.norm(state.recent[-1] - state.recent[0]))
        state.recent.clear()
        state.stuck_windows = state.stuck_windows + 1 if moved < STUCK_MOVE else 0
        return moved < STUCK_MOVE

    def walk(self, state: SlotState, obs: dict, senses: dict, yaw: float, sprint: bool = False,
             pitch: float = 0.0) -> dict:
        """Turn towards yaw and walk, jumping over one-node steps, when stuck, and in water. After
        STUCK_TURN_AFTER stuck windows in a row, or at a drop of MAX_SAFE_DROP nodes ahead (a fall that
        hurts), turn away by a random angle and walk DETOUR_STEPS steps that way (state.heading,
        state.wander_left)."""
        camera, err = self.look(state, obs, yaw, pitch)
        front = senses.get("front") or {}
        step_ahead = _walkable(front.get("foot")) and not _walkable(front.get("head"))
        stuck = self.is_stuck(state)
        cliff = int(front.get("drop", 0)) >= MAX_SAFE_DROP and not senses.get("in_water")
        if (cliff and state.expect is None) or state.stuck_windows >= STUCK_TURN_AFTER:  # detour
            state.stuck_windows = 0
            state.detours += 1
            state.wander_left = DETOUR_STEPS
            state.heading = wrap_degrees(obs["location_stats"]["yaw"] + self.rng.choice([-1, 1])
                                         * self.rng.uniform(60, 150))
        going = err < WALK_TOLERANCE_DEG and not cliff
        jump = going and (step_ahead or stuck or bool(senses.get("in_water")) or state.stuck_windows > 0)
        pointed = senses.get("pointed") or {}
        dig_out = state.stuck_windows > 0 and pointed.get("dist", 99.0) < DIG_OUT_DIST  # leaves in the face
        return make_action(camera, forward=going, jump=jump, sprint=going and sprint, attack=dig_out)

    def wander(self, state: SlotState, obs: dict, senses: dict) -> dict:
        """Walk in a heading that changes now and then (searching for something the senses do not see)."""
        state.wander_left = max(0, state.wander_left - 1)
        if state.heading is None or self.rng.random() < WANDER_TURN_P:
            state.heading = wrap_degrees(obs["location_stats"]["yaw"] + self.rng.uniform(-120, 120))
        return self.walk(state, obs, senses, state.heading)

    def pick_target(self, state: SlotState, senses: dict, key: str) -> dict | None:
        """senses[key] (the nearest node of a kind), else the nearest of senses[key + '_near'] not given up
        on; when all are given up on, forgets that and starts over; None if none is known."""
        candidates = [f for f in [senses.get(key), *(senses.get(key + "_near") or [])] if f]
        for found in candidates:
            if tuple(found["pos"]) not in state.avoid:
                return found
        if candidates:  # all given up on (one lake, one tree): try them again, from wherever we are now
            state.avoid.clear()
            return candidates[0]
        return None

    def give_up_target(self, state: SlotState, obs: dict) -> None:
        """Avoid the current target from now on and walk away from it for WANDER_STEPS steps."""
        if state.target is not None:
            state.avoid.add(state.target)
        state.target, state.target_steps, state.detours = None, 0, 0
        state.wander_left = WANDER_STEPS
        state.heading = wrap_degrees(obs["location_stats"]["yaw"] + 180 + self.rng.uniform(-60, 60))

    def track_target(self, state: SlotState, obs: dict, found: dict) -> bool:
        """Note that `found` is being worked on; False (and gives it up) once it has taken TARGET_TIMEOUT
        steps or MAX_DETOURS detours."""
        pos = tuple(found["pos"])
        if pos != state.target:
            state.target, state.target_steps, state.detours = pos, 0, 0
        state.target_steps += 1
        if state.target_steps > TARGET_TIMEOUT or state.detours > MAX_DETOURS:
            self.give_up_target(state, obs)
            return False
        return True

    def go_and_dig(self, state: SlotState, obs: dict, senses: dict, key: str, accept,
                   aim_dy: float = 0.0) -> dict:
        """Walk to the nearest node of kind `key` (senses), aim at it and hold attack; digs whatever is in
        the way once aimed. `accept(name)` says which pointed nodes count as the target kind. Gives up on a
        target after TARGET_TIMEOUT steps or MAX_DETOURS detours, and then avoids it. aim_dy: where to aim
        relative to the node's centre (nodes, up)."""
        found = self.pick_target(state, senses, key)
        if state.wander_left > 0 or not found:
            self.set_phase(state, "search")
            return self.wander(state, obs, senses)
        if not self.track_target(state, obs, found):
            return self.wander(state, obs, senses)
        pos = state.target
        rel = (found["rel"][0], found["rel"][1] + aim_dy, found["rel"][2])
        yaw, pitch = yaw_pitch_towards(rel)
        if horizontal(rel) < 0.3:  # straight below or above: keep the yaw
            yaw = None
        dist = float(np.linalg.norm(rel))
        if dist > REACH:
            self.set_phase(state, "approach")
            return self.walk(state, obs, senses, obs["location_stats"]["yaw"] if yaw is None else yaw,
                             pitch=min(max(pitch, 0.0), 30.0))
        self.set_phase(state, "dig")
        camera, err = self.look(state, obs, yaw, pitch)
        pointed = senses.get("pointed") or {}
        p_pos, p_dist = tuple(pointed.get("pos", ())), float(pointed.get("dist", 99.0))
        in_reach = p_dist <= REACH
        on_target = in_reach and (p_pos == pos or accept(pointed.get("name", "")))
        in_the_way = in_reach and p_dist < dist - 0.3  # grass, leaves between us and it
        x = state.extra
        digging = on_target or (in_the_way and (err < AIM_TOLERANCE_DEG or x.get("dig_pos") == p_pos))
        if digging:  # hold still and keep attacking: Minetest restarts a dig when the pointed node changes
            x["dig_steps"] = x.get("dig_steps", 0) + 1 if x.get("dig_pos") == p_pos else 0
            x["dig_pos"] = p_pos
            if x["dig_steps"] > DIG_TIMEOUT:  # not diggable by hand (stone in the way): go elsewhere
                x["dig_pos"], x["dig_steps"] = None, 0
                self.give_up_target(state, obs)
            return make_action(attack=True, jump=bool(senses.get("in_water")))
        x["dig_pos"] = None
        x["aimed_steps"] = x.get("aimed_steps", 0) + 1 if err < AIM_TOLERANCE_DEG else 0
        if x["aimed_steps"] > AIMED_WAIT:  # aimed but pointing past it (or at nothing): try another
            x["aimed_steps"] = 0
            self.give_up_target(state, obs)
            return self.wander(state, obs, senses)
        if err < AIM_TOLERANCE_DEG and not in_reach and horizontal(rel) > 1.0:  # aimed, out of reach: closer
            return make_action(camera, forward=True, jump=self.is_stuck(state))
        return make_action(camera, jump=bool(senses.get("in_water")))

    def gather_blocks(self, state: SlotState, obs: dict, senses: dict) -> dict | None:
        """For the block skills: an action that gets a block in hand (select its hotbar slot, or, with none,
        dig until GATHER_DIRT_FOR_BLOCKS dirt), or None when one is in hand."""
        slot, in_hand = self.select_block(senses)
        count = block_count(obs["inventory"])
        gathering = state.extra.get("gathering", False)
        gathering = (gathering and count < GATHER_DIRT_FOR_BLOCKS) or (slot is None and not in_hand)
        state.extra["gathering"] = gathering
        if gathering:
            self.set_phase(state, "gather")
            return self.go_and_dig(state, obs, senses, "dirt", lambda n: n in DIRT_NODES)
        if not in_hand:
            return make_action(**{f"hotbar_{slot}": True})
        return None

    def select_block(self, senses: dict) -> tuple[int | None, bool]:
        """(hotbar slot 1..9 holding a placeable block or None, whether it is already in hand)."""
        if senses.get("wield") in PLACEABLE_BLOCKS:
            return None, True
        for i, name in enumerate(senses.get("hotbar") or [], start=1):
            if name in PLACEABLE_BLOCKS and i <= HOTBAR_SLOTS:
                return i, False
        return None, False


def can_place(senses: dict, max_rise: int | None = None) -> bool:
    """Whether use would place a node: a pointed node in reach whose free side (`above`) is clear of the
    player's collision box (Minetest refuses to place a node where the player stands) and, with max_rise,
    at most that many nodes above the node the feet are in."""
    pointed, feet = senses.get("pointed"), senses.get("feet")
    if not pointed or pointed.get("dist", 99.0) > REACH or feet is None:
        return False
    ax, ay, az = pointed["above"]
    fx, fy, fz = feet
    overlaps = (abs(ax - fx) < 0.5 + PLAYER_RADIUS and abs(az - fz) < 0.5 + PLAYER_RADIUS
                and ay + 0.5 > fy and ay - 0.5 < fy + PLAYER_HEIGHT)
    too_high = max_rise is not None and ay > math.floor(fy + 0.5) + max_rise
    return not overlaps and not too_high


def _walkable(name) -> bool:
    """Rough: whether a node name (from senses.front) blocks walking."""
    if not name or name == "air" or name == "ignore":
        return False
    return not any(s in name for s in ("grass_", "water", "flowers:", "fern", "snow", "torch", "sapling",
                                       "junglegrass", "papyrus", "marram", "dry_shrub", "blueberry_bush"))


# ----------------------------------------------------------------- the skills
class ChopTree(SkillAgent):
    """Walk to the nearest tree trunk, face its lowest node and hold attack until a log is in the inventory;
    then the next trunk node (the column above, then the next tree)."""

    name = "chop_tree"
    time_limit = 900

    def step(self, state, obs, senses):
        return self.go_and_dig(state, obs, senses, "tree", lambda n: "tree" in n)


class DigDirt(SkillAgent):
    """Face a dirt block in reach (the nearest, often at the feet: it looks down) and attack until dirt is in
    the inventory; keeps digging nearby dirt."""

    name = "dig_dirt"
    time_limit = 300

    def step(self, state, obs, senses):
        return self.go_and_dig(state, obs, senses, "dirt", lambda n: n in DIRT_NODES)


class CollectSeeds(SkillAgent):
    """Walk to grass plants and dig them (each drops wheat seeds 1 time in 5) until seeds are in the
    inventory; keeps collecting."""

    name = "collect_seeds"
    time_limit = 1200

    def step(self, state, obs, senses):
        return self.go_and_dig(state, obs, senses, "grass", lambda n: n in GRASS_NODES, aim_dy=GRASS_AIM_DY)


class LookAtSky(SkillAgent):
    """Pitch up to between SKY_PITCH_RANGE and pan around up there, changing speed and direction now and
    then."""

    name = "look_at_sky"
    time_limit = 200

    def step(self, state, obs, senses):
        x = state.extra
        if "pitch" not in x or self.rng.random() < SKY_CHANGE_P:
            x["pitch"] = float(self.rng.uniform(*SKY_PITCH_RANGE))
            x["pan"] = float(self.rng.choice([-1, 1]) * self.rng.uniform(*SKY_YAW_SPEED))
        camera, _ = self.look(state, obs, None, x["pitch"])
        camera[0, 1] = x["pan"]
        return make_action(camera, jump=bool(senses.get("in_water")))


class Explore(SkillAgent):
    """Sprint far in one direction, jumping over one-node steps and when stuck; turns away when stuck for
    long, and rarely picks a new heading."""

    name = "explore"
    time_limit = 600

    def step(self, state, obs, senses):
        if state.heading is None:
            state.heading = float(self.rng.uniform(-180, 180))
        elif self.rng.random() < EXPLORE_TURN_P:
            state.heading = wrap_degrees(state.heading + self.rng.uniform(-60, 60))
        return self.walk(state, obs, senses, state.heading, sprint=True)


class Swim(SkillAgent):
    """Go to the nearest water and swim in it: forward + jump, turning slowly and away from the shore; back
    to the water when out."""

    name = "swim"
    time_limit = 900

    def step(self, state, obs, senses):
        if senses.get("in_water"):
            self.set_phase(state, "swim")
            ahead = (senses.get("front") or {}).get("foot") or ""
            if state.heading is None or self.rng.random() < WANDER_TURN_P:
                state.heading = wrap_degrees(obs["location_stats"]["yaw"] + self.rng.uniform(-90, 90))
            elif "water" not in ahead and state.expect is None:  # the shore ahead: turn back into the water
                state.heading = wrap_degrees(obs["location_stats"]["yaw"] + self.rng.choice([-1, 1])
                                             * self.rng.uniform(90, 180))
            state.heading = wrap_degrees(state.heading + SWIM_TURN_DEG * self.rng.choice([-1, 1]) * 0.5)
            camera, _ = self.look(state, obs, state.heading, 0.0)
            return make_action(camera, forward=True, jump=True)
        water = self.pick_target(state, senses, "water")
        if not water or state.wander_left > 0:
            self.set_phase(state, "search")
            return self.wander(state, obs, senses)
        if not self.track_target(state, obs, water):
            return self.wander(state, obs, senses)
        self.set_phase(state, "approach")
        yaw, _ = yaw_pitch_towards(water["rel"])
        return self.walk(state, obs, senses, yaw, sprint=horizontal(water["rel"]) > 8, pitch=20.0)


class BuildTower(SkillAgent):
    """Pillar up: select a block, look straight down, jump and place a block under the feet at the top of
    the jump (Minetest does not place a node where the player stands); repeat. Digs away a node right above
    the head (leaves); moves elsewhere when no height is gained. Digs dirt first when it has no blocks."""

    name = "build_tower"
    time_limit = 600

    def step(self, state, obs, senses):
        gathering = self.gather_blocks(state, obs, senses)
        if gathering is not None:
            return gathering
        x = state.extra
        y = obs["location_stats"]["ypos"]
        if state.phase == "move":  # the tower is stuck: build elsewhere
            if state.phase_steps < TOWER_MOVE_STEPS:
                return self.walk(state, obs, senses, state.heading)
            self.set_phase(state, "look_down")
        if senses.get("headroom", 1) < 1 or state.phase == "clear_above":  # a node right above the head
            self.set_phase(state, "clear_above")
            camera, err = self.look(state, obs, None, -90.0)
            if senses.get("headroom", 1) >= 1 or state.phase_steps > DIG_TIMEOUT:
                self.set_phase(state, "look_down")
            return make_action(camera, attack=err < AIM_TOLERANCE_DEG)
        camera, err = self.look(state, obs, None, 90.0)
        if err > AIM_TOLERANCE_DEG:
            self.set_phase(state, "look_down")
            return make_action(camera)
        self.set_phase(state, "tower")
        if y > x.get("best_y", -1e9) + 0.5:
            x["best_y"], x["best_at"] = y, state.steps
        if state.steps - x.get("best_at", state.steps) > TOWER_STUCK_STEPS:
            x["best_at"] = state.steps
            state.heading = float(self.rng.uniform(-180, 180))
            self.set_phase(state, "move")
            return make_action(camera)
        height = senses.get("height_above_ground")
        high_enough = height is not None and height >= TOWER_PLACE_HEIGHT
        return make_action(camera, jump=True, use=high_enough)


class PlaceBlocks(SkillAgent):
    """Place blocks on the ground around: look at the ground in front, use, turn; sometimes walk a little.
    Digs GATHER_DIRT_FOR_BLOCKS dirt first when it has no blocks."""

    name = "place_blocks"
    time_limit = 600

    def step(self, state, obs, senses):
        gathering = self.gather_blocks(state, obs, senses)
        if gathering is not None:
            return gathering
        x = state.extra
        if state.phase == "walk":
            if state.phase_steps < x.get("walk_steps", 0):
                return self.walk(state, obs, senses, x["yaw"])
            self.set_phase(state, "aim")
        if "yaw" not in x:
            x["yaw"] = obs["location_stats"]["yaw"]
            x["pitch"] = float(self.rng.uniform(*PLACE_PITCH))
        camera, err = self.look(state, obs, x["yaw"], x["pitch"])
        if err > AIM_TOLERANCE_DEG or state.phase != "place":
            if err <= AIM_TOLERANCE_DEG:
                self.set_phase(state, "place")
            else:
                self.set_phase(state, "aim")
            return make_action(camera)
        # aimed: hold use for one step, then pick the next spot
        x["yaw"] = wrap_degrees(x["yaw"] + self.rng.choice([-1, 1]) * self.rng.uniform(*PLACE_TURN_DEG))
        x["pitch"] = float(self.rng.uniform(*PLACE_PITCH))
        if self.rng.random() < PLACE_WALK_P:
            self.set_phase(state, "walk")
            x["walk_steps"] = int(self.rng.integers(5, 20))
        else:
            self.set_phase(state, "aim")
        return make_action(camera, use=can_place(senses, max_rise=PLACE_MAX_RISE) or not senses)


class RandomSkill(RandomAgent):
    """The existing RandomAgent under the registry's constructor signature."""

    def __init__(self, seed: int = 0):
        super().__init__(name="random", seed=seed)


SKILLS: dict[str, type] = {cls.name: cls for cls in (ChopTree, DigDirt, CollectSeeds, LookAtSky, Explore,
                                                     Swim, BuildTower, PlaceBlocks)}
SKILLS["random"] = RandomSkill


def make_skill_agent(name: str, seed: int = 0):
    """A skill agent by registry name (SKILLS)."""
    if name not in SKILLS:
        raise ValueError(f"unknown skill {name!r}; choose one of {sorted(SKILLS)}")
    return SKILLS[name](seed=seed)


# ----------------------------------------------------------------- switching between skills
SWITCH_P = 0.005  # per step after MIN_SKILL_STEPS: switch to another skill (mean 200 steps = 10 s more)
MIN_SKILL_STEPS = 100


class SkillMix:
    """Several skills; per slot one acts at a time, and after at least `min_steps` steps it switches to
    another with probability `switch_p` per step (the new skill starts from a fresh state). With `to_goal`
    a skill also keeps acting until it has reached its goal (GOALS) or run for its `time_limit`, so that
    nearly every run of a slow skill (a log, seeds) ends with what it is for.
    `current_skill(slot)` names the acting skill so that every saved step can record it."""

    name = "skill_mix"

    def __init__(self, skills: Sequence[str] = tuple(SKILLS), seed: int = 0, switch_p: float = SWITCH_P,
                 min_steps: int = MIN_SKILL_STEPS, to_goal: bool = False):
        if not skills:
            raise ValueError("SkillMix needs at least one skill")
        self.names = list(skills)
        self.agents = [make_skill_agent(n, seed + 1000 * (i + 1)) for i, n in enumerate(self.names)]
        # What shapes the recorded behaviour, kept in the generator's run settings: the skills it mixes and
        # how long each keeps acting.
        self.in_model = "+".join(self.names)
        self.in_weights = "skill_mix_to_goal.scripted" if to_goal else "skill_mix.scripted"
        self.rng = np.random.default_rng(seed)
        self.switch_p, self.min_steps, self.to_goal = float(switch_p), int(min_steps), bool(to_goal)
        self.current: dict[int, int] = {}
        self.held: dict[int, int] = {}
        self.goals: dict[int, SkillGoal | None] = {}  # to_goal: the acting skill's goal since its run began

    def reset(self, batch_size: int) -> None:
        for agent in self.agents:
            agent.reset(batch_size)
        self.current = {i: int(self.rng.integers(len(self.agents))) for i in range(batch_size)}
        self.held = dict.fromkeys(range(batch_size), 0)
        self.goals = dict.fromkeys(range(batch_size))

    def reset_slots(self, slots: Sequence[int]) -> None:
        for agent in self.agents:
            agent.reset_slots(slots)
        for slot in slots:
            self.current[int(slot)] = int(self.rng.integers(len(self.agents)))
            self.held[int(slot)] = 0
            self.goals[int(slot)] = None

    def restart_slots(self, slots: Sequence[int]) -> None:
        """After a spin: random runs start a new skill (as on a new episode); to_goal runs keep the acting
        skill, its goal and its steps so far, and only the skill's own state starts afresh."""
        if not self.to_goal:
            self.reset_slots(slots)
            return
        for slot in slots:
            if int(slot) in self.current:
                self.agents[self.current[int(slot)]].reset_slots([slot])

    def current_skill(self, slot: int) -> str:
        return self.names[self.current[int(slot)]]

    def start_items(self) -> dict[str, int]:
        """What to give at episode start for every skill the mix holds (the largest count per item)."""
        items: dict[str, int] = {}
        for name in self.names:
            for item, count in SKILL_START_ITEMS.get(name, {}).items():
                items[item] = max(items.get(item, 0), count)
        return items

    def _run_done(self, slot: int) -> bool:
        """May the acting skill hand over (to_goal: its goal reached, or its time limit run out)?"""
        if not self.to_goal:
            return True
        goal, agent = self.goals.get(slot), self.agents[self.current[slot]]
        return (goal is not None and goal.reached) or self.held[slot] >= getattr(agent, "time_limit", 0)

    def _maybe_switch(self, slot: int) -> None:
        if len(self.agents) < 2 or self.held[slot] < self.min_steps or not self._run_done(slot):
            return
        if self.rng.random() >= self.switch_p:
            return
        choices = [i for i in range(len(self.agents)) if i != self.current[slot]]
        self.current[slot] = int(self.rng.choice(choices))
        self.held[slot] = 0
        self.goals[slot] = None
        self.agents[self.current[slot]].reset_slots([slot])

    def _track_goal(self, slot: int, obs: dict) -> None:
        goal = self.goals.get(slot)
        if goal is None:
            name = self.names[self.current[slot]]
            self.goals[slot] = SkillGoal(name, obs) if name in GOALS else None
        else:
            goal.update(obs)

    def act(self, obs_batch: Sequence[dict], slots: Sequence[int]) -> list[dict]:
        slots = [int(s) for s in slots]
        for slot in slots:
            self.current.setdefault(slot, int(self.rng.integers(len(self.agents))))
            self.held.setdefault(slot, 0)
            self._maybe_switch(slot)
        if self.to_goal:
            for slot, obs in zip(slots, obs_batch, strict=True):
                self._track_goal(slot, obs)
        actions: list[dict | None] = [None] * len(slots)
        for k, agent in enumerate(self.agents):
            rows = [i for i, s in enumerate(slots) if self.current[s] == k]
            if rows:
                for i, action in zip(rows, agent.act([obs_batch[i] for i in rows], [slots[i] for i in rows]),
                                     strict=True):
                    actions[i] = action
        for slot in slots:
            self.held[slot] += 1
        return actions


# ----------------------------------------------------------------- goals: what success means, per skill
SKY_HOLD_STEPS = 40  # look_at_sky: pitch <= SKY_PITCH for this many steps in a row (2 s)
EXPLORE_DISTANCE = 30.0  # explore: horizontal nodes from the start
SWIM_STEPS = 60  # swim: steps in water (3 s)
TOWER_HEIGHT = 5.0  # build_tower: nodes above the start
PLACED_BLOCKS = 5  # place_blocks: blocks gone from the inventory
GOALS = {
    "chop_tree": "a log in the inventory",
    "dig_dirt": "dirt in the inventory",
    "collect_seeds": "wheat seeds in the inventory",
    "look_at_sky": f"pitch <= {SKY_PITCH:g} for {SKY_HOLD_STEPS} steps in a row",
    "explore": f"{EXPLORE_DISTANCE:g} nodes (horizontal) from the start",
    "swim": f"{SWIM_STEPS} steps in water",
    "build_tower": f"{TOWER_HEIGHT:g} nodes higher than the start",
    "place_blocks": f"{PLACED_BLOCKS} blocks placed",
}


class SkillGoal:
    """Tracks whether a skill's goal (GOALS) has been reached, from observations (with senses) alone, not
    from the agent's memory. `update(obs)` returns True from the step the goal is first reached on."""

    def __init__(self, skill: str, first_obs: dict):
        if skill not in GOALS:
            raise ValueError(f"skill {skill!r} has no goal; skills with goals: {sorted(GOALS)}")
        self.skill = skill
        self.start_pos = position(first_obs)
        self.start_inv = dict(first_obs["inventory"])
        self.run = 0  # steps in a row / in total, for the held goals
        self.reached = False

    def update(self, obs: dict) -> bool:
        if not self.reached:
            self.reached = self._check(obs)
        return self.reached

    def _check(self, obs: dict) -> bool:
        inv, pos, name = obs["inventory"], position(obs), self.skill
        if name == "chop_tree":
            return log_count(inv) > log_count(self.start_inv)
        if name == "dig_dirt":
            return inv.get("dirt", 0) > self.start_inv.get("dirt", 0)
        if name == "collect_seeds":
            return inv.get("wheat_seeds", 0) > self.start_inv.get("wheat_seeds", 0)
        if name == "look_at_sky":
            self.run = self.run + 1 if obs["location_stats"]["pitch"] <= SKY_PITCH else 0
            return self.run >= SKY_HOLD_STEPS
        if name == "explore":
            return math.hypot(*(pos - self.start_pos)[[0, 2]]) >= EXPLORE_DISTANCE
        if name == "swim":
            self.run += bool((obs.get(SENSES_KEY) or {}).get("in_water"))
            return self.run >= SWIM_STEPS
        if name == "build_tower":
            return pos[1] - self.start_pos[1] >= TOWER_HEIGHT
        return block_count(self.start_inv) - block_count(inv) >= PLACED_BLOCKS  # place_blocks
