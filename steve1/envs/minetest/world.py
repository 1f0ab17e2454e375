"""Minetest as an embedded 3D voxel world behind steve1's MineRL-shaped interface.

Each instance owns a virtual display (Xvfb, its screen a memory-mapped XWD file) and one Minetest
client+server process (singleplayer, server bound to 127.0.0.1 on a port it picks itself), both in their
own process groups and killed with the parent. Keys and mouse buttons go in through XTest; the camera does
not: Python keeps the commanded absolute look (MineRL degrees, pitch clamped to [-90, 90]) and a world mod
(steve1_bridge) sets it every server step, so no turn is lost to a loaded machine (mouse motion is used only
for the cursor of an open inventory). The mod also writes position, look angles, health, inventory and its
senses to a JSON file at 20 Hz of game time and runs our commands (respawn, test arena). The game runs in
real time; steps are paced to 20 per second, and a step whose screen the game has not redrawn yet at its
tick waits a little for the game's next frame (a loaded game draws late).

Differences from MineRL (documented, not bugs): Minetest's coordinates are left-handed (+z is north, so z
has the opposite sign of Minecraft's); the hotbar has 8 slots in Minetest Game (hotbar.9 does nothing);
`pickItem` and `swapHands` do nothing; see controls.py for ESC and sprint.
"""
from __future__ import annotations

import copy
import json
import math
import os
import random
import shutil
import time
import weakref
from importlib import resources
from pathlib import Path

import numpy as np
from gymnasium.envs.registration import EnvSpec

from steve1.envs.base import StepResult, World, fixed_inventory, make_observation, observation_space
from steve1.envs.items import to_minerl_inventory
from steve1.envs.minetest import controls, processes
from steve1.envs.minetest.display import X_ERRORS, FrameBuffer, XInput
from steve1.spaces import CAMERA_KEY, FOV_DEGREES, POV_HEIGHT, POV_WIDTH, STEPS_PER_SECOND
from steve1.utils.atomic import atomic_write_text

GAME_ID = "minetest"  # Debian's minetest-data ships it as games/minetest_game
TICK_S = 1.0 / STEPS_PER_SECOND
STATE_FILE = "steve1_state.json"
COMMAND_FILE = "steve1_cmd.json"
LOOK_FILE = "steve1_look.json"  # the commanded look, read by the mod every server step
XAUTHORITY_FILE = "Xauthority"  # the virtual display's cookie (processes.start_xvfb)
HIDE_CHAT_KEYSYM = "F2"
STATUS_TEXT_S = 2.0  # Minetest shows "Chat hidden" for about 1.5 s after F2; wait it out on a fresh start
INSTALL_HINT = ("the Minetest world needs the Debian packages minetest, minetest-data and xvfb: "
                "`sudo apt-get install --no-install-recommends minetest minetest-data xvfb`")


DEFAULT_RESOLUTION = (POV_WIDTH, POV_HEIGHT)  # (width, height): MineRL's 640x360
# What renders fastest on two CPU cores (software GL) while the world stays the same world: the figures
# behind each choice are in BENCHMARKS.md ("Minetest world: what each setting costs").
FAST_WORLDS = 4  # fast worlds that two CPU cores step at 20 per second each (benchmarks/world_fps.py)
FAST_RESOLUTION = (256, 144)  # (width, height), 16:9 like MineRL; the agent sees 128x128, MineCLIP 256x160
FAST_SETTINGS = {
    "viewing_range": 40,
    "smooth_lighting": False,
    "enable_particles": False,
    "client_mapblock_limit": 1500,
    "fps_max": 24,  # a new frame every 42 ms: one in every 50 ms step, with room for jitter, and no more
    "fps_max_unfocused": 24,
}
# minetest_game's land biomes by climate point (heat, humidity). With the heat and humidity noises flat at a
# biome's point, every place of the world is that biome (or its shore and ocean variants); the terrain, the
# rivers and the trees' places are still the seed's. "deciduous_forest": trees, grass (seeds) and dirt.
BIOME_CLIMATES = {
    "deciduous_forest": (60, 68), "coniferous_forest": (45, 70), "grassland": (50, 35), "taiga": (25, 70),
    "rainforest": (86, 65), "savanna": (89, 42), "desert": (92, 16), "tundra": (0, 40),
}
# mapgen noise parameters: offset, scale, spread, seed, octaves, persistence, lacunarity (the noises' seeds
# and spreads are Minetest's defaults; scale 0 makes the noise its offset)
CLIMATE_NOISES = {"mg_biome_np_heat": "{}, 0, (1000, 1000, 1000), 5349, 3, 0.5, 2.0",
                  "mg_biome_np_humidity": "{}, 0, (1000, 1000, 1000), 842, 3, 0.5, 2.0"}
