"""Scripted skill agents: geometry conventions, action format, and the state machines driven in a small
kinematic fake world (flat ground, exact camera, optional observation lag, digging takes time)."""
from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from steve1.data import skills as S
from steve1.data.agents import AGENT_BUTTON_KEYS
from steve1.spaces import CAMERA_KEY

EYE_HEIGHT = 1.47


# ----------------------------------------------------------------- geometry
@pytest.mark.parametrize("rel, yaw, pitch", [
    ((0, 0, 1), 0.0, 0.0),  # north (+z): yaw 0
    ((1, 0, 0), 90.0, 0.0),  # east (+x): turning right from north
    ((-1, 0, 0), -90.0, 0.0),
    ((0, 0, -1), -180.0, 0.0),  # south, wrapped to [-180, 180)
    ((0, -1, 1), 0.0, 45.0),  # below: positive pitch looks down
    ((0, 1, 1), 0.0, -45.0),
    ((0, -2, 0), 0.0, 90.0),  # straight down
    ((3, -1.095, 3), 45.0, math.degrees(math.atan2(1.095, math.hypot(3, 3)))),
])
def test_yaw_pitch_towards_uses_minerl_conventions(rel, yaw, pitch):
    got_yaw, got_pitch = S.yaw_pitch_towards(rel)
    assert got_yaw == pytest.approx(yaw, abs=1e-9)
    assert got_pitch == pytest.approx(pitch, abs=1e-9)


def test_yaw_pitch_towards_matches_the_look_direction_of_the_fake_world():
    rng = np.random.default_rng(0)
    for _ in range(100):
        rel = rng.normal(size=3)
        yaw, pitch = S.yaw_pitch_towards(rel)
        np.testing.assert_allclose(look_dir(pitch, yaw), rel / np.linalg.norm(rel), atol=1e-9)


def test_camera_towards_takes_the_short_way_round_and_clips():
    obs = make_obs(pitch=10.0, yaw=170.0)
    camera, err = S.camera_towards(obs, -170.0, 12.0)
    assert camera.shape == (1, 2)
    assert camera[0, 1] == pytest.approx(S.MAX_TURN_DEG)  # +20 degrees the short way, clipped
    assert camera[0, 0] == pytest.approx(2.0)
    assert err == pytest.approx(20.0)
    camera, err = S.camera_towards(obs, None, None)
    assert not camera.any() and err == 0.0


def test_make_action_is_in_env_format():
    action = S.make_action(np.array([1.0, -2.0]), attack=True, hotbar_3=1)
    assert set(action) == {*AGENT_BUTTON_KEYS, CAMERA_KEY}
    for key in AGENT_BUTTON_KEYS:
        assert action[key].shape == (1,) and action[key].dtype.kind == "i"
    assert action["attack"][0] == 1 and action["hotbar.3"][0] == 1 and action["forward"][0] == 0
    assert action[CAMERA_KEY].shape == (1, 2) and action[CAMERA_KEY].tolist() == [[1.0, -2.0]]
    with pytest.raises(KeyError):
        S.make_action(fly=True)


def test_can_place_refuses_the_players_own_nodes_and_stacking():
    feet = [0.0, 0.5, 0.0]  # standing on node y=0; feet in node y=1
    ground = {"pointed": {"above": [0, 1, 2], "dist": 2.0}, "feet": feet}
    assert S.can_place(ground, max_rise=0)
    own = {"pointed": {"above": [0, 1, 0], "dist": 1.0}, "feet": feet}
    assert not S.can_place(own)
    edge = {"pointed": {"above": [1, 1, 0], "dist": 1.0}, "feet": [0.3, 0.5, 0.0]}  # box reaches x=0.6
    assert not S.can_place(edge)
    stacked = {"pointed": {"above": [0, 2, 2], "dist": 2.0}, "feet": feet}
    assert S.can_place(stacked) and not S.can_place(stacked, max_rise=0)
    far = {"pointed": {"above": [0, 1, 5], "dist": S.REACH + 0.5}, "feet": feet}
    assert not S.can_place(far)
    assert not S.can_place({})


# ----------------------------------------------------------------- the fake world
def look_dir(pitch: float, yaw: float) -> np.ndarray:
    """Unit look vector (Minetest x east, y up, z north) for MineRL (pitch, yaw) degrees."""
    p, y = math.radians(pitch), math.radians(yaw)
    return np.array([math.sin(y) * math.cos(p), -math.sin(p), math.cos(y) * math.cos(p)])


