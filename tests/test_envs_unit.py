"""Unit tests of the world layer without the game: item names, controls, frames, processes, adapters."""
from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from steve1.envs import World, WorldScheduler, base, make_world
from steve1.envs.base import INVENTORY_ITEMS, fixed_inventory, make_observation
from steve1.envs.items import TRACKED_ITEMS, to_minerl_inventory
from steve1.envs.minerl_world import MINERL_INSTALL_HINT, full_action, standard_observation
from steve1.envs.minetest import controls, processes
from steve1.envs.minetest.display import FrameBuffer
from steve1.envs.minetest.world import (
    BIOME_CLIMATES,
    FAST_SETTINGS,
    _config_text,
    _minerl_angles,
    biome_settings,
)
from steve1.mineclip.preprocess import preprocess_frames
from steve1.spaces import ACTION_KEYS, BUTTON_KEYS, noop_action, validate_action
from steve1.vpt.preprocess import resize_pov
from tests.helpers_procs import pid_alive, wait_gone


def test_inventory_names_follow_minerl():
    inv = to_minerl_inventory({"default:pine_tree": 2, "default:tree": 1, "default:dirt": 3,
                               "farming:seed_wheat": 4, "default:snow": 1, "mymod:thing": 5, "_": 0})
    assert inv["spruce_log"] == 2 and inv["oak_log"] == 1 and inv["dirt"] == 3 and inv["wheat_seeds"] == 4
    assert inv["snowball"] == 1 and inv["mymod:thing"] == 5 and "_" not in inv
    assert set(TRACKED_ITEMS) <= set(to_minerl_inventory({}))
    assert all(v == 0 for v in to_minerl_inventory({}).values())
    # the paper's metric: sum over names containing "_log"
    assert sum(v for k, v in inv.items() if "_log" in k) == 3


def test_every_button_is_mapped_or_documented():
    mapped = set(controls.KEY_FOR_BUTTON) | set(controls.MOUSE_BUTTON_FOR_BUTTON)
    assert mapped | set(controls.UNMAPPED_BUTTONS) | {"ESC"} == set(BUTTON_KEYS)
    action = noop_action()
    action.update(forward=1, attack=1, jump=1, **{"hotbar.3": 1})
    keys, buttons = controls.pressed_inputs(action)
    assert keys == {"w", "space", "3"} and buttons == {1}


def test_mouse_sensitivity_matches_measured_calibration():
    # measured: mouse_sensitivity 0.2 at fov 70 turned 0.193 degrees per pixel in the real game
    per_pixel_at_02 = 0.2 / controls.mouse_sensitivity_for(70, 1.0)
    assert per_pixel_at_02 == pytest.approx(0.193, abs=0.001)


def test_camera_pixels_carry_the_remainder():
    to_px = controls.CameraToPixels(degrees_per_pixel=0.1)
    assert to_px([1.0, -2.0]) == (-20, 10)  # (pitch, yaw) -> (dx right, dy down)
    total = np.zeros(2)
    for _ in range(10):
        total += to_px([0.0, 0.03])  # 0.3 px each: rounding alone would send nothing
    assert total[0] == 3


def test_commanded_look_adds_camera_actions_exactly_and_clamps_pitch_like_minerl():
    look = controls.Look()
    for _ in range(7):
        look.turn([0.0, -200.0])  # 7 x -200 = -1400 = -320 (mod 360) = +40
    assert look.yaw == pytest.approx(40.0, abs=1e-9)
    look.turn(np.array([-12.5, 0.0], np.float32))
    assert look.pitch == -12.5
    look.turn([500.0, 0.0])
    assert look.pitch == controls.PITCH_LIMIT_DEGREES == 90.0  # clamped, as MineRL
    look.turn([-200.0, 0.0])
    assert look.pitch == -90.0
    look.set(10.0, 180.0)
    assert look.degrees() == (10.0, -180.0)  # yaw kept in [-180, 180)


def test_commanded_look_in_minetest_radians_reads_back_as_the_same_minerl_angles():
    look = controls.Look()
    for pitch, yaw in ((0.0, 0.0), (30.0, 90.0), (-45.0, -135.5), (89.0, 179.0)):
        look.set(pitch, yaw)
        mt_yaw, mt_pitch = look.minetest_radians()
        assert 0 <= mt_yaw < 2 * np.pi
        assert _minerl_angles({"yaw": mt_yaw, "pitch": mt_pitch}) == pytest.approx((pitch, yaw), abs=1e-9)
    look.set(0.0, 90.0)  # turning right is clockwise seen from above; Minetest's yaw grows counter-clockwise
    assert look.minetest_radians()[0] == pytest.approx(1.5 * np.pi)


