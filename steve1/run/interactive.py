"""Interactive session (script 3, `steve1 interactive`): type prompts while the agent plays; the goal changes
live.

    steve1 interactive                         # a window (needs a display)
    steve1 interactive --headless              # prompts typed in the terminal
    steve1 interactive --prompt-file demo.txt  # prompts and commands from a file

Input lines: a prompt (stripped and lower-cased, as the original; one prior sample per prompt), or a command:
`reset agent` (clear the agent's memory), `reset env` (a new episode), `save video [name]` (the frames
shown so far -> `<out-dir>/<name>.mp4` at 20 fps and `<name>.json`, the prompt of every frame, as the
original), `quit` (also `q`, `exit`). A command may be written with a leading `:` (`:quit`); a `:` line
that is no command is an error, never a prompt. While the agent plays, a progress line is logged every 100
steps. In a prompt file, `wait N` lets the agent play N steps before the
next line is read, `#` starts a comment, and the end of the file quits.

The display frame is the game view with the prompt on a black panel to its right (960x360), as the
original. The agent plays only once a prompt has been given.

Differences from the original (fixes): one loop reads input, steps the agent and draws the window (the
original ran the game loop inside the mouse callback, re-entering it on every click, and could not quit
while playing); it runs without a display (the original needed one); `quit` works at any time; a crashed
world is restarted; prompts are typed into the window's entry field instead of the terminal.
"""
from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from steve1 import paths
from steve1.agent.agent import Steve1Agent
from steve1.agent.goals import TEXT_COND_SCALE, GoalError, normalize_interactive_prompt, text_goal
from steve1.agent.guidance import fill_guidance
from steve1.agent.models import AgentModels
from steve1.cli_config import UsageError, check, run_verb, settings_field
from steve1.envs.base import World
from steve1.eval.video import (
    INTERACTIVE_VIDEO_FPS,
    frame_with_prompt_panel,
    overlay_text,
    save_interactive_recording,
)
from steve1.run.common import (
    DTYPES,
    ModelSettings,
    WorldSettings,
    banner,
    build_models,
    check_run_settings,
    generator,
    safe_file_name,
    setup_logging,
    world_factory,
)

log = logging.getLogger("steve1.interactive")
WINDOW_TITLE = "STEVE-1 Gameplay (type a prompt, Enter)"
IDLE_TEXT = "Enter a Prompt"
QUIT_COMMANDS = ("quit", "q", "exit")
COMMANDS = ("reset agent", "reset env", "save video [name]", "quit")
COMMAND_PREFIX = ":"  # `:quit`, `:reset env`, ...: a line starting with it is a command, never a prompt
PROGRESS_EVERY = 100  # agent steps between progress lines (5 s of game time)
JPEG_QUALITY = 90  # recorded frames are kept JPEG-compressed in memory (~50 KB instead of 1 MB each)