def make_obs(pos=(0.0, 0.5, 0.0), pitch=0.0, yaw=0.0, inventory=None, senses=None) -> dict:
    obs = {"pov": np.zeros((4, 4, 3), np.uint8), "inventory": dict(inventory or {"dirt": 0}),
           "location_stats": {"xpos": pos[0], "ypos": pos[1], "zpos": pos[2], "pitch": pitch, "yaw": yaw},
           "life_stats": {"life": 20.0}}
    if senses is not None:
        obs[S.SENSES_KEY] = senses
    return obs


class FakeWorld:
    """Flat stone ground (node tops at y=0.5; the player's feet at y=0.5), target nodes of one kind. Camera
    deltas apply exactly; forward walks 0.2 nodes a step along the yaw (0.26 sprinting); a node is dug after
    `dig_steps` steps of attack on it in a row (the next one then appears); observations, senses included,
    are `lag` steps old, like a loaded game's."""

    def __init__(self, kind: str, nodes, item: str, name: str, lag: int = 0, dig_steps: int = 10,
                 drop_every: int = 1):
        self.kind, self.nodes, self.item, self.name = kind, [np.array(n, float) for n in nodes], item, name
        self.lag, self.dig_steps, self.drop_every = lag, dig_steps, drop_every
        self.pos, self.pitch, self.yaw = np.array([0.0, 0.5, 0.0]), 0.0, 0.0
        self.inventory = {"dirt": 0, "oak_log": 0, "wheat_seeds": 0}
        self.dig_progress, self.dug = 0, 0
        self.history = deque(maxlen=lag + 1)
        self.history.append(self._observe())

    def _pointed(self):
        eye = self.pos + (0, EYE_HEIGHT, 0)
        d = look_dir(self.pitch, self.yaw)
        if self.nodes:
            c = self.nodes[0]
            t = float(np.dot(c - eye, d))
            if 0 < t <= 5.0 and np.linalg.norm(eye + t * d - c) < 0.5:
                return {"name": self.name, "pos": c.tolist(), "rel": (c - eye).tolist(),
                        "dist": max(t - 0.5, 0.0), "above": (c + (0, 1, 0)).tolist()}
        if d[1] < -1e-6:
            t = (0.5 - eye[1]) / d[1]
            if t <= 5.0:
                hit = eye + t * d
                node = [round(hit[0]), 0, round(hit[2])]
                target = bool(self.nodes) and node == self.nodes[0].tolist()  # the top of a ground target
                return {"name": self.name if target else "default:stone", "pos": node,
                        "rel": (np.array(node) - eye).tolist(), "dist": t,
                        "above": [node[0], 1, node[2]]}
        return None

    def _observe(self) -> dict:
        eye = self.pos + (0, EYE_HEIGHT, 0)
        senses = {"feet": self.pos.tolist(), "eye": eye.tolist(), "in_water": False, "on_ground": True,
                  "height_above_ground": 0.0, "headroom": 8, "front": {"foot": "air", "head": "air"},
                  "hotbar": [""] * 9, "wield": ""}
        if self.nodes:
            senses[self.kind] = {"pos": self.nodes[0].tolist(), "rel": (self.nodes[0] - eye).tolist(),
                                 "name": self.name}
        pointed = self._pointed()
        if pointed:
            senses["pointed"] = pointed
        return make_obs(tuple(self.pos), self.pitch, self.yaw, self.inventory, senses)

    def obs(self) -> dict:
        return self.history[0]

    def step(self, action: dict) -> dict:
        for key in AGENT_BUTTON_KEYS:
            assert action[key].shape == (1,)
        camera = action[CAMERA_KEY]
        assert camera.shape == (1, 2) and np.abs(camera).max() <= S.MAX_TURN_DEG + 1e-9
        self.pitch = float(np.clip(self.pitch + camera[0, 0], -S.PITCH_LIMIT, S.PITCH_LIMIT))
        self.yaw = S.wrap_degrees(self.yaw + camera[0, 1])
        if action["forward"][0]:
            speed = 0.26 if action["sprint"][0] else 0.2
            yaw = math.radians(self.yaw)
            self.pos += speed * np.array([math.sin(yaw), 0, math.cos(yaw)])
        pointed = self._pointed()
        if action["attack"][0] and pointed and pointed["name"] == self.name:
            self.dig_progress += 1
            if self.dig_progress >= self.dig_steps:
                self.dig_progress, self.dug = 0, self.dug + 1
                if self.dug % self.drop_every == 0:
                    self.inventory[self.item] += 1
                self.nodes.pop(0)
        else:
            self.dig_progress = 0  # Minetest restarts a dig when the button is released or the node changes
        self.history.append(self._observe())
        return self.obs()


