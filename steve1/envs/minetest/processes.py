"""Start and end the child processes of one world (virtual display, game) by process id, leaving no orphans.

Every child runs in its own process group and gets a signal from the kernel when its parent dies (prctl
PR_SET_PDEATHSIG), so a killed parent never leaves an Xvfb or a game behind. The kernel sends that signal
when the *thread* that forked the child ends, so all children are forked by one long-lived spawner thread:
a world made or reset from a short-lived thread keeps its game.

Nothing is reachable from the network: the virtual display listens on unix sockets only (`-nolisten tcp`)
and only clients holding its MIT-MAGIC-COOKIE-1 (written to an Xauthority file of its own, mode 0600) may
connect; the game runs in a network namespace of its own whose only interface is loopback
(`loopback_only=True`), since Minetest's client binds its UDP socket to 0.0.0.0 whatever bind_address
says. Where namespaces are not allowed the game runs unisolated and a warning says so.
"""
from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import queue
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_SIOCSIFFLAGS = 0x8914
_IFF_UP_LOOPBACK_RUNNING = 0x1 | 0x8 | 0x40
COOKIE_NAME = b"MIT-MAGIC-COOKIE-1"
_FAMILY_LOCAL, _FAMILY_WILD = 256, 65535  # Xauthority address families

log = logging.getLogger(__name__)


def _enter_loopback_namespace(flags: int) -> None:
    """Move this (child) process into a new network namespace and bring its loopback interface up. With
    CLONE_NEWUSER (no root) it also maps its own user and group ids into the new user namespace."""
    uid, gid = os.getuid(), os.getgid()
    if _LIBC.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    if flags & _CLONE_NEWUSER:
        maps = (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1"))
        for name, text in maps:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", _IFF_UP_LOOPBACK_RUNNING))


_namespace_flags: int | None | bool = False  # False: not probed yet; None: no namespace possible


def loopback_namespace_flags() -> int | None:
    """The unshare flags that give a child a loopback-only network here (probed once in a forked child),
    or None where neither a network namespace nor a user+network namespace may be made."""
    global _namespace_flags
    if _namespace_flags is False:
        _namespace_flags = None
        for flags in (_CLONE_NEWNET, _CLONE_NEWUSER | _CLONE_NEWNET):
            pid = os.fork()
            if pid == 0:  # the child only makes system calls, then leaves without running Python cleanup
                try:
                    _enter_loopback_namespace(flags)
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            if os.waitpid(pid, 0)[1] == 0:
                _namespace_flags = flags
                break
        if _namespace_flags is None:
            log.warning("cannot make a network namespace here (no permission): the game's client UDP socket "
                        "listens on all interfaces, not only loopback")
    return _namespace_flags


def _die_with_parent(death_signal: int, namespace_flags: int | None = None):
    def preexec() -> None:  # runs in the child between fork and exec
        os.setsid()
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
        if namespace_flags is not None:
            _enter_loopback_namespace(namespace_flags)
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
          death_signal: int = signal.SIGKILL, loopback_only: bool = False) -> subprocess.Popen:
    """Start `argv` in a new process group that gets `death_signal` when this process dies (SIGTERM for
    Xvfb, so that it removes its lock file; SIGKILL for the game); output goes to log_path.
    `loopback_only`: in a network namespace whose only interface is loopback, where possible."""
    flags = loopback_namespace_flags() if loopback_only else None

    def start() -> subprocess.Popen:
        with open(log_path, "ab") as log_file:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                    env=env, pass_fds=pass_fds, close_fds=True,
                                    preexec_fn=_die_with_parent(death_signal, flags))
    return _spawner(start)


def write_xauthority(path: Path) -> bytes:
    """A new Xauthority file (mode 0600) holding one random MIT-MAGIC-COOKIE-1 for every local display;
    returns the cookie. Written in the file's binary format, so the `xauth` program is not needed."""
    cookie = os.urandom(16)

    def field(data: bytes) -> bytes:
        return struct.pack(">H", len(data)) + data

    host = socket.gethostname().encode()
    entries = b"".join(  # an empty display number matches every display
        struct.pack(">H", family) + field(address) + field(b"") + field(COOKIE_NAME) + field(cookie)
        for family, address in ((_FAMILY_LOCAL, host), (_FAMILY_WILD, b""))
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(entries)
    return cookie


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
    # The lock file gets its name only once it is locked: a cleanup running meanwhile (another world
    # starting on another thread) would otherwise find it unlocked, take it for a dead owner's and remove
    # the directory being made.
    unnamed = root / (LOCK_NAME + ".new")
    fd = os.open(unnamed, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.rename(unnamed, root / LOCK_NAME)
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
               timeout_s: float = 20.0, auth_file: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start a virtual display whose screen is the memory-mapped XWD file fbdir/Xvfb_screen0.

    Xvfb picks a free display number itself (-displayfd). With `auth_file`, a new cookie is written there
    and only clients presenting it may connect (give XAUTHORITY=auth_file to them). Returns (process, ":N").
    """
    xvfb = find_executable("Xvfb")
    if xvfb is None:
        raise FileNotFoundError("Xvfb is not installed; install it with `apt-get install xvfb`")
    if auth_file is not None:
        write_xauthority(auth_file)
    read_fd, write_fd = os.pipe()
    try:
        proc = spawn([xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                      "-fbdir", str(fbdir), "-nolisten", "tcp", "-noreset", "+extension", "GLX",
                      "-fp", "built-ins",  # the server's own fixed font: no xfonts-base needed
                      *(["-auth", str(auth_file)] if auth_file is not None else [])],
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