class JpegFrames:
    """A growing list of RGB frames stored as JPEG; iterating decodes them (for write_video)."""

    def __init__(self):
        self._data: list[bytes] = []

    def append(self, frame: np.ndarray) -> None:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError("could not encode a frame for the recording")
        self._data.append(buf.tobytes())

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[np.ndarray]:
        for data in self._data:
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class Session:
    """The game state of an interactive session: world, agent, current prompt and goal, recording."""

    def __init__(self, models: AgentModels, make_world, out_dir: Path, cond_scale: float = TEXT_COND_SCALE,
                 world_seed: int | None = None, seed: int = 0, autocast_dtype=None):
        self.models = models
        self.make_world = make_world
        self.out_dir = Path(out_dir)
        self.world_seed = world_seed
        self.generator = generator(seed)
        self.agent = Steve1Agent(models.policy, cond_scale=cond_scale, generator=generator(seed + 1),
                                 autocast_dtype=autocast_dtype)
        self.banner = banner(models)
        self.prompt: str | None = None
        self.goal: np.ndarray | None = None
        self.frames = JpegFrames()
        self.frame_prompts: list[str] = []
        self.steps = 0
        self.world: World | None = None
        self.obs = self._reset_world()

    # ---------------------------------------------------------------- world
    def _reset_world(self) -> dict:
        for attempt in range(3):
            try:
                if self.world is None:
                    self.world = self.make_world(0)
                obs, _ = self.world.reset(seed=self.world_seed)
                self.agent.reset()
                return obs
            except (FileNotFoundError, ImportError, ValueError, TypeError):
                raise
            except Exception as err:  # noqa: BLE001 - a crashed world: start a new one
                log.warning("world failed to reset (%s); starting a new one (%d/3)", err, attempt + 1)
                self._drop_world()
        raise RuntimeError("the world could not be started three times in a row; see the log above")

    def _drop_world(self) -> None:
        world, self.world = self.world, None
        if world is not None:
            try:
                world.close()
            except Exception as err:  # noqa: BLE001
                log.warning("closing the crashed world failed: %s", err)

    def close(self) -> None:
        self._drop_world()

    # ---------------------------------------------------------------- input
    def handle(self, line: str) -> bool:
        """Apply one input line; False means quit."""
        text = line.strip()
        explicit = text.startswith(COMMAND_PREFIX)
        if explicit:
            text = text[len(COMMAND_PREFIX):].strip()
        command = text.lower()
        if not text and not explicit:
            return True
        if command in QUIT_COMMANDS:
            return False
        if command == "reset agent":
            self.agent.reset()
            log.info("agent memory cleared")
        elif command == "reset env":
            self.obs = self._reset_world()
            log.info("world reset")
        elif command == "save video" or command.startswith("save video "):
            self.save_video(text[len("save video"):].strip() or time.strftime("session_%Y%m%d_%H%M%S"))
        elif explicit:  # a mistyped command is not sent to the agent as a prompt
            log.error("unknown command %r; commands: %s (with or without %r)", COMMAND_PREFIX + text,
                      ", ".join(COMMANDS), COMMAND_PREFIX)
        else:
            try:
                prompt = normalize_interactive_prompt(text)
            except GoalError as err:
                log.error("%s", err)
                return True
            self.goal = text_goal(prompt, self.models.embedder, self.models.prior, self.generator)
            self.prompt = prompt
            log.info("new prompt: %r", prompt)
        return True

    def save_video(self, name: str) -> Path | None:
        if not len(self.frames):
            log.warning("nothing to save yet: give a prompt first")
            return None
        stem = self.out_dir / safe_file_name(name)
        k = 1
        while stem.with_suffix(".mp4").exists():  # never overwrite an earlier recording
            k += 1
            stem = self.out_dir / f"{safe_file_name(name)} ({k})"
        video, prompts = save_interactive_recording(self.frames, self.frame_prompts, stem,
                                                    fps=INTERACTIVE_VIDEO_FPS)
        log.info("saved %s and %s (%d frames)", video, prompts, len(self.frames))
        return video

    # ---------------------------------------------------------------- playing
    @property
    def playing(self) -> bool:
        return self.goal is not None

    def display_frame(self) -> np.ndarray:
        """(360, 960, 3) RGB: the game view and the prompt panel (plus the RANDOM WEIGHTS banner)."""
        pov = overlay_text(self.obs["pov"], self.banner) if self.banner else self.obs["pov"]
        return frame_with_prompt_panel(pov, self.prompt or IDLE_TEXT)

    def step(self) -> np.ndarray:
        """One agent step in the world; returns (and records) the new display frame."""
        action = self.agent.act([self.obs], self.goal)[0]
        try:
            self.obs, _r, _terminated, truncated, info = self.world.step(action)
            if truncated and (info or {}).get("fault"):
                log.warning("the world restarted itself: %s", info["fault"])
        except (FileNotFoundError, ImportError, ValueError, TypeError):
            raise
        except Exception as err:  # noqa: BLE001 - a crashed world: start a new one and carry on
            log.warning("the world crashed (%s); starting a new one", err)
            self._drop_world()
            self.obs = self._reset_world()
        self.steps += 1
        if self.steps % PROGRESS_EVERY == 0:
            log.info("step %d, prompt %r", self.steps, self.prompt)
        frame = self.display_frame()
        self.frames.append(frame)
        self.frame_prompts.append(self.prompt)
        return frame


# -------------------------------------------------------------------- input sources
class PromptFile:
    """Lines of a file, run one after another without steps in between; `wait N` plays N agent steps."""

    def __init__(self, path: Path):
        if not Path(path).is_file():
            raise FileNotFoundError(f"prompt file {path} not found")
        self.lines = deque(Path(path).read_text().splitlines())
        self.wait = 0

    def poll(self, playing: bool) -> list[str]:
        if self.wait > 0:
            if playing:
                return []
            log.warning("'wait' before any prompt: skipped")
            self.wait = 0
        out = []
        while self.lines:
            line = self.lines.popleft().strip()
            if not line or line.startswith("#"):
                continue
            if line.lower().split()[0] == "wait":
                try:
                    self.wait = int(line.split()[1])
                except (IndexError, ValueError):
                    raise ValueError(f"prompt file: bad line {line!r}; "
                                     "write 'wait N' (N agent steps)") from None
                return out
            out.append(line)
        return out + ["quit"]

    def stepped(self) -> None:
        self.wait = max(0, self.wait - 1)