def run(agent, world, steps: int, goal: str | None = None):
    agent.reset(1)
    first = world.obs()
    tracker = S.SkillGoal(goal, first) if goal else None
    obs = first
    for t in range(1, steps + 1):
        obs = world.step(agent.act([obs], [0])[0])
        if tracker and tracker.update(obs):
            return t
    return None


# ----------------------------------------------------------------- state machines
@pytest.mark.parametrize("lag", [0, 3])
def test_dig_dirt_walks_to_dirt_aims_and_digs(lag):
    world = FakeWorld("dirt", [(4, 0, 3)], "dirt", "default:dirt_with_grass", lag=lag, dig_steps=14)
    steps = run(S.DigDirt(seed=0), world, S.DigDirt.time_limit, goal="dig_dirt")
    assert steps is not None, f"no dirt after {S.DigDirt.time_limit} steps (lag {lag}); at {world.pos}"
    assert world.inventory["dirt"] == 1


@pytest.mark.parametrize("lag", [0, 3])
def test_chop_tree_holds_attack_on_the_trunk_until_a_log_drops(lag):
    world = FakeWorld("tree", [(-7, 1, 9), (-7, 2, 9)], "oak_log", "default:tree", lag=lag, dig_steps=70)
    steps = run(S.ChopTree(seed=1), world, S.ChopTree.time_limit, goal="chop_tree")
    assert steps is not None and steps > 70  # a trunk takes 70 steps of attack in a row
    assert world.inventory["oak_log"] == 1


def test_collect_seeds_digs_grass_after_grass_until_seeds_drop():
    nodes = [(2, 1, 2), (-3, 1, 1), (1, 1, -4), (5, 1, 0)]
    world = FakeWorld("grass", nodes, "wheat_seeds", "default:grass_3", lag=2, dig_steps=8, drop_every=3)
    steps = run(S.CollectSeeds(seed=2), world, S.CollectSeeds.time_limit, goal="collect_seeds")
    assert steps is not None and world.dug >= 3 and world.inventory["wheat_seeds"] == 1


def test_skill_without_a_target_wanders_instead_of_standing_still():
    world = FakeWorld("tree", [], "oak_log", "default:tree")
    run(S.ChopTree(seed=3), world, 100)
    assert np.hypot(world.pos[0], world.pos[2]) > 5.0


def test_unreachable_target_is_given_up_and_avoided():
    agent = S.DigDirt(seed=4)
    agent.reset(1)
    stuck = {"dirt": {"pos": [9, 0, 9], "rel": [9, -1.97, 9], "name": "default:dirt"},
             "dirt_near": [{"pos": [9, 0, 9], "rel": [9, -1.97, 9]},
                           {"pos": [-3, 0, 0], "rel": [-3, -1.97, 0]}],
             "front": {}, "feet": [0, 0.5, 0]}
    obs = make_obs(senses=stuck)  # never moves: every window counts as stuck
    for _ in range(S.STUCK_WINDOW * (S.STUCK_TURN_AFTER * (S.MAX_DETOURS + 1) + 1) + S.DETOUR_STEPS * 5):
        agent.act([obs], [0])
    state = agent.states[0]
    assert (9, 0, 9) in state.avoid
    assert agent.pick_target(state, stuck, "dirt")["pos"] == [-3, 0, 0]
    state.avoid.add((-3, 0, 0))  # all given up on: start over with the nearest
    assert agent.pick_target(state, stuck, "dirt")["pos"] == [9, 0, 9] and not state.avoid


@pytest.mark.parametrize("lag", [0, 3])
def test_look_at_sky_holds_the_pitch_up_and_pans(lag):
    world = FakeWorld("tree", [], "oak_log", "default:tree", lag=lag)
    yaws = []
    agent = S.LookAtSky(seed=5)
    agent.reset(1)
    tracker, obs = S.SkillGoal("look_at_sky", world.obs()), world.obs()
    reached = None
    for t in range(S.LookAtSky.time_limit):
        obs = world.step(agent.act([obs], [0])[0])
        yaws.append(world.yaw)
        if tracker.update(obs) and reached is None:
            reached = t
    assert reached is not None
    assert world.pitch <= S.SKY_PITCH
    assert np.ptp(np.unwrap(np.radians(yaws))) > math.radians(30)  # it looks around up there