def test_config_text_fills_placeholders_and_overrides_settings():
    template = "a = {x}\nviewing_range = {vr}\n# smooth_lighting = comment\nsmooth_lighting = true\n"
    text = _config_text(template, {"x": 1, "vr": 80}, {"smooth_lighting": False, "viewing_range": 40,
                                                          "client_mapblock_limit": 1500})
    assert text.splitlines() == ["a = 1", "viewing_range = 40", "# smooth_lighting = comment",
                                 "smooth_lighting = false", "client_mapblock_limit = 1500"]
    assert set(FAST_SETTINGS) & {"mg_name", "fixed_map_seed"} == set()  # the fast preset keeps the terrain


def test_a_biome_flattens_the_climate_noises_at_its_point():
    settings = biome_settings("deciduous_forest")
    text = _config_text("mg_name = v7\n", {}, settings)
    assert "mg_biome_np_heat = 60, 0, (1000, 1000, 1000), 5349, 3, 0.5, 2.0" in text.splitlines()
    assert "mg_biome_np_humidity = 68, 0, (1000, 1000, 1000), 842, 3, 0.5, 2.0" in text.splitlines()
    for biome, (heat, _) in BIOME_CLIMATES.items():
        assert biome_settings(biome)["mg_biome_np_heat"].startswith(f"{heat}, 0,")
    with pytest.raises(ValueError, match="unknown biome 'jungle'"):
        biome_settings("jungle")


def test_action_space_is_minerls_and_its_samples_are_valid_actions():
    space = base.action_space()
    assert set(space.spaces) == set(ACTION_KEYS) and len(space.spaces) == 24
    assert all(space[key].n == 2 for key in BUTTON_KEYS)
    camera = space["camera"]
    assert camera.shape == (2,) and camera.low.min() == -180 and camera.high.max() == 180
    assert noop_action() in space
    space.seed(0)
    for _ in range(5):
        sample = space.sample()
        validate_action(sample)
        keys, _ = controls.pressed_inputs(sample)  # numpy ints work as buttons
        assert keys == {controls.KEY_FOR_BUTTON[k] for k in controls.KEY_FOR_BUTTON if sample[k]}


def test_observations_conform_to_the_observation_space():
    space = base.observation_space(144, 256)
    assert space["pov"].shape == (144, 256, 3) and space["pov"].dtype == np.uint8
    assert set(space["inventory"].spaces) == set(INVENTORY_ITEMS) >= {"oak_log", "dirt", "wheat_seeds"}
    inventory, other = fixed_inventory({"dirt": 3, "oak_log": 1, "mymod:thing": 2})
    assert inventory["dirt"] == 3 and "mymod:thing" not in inventory and other == {"mymod:thing": 2}
    obs = make_observation(np.zeros((144, 256, 3), np.uint8), inventory, (1.0, 2.0, 3.0), 12.5, -170.0, 20)
    assert obs in space
    assert obs not in base.observation_space()  # another render size
    assert make_observation(np.zeros((144, 256, 3), np.uint8), inventory, (0, 0, 0), 95.0, 0, 20) not in space
    assert {**obs, "inventory": {"dirt": 1}} not in space  # every item of the fixed list, always


