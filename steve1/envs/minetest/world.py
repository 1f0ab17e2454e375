"""Minetest as an embedded 3D voxel world behind steve1's MineRL-shaped interface.

Each instance owns a virtual display (Xvfb, its screen a memory-mapped XWD file) and one Minetest
client+server process (singleplayer, server bound to 127.0.0.1 on a port it picks itself), both in their
own process groups and killed with the parent. Input goes in through XTest; a world mod (steve1_bridge)
writes position, look angles, health and inventory to a JSON file at 20 Hz of game time and runs our
commands (respawn, test arena). The game runs in real time; steps are paced to 20 per second.

Differences from MineRL (documented, not bugs): Minetest's coordinates are left-handed (+z is north, so z
has the opposite sign of Minecraft's); the hotbar has 8 slots in Minetest Game (hotbar.9 does nothing);
`pickItem` and `swapHands` do nothing; see controls.py for ESC and sprint.
"""
from __future__ import annotations

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

from steve1.envs.base import StepResult, World, make_observation
from steve1.envs.items import to_minerl_inventory
from steve1.envs.minetest import controls, processes
from steve1.envs.minetest.display import X_ERRORS, FrameBuffer, XInput
from steve1.spaces import FOV_DEGREES, POV_HEIGHT, POV_WIDTH, STEPS_PER_SECOND
from steve1.utils.atomic import atomic_write_text

GAME_ID = "minetest"  # Debian's minetest-data ships it as games/minetest_game
TICK_S = 1.0 / STEPS_PER_SECOND
STATE_FILE = "steve1_state.json"
COMMAND_FILE = "steve1_cmd.json"
HIDE_CHAT_KEYSYM = "F2"
STATUS_TEXT_S = 2.0  # Minetest shows "Chat hidden" for about 1.5 s after F2; wait it out on a fresh start
INSTALL_HINT = ("the Minetest world needs the Debian packages minetest, minetest-data and xvfb: "
                "`sudo apt-get install --no-install-recommends minetest minetest-data xvfb`")


class WorldFault(RuntimeError):
    """The game died, hung or could not be started."""


FAULTS = (WorldFault, OSError, ConnectionError, *X_ERRORS)  # what a restart recovers from


def minetest_available() -> str | None:
    """None when minetest and Xvfb are installed, else a sentence saying what to install."""
    missing = [name for name in ("minetest", "Xvfb") if processes.find_executable(name) is None]
    return f"{' and '.join(missing)} not found; {INSTALL_HINT}" if missing else None