def test_explore_goes_far_in_one_direction():
    world = FakeWorld("tree", [], "oak_log", "default:tree", lag=2)
    steps = run(S.Explore(seed=6), world, S.Explore.time_limit, goal="explore")
    assert steps is not None and steps < 300


def test_swim_holds_forward_and_jump_in_water():
    agent = S.Swim(seed=7)
    agent.reset(1)
    senses = {"in_water": True, "front": {"foot": "default:water_source"}}
    action = agent.act([make_obs(senses=senses)], [0])[0]
    assert action["forward"][0] == 1 and action["jump"][0] == 1


def test_swim_walks_to_water_when_dry():
    agent = S.Swim(seed=8)
    agent.reset(1)
    senses = {"in_water": False, "front": {}, "water": {"pos": [10, -1, 0], "rel": [10, -2.5, 0]}}
    action = agent.act([make_obs(yaw=90.0, senses=senses)], [0])[0]
    assert action["forward"][0] == 1  # already facing east, where the water is


def test_build_tower_selects_blocks_looks_down_jumps_and_places_at_the_top():
    agent = S.BuildTower(seed=9)
    agent.reset(1)
    hotbar = ["", "default:dirt"] + [""] * 7
    base = {"hotbar": hotbar, "wield": "", "headroom": 8, "height_above_ground": 0.0, "front": {}}
    action = agent.act([make_obs(inventory={"dirt": 64}, senses=base)], [0])[0]
    assert action["hotbar.2"][0] == 1
    held = {**base, "wield": "default:dirt"}
    action = agent.act([make_obs(inventory={"dirt": 64}, senses=held)], [0])[0]
    assert action[CAMERA_KEY][0, 0] > 0  # looks down
    down = make_obs(pitch=89.0, inventory={"dirt": 64}, senses=held)
    action = agent.act([down], [0])[0]
    assert action["jump"][0] == 1 and action["use"][0] == 0
    top = make_obs(pos=(0, 1.5, 0), pitch=89.0, inventory={"dirt": 64},
                   senses={**held, "height_above_ground": 1.0})
    action = agent.act([top], [0])[0]
    assert action["use"][0] == 1


def test_build_tower_clears_a_node_right_above_the_head():
    agent = S.BuildTower(seed=10)
    agent.reset(1)
    senses = {"hotbar": ["default:dirt"] + [""] * 8, "wield": "default:dirt", "headroom": 0, "front": {}}
    up = make_obs(pitch=-89.0, inventory={"dirt": 10}, senses=senses)
    action = agent.act([up], [0])[0]
    assert action["attack"][0] == 1 and agent.states[0].phase == "clear_above"


def test_block_skills_gather_dirt_without_blocks():
    for cls in (S.BuildTower, S.PlaceBlocks):
        world = FakeWorld("dirt", [(2, 0, 2)] * 8, "dirt", "default:dirt")
        agent = cls(seed=11)
        run(agent, world, 60)
        assert agent.states[0].extra["gathering"]
        assert world.inventory["dirt"] >= 1


def test_place_blocks_uses_only_where_a_node_can_go():
    agent = S.PlaceBlocks(seed=12)
    agent.reset(1)
    senses = {"hotbar": ["default:dirt"] + [""] * 8, "wield": "default:dirt", "feet": [0, 0.5, 0],
              "pointed": {"above": [0, 1, 2], "dist": 2.0, "name": "default:stone"}, "front": {}}
    uses, obs = 0, make_obs(inventory={"dirt": 64}, senses=senses)
    pitch = 0.0
    for _ in range(200):
        action = agent.act([obs], [0])[0]
        pitch = float(np.clip(pitch + action[CAMERA_KEY][0, 0], -89, 89))
        yaw = S.wrap_degrees(obs["location_stats"]["yaw"] + action[CAMERA_KEY][0, 1])
        obs = make_obs(pitch=pitch, yaw=yaw, inventory={"dirt": 64}, senses=senses)
        uses += int(action["use"][0])
    assert uses >= 5
    blocked = {**senses, "pointed": {"above": [0, 1, 0], "dist": 1.0, "name": "default:stone"}}
    agent.reset(1)
    for _ in range(100):
        action = agent.act([make_obs(pitch=40.0, inventory={"dirt": 64}, senses=blocked)], [0])[0]
        assert action["use"][0] == 0


