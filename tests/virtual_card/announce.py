"""What the card's menu applet sends on its own when its menu changes under a running
terminal (after TERMINAL PROFILE), before the terminal talks to the applet again:

* EF.MENU rewritten (ADM1 UPDATE BINARY, OTA RFM) and the terminal supports REFRESH: REFRESH
  with a file change notification of EF.MENU (TS 102 223 §6.4.7; the terminal re-reads the
  file), then the new SET UP MENU (§6.4.8);
* the menu applet deleted: SET UP MENU with one empty item, which removes the terminal's menu
  (§6.6.7: "remove menu").

:class:`Announcement` queues them in the card's toolkit dispatcher ahead of the applet's own
SET UP MENU.  The commands are encoded with simtool's own codecs
(:mod:`simtool.stk.refresh`, :mod:`simtool.stk.commands`).
"""

from __future__ import annotations

from simtool.cardtree import ADF_FID, EF_MENU, MF_FID

#: EF.MENU's full path in a file list (7FFF: the USIM's ADF).
EF_MENU_PATH = (MF_FID, ADF_FID, EF_MENU.fid)


def refresh_menu_file() -> bytes:
    from simtool.stk.refresh import Refresh

    return Refresh.file_change(EF_MENU_PATH).encode()


def remove_menu() -> bytes:
    from simtool.stk.commands import SetUpMenu
    from simtool.stk.objects import AlphaIdentifier, Item

    return SetUpMenu(alpha=AlphaIdentifier(b""), items=(Item(None),)).encode()


class Announcement:
    """A toolkit applet (``simtool.stk.dispatch.CardApplet``) that only queues its fixed
    commands when installed and takes no envelope; the card drops it at the next change or
    reset."""

    def __init__(self, commands: list[bytes]) -> None:
        self._commands = list(commands)

    def terminal_profile(self, profile: bytes) -> list[bytes]:
        commands, self._commands = self._commands, []
        return commands

    def envelope(self, data: bytes) -> None:
        return None

    def terminal_response(self, response: object) -> list[bytes]:
        return []
