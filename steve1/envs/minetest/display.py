"""The virtual display: frames from Xvfb's memory-mapped XWD screen file; keys and mouse via XTest."""
from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import numpy as np

try:
    from Xlib import error as _xerror

    X_ERRORS: tuple = (_xerror.XError, _xerror.ConnectionClosedError, _xerror.DisplayError)
except ImportError:  # pragma: no cover - python-xlib is a dependency
    X_ERRORS = ()

try:
    import cv2 as _cv2
except ImportError:  # pragma: no cover - opencv is a dependency, numpy is the fallback
    _cv2 = None

_XWD_HEADER_FIELDS = 25  # CARD32 big-endian fields of XWDFileHeader
_XWD_COLOR_BYTES = 12  # sizeof(XWDColor)


class FrameBuffer:
    """Zero-copy view of an Xvfb screen file (-fbdir); `rgb()` returns a (H, W, 3) uint8 copy."""

    def __init__(self, path: Path):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            header = struct.unpack(f">{_XWD_HEADER_FIELDS}I", f.read(4 * _XWD_HEADER_FIELDS))
        (header_size, _version, _format, depth, width, height, _xoff, byte_order, _unit, _bit_order, _pad,
         bits_per_pixel, bytes_per_line, _visual, red_mask, _green_mask, blue_mask, _bits_rgb, _cmap,
         ncolors) = header[:20]
        if bits_per_pixel != 32 or depth != 24:
            raise RuntimeError(f"expected a 24-bit screen stored in 32 bits per pixel, got depth {depth} "
                               f"bpp {bits_per_pixel} in {self.path}")
        offset = header_size + ncolors * _XWD_COLOR_BYTES
        raw = np.memmap(self.path, dtype=np.uint8, mode="r", offset=offset, shape=(height, bytes_per_line))
        self._pixels = raw[:, : width * 4].reshape(height, width, 4)  # (H, W, 4) in memory byte order
        # byte_order 0 = LSBFirst: a pixel 0x00RRGGBB is stored B, G, R, X.
        red_first = (red_mask == 0xFF0000) != (byte_order == 0)
        self._channels = [0, 1, 2] if red_first else [2, 1, 0]
        if blue_mask not in (0xFF, 0xFF0000):
            raise RuntimeError(f"unexpected pixel masks in {self.path}")
        self.shape = (height, width, 3)

    def snapshot(self) -> np.ndarray:
        """A copy of the screen as stored (to tell later whether the game has drawn since)."""
        return np.array(self._pixels)

    def unchanged_since(self, snapshot: np.ndarray | None) -> bool:
        return snapshot is not None and np.array_equal(self._pixels, snapshot)

    def rgb(self) -> np.ndarray:
        """The current screen as a fresh (H, W, 3) uint8 RGB array."""
        if self._channels == [2, 1, 0] and self._pixels.base is not None and _cv2 is not None:
            return _cv2.cvtColor(self._pixels, _cv2.COLOR_BGRA2RGB)  # one pass, about 0.3 ms at 640x360
        return self._pixels[:, :, self._channels]  # fancy indexing copies


_XAUTHORITY_LOCK = threading.Lock()


def _connect(display_module, display_name: str, auth_file: Path | None):
    """Open the X display; with `auth_file`, authenticate with its cookie. python-xlib reads the cookie file
    named by $XAUTHORITY while it connects, so that variable is set for the connection only."""
    if auth_file is None:
        return display_module.Display(display_name)
    with _XAUTHORITY_LOCK:
        before = os.environ.get("XAUTHORITY")
        os.environ["XAUTHORITY"] = str(auth_file)
        try:
            return display_module.Display(display_name)
        finally:
            if before is None:
                os.environ.pop("XAUTHORITY", None)
            else:
                os.environ["XAUTHORITY"] = before


class XInput:
    """Keyboard and mouse of one X display through the XTest extension."""

    def __init__(self, display_name: str, auth_file: Path | None = None):
        from Xlib import XK, X, display
        from Xlib.ext import xtest

        self._X, self._xtest = X, xtest
        self.display = _connect(display, display_name, auth_file)
        if not self.display.query_extension("XTEST"):
            raise RuntimeError(f"display {display_name} has no XTEST extension")
        self.display.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOff)  # held keys do not repeat
        self._keysym_to_code = {}
        self._xk = XK

    def keycode(self, keysym_name: str) -> int:
        if keysym_name not in self._keysym_to_code:
            code = self.display.keysym_to_keycode(self._xk.string_to_keysym(keysym_name))
            if code == 0:
                raise ValueError(f"no keycode for X keysym {keysym_name!r}")
            self._keysym_to_code[keysym_name] = code
        return self._keysym_to_code[keysym_name]

    def _fake(self, *args, **kwargs) -> None:
        try:
            self._xtest.fake_input(self.display, *args, **kwargs)
        except Exception as err:  # python-xlib's errors are not OSErrors: name the display
            raise ConnectionError(f"lost the X display: {type(err).__name__}: {err}") from err

    def key(self, keysym_name: str, down: bool) -> None:
        X = self._X
        self._fake(X.KeyPress if down else X.KeyRelease, self.keycode(keysym_name))

    def button(self, number: int, down: bool) -> None:
        X = self._X
        self._fake(X.ButtonPress if down else X.ButtonRelease, number)

    def move_relative(self, dx: int, dy: int) -> None:
        self._fake(self._X.MotionNotify, True, x=int(dx), y=int(dy))

    def move_absolute(self, x: int, y: int) -> None:
        self._fake(self._X.MotionNotify, False, x=int(x), y=int(y))

    def pointer(self) -> tuple[int, int]:
        """The pointer's position on the screen (a round trip to the X server)."""
        try:
            reply = self.display.screen().root.query_pointer()
        except Exception as err:
            raise ConnectionError(f"lost the X display: {type(err).__name__}: {err}") from err
        return reply.root_x, reply.root_y

    def flush(self) -> None:
        try:
            self.display.flush()
        except Exception as err:
            raise ConnectionError(f"lost the X display: {type(err).__name__}: {err}") from err

    def find_window(self, width: int, height: int):
        """The mapped top-level window of the given size (the game), or None."""
        root = self.display.screen().root
        for window in root.query_tree().children:
            try:
                attrs = window.get_attributes()
                geom = window.get_geometry()
            except Exception:  # the window went away meanwhile
                continue
            if attrs.map_state == self._X.IsViewable and geom.width == width and geom.height == height:
                return window
        return None

    def focus(self, window) -> None:
        window.set_input_focus(self._X.RevertToParent, self._X.CurrentTime)
        self.display.sync()

    def close(self) -> None:
        try:
            self.display.close()
        except Exception:
            pass