FAST_RENDER_THREADS = 0  # llvmpipe rasterizes in the game's own thread: no thread hand-offs on busy cores
# A paced step whose screen is the one the last observation showed waits until this long past its tick for
# the game's next frame (a game on loaded cores draws late). The deadline is the tick's, so worlds stepped
# together wait for it at the same time, not one after another; a scene that does not change costs the wait.
FRESH_FRAME_WAIT_S = 0.5 * TICK_S
SPEC = EnvSpec("steve1/Minetest-v0", entry_point="steve1.envs.minetest:MinetestWorld", nondeterministic=True)


class WorldFault(RuntimeError):
    """The game died, hung or could not be started."""


FAULTS = (WorldFault, OSError, ConnectionError, *X_ERRORS)  # what a restart recovers from


def minetest_available() -> str | None:
    """None when minetest and Xvfb are installed, else a sentence saying what to install."""
    missing = [name for name in ("minetest", "Xvfb") if processes.find_executable(name) is None]
    return f"{' and '.join(missing)} not found; {INSTALL_HINT}" if missing else None


def _package_file(name: str) -> Path:
    return Path(str(resources.files("steve1.envs.minetest") / name))


def _config_text(template: str, values: dict, settings: dict) -> str:
    """minetest.conf: the template's {braced} names filled from `values`, then each of `settings` replacing
    the line that sets it (or appended)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", str(value))
    lines = template.splitlines()
    for key, value in settings.items():
        text = f"{key} = {str(value).lower() if isinstance(value, bool) else value}"
        hits = [i for i, line in enumerate(lines) if line.split("=", 1)[0].strip() == key]
        if hits:
            lines[hits[0]] = text
        else:
            lines.append(text)
    return "\n".join(lines) + "\n"


def biome_settings(biome: str) -> dict:
    """minetest.conf settings that make every place of a new world the biome `biome` (BIOME_CLIMATES)."""
    if biome not in BIOME_CLIMATES:
        raise ValueError(f"unknown biome {biome!r}; choose one of {', '.join(BIOME_CLIMATES)}")
    return {key: noise.format(value) for (key, noise), value in zip(CLIMATE_NOISES.items(),
                                                                     BIOME_CLIMATES[biome], strict=True)}


def _minerl_angles(state: dict) -> tuple[float, float]:
    """Minetest (pitch, yaw) radians -> MineRL degrees: pitch down positive; yaw grows turning right."""
    pitch = math.degrees(state.get("pitch", 0.0))
    yaw = -math.degrees(state.get("yaw", 0.0))
    return pitch, (yaw + 180.0) % 360.0 - 180.0


class MinetestWorld(World):
    """One Minetest game. `reset(seed)` starts a new world from the seed (same seed, same terrain and spawn;
    no seed: the constructor's, else a random one, as MineRL). `reset(fresh_world=False)` instead re-spawns
    the player in the running world in about 0.1 s (inventory cleared, full health, morning; terrain changes
    stay). Faults (dead or hung game) restart the game in a new world from the same seed; the step returns
    truncated=True and `info["fault"]` says what happened. The game runs in real time: steps are paced to
    20 per second, and an agent slower than that sees more game time per step (`info["game_time"]`); a
    paced step waits up to `fresh_frame_wait_s` past its tick for a frame the last observation did not show.

    A Gymnasium env (spec SPEC, nondeterministic: the game runs in real time). `resolution=(W, H)` renders
    the window at that size (pov (H, W, 3)); `fast=True` takes FAST_SETTINGS, FAST_RENDER_THREADS and,
    unless `resolution` is given, FAST_RESOLUTION; `biome` (a name of BIOME_CLIMATES) makes every new world
    that biome everywhere; `settings` overrides any minetest.conf key.
    `fresh_world` is what reset() does when neither its argument nor options={"fresh_world": ...} says.
    Every info carries `senses`: the mod's senses table plus `in_water` (head or feet in water), and
    `other_items`: held items outside INVENTORY_ITEMS."""

    name = "minetest"
    spec = SPEC

    def __init__(self, seed: int | None = None, *, resolution: tuple[int, int] | None = None,
                 fast: bool = False, biome: str | None = None, settings: dict | None = None,
                 pace: bool = True, viewing_range: int | None = None, fps_max: int = 30,
                 fresh_world: bool = True, start_timeout_s: float = 60.0, hang_timeout_s: float = 10.0,
                 command_timeout_s: float = 10.0, render_threads: int | None = None,
                 fresh_frame_wait_s: float = FRESH_FRAME_WAIT_S):
        problem = minetest_available()
        if problem:
            raise FileNotFoundError(problem)
        if resolution is None:
            resolution = FAST_RESOLUTION if fast else DEFAULT_RESOLUTION
        width, height = (int(v) for v in resolution)
        if not (16 <= width <= 4096 and 16 <= height <= 4096):
            raise ValueError(f"resolution must be (width, height) between 16 and 4096, got {resolution}")
        self.resolution = (width, height)
        self.settings = {**(FAST_SETTINGS if fast else {}), **(biome_settings(biome) if biome else {}),
                         **(settings or {})}
        if viewing_range is not None:
            self.settings["viewing_range"] = int(viewing_range)
        self.viewing_range = int(self.settings.get("viewing_range", 80))
        self.observation_space = observation_space(height, width)
        self.default_seed = seed
        self.default_fresh_world = bool(fresh_world)
        self.pace = pace
        self.fresh_frame_wait_s = max(0.0, float(fresh_frame_wait_s))
        self.fps_max = int(fps_max)
        self.start_timeout_s = float(start_timeout_s)
        self.hang_timeout_s = float(hang_timeout_s)
        self.command_timeout_s = float(command_timeout_s)
        self.render_threads = FAST_RENDER_THREADS if fast and render_threads is None else render_threads
        self.seed: int | None = None
        self.restarts = 0
        self.timing = {"grab_ms": 0.0, "step_ms": 0.0, "fresh_wait_ms": 0.0}  # of the last step
        self._root, lock_fd = processes.make_instance_dir()
        self._procs: dict = {"xvfb": None, "game": None}
        self._finalizer = weakref.finalize(self, _cleanup, self._procs, self._root, lock_fd)
        self._display_name: str | None = None
        self._input: XInput | None = None
        self._frames: FrameBuffer | None = None
        self._world_dir: Path | None = None
        self._camera = controls.CameraToPixels()  # inventory cursor only
        self._look = controls.Look()  # the commanded (pitch, yaw)
        self._look_seq = 0
        self._look_sent: tuple | None = None
        self._held_keys: frozenset = frozenset()
        self._held_buttons: frozenset = frozenset()
        self._gui_open = False
        self._command_id = 0
        self._state: dict = {}
        self._state_seq = -1.0
        self._state_seen_at = 0.0
        self._next_tick = 0.0
        self._last_screen: np.ndarray | None = None  # the screen of the last observation, as stored
        self._pending_faults: list[str] = []
        self._closed = False

    # ----------------------------------------------------------------- processes
    @property
    def pids(self) -> dict[str, int | None]:
        """Process ids of the virtual display and the game (None when not running)."""
        return {k: (p.pid if p is not None and p.poll() is None else None) for k, p in self._procs.items()}

    def _start_display(self) -> None:
        fbdir = self._root / "screen"
        fbdir.mkdir(exist_ok=True)
        self._procs["xvfb"], self._display_name = processes.start_xvfb(
            *self.resolution, fbdir, self._root / "xvfb.log", auth_file=self._root / XAUTHORITY_FILE)
        self._input = XInput(self._display_name, self._root / XAUTHORITY_FILE)
        self._frames = FrameBuffer(fbdir / "Xvfb_screen0")

    def _write_config(self, seed: int) -> Path:
        width, height = self.resolution
        sensitivity = controls.mouse_sensitivity_for(FOV_DEGREES)
        values = {"seed": seed, "width": width, "height": height, "fov": FOV_DEGREES,
                  "mouse_sensitivity": f"{sensitivity:.6f}", "fps_max": self.fps_max,
                  "viewing_range": self.viewing_range, "hud_scaling": f"{height / POV_HEIGHT:.4f}"}
        text = _config_text(_package_file("minetest.conf").read_text(), values, self.settings)
        path = self._root / "minetest.conf"
        path.write_text(text)
        return path

    def _new_world_dir(self) -> Path:
        world = self._root / f"world-{self.restarts}-{time.monotonic_ns()}"
        (world / "worldmods").mkdir(parents=True)
        (world / "world.mt").write_text(f"gameid = {GAME_ID}\nbackend = sqlite3\nplayer_backend = sqlite3\n"
                                        "auth_backend = sqlite3\nmod_storage_backend = sqlite3\n")
        shutil.copytree(_package_file("mod") / "steve1_bridge", world / "worldmods" / "steve1_bridge")
        return world

    def _start_game(self, seed: int) -> None:
        """Start a new world from `seed`; returns once the player is in and the window has the focus."""
        self._stop_game()
        if self._procs["xvfb"] is None or self._procs["xvfb"].poll() is not None:
            self._stop_display()
            self._start_display()
        self._world_dir = self._new_world_dir()
        config = self._write_config(seed)
        env = dict(os.environ, DISPLAY=self._display_name, HOME=str(self._root),
                   XAUTHORITY=str(self._root / XAUTHORITY_FILE))
        if self.render_threads is not None:  # llvmpipe's rasterizer threads; 0: in the game's own thread
            env["LP_NUM_THREADS"] = str(self.render_threads)
        log = self._root / "game.log"
        self._procs["game"] = processes.spawn(
            [processes.find_executable("minetest"), "--go", "--world", str(self._world_dir), "--gameid",
             GAME_ID, "--config", str(config), "--logfile", str(self._root / "debug.txt")], log, env=env,
            loopback_only=True)
        self.seed = seed
        self._state, self._state_seq = {}, -1.0
        deadline = time.monotonic() + self.start_timeout_s
        window = None
        while True:
            self._check_alive()
            state = self._read_state()
            if window is None:
                window = self._input.find_window(*self.resolution)
            if state.get("joined") and window is not None:
                break
            if time.monotonic() > deadline:
                raise WorldFault(f"Minetest did not start within {self.start_timeout_s} s; "
                                 f"see {log}:\n{self._log_tail()}")
            time.sleep(0.05)
        self._input.focus(window)
        self._input.move_absolute(self.resolution[0] // 2, self.resolution[1] // 2)
        self._tap(HIDE_CHAT_KEYSYM)
        self._held_keys, self._held_buttons, self._gui_open = frozenset(), frozenset(), False
        self._look_sent = None
        time.sleep(STATUS_TEXT_S)

    def _stop_game(self) -> None:
        processes.stop(self._procs["game"], grace_s=0.5)  # its world is deleted next: no need to save it
        self._procs["game"] = None
        if self._world_dir is not None:
            shutil.rmtree(self._world_dir, ignore_errors=True)
            self._world_dir = None

    def _stop_display(self) -> None:
        if self._input is not None:
            self._input.close()
        self._input, self._frames = None, None
        processes.stop(self._procs["xvfb"])
        self._procs["xvfb"] = None

    def _log_tail(self, n: int = 15) -> str:
        lines = []
        for name in ("game.log", "xvfb.log"):
            path = self._root / name
            if path.exists():
                lines += path.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(lines)

    def _check_alive(self) -> None:
        for key, proc in self._procs.items():
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                what = "Minetest" if key == "game" else "Xvfb"
                raise WorldFault(f"{what} is not running (exit code {code})")

    # ----------------------------------------------------------------- state and commands
    def _read_state(self) -> dict:
        try:
            text = (self._world_dir / STATE_FILE).read_text()
            state = json.loads(text)
        except (OSError, ValueError, TypeError):
            return self._state
        if state.get("seq", -1) != self._state_seq:
            self._state, self._state_seq = state, state.get("seq", -1)
            self._state_seen_at = time.monotonic()
        return self._state

    def _command(self, op: str, wait_for: str = "ack", **args) -> dict:
        """Run a command in the bridge mod and wait until the mod acknowledges it."""
        self._command_id += 1
        command = {"id": self._command_id, "op": op, **args}
        atomic_write_text(self._world_dir / COMMAND_FILE, json.dumps(command))
        deadline = time.monotonic() + self.command_timeout_s
        while self._read_state().get(wait_for, -1) < self._command_id:
            self._check_alive()
            if time.monotonic() > deadline:
                raise WorldFault(f"Minetest did not run command {op!r} within {self.command_timeout_s} s")
            time.sleep(0.01)
        return self._state

    def _wait_for_fresh_state(self, ticks: int = 2) -> None:
        seq = self._state_seq
        deadline = time.monotonic() + self.hang_timeout_s
        while self._read_state().get("seq", -1) < seq + ticks:
            self._check_alive()
            if time.monotonic() > deadline:
                raise WorldFault(f"Minetest reported no state for {self.hang_timeout_s} s (hung)")
            time.sleep(0.005)

    # ----------------------------------------------------------------- input
    def _tap(self, keysym: str) -> None:
        self._input.key(keysym, True)
        self._input.flush()
        time.sleep(0.05)
        self._input.key(keysym, False)
        self._input.flush()

    def _release_all(self) -> None:
        for sym in self._held_keys:
            self._input.key(sym, False)
        for num in self._held_buttons:
            self._input.button(num, False)
        if self._gui_open:
            self._input.key(controls.ESCAPE_KEYSYM, True)
            self._input.key(controls.ESCAPE_KEYSYM, False)
            self._gui_open = False
        self._input.flush()
        self._held_keys, self._held_buttons = frozenset(), frozenset()
        self._camera.reset()

    def _send_look(self) -> None:
        """Write the commanded look for the mod (when it changed); it applies it on its next server step."""
        look = self._look.minetest_radians()  # (yaw, pitch)
        if look == self._look_sent:
            return
        self._look_seq += 1
        atomic_write_text(self._world_dir / LOOK_FILE,
                          json.dumps({"seq": self._look_seq, "yaw": look[0], "pitch": look[1]}))
        self._look_sent = look

    def _face(self, pitch: float, yaw: float) -> None:
        """The mod has just placed the player facing (pitch, yaw): make that the commanded look."""
        self._look.set(pitch, yaw)
        self._look_sent = self._look.minetest_radians()

    def _send(self, action: dict) -> None:
        keys, buttons = controls.pressed_inputs(action)
        inp = self._input
        for sym in self._held_keys - keys:
            inp.key(sym, False)
        for sym in keys - self._held_keys:
            inp.key(sym, True)
            if sym == controls.KEY_FOR_BUTTON["inventory"]:
                self._gui_open = not self._gui_open
        for num in self._held_buttons - buttons:
            inp.button(num, False)
        for num in buttons - self._held_buttons:
            inp.button(num, True)
        if action.get("ESC", 0) and self._gui_open:
            inp.key(controls.ESCAPE_KEYSYM, True)
            inp.key(controls.ESCAPE_KEYSYM, False)
            self._gui_open = False
        self._held_keys, self._held_buttons = keys, buttons
        if CAMERA_KEY in action:
            if self._gui_open:  # the camera moves the inventory's cursor, as in MineRL
                self._move_pointer(*self._camera(action[CAMERA_KEY]))
            else:
                self._look.turn(action[CAMERA_KEY])
                self._send_look()
        inp.flush()

    def _move_pointer(self, dx: int, dy: int) -> None:
        """Move the open inventory's cursor; it stops at the screen edge, as in MineRL."""
        if not (dx or dy):
            return
        x, y = self._input.pointer()
        room_x = controls.room_to_edge(x, self.resolution[0], dx)
        room_y = controls.room_to_edge(y, self.resolution[1], dy)
        sx = int(np.sign(dx)) * min(abs(dx), room_x)
        sy = int(np.sign(dy)) * min(abs(dy), room_y)
        if sx or sy:
            self._input.move_relative(sx, sy)

    # ----------------------------------------------------------------- observation
    def _observe(self) -> tuple[dict, dict]:
        """(observation, the info entries every step and reset carry: senses, other_items)."""
        t0 = time.perf_counter()
        self._last_screen = self._frames.snapshot()
        pov = self._frames.rgb()  # (H, W, 3) uint8
        state = self._read_state()
        self.timing["grab_ms"] = (time.perf_counter() - t0) * 1e3
        pitch, yaw = _minerl_angles(state)
        inventory, other = fixed_inventory(to_minerl_inventory(state.get("inv") or {}))
        obs = make_observation(pov, inventory, state.get("pos", (0, 0, 0)), pitch, yaw, state.get("hp", 0.0))
        # a copy: the state of one report is read again until the next, and infos must not share objects
        senses = {k: copy.deepcopy(v) for k, v in (state.get("senses") or {}).items() if k != "_"}
        senses["in_water"] = bool(state.get("in_water", False))
        return obs, {"senses": senses, "other_items": other}

    def _await_new_frame(self, deadline: float) -> None:
        """Until `deadline` (monotonic), wait while the screen is still the last observation's."""
        t0 = time.monotonic()
        while self._frames.unchanged_since(self._last_screen) and time.monotonic() < deadline:
            time.sleep(0.002)
        self.timing["fresh_wait_ms"] = (time.monotonic() - t0) * 1e3

    # ----------------------------------------------------------------- public API
    def reset(self, seed: int | None = None, options: dict | None = None,
              fresh_world: bool | None = None) -> tuple[dict, dict]:
        self._ensure_open()
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"fresh_world"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; the one option is 'fresh_world'")
        if fresh_world is None:
            fresh_world = options.get("fresh_world")
        if fresh_world is None:
            fresh_world = self.default_fresh_world
        running = self._procs["game"] is not None and self._procs["game"].poll() is None
        other_seed = seed is not None and seed != self.seed
        fresh = bool(fresh_world) or not running or other_seed
        if seed is None:
            seed = self.seed if not fresh else self.default_seed
        if seed is None:  # like MineRL: no seed, a new random world
            seed = random.randrange(2**31)
        faults = self._pending_faults
        self._pending_faults = []
        for attempt in range(2):
            try:
                if fresh or not running:
                    self._start_game(int(seed))
                    fresh = True
                self._release_all()
                self._command("respawn", yaw=0.0, pitch=0.0, time_of_day=0.25)
                self._face(0.0, 0.0)
                self._wait_for_fresh_state()
                break
            except FAULTS as err:  # one retry from scratch
                if attempt:
                    raise WorldFault(f"could not reset Minetest: {err}\n{self._log_tail()}") from err
                faults.append(f"reset: {err}")
                self._restart_processes()
                running, fresh = False, True
        self._next_tick = time.monotonic()
        obs, extra = self._observe()
        info = {"seed": self.seed, "fresh_world": fresh, "faults": faults, "restarts": self.restarts, **extra}
        return obs, info

    def step_send(self, action: dict) -> None:
        self._ensure_open()
        if self._world_dir is None:
            raise RuntimeError("call reset() before step()")
        controls.checked_action(action)
        try:
            self._check_alive()
            self._send(action)
        except FAULTS as err:
            self._pending_faults.append(f"step: {err}")

    def step_wait(self) -> StepResult:
        t_start = time.perf_counter()
        if not self._pending_faults:
            try:
                work_s = time.perf_counter() - t_start
                if self.pace:
                    self._next_tick += TICK_S
                    delay = self._next_tick - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    elif delay < -2 * TICK_S:  # fell behind: do not try to catch up
                        self._next_tick = time.monotonic()
                    self._await_new_frame(self._next_tick + self.fresh_frame_wait_s)
                t_work = time.perf_counter()
                self._check_alive()
                obs, extra = self._observe()
                if time.monotonic() - self._state_seen_at > self.hang_timeout_s:
                    raise WorldFault(f"Minetest reported no state for {self.hang_timeout_s} s (hung)")
                self.timing["step_ms"] = (work_s + time.perf_counter() - t_work) * 1e3
                info = {"fault": None, "game_time": self._state.get("t", 0.0), **extra}
                return obs, 0.0, False, False, info
            except FAULTS as err:
                self._pending_faults.append(f"step: {err}")
        return self._recover()

    def step(self, action: dict) -> StepResult:
        t0 = time.perf_counter()
        self.step_send(action)
        send_ms = (time.perf_counter() - t0) * 1e3
        result = self.step_wait()
        self.timing["step_ms"] += send_ms
        return result

    def arrange_test_arena(self) -> dict:
        """Build a flat stone floor (17x17) with air above around the player, one dirt block at eye level
        right in front (+z), and face it (yaw 0, pitch 0). For deterministic integration tests."""
        self._release_all()
        self._command("arena", wait_for="arena")
        self._face(0.0, 0.0)
        self._wait_for_fresh_state(ticks=10)  # let the client receive the new blocks
        self._next_tick = time.monotonic()
        return self._observe()[0]

    def give(self, item: str, count: int = 1) -> dict:
        """Put `count` of a Minetest item (e.g. 'default:dirt') in the player's inventory (tests, setups)."""
        self._command("give", item=str(item), count=int(count))
        self._wait_for_fresh_state()
        return self._observe()[0]

    def set_node(self, node: str, offset: tuple[int, int, int] = (0, 0, 0)) -> dict:
        """Put a Minetest node (e.g. 'default:water_source') at `offset` (x, y, z) from the node the
        player's feet are in (tests, setups); returns the info entries (senses) once the mod reported."""
        self._command("set_node", node=str(node), offset=[int(v) for v in offset])
        self._wait_for_fresh_state()
        return self._observe()[1]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finalizer()
        self._input = self._frames = None

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("this MinetestWorld is closed; make a new one")

    # ----------------------------------------------------------------- faults
    def _restart_processes(self) -> None:
        self.restarts += 1
        self._stop_game()
        self._stop_display()

    def _recover(self) -> StepResult:
        """Restart the game in a new world from the same seed; report the fault in info."""
        faults = self._pending_faults
        self._pending_faults = []
        self._restart_processes()
        obs, info = self.reset(seed=self.seed, fresh_world=True)
        info.update(fault="; ".join(faults), faults=faults + info["faults"], restarted=True)
        return obs, 0.0, False, True, info


def _cleanup(procs: dict, root: Path, lock_fd: int) -> None:
    for key in ("game", "xvfb"):
        processes.stop(procs.get(key))
        procs[key] = None
    shutil.rmtree(root, ignore_errors=True)
    os.close(lock_fd)
