"""The global quick-ask shortcut: registered with the X server on X11; elsewhere, a clear message why not.

Qt has no global shortcuts. On X11 the shortcut is grabbed on the root window (XGrabKey, through python-xlib), with
and without Caps Lock and Num Lock, so it works whatever their state. Another program that holds the same combination
makes the grab fail with BadAccess: that is the conflict check. Wayland gives no program a global grab; there the
user binds ``deskmate --quick-ask`` in the desktop's keyboard settings instead (it reaches the running instance).
"""

from __future__ import annotations

import logging
import select
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MODIFIERS = {"ctrl": "ControlMask", "control": "ControlMask", "alt": "Mod1Mask", "shift": "ShiftMask",
             "meta": "Mod4Mask", "super": "Mod4Mask", "win": "Mod4Mask"}
KEY_NAMES = {"space": "space", "return": "Return", "enter": "Return", "tab": "Tab", "esc": "Escape",
             "escape": "Escape", "backspace": "BackSpace", "home": "Home", "end": "End", "pgup": "Prior",
             "pgdown": "Next", "up": "Up", "down": "Down", "left": "Left", "right": "Right", "ins": "Insert",
             "del": "Delete", "/": "slash", ".": "period", ",": "comma", ";": "semicolon", "-": "minus", "=": "equal",
             "`": "grave", "'": "apostrophe", "[": "bracketleft", "]": "bracketright", "\\": "backslash"}
UNSUPPORTED = ("Global shortcuts are not available here ({why}). Bind the command `deskmate --quick-ask` to a "
               "shortcut in your desktop's keyboard settings: it opens quick ask in the running Deskmate.")


@dataclass(frozen=True, slots=True)
class Registration:
    ok: bool
    message: str


def parse(sequence: str) -> tuple[list[str], str]:
    """"Ctrl+Alt+Space" -> (["ControlMask", "Mod1Mask"], "space"); raises ValueError with the reason."""
    parts = [p.strip() for p in sequence.replace(" ", "").split("+")]
    if sequence.strip().endswith("++"):
        parts = [*parts[:-2], "+"]
    if not sequence.strip() or any(not p for p in parts):
        raise ValueError(f"not a shortcut: {sequence!r}")
    *mods, key = parts
    masks = []
    for mod in mods:
        if mod.lower() not in MODIFIERS:
            raise ValueError(f"unknown modifier {mod!r} in {sequence!r} (use Ctrl, Alt, Shift, Meta)")
        masks.append(MODIFIERS[mod.lower()])
    if not masks:
        raise ValueError(f"{sequence!r} needs a modifier (Ctrl, Alt, Shift or Meta), or it would take over a key")
    name = KEY_NAMES.get(key.lower()) or (key.lower() if len(key) == 1 else key)
    return masks, name


class GlobalHotkey:
    """``register(sequence)`` -> Registration; ``on_pressed`` runs on a background thread (post to the GUI)."""

    def __init__(self, platform_name: str, on_pressed: Callable[[], Any]) -> None:
        self.platform_name = platform_name
        self.on_pressed = on_pressed
        self._display: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._grabs: list[tuple[int, int]] = []
        self.sequence = ""

    def supported(self) -> tuple[bool, str]:
        if self.platform_name == "xcb":
            return True, "X11"
        if self.platform_name.startswith("wayland"):
            return False, UNSUPPORTED.format(why="Wayland sessions do not let programs grab keys")
        if sys.platform in ("win32", "darwin"):
            return False, UNSUPPORTED.format(why=f"not built yet for {sys.platform}")
        return False, UNSUPPORTED.format(why=f"the {self.platform_name!r} display has no keyboard of its own")

    def register(self, sequence: str) -> Registration:
        self.unregister()
        if not sequence.strip():
            return Registration(True, "No quick-ask shortcut set.")
        ok, why = self.supported()
        if not ok:
            return Registration(False, why)
        try:
            masks, key = parse(sequence)
        except ValueError as exc:
            return Registration(False, str(exc))
        from Xlib import XK, X, display, error

        try:
            d = display.Display()
        except Exception as exc:  # no DISPLAY, or no access to it
            return Registration(False, UNSUPPORTED.format(why=f"cannot reach the X server: {exc}"))
        keysym = XK.string_to_keysym(key)
        keycode = d.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            d.close()
            return Registration(False, f"the key {key!r} of {sequence!r} is not on this keyboard")
        modifiers = 0
        for mask in masks:
            modifiers |= getattr(X, mask)
        root = d.screen().root
        caught = error.CatchError(error.BadAccess)
        grabs = [(keycode, modifiers | extra) for extra in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask)]
        for code, mods in grabs:
            root.grab_key(code, mods, True, X.GrabModeAsync, X.GrabModeAsync, onerror=caught)
        d.sync()
        if caught.get_error() is not None:
            for code, mods in grabs:
                root.ungrab_key(code, mods)
            d.close()
            return Registration(False, f"{sequence} is already taken by another program: choose another shortcut "
                                       "in Settings › Quick ask.")
        self._display, self._grabs, self.sequence = d, grabs, sequence
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="deskmate-hotkey", daemon=True)
        self._thread.start()
        return Registration(True, f"{sequence} opens quick ask from anywhere.")

    def unregister(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._display is not None:
            root = self._display.screen().root
            for code, mods in self._grabs:
                root.ungrab_key(code, mods)
            self._display.sync()
            self._display.close()
            self._display = None
            self._grabs = []

    def _listen(self) -> None:
        from Xlib import X

        d = self._display
        while not self._stop.is_set():
            readable, _, _ = select.select([d.fileno()], [], [], 0.2)
            if not readable and not d.pending_events():
                continue
            while d.pending_events():
                event = d.next_event()
                if event.type == X.KeyPress:
                    self.on_pressed()