class TerminalInput:
    """Lines typed in the terminal, read by a background thread (it only queues them); EOF quits."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdin
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.stream:
            self.queue.put(line)
        self.queue.put("quit")

    def poll(self, playing: bool) -> list[str]:
        lines = []
        while True:
            try:
                lines.append(self.queue.get(block=not playing and not lines, timeout=0.1))
            except queue.Empty:
                return lines

    def stepped(self) -> None:
        pass


class TkWindow:
    """A window with the display frame and an entry field; Enter queues the typed line (nothing else runs
    inside Tk's callbacks). `poll` processes the window's events."""

    def __init__(self, title: str = WINDOW_TITLE):
        import tkinter as tk

        self.tk = tk
        self.root = tk.Tk()
        self.root.title(title)
        self.label = tk.Label(self.root)
        self.label.pack()
        self.entry = tk.Entry(self.root, width=100)
        self.entry.pack(fill="x")
        self.entry.focus_set()
        self.entry.bind("<Return>", self._submit)
        self.root.protocol("WM_DELETE_WINDOW", lambda: self.lines.append("quit"))
        self.lines: deque[str] = deque()
        self._photo = None

    def _submit(self, _event) -> None:
        self.lines.append(self.entry.get())
        self.entry.delete(0, "end")

    def poll(self, playing: bool) -> list[str]:
        self.root.update()
        if not playing and not self.lines:
            time.sleep(0.02)
        out = list(self.lines)
        self.lines.clear()
        return out

    def stepped(self) -> None:
        pass

    def show(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        ppm = b"P6 %d %d 255\n" % (w, h) + np.ascontiguousarray(frame).tobytes()
        self._photo = self.tk.PhotoImage(data=ppm, format="PPM")
        self.label.configure(image=self._photo)

    def close(self) -> None:
        self.root.destroy()


def run_loop(session: Session, source, max_steps: int | None = None, window: TkWindow | None = None) -> int:
    """The one loop: read input, step the agent when a prompt is set, draw. Returns the steps played."""
    if window is not None:
        window.show(session.display_frame())
    while True:
        for line in source.poll(session.playing):
            if not session.handle(line):
                return session.steps
            if window is not None and not session.playing:
                window.show(session.display_frame())
        if session.playing:
            frame = session.step()
            source.stepped()
            if window is not None:
                window.show(frame)
            if max_steps is not None and session.steps >= max_steps:
                log.info("reached --max-steps %d", max_steps)
                return session.steps


# -------------------------------------------------------------------- CLI
DEFAULT_OUT = paths.GENERATED_VIDEOS_DIR / "interactive_videos"


@dataclass
class InteractiveSettings(ModelSettings, WorldSettings):
    """Type prompts while the agent plays (a window, or headless from the terminal or a file)."""

    headless: bool = False
    """no window: read prompts from the terminal"""
    prompt_file: Path | None = None
    """read prompts and commands from this file (headless)"""
    cond_scale: float | None = None
    """guidance scale (default: the policy's own, else 6)"""
    world_seed: int | None = settings_field(default=None, alias=["--minecraft-seed"])
    """world seed (default: a random world)"""
    out_dir: Path = settings_field(default=DEFAULT_OUT, alias=["--output-video-dirpath"])
    """where `save video` writes"""
    max_steps: int | None = None
    """stop after this many agent steps (default: play until quit)"""

    def __post_init__(self):
        fill_guidance(self, "cond_scale")
        check(self.max_steps is None or self.max_steps >= 1,
              f"--max-steps must be >= 1, got {self.max_steps}")


def run(args: InteractiveSettings) -> int:
    setup_logging()
    check_run_settings(args)  # before any model loads or world starts
    headless = args.headless or args.prompt_file is not None
    if not headless and not os.environ.get("DISPLAY"):
        raise UsageError("no display for the window (DISPLAY is not set): use --headless to type prompts in "
                         "the terminal, or --prompt-file FILE")
    source = PromptFile(args.prompt_file) if args.prompt_file is not None else None
    models = build_models(args)
    session = Session(models, world_factory(args), args.out_dir, args.cond_scale, args.world_seed, args.seed,
                      DTYPES[args.dtype])
    window = None
    try:
        if not headless:
            window = TkWindow()
            source = window
        elif source is None:
            log.info("type a prompt (or: reset agent | reset env | save video [name] | quit), then Enter")
            source = TerminalInput()
        steps = run_loop(session, source, args.max_steps, window)
        log.info("session over after %d steps", steps)
    finally:
        session.close()
        if window is not None:
            window.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(InteractiveSettings, run, argv, verb="interactive")


if __name__ == "__main__":
    sys.exit(main())
