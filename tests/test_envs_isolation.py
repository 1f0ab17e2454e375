"""Nothing of a Minetest world is reachable from the network: the game's sockets live in a network namespace
whose only interface is loopback, and the virtual display accepts only clients holding its cookie."""
from __future__ import annotations

import os
import socket
import stat

import pytest

from steve1.envs.minetest import minetest_available
from steve1.envs.minetest.processes import COOKIE_NAME, loopback_namespace_flags, write_xauthority


def test_xauthority_file_is_private_and_readable_by_python_xlib(tmp_path):
    from Xlib import xauth

    path = tmp_path / "Xauthority"
    cookie = write_xauthority(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(cookie) == 16
    host = socket.gethostname().encode()
    name, data = xauth.Xauthority(str(path)).get_best_auth(xauth.FamilyLocal, host, 7)
    assert (name, data) == (COOKIE_NAME, cookie)
    assert write_xauthority(path) != cookie  # a new random cookie each time


def _udp_inodes_on_all_interfaces(net_udp: str) -> set[str]:
    """Socket inodes of UDP sockets bound to 0.0.0.0 in a /proc/<pid>/net/udp table."""
    out = set()
    for line in net_udp.splitlines()[1:]:
        fields = line.split()
        if fields[1].startswith("00000000:"):
            out.add(fields[9])
    return out


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[len("socket:["):-1])
    return out


@pytest.mark.minetest
@pytest.mark.skipif(minetest_available() is not None, reason=str(minetest_available()))
def test_game_sockets_are_loopback_only_and_display_needs_the_cookie():
    from Xlib import display as xdisplay
    from Xlib import error as xerror

    from steve1.envs.minetest.world import MinetestWorld

    if loopback_namespace_flags() is None:
        pytest.fail("network namespaces are not allowed here, so the game cannot be isolated")
    world = MinetestWorld(seed=3)
    try:
        world.reset(seed=3)
        game, xvfb = world.pids["game"], world.pids["xvfb"]
        sockets = _socket_inodes(game)
        assert sockets, "the game holds no socket: the check below would prove nothing"
        # From this (the host's) namespace, no socket of the game is bound anywhere, least of all 0.0.0.0 ...
        with open("/proc/self/net/udp") as f:
            assert not sockets & _udp_inodes_on_all_interfaces(f.read())
        # ... its own namespace has loopback only, and its UDP sockets are there.
        assert os.readlink(f"/proc/{game}/ns/net") != os.readlink("/proc/self/ns/net")
        with open(f"/proc/{game}/net/dev") as f:
            interfaces = {line.split(":")[0].strip() for line in f.read().splitlines()[2:]}
        assert interfaces == {"lo"}
        with open(f"/proc/{game}/net/udp") as f:
            assert sockets & {line.split()[9] for line in f.read().splitlines()[1:]}

        with open(f"/proc/{xvfb}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        assert b"-nolisten" in argv and argv[argv.index(b"-nolisten") + 1] == b"tcp" and b"-auth" in argv
        name = world._display_name
        os.environ["XAUTHORITY"] = os.devnull  # no cookie: refused
        try:
            with pytest.raises((xerror.DisplayConnectionError, xerror.DisplayError, ConnectionError)):
                xdisplay.Display(name)
        finally:
            del os.environ["XAUTHORITY"]
        auth = argv[argv.index(b"-auth") + 1].decode()
        os.environ["XAUTHORITY"] = auth  # with the cookie: accepted
        try:
            xdisplay.Display(name).close()
        finally:
            del os.environ["XAUTHORITY"]
    finally:
        world.close()
