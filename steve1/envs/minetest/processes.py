"""Start and end the child processes of one world (virtual display, game) by process id, leaving no orphans.

Every child runs in its own process group and gets a signal from the kernel when its parent dies (prctl
PR_SET_PDEATHSIG), so a killed parent never leaves an Xvfb or a game behind. The kernel sends that signal
when the *thread* that forked the child ends, so all children are forked by one long-lived spawner thread:
a world made or reset from a short-lived thread keeps its game.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent(death_signal: int):
    def preexec() -> None:  # runs in the child between fork and exec
        os.setsid()
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    return preexec


class _Spawner:
    """One daemon thread that forks every child, so that PDEATHSIG fires only when the process ends."""

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while True:
            fn, box, done = self._jobs.get()
            try:
                box.append((True, fn()))
            except BaseException as err:  # handed back to the caller
                box.append((False, err))
            done.set()

    def __call__(self, fn):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="steve1-spawner", daemon=True)
                self._thread.start()
        box, done = [], threading.Event()
        self._jobs.put((fn, box, done))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value


_spawner = _Spawner()


def spawn(argv: list[str], log_path: Path, env: dict | None = None, pass_fds: tuple = (),
          death_signal: int = signal.SIGKILL) -> subprocess.Popen:
    """Start `argv` in a new process group that gets `death_signal` when this process dies (SIGTERM for
    Xvfb, so that it removes its lock file; SIGKILL for the game); output goes to log_path."""
    def start() -> subprocess.Popen:
        with open(log_path, "ab") as log:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, pass_fds=pass_fds, preexec_fn=_die_with_parent(death_signal),
                                    close_fds=True)
    return _spawner(start)


TEMP_PREFIX = "steve1-minetest-"


LOCK_NAME = ".owner.lock"


def make_instance_dir() -> tuple[Path, int]:
    """A new temporary directory for one world and an open file descriptor holding its lock.

    The lock (flock) lasts as long as the descriptor, which the kernel closes when this process dies, so a
    later instance can tell a directory left by a killed process from one in use (remove_stale_instance_dirs)
    whatever process namespace its owner ran in. Close the descriptor after removing the directory.
    """
    remove_stale_instance_dirs()
    root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    fd = os.open(root / LOCK_NAME, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return root, fd


def remove_stale_instance_dirs() -> None:
    """Remove instance directories whose owner is gone (their lock is free)."""
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        lock = path / LOCK_NAME
        try:  # no lock file: being made right now, or not ours to judge; leave it
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: in use
        else:
            shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)


def stop(proc: subprocess.Popen | None, grace_s: float = 2.0) -> None:
    """End a child and its process group: SIGTERM, then SIGKILL after grace_s; always reaps it."""
    if proc is None:
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)  # the group id is the child's pid (setsid)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    try:  # anything the child itself started in its group
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=5.0)


def find_executable(name: str) -> str | None:
    """`name` on PATH or in /usr/games (where Debian installs minetest)."""
    return shutil.which(name) or shutil.which(name, path="/usr/games:/usr/local/games")


def start_xvfb(width: int, height: int, fbdir: Path, log_path: Path,
               timeout_s: float = 20.0) -> tuple[subprocess.Popen, str]:
    """Start a virtual display whose screen is the memory-mapped XWD file fbdir/Xvfb_screen0.

    Xvfb picks a free display number itself (-displayfd). Returns (process, ":N").
    """
    xvfb = find_executable("Xvfb")
    if xvfb is None:
        raise FileNotFoundError("Xvfb is not installed; install it with `apt-get install xvfb`")
    read_fd, write_fd = os.pipe()
    try:
        proc = spawn([xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                      "-fbdir", str(fbdir), "-nolisten", "tcp", "-noreset", "+extension", "GLX",
                      "-fp", "built-ins"],  # the server's own fixed font: no xfonts-base needed
                     log_path, pass_fds=(write_fd,), death_signal=signal.SIGTERM)
    finally:
        os.close(write_fd)
    try:
        text = b""
        deadline = time.monotonic() + timeout_s
        while not text.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                stop(proc)
                raise TimeoutError(f"Xvfb did not start within {timeout_s} s; see {log_path}")
            chunk = os.read(read_fd, 64)
            if not chunk:
                stop(proc)
                raise RuntimeError(f"Xvfb exited while starting; see {log_path}")
            text += chunk
    finally:
        os.close(read_fd)
    return proc, f":{int(text.strip())}"