def test_turns_wait_for_lagging_observations_instead_of_overshooting():
    world = FakeWorld("tree", [], "oak_log", "default:tree", lag=4)
    agent = S.LookAtSky(seed=13)
    agent.reset(1)
    obs = world.obs()
    pitches = []
    for _ in range(60):
        obs = world.step(agent.act([obs], [0])[0])
        pitches.append(world.pitch)
    target = agent.states[0].extra["pitch"]
    assert min(pitches) >= min(S.SKY_PITCH_RANGE) - S.SETTLE_TOLERANCE_DEG - 1e-9  # never far past it
    assert pitches[-1] <= S.SKY_PITCH and abs(pitches[-1] - target) < 20


# ----------------------------------------------------------------- goals, registry, mix
def test_skill_goals_read_observations_only():
    start = make_obs(inventory={"dirt": 0, "oak_log": 0, "wheat_seeds": 0})
    assert S.SkillGoal("chop_tree", start).update(make_obs(inventory={"birch_log": 1}))
    assert not S.SkillGoal("dig_dirt", start).update(make_obs(inventory={"dirt": 0}))
    assert S.SkillGoal("explore", start).update(make_obs(pos=(S.EXPLORE_DISTANCE, 0.5, 1.0)))
    assert not S.SkillGoal("explore", start).update(make_obs(pos=(0.0, 50.0, 0.0)))
    assert S.SkillGoal("build_tower", start).update(make_obs(pos=(0, 0.5 + S.TOWER_HEIGHT, 0)))
    placed = S.SkillGoal("place_blocks", make_obs(inventory={"dirt": 64}))
    assert not placed.update(make_obs(inventory={"dirt": 64 - S.PLACED_BLOCKS + 1}))
    assert placed.update(make_obs(inventory={"dirt": 64 - S.PLACED_BLOCKS}))
    sky = S.SkillGoal("look_at_sky", start)
    results = [sky.update(make_obs(pitch=-70.0)) for _ in range(S.SKY_HOLD_STEPS)]
    assert not any(results[:-1]) and results[-1]
    swim = S.SkillGoal("swim", start)
    wet = make_obs(senses={"in_water": True})
    assert not swim.update(make_obs(senses={"in_water": False}))
    assert [swim.update(wet) for _ in range(S.SWIM_STEPS)][-1]
    with pytest.raises(ValueError, match="no goal"):
        S.SkillGoal("random", start)


def test_registry():
    assert set(S.SKILLS) == {"chop_tree", "dig_dirt", "collect_seeds", "look_at_sky", "explore", "swim",
                             "build_tower", "place_blocks", "random"}
    assert set(S.GOALS) == set(S.SKILLS) - {"random"}
    assert set(S.SKILL_START_ITEMS) <= set(S.SKILLS) and set(S.SKILL_WORLD_SEEDS) == set(S.SKILLS)
    for name in S.SKILLS:
        agent = S.make_skill_agent(name, seed=0)
        assert agent.name == name and hasattr(agent, "in_weights")
        agent.reset(2)
        actions = agent.act([make_obs(senses={}), make_obs()], [0, 1])
        assert len(actions) == 2 and all(set(a) == {*AGENT_BUTTON_KEYS, CAMERA_KEY} for a in actions)
    with pytest.raises(ValueError, match="unknown skill"):
        S.make_skill_agent("fly")


def test_skills_are_deterministic_per_seed():
    def trace(seed):
        world = FakeWorld("tree", [], "oak_log", "default:tree")
        agent = S.Explore(seed=seed)
        run(agent, world, 200)
        return world.pos.copy()
    np.testing.assert_array_equal(trace(3), trace(3))
    assert not np.array_equal(trace(3), trace(4))


def test_skill_mix_switches_per_slot_after_the_minimum_duration():
    mix = S.SkillMix(["look_at_sky", "explore", "dig_dirt"], seed=0, switch_p=0.2, min_steps=10)
    mix.reset(3)
    history = {slot: [] for slot in range(3)}
    for _ in range(300):
        actions = mix.act([make_obs(senses={}) for _ in range(3)], [0, 1, 2])
        assert len(actions) == 3
        for slot in range(3):
            history[slot].append(mix.current_skill(slot))
    for slot, names in history.items():
        runs, count = [], 1
        for a, b in zip(names[:-1], names[1:], strict=True):
            if a == b:
                count += 1
            else:
                runs.append(count)
                count = 1
        assert len(runs) >= 3, f"slot {slot} barely switched"
        assert min(runs[1:]) >= 10  # after the first run, every skill acts at least min_steps steps
        assert set(names) <= {"look_at_sky", "explore", "dig_dirt"}
    mix.reset_slots([1])
    assert mix.held[1] == 0
    assert mix.start_items() == {}
    assert S.SkillMix(["build_tower", "place_blocks", "swim"]).start_items() == {"default:dirt": 64}