def _package_file(name: str) -> Path:
    return Path(str(resources.files("steve1.envs.minetest") / name))


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
    20 per second, and an agent slower than that sees more game time per step (`info["game_time"]`)."""

    name = "minetest"

    def __init__(self, seed: int | None = None, *, pace: bool = True, viewing_range: int = 80,
                 fps_max: int = 30, start_timeout_s: float = 60.0, hang_timeout_s: float = 10.0,
                 command_timeout_s: float = 10.0, render_threads: int | None = None):
        problem = minetest_available()
        if problem:
            raise FileNotFoundError(problem)
        self.default_seed = seed
        self.pace = pace
        self.viewing_range = int(viewing_range)
        self.fps_max = int(fps_max)
        self.start_timeout_s = float(start_timeout_s)
        self.hang_timeout_s = float(hang_timeout_s)
        self.command_timeout_s = float(command_timeout_s)
        self.render_threads = render_threads
        self.seed: int | None = None
        self.restarts = 0
        self.timing = {"grab_ms": 0.0, "step_ms": 0.0}  # of the last step
        self._root, lock_fd = processes.make_instance_dir()
        self._procs: dict = {"xvfb": None, "game": None}
        self._finalizer = weakref.finalize(self, _cleanup, self._procs, self._root, lock_fd)
        self._display_name: str | None = None
        self._input: XInput | None = None
        self._frames: FrameBuffer | None = None
        self._world_dir: Path | None = None
        self._camera = controls.CameraToPixels()
        self._held_keys: frozenset = frozenset()
        self._held_buttons: frozenset = frozenset()
        self._gui_open = False
        self._command_id = 0
        self._state: dict = {}
        self._state_seq = -1.0
        self._state_seen_at = 0.0
        self._next_tick = 0.0
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
            POV_WIDTH, POV_HEIGHT, fbdir, self._root / "xvfb.log")
        self._input = XInput(self._display_name)
        self._frames = FrameBuffer(fbdir / "Xvfb_screen0")

    def _write_config(self, seed: int) -> Path:
        text = _package_file("minetest.conf").read_text()
        sensitivity = controls.mouse_sensitivity_for(FOV_DEGREES)
        values = {"seed": seed, "width": POV_WIDTH, "height": POV_HEIGHT,
                  "fov": FOV_DEGREES, "mouse_sensitivity": f"{sensitivity:.6f}",
                  "fps_max": self.fps_max, "viewing_range": self.viewing_range}
        for key, value in values.items():
            text = text.replace("{" + key + "}", str(value))
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
        env = dict(os.environ, DISPLAY=self._display_name, HOME=str(self._root))
        if self.render_threads:
            env["LP_NUM_THREADS"] = str(self.render_threads)
        log = self._root / "game.log"
        self._procs["game"] = processes.spawn(
            [processes.find_executable("minetest"), "--go", "--world", str(self._world_dir), "--gameid",
             GAME_ID, "--config", str(config), "--logfile", str(self._root / "debug.txt")], log, env=env)
        self.seed = seed
        self._state, self._state_seq = {}, -1.0
        deadline = time.monotonic() + self.start_timeout_s
        window = None
        while True:
            self._check_alive()
            state = self._read_state()
            if window is None:
                window = self._input.find_window(POV_WIDTH, POV_HEIGHT)
            if state.get("joined") and window is not None:
                break
            if time.monotonic() > deadline:
                raise WorldFault(f"Minetest did not start within {self.start_timeout_s} s; "
                                 f"see {log}:\n{self._log_tail()}")
            time.sleep(0.05)
        self._input.focus(window)
        self._input.move_absolute(POV_WIDTH // 2, POV_HEIGHT // 2)
        self._tap(HIDE_CHAT_KEYSYM)
        self._held_keys, self._held_buttons, self._gui_open = frozenset(), frozenset(), False
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
        self._input.flush()
        self._held_keys, self._held_buttons = frozenset(), frozenset()
        self._camera.reset()

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
        if controls.CAMERA_KEY in action:
            self._move_pointer(*self._camera(action[controls.CAMERA_KEY]))
        inp.flush()

    def _move_pointer(self, dx: int, dy: int) -> None:
        """Send a mouse motion without ever pushing the pointer into the screen edge, where X would clamp
        it and the game would turn less: each game frame reads the pointer's offset from the centre and
        re-centres it, so a motion larger than the room left (a big turn, or a game lagging behind) waits
        for the next frame; what is still unsent after MOTION_WAIT_S goes out with the next step."""
        if not (dx or dy):
            return
        deadline = time.monotonic() + controls.MOTION_WAIT_S
        while dx or dy:
            x, y = self._input.pointer()
            room_x = controls.room_to_edge(x, POV_WIDTH, dx)
            room_y = controls.room_to_edge(y, POV_HEIGHT, dy)
            sx = int(np.sign(dx)) * min(abs(dx), room_x, controls.MAX_PIXELS_PER_MOTION[0])
            sy = int(np.sign(dy)) * min(abs(dy), room_y, controls.MAX_PIXELS_PER_MOTION[1])
            if sx or sy:
                self._input.move_relative(sx, sy)
                self._input.flush()
                dx, dy = dx - sx, dy - sy
            if not (dx or dy):
                return
            if self._gui_open:  # an open inventory shows a cursor that stops at the edge, as in MineRL
                return
            if time.monotonic() > deadline:
                self._camera.carry(dx, dy)
                return
            time.sleep(0.5 / self.fps_max)  # half a game frame

    # ----------------------------------------------------------------- observation
    def _observe(self) -> dict:
        t0 = time.perf_counter()
        pov = self._frames.rgb()  # (360, 640, 3) uint8
        state = self._read_state()
        self.timing["grab_ms"] = (time.perf_counter() - t0) * 1e3
        pitch, yaw = _minerl_angles(state)
        return make_observation(pov, to_minerl_inventory(state.get("inv") or {}), state.get("pos", (0, 0, 0)),
                                pitch, yaw, state.get("hp", 0.0))

    # ----------------------------------------------------------------- public API
    def reset(self, seed: int | None = None, fresh_world: bool | None = None) -> tuple[dict, dict]:
        self._ensure_open()
        running = self._procs["game"] is not None and self._procs["game"].poll() is None
        other_seed = seed is not None and seed != self.seed
        fresh = fresh_world is None or bool(fresh_world) or not running or other_seed
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
                self._wait_for_fresh_state()
                break
            except FAULTS as err:  # one retry from scratch
                if attempt:
                    raise WorldFault(f"could not reset Minetest: {err}\n{self._log_tail()}") from err
                faults.append(f"reset: {err}")
                self._restart_processes()
                running, fresh = False, True
        self._next_tick = time.monotonic()
        info = {"seed": self.seed, "fresh_world": fresh, "faults": faults, "restarts": self.restarts,
                "senses": self._state.get("senses", {})}
        return self._observe(), info

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
                t_work = time.perf_counter()
                self._check_alive()
                obs = self._observe()
                if time.monotonic() - self._state_seen_at > self.hang_timeout_s:
                    raise WorldFault(f"Minetest reported no state for {self.hang_timeout_s} s (hung)")
                self.timing["step_ms"] = (work_s + time.perf_counter() - t_work) * 1e3
                return obs, 0.0, False, False, {"fault": None, "game_time": self._state.get("t", 0.0),
                                                 "senses": self._state.get("senses", {})}
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
        self._wait_for_fresh_state(ticks=10)  # let the client receive the new blocks
        self._next_tick = time.monotonic()
        return self._observe()

    def give(self, item: str, count: int = 1) -> dict:
        """Put `count` of a Minetest item (e.g. 'default:dirt') in the player's inventory (tests, setups)."""
        self._command("give", item=str(item), count=int(count))
        self._wait_for_fresh_state()
        return self._observe()

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