def test_plain_python_scalars_are_in_the_space_without_gymnasiums_casting_warning():
    import warnings

    space = base.observation_space(144, 256)
    inventory, _ = fixed_inventory({"dirt": 3})
    obs = make_observation(np.zeros((144, 256, 3), np.uint8), inventory, (1.0, 2.0, 3.0), 12.5, -170.0, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any gymnasium warning fails the test
        assert obs in space
        assert {**obs, "inventory": {**inventory, "dirt": 2.5}} not in space  # counts are whole
        assert {**obs, "inventory": {**inventory, "dirt": True}} not in space
        assert {**obs, "life_stats": {"life": "20"}} not in space
        assert {**obs, "life_stats": {"life": np.float32(19.5)}} in space
        assert space.sample() in space  # gymnasium's own 0-d arrays still belong


@pytest.mark.parametrize("hw", [(144, 256), (180, 320), (720, 1280)])
def test_frames_of_any_render_size_go_through_the_agent_and_mineclip_preprocessing(hw):
    frames = np.random.default_rng(0).integers(0, 256, (2, *hw, 3), dtype=np.uint8)
    assert resize_pov(frames).shape == (2, 128, 128, 3)
    assert tuple(preprocess_frames(frames).shape) == (2, 3, 160, 256)


def test_room_to_edge():
    assert controls.room_to_edge(320, 640, +1) == 317 and controls.room_to_edge(320, 640, -1) == 318
    assert controls.room_to_edge(639, 640, +1) == 0 and controls.room_to_edge(0, 640, -1) == 0


def test_bad_actions_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown action keys"):
        controls.checked_action({"fly": 1})
    with pytest.raises(ValueError, match="camera"):
        controls.checked_action({"camera": [1.0, 2.0, 3.0]})
    with pytest.raises(TypeError, match="dict"):
        controls.checked_action([0] * 24)
    full = full_action({"forward": np.array([1]), "camera": [[0.5, -1.0]]})
    assert set(full) == set(ACTION_KEYS) and full["forward"] == 1 and full["camera"].shape == (2,)


def _write_xwd(path, height, width, rgb, lsb_first=True):
    header = [100 + 8, 7, 2, 24, width, height, 0, 0 if lsb_first else 1, 32, 0, 32, 32, width * 4, 4,
              0xFF0000, 0xFF00, 0xFF, 8, 256, 0, width, height, 0, 0, 0]
    pixels = np.zeros((height, width, 4), np.uint8)
    pixels[..., :3] = rgb[..., ::-1] if lsb_first else rgb
    with open(path, "wb") as f:
        f.write(struct.pack(">25I", *header) + b"screen\0\0" + pixels.tobytes())


def test_framebuffer_reads_rgb(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (36, 64, 3), dtype=np.uint8)
    _write_xwd(tmp_path / "screen", 36, 64, rgb)
    frame = FrameBuffer(tmp_path / "screen").rgb()
    assert frame.shape == (36, 64, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, rgb)


def test_a_paced_step_waits_for_a_redrawn_screen_until_its_deadline(tmp_path):
    from steve1.envs.minetest.world import MinetestWorld

    rgb = np.random.default_rng(0).integers(0, 255, (36, 64, 3), dtype=np.uint8)
    _write_xwd(tmp_path / "screen", 36, 64, rgb)
    frames = FrameBuffer(tmp_path / "screen")
    seen = frames.snapshot()
    assert frames.unchanged_since(seen) and not frames.unchanged_since(None)

    class Redraws:  # the screen of the file, redrawn by "the game" after `after` looks
        def __init__(self, after):
            self.after, self.looks = after, 0

        def unchanged_since(self, snapshot):
            self.looks += 1
            if self.looks == self.after:
                with open(tmp_path / "screen", "r+b") as f:
                    f.seek(-1, os.SEEK_END)
                    f.write(b"\x01")
            return frames.unchanged_since(snapshot)

    world = object.__new__(MinetestWorld)  # only the waiting logic: no game
    world.timing, world._last_screen = {}, seen
    world._frames = Redraws(after=3)
    world._await_new_frame(time.monotonic() + 60)  # returns once redrawn, long before the deadline
    assert world._frames.looks == 3 and not frames.unchanged_since(seen)
    world._last_screen = frames.snapshot()
    world._frames = Redraws(after=10**9)  # never redrawn (a still scene): gives up at the deadline
    deadline = time.monotonic() + 0.05
    world._await_new_frame(deadline)
    assert time.monotonic() >= deadline and world._frames.looks >= 2


def test_children_die_with_their_parent(tmp_path):
    """A parent killed with SIGKILL leaves no child behind (PR_SET_PDEATHSIG + own process group)."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.getcwd()!r})
        from pathlib import Path
        from steve1.envs.minetest import processes
        child = processes.spawn(["sleep", "60"], Path({str(tmp_path)!r}) / "log")
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    assert os.getpgid(child_pid) == child_pid  # its own group, so stop() can end all it started
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_gone([child_pid], 5)


def test_a_child_started_from_a_short_lived_thread_outlives_the_thread(tmp_path):
    import threading

    box = []
    thread = threading.Thread(target=lambda: box.append(processes.spawn(["sleep", "30"], tmp_path / "log")))
    thread.start()
    thread.join()
    time.sleep(0.3)  # PDEATHSIG would have fired by now if the thread had forked the child
    try:
        assert box[0].poll() is None
    finally:
        processes.stop(box[0])
    assert box[0].poll() is not None


def test_only_instance_dirs_of_dead_owners_are_removed():
    mine, fd = processes.make_instance_dir()
    script = "from steve1.envs.minetest import processes; print(processes.make_instance_dir()[0], flush=True)"
    dead = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=os.getcwd())
    left = dead.stdout.strip()
    try:
        assert os.path.isdir(left)  # its owner exited without cleaning up
        processes.remove_stale_instance_dirs()
        assert not os.path.exists(left) and mine.is_dir()  # the dead owner's went, the live one stays
    finally:
        import shutil

        shutil.rmtree(mine, ignore_errors=True)
        os.close(fd)


def test_a_cleanup_while_an_instance_dir_is_being_made_leaves_it(monkeypatch):
    # another world starting on another thread cleans up stale directories at the worst moment: just
    # before this one locks its lock file (the race that removed a new directory and failed its flock)
    real_flock, busy = processes.fcntl.flock, []

    def flock_after_a_cleanup(fd, op):
        if not busy:
            busy.append(1)
            processes.remove_stale_instance_dirs()
            busy.clear()
        return real_flock(fd, op)

    monkeypatch.setattr(processes.fcntl, "flock", flock_after_a_cleanup)
    root, fd = processes.make_instance_dir()
    try:
        assert (root / processes.LOCK_NAME).is_file()
        processes.remove_stale_instance_dirs()  # held: stays
        assert (root / processes.LOCK_NAME).is_file()
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        os.close(fd)


def test_stop_ends_the_whole_group(tmp_path):
    proc = processes.spawn(["sh", "-c", "sleep 60 & sleep 60"], tmp_path / "log")
    time.sleep(0.2)
    members = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == proc.pid]
    assert len(members) >= 2
    processes.stop(proc, grace_s=0.5)
    time.sleep(0.1)
    assert not any(pid_alive(p) for p in members)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_unknown_world_and_missing_minerl():
    with pytest.raises(ValueError, match="unknown world"):
        make_world("doom")
    try:
        import minerl  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError) as err:
            make_world("minerl")
        assert str(err.value) == MINERL_INSTALL_HINT and "Java 8" in str(err.value)


def test_standard_observation_checks_pov():
    obs = {"pov": np.zeros((360, 640, 3), np.uint8), "inventory": {"dirt": np.int64(2)},
           "location_stats": {"xpos": np.float64(1.5)}}
    out = standard_observation(obs)
    assert out["inventory"]["dirt"] == 2 and isinstance(out["location_stats"]["xpos"], float)
    with pytest.raises(RuntimeError, match="640"):
        standard_observation({"pov": np.zeros((64, 64, 3), np.uint8)})


class _CountingWorld(World):
    """A stand-in world: its observation's xpos counts the steps."""

    def __init__(self):
        self.steps, self.closed = 0, False

    def _obs(self):
        return make_observation(np.zeros((360, 640, 3), np.uint8), {}, (self.steps, 0, 0), 0, 0, 20)

    def reset(self, seed=None, fresh_world=None):
        self.steps = 0
        return self._obs(), {"seed": seed}

    def step(self, action):
        self.steps += 1
        return self._obs(), 0.0, False, False, {}

    def close(self):
        self.closed = True


def test_scheduler_steps_every_world_and_closes_all():
    made, seen = [], []

    class Task:
        def start(self, slot, job, world, obs, info):
            return {"job": job, "steps": 0, "info": info}

        def act(self, slots, states):
            return [noop_action() for _ in slots]

        def step(self, slot, state, action, obs, reward, terminated, truncated, info):
            state["steps"] += 1
            seen.append((state["job"].key, obs["location_stats"]["xpos"]))
            return state["steps"] == 2

    def make(i):
        made.append(_CountingWorld())
        return made[-1]

    class Job:
        def __init__(self, key, seed):
            self.key, self.seed, self.attempts, self.faults = key, seed, 0, []

    failures = WorldScheduler(make, n_worlds=3).run([Job(f"e{k}", k) for k in range(3)], Task())
    assert failures == [] and len(made) == 3 and all(w.closed for w in made)
    assert sorted(seen) == sorted((f"e{k}", x) for k in range(3) for x in (1.0, 2.0))