def test_skill_mix_to_goal_hands_over_only_after_the_goal_or_the_time_limit():
    def run_lengths(to_goal, inventory_at):
        mix = S.SkillMix(["chop_tree", "dig_dirt"], seed=0, switch_p=1.0, min_steps=5, to_goal=to_goal)
        mix.reset(1)
        mix.current[0] = 0  # chop_tree acts first
        names = []
        for t in range(1000):
            inventory = inventory_at(t)
            mix.act([make_obs(inventory=inventory, senses={})], [0])
            names.append(mix.current_skill(0))
        return names

    log = next(iter(S.LOG_ITEMS))
    # A log arrives at step 50: chop_tree hands over then, not at its 5th step.
    names = run_lengths(True, lambda t: {"dirt": 0, log: int(t >= 50)})
    assert names[:50] == ["chop_tree"] * 50 and names[52] == "dig_dirt"
    # dig_dirt never gets dirt: it acts for its whole time limit, then hands back.
    first_dig = names.index("dig_dirt")
    assert names[first_dig:first_dig + S.DigDirt.time_limit] == ["dig_dirt"] * S.DigDirt.time_limit
    assert names[first_dig + S.DigDirt.time_limit + 1] == "chop_tree"
    # Without to_goal the same mix switches at every chance after min_steps.
    names = run_lengths(False, lambda t: {"dirt": 0})
    assert names[:5] == ["chop_tree"] * 5 and names[6] == "dig_dirt"
    assert S.SkillMix(["chop_tree"], to_goal=True).in_weights != S.SkillMix(["chop_tree"]).in_weights


def test_skill_mix_restart_after_a_spin_keeps_a_to_goal_run_and_starts_the_skills_state_afresh():
    obs = make_obs(inventory={"dirt": 0}, senses={})
    for to_goal in (True, False):
        mix = S.SkillMix(["chop_tree", "dig_dirt", "swim"], seed=1, switch_p=0.0, to_goal=to_goal)
        mix.reset(2)
        for _ in range(30):
            mix.act([obs, obs], [0, 1])
        skill, goal = mix.current_skill(0), mix.goals[0]
        agent = mix.agents[mix.current[0]]
        assert agent.states[0].steps == 30
        restarted = []
        for _ in range(20):  # a random run may draw the same skill again: 20 tries
            mix.restart_slots([0])
            restarted.append(mix.current_skill(0))
        if to_goal:
            assert restarted == [skill] * 20 and mix.held[0] == 30 and mix.goals[0] is goal
            assert agent.states[0].steps == 0 and mix.agents[mix.current[1]].states[1].steps == 30
        else:
            assert set(restarted) != {skill} and mix.held[0] == 0


def test_skill_mix_names_its_skills_for_the_generators_run_settings():
    """A generation run records the agents' (name, in_model, in_weights): a mix's skills must be in it, so
    that a rerun with another skill list is refused instead of mixing two behaviours in one folder."""
    mix = S.SkillMix(["look_at_sky", "explore"])
    assert (mix.name, mix.in_model) == ("skill_mix", "look_at_sky+explore")
    assert S.SkillMix(["explore", "look_at_sky"]).in_model != mix.in_model


def test_skill_mix_acts_for_a_subset_of_slots():
    mix = S.SkillMix(["look_at_sky", "random"], seed=1)
    mix.reset(4)
    actions = mix.act([make_obs(senses={}), make_obs(senses={})], [3, 1])
    assert len(actions) == 2 and all(CAMERA_KEY in a for a in actions)
    with pytest.raises(ValueError):
        S.SkillMix([])


def test_walkers_do_not_step_off_a_cliff_but_walk_into_water():
    agent = S.Explore(seed=14)
    agent.reset(1)
    agent.states[0].heading = 0.0
    cliff = {"front": {"foot": "air", "head": "air", "drop": S.MAX_SAFE_DROP}, "in_water": False}
    action = agent.act([make_obs(senses=cliff)], [0])[0]
    assert action["forward"][0] == 0 and agent.states[0].heading != 0.0  # turns away instead
    agent.reset(1)
    agent.states[0].heading = 0.0
    shallow = {"front": {"foot": "air", "head": "air", "drop": 1}, "in_water": False}
    assert agent.act([make_obs(senses=shallow)], [0])[0]["forward"][0] == 1
