"""The interactive session on a fake world: prompt file, commands, recording, terminal input, Tk window."""
from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import time

import numpy as np
import pytest

from steve1.agent import load_agent_models
from steve1.eval.video import read_video
from steve1.run import interactive
from steve1.run.interactive import PromptFile, Session, TerminalInput, run_loop
from tests.agent_fakes import TINY_RUN_ARGS as TINY
from tests.agent_fakes import FakeWorld, use_fake_worlds


@pytest.fixture(scope="module")
def models():
    return load_agent_models("tiny", mineclip="tiny", random_weights=True, seed=3)


def test_headless_session_from_a_prompt_file(tmp_path, monkeypatch):
    log = use_fake_worlds(monkeypatch)
    script = tmp_path / "prompts.txt"
    script.write_text("# a scripted session\n\n  Look At The SKY \nwait 5\nreset agent\nwait 2\n"
                      "save video demo\nchop a tree\nwait 3\nreset env\nwait 1\nsave video demo\nquit\n"
                      "never read\n")
    out = tmp_path / "videos"
    assert interactive.main(["--prompt-file", str(script), "--out-dir", str(out), "--world-seed", "7",
                             *TINY]) == 0
    first = read_video(out / "demo.mp4")
    assert first.shape == (7, 36, 64 + 320, 3)  # the game view and the prompt panel
    assert json.loads((out / "demo.json").read_text()) == ["look at the sky"] * 7
    assert json.loads((out / "demo (2).json").read_text()) == ["look at the sky"] * 7 + ["chop a tree"] * 4
    assert len(read_video(out / "demo (2).mp4")) == 11
    assert [e for e in log if e[0] == "reset"] == [("reset", 7), ("reset", 7)]
    assert log[-1][0] == "close"


def test_commands_and_bad_prompts(tmp_path, models):
    session = Session(models, lambda slot: FakeWorld(), tmp_path)
    assert not session.playing and session.handle("   ") and session.handle("")
    assert not session.playing  # blank lines are not prompts
    assert session.save_video("x") is None  # nothing recorded yet
    assert session.handle("Go EXPLORE") and session.prompt == "go explore" and session.playing
    goal = session.goal
    session.step()
    session.handle("go explore")  # the same prompt again: a new prior sample
    assert session.goal.shape == goal.shape
    for cmd in ("quit", "Q", " exit "):
        assert session.handle(cmd) is False
    session.close()


def test_wait_in_a_prompt_file_must_have_a_number(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("go explore\nwait\n")
    src = PromptFile(path)
    with pytest.raises(ValueError, match="wait N"):
        src.poll(False)
    with pytest.raises(FileNotFoundError):
        PromptFile(tmp_path / "missing.txt")


def test_terminal_input_runs_the_loop_and_eof_quits(tmp_path, models):
    session = Session(models, lambda slot: FakeWorld(), tmp_path)
    read_end, write_end = os.pipe()
    source = TerminalInput(os.fdopen(read_end))
    os.write(write_end, b"go explore\n")
    assert run_loop(session, source, max_steps=4) == 4  # plays until max_steps
    os.write(write_end, b"LOOK at the sky\n")
    os.close(write_end)
    steps = run_loop(session, source)  # the new prompt, then end of input -> quit
    assert steps >= 4 and session.prompt == "look at the sky"
    session.close()
    assert run_loop(session, TerminalInput(io.StringIO(""))) == steps  # empty input quits at once


def test_no_display_without_headless_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    assert interactive.main(["--out-dir", str(tmp_path), *TINY]) == 2
    err = capsys.readouterr().err
    assert "--headless" in err and len(err.strip().splitlines()) == 1


class _GiveUp:
    """Wraps an input source; quits after 200 polls so that a lost key event fails instead of hanging."""

    def __init__(self, source):
        self.source, self.polls = source, 0

    def poll(self, playing):
        self.polls += 1
        return self.source.poll(playing) if self.polls < 200 else ["quit"]

    def stepped(self):
        self.source.stepped()


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed (apt-get install xvfb)")
def test_window_shows_the_view_and_takes_typed_prompts(tmp_path, models, monkeypatch):
    display = f":{random.randrange(200, 400)}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        monkeypatch.setenv("DISPLAY", display)
        session = Session(models, lambda slot: FakeWorld(size=(360, 640)), tmp_path)
        window = interactive.TkWindow()
        window.entry.focus_force()
        window.root.update()  # map the window and give the entry the focus, so that it takes key events
        window.entry.insert(0, "Chop A Tree")
        window.entry.event_generate("<Return>")  # what pressing Enter in the entry field does
        assert run_loop(session, _GiveUp(window), max_steps=3, window=window) == 3
        assert session.prompt == "chop a tree"
        assert (window._photo.width(), window._photo.height()) == (960, 360)
        shown = np.array([[window._photo.get(x, 180) for x in (10, 700)]])
        assert shown.shape == (1, 2, 3)
        window.close()
        session.close()
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert os.environ.get("DISPLAY") == display


def test_mistyped_colon_command_is_an_error_not_a_prompt(tmp_path, models, caplog, monkeypatch):
    import logging

    from steve1.run import interactive as interactive_mod

    monkeypatch.setattr(interactive_mod, "PROGRESS_EVERY", 3)
    session = Session(models, lambda slot: FakeWorld(), tmp_path)
    assert session.handle("dig a hole") and session.prompt == "dig a hole"
    with caplog.at_level(logging.ERROR, logger="steve1"):
        assert session.handle(":quti") is True  # not quit, and not a new prompt either
    assert session.prompt == "dig a hole" and "unknown command ':quti'" in caplog.text
    assert session.handle(":reset agent") and session.prompt == "dig a hole"
    with caplog.at_level(logging.INFO, logger="steve1"):
        for _ in range(interactive_mod.PROGRESS_EVERY):
            session.step()
    assert f"step {interactive_mod.PROGRESS_EVERY}, prompt 'dig a hole'" in caplog.text  # progress shown
    assert session.handle(":quit") is False
    session.close()
