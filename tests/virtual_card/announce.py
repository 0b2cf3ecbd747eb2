"""What the card's menu applet sends on its own when its menu changes under a running
terminal (after TERMINAL PROFILE), before the terminal talks to the applet again:

* EF.MENU rewritten (ADM1 UPDATE BINARY, OTA RFM) and the terminal supports REFRESH: REFRESH
  with a file change notification of EF.MENU (TS 102 223 §6.4.7; the terminal re-reads the
  file), then the new SET UP MENU (§6.4.8);
* the menu applet deleted: SET UP MENU with one empty item, which removes the terminal's menu
  (§6.6.7: "remove menu").

:class:`Announcement` stands in for the applet while its commands are fetched and answered,
then hands over (``then``).  The commands are encoded with simtool's own codecs
(:mod:`simtool.stk.refresh`, :mod:`simtool.stk.commands`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

#: EF.MENU's full path in a file list (7FFF: the USIM's ADF).
EF_MENU_PATH = (0x3F00, 0x7FFF, 0xAF50)


def refresh_menu_file() -> bytes:
    from simtool.stk.refresh import Refresh

    return Refresh.file_change(EF_MENU_PATH).encode()


def remove_menu() -> bytes:
    from simtool.stk.commands import SetUpMenu
    from simtool.stk.objects import AlphaIdentifier, Item

    return SetUpMenu(alpha=AlphaIdentifier(b""), items=(Item(None),)).encode()


class Announcement:
    """A proactive applet holding a fixed queue of commands; each TERMINAL RESPONSE takes
    the next, and after the last ``then()`` gives the card back to whoever comes next."""

    def __init__(self, commands: list[bytes], then: Callable[[], None]) -> None:
        self._queue = deque(commands)
        self._fetched = False
        self._then = then

    def pending_length(self) -> int:
        return len(self._queue[0]) if self._queue and not self._fetched else 0

    def fetch(self) -> bytes:
        from simtool.stk.applet import AppletStatus

        if not self._queue or self._fetched:
            raise AppletStatus(0x6985, "no proactive command pending")
        self._fetched = True
        return self._queue[0]

    def terminal_response(self, data: bytes) -> None:
        from simtool.stk.applet import AppletStatus

        if not self._fetched:
            raise AppletStatus(0x6985, "no proactive command outstanding")
        self._queue.popleft()
        self._fetched = False
        if not self._queue:
            self._then()

    def envelope(self, data: bytes) -> bytes:
        from simtool.stk.applet import AppletStatus

        raise AppletStatus(0x9300, "toolkit busy announcing the menu")

    def terminal_profile(self, data: bytes) -> None:
        pass
