"""The card side of the SIM Toolkit: TERMINAL PROFILE, FETCH, TERMINAL RESPONSE and ENVELOPE
(ETSI TS 102 221 §11.2, TS 102 223 §6) handed to an applet object (the CardApplet contract of
docs/architecture.md).

The applet is either injected, or the card's menu applet: when the registry holds it
(:mod:`.gp`), a ``simtool.stk.applet.MenuApplet`` for the menu in EF.MENU
(:mod:`simtool.stk.menufile`), built on first use and built again at every TERMINAL PROFILE, so
an updated EF.MENU (or an applet installed or deleted) shows at the next one.  Those modules
are imported only then, so the card works without them.

The applet answers in TS 102 221 §10.2.1 status words.  Under CLA A0 the card answers the
3GPP TS 51.011 §9.4 value instead (:func:`gsm_status`): §9.4 has no 69xx / 6Axx; what it
has for the toolkit commands is 90 00, 91 XX, 9E XX, 9F XX (§9.4.1), 93 00 (§9.4.2) and the
application independent errors of §9.4.6 (67 XX P3, 6B XX P1-P2, 6D XX INS, 6E XX class,
6F XX technical problem with no diagnostic given).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from . import announce
from . import status as st
from .status import CardStatus

log = logging.getLogger("tests.virtual_card")


#: UICC status word the applet raises -> its GSM equivalent (TS 51.011 §9.4.6).
_GSM_EQUIVALENT = {
    # 6A80 incorrect data (malformed TLV, a TERMINAL RESPONSE for another command): TS 51.011
    # has no data-field error; 6B00 as for the card's own commands (status.WRONG_DATA).
    0x6A80: st.WRONG_DATA[1],
    # 6985 conditions of use not satisfied (TERMINAL RESPONSE with no proactive command
    # outstanding): not a CHV (98xx) or file (94xx) condition, so the §9.4.6 catch-all 6F00.
    0x6985: st.TECHNICAL_PROBLEM[1],
}
#: SW1 values of TS 51.011 §9.4 that an applet status may keep under CLA A0.
_GSM_SW1 = frozenset((0x67, 0x6B, 0x6D, 0x6E, 0x6F, 0x93, 0x9E))


def gsm_status(sw: int) -> int:
    """The TS 51.011 §9.4 status word for an applet's TS 102 221 status word ``sw``."""
    equivalent = _GSM_EQUIVALENT.get(sw)
    if equivalent is not None:
        return equivalent
    return sw if sw >> 8 in _GSM_SW1 else st.TECHNICAL_PROBLEM[1]


def _applet_status_type() -> type | None:
    try:
        from simtool.stk.applet import AppletStatus
    except ImportError:
        return None
    return AppletStatus


def _decodes(content: bytes) -> bool:
    try:
        from simtool.stk.menufile import decode_menu_file
        decode_menu_file(content)
    except ImportError:
        return True
    except Exception:   # noqa: BLE001 - DecodeError: not (yet) a menu
        return False
    return True


class Toolkit:
    def __init__(self, menu_file: Callable[[], bytes | None], applet: object | None = None,
                 own_number=None) -> None:
        self._menu_file = menu_file          # EF.MENU's content, None without the menu applet
        self._own_number = own_number        # the card's EF.MSISDN number, for the applet
        self._injected = applet
        self.applet = applet                 # None until built (or when there is none)
        self._built = applet is not None
        self._built_from: bytes | None = None   # the EF.MENU content the applet was built from
        self.terminal_profile_bytes = b""

    def reset(self) -> None:
        """Card reset: an applet built from the image starts again from scratch."""
        self.terminal_profile_bytes = b""
        if self._injected is None:
            self.applet, self._built = None, False

    def _get(self) -> object | None:
        if not self._built:
            self._built = True
            content = self._built_from = self._menu_file()
            if content is not None:
                try:
                    from simtool.stk.applet import MenuApplet
                    from simtool.stk.menufile import decode_menu_file
                    menu = decode_menu_file(content)
                    if menu is not None:
                        self.applet = MenuApplet(menu, own_number=self._own_number)
                except Exception as exc:   # noqa: BLE001 - a bad menu must not kill the card
                    log.error("cannot build the STK menu applet: %s", exc)
        return self.applet

    def menu_changed(self) -> None:
        """EF.MENU or the registry changed (ADM1 UPDATE BINARY, OTA RFM, GP INSTALL /
        DELETE).  After a TERMINAL PROFILE the terminal sees 91xx after the command that
        changed it, and then (:mod:`.announce`): for a rewritten EF.MENU, REFRESH (file change
        notification of EF.MENU, when its profile supports REFRESH) and the new SET UP MENU
        (a new SET UP MENU replaces the terminal's menu, TS 102 223 §6.4.8); for an applet
        installed, SET UP MENU; for the applet deleted, SET UP MENU "remove menu".  A file
        that does not decode (a write still under way: its header goes last) changes
        nothing yet."""
        if self._injected is not None or not self._built or not self.terminal_profile_bytes:
            return
        content = self._menu_file()
        if content == self._built_from:
            return
        was, old = self._built_from, self.applet
        if content is not None and not _decodes(content):
            return
        self.applet, self._built = None, False
        applet = self._get()
        if applet is None:
            if old is not None:              # the menu the terminal shows has gone
                self._announce([announce.remove_menu()], None)
            return
        if was is not None and content is not None and self._supports_refresh():
            self._announce([announce.refresh_menu_file()], applet)
            return
        self._start(applet)

    def _supports_refresh(self) -> bool:
        try:
            from simtool.stk.profile import TerminalProfile
            return TerminalProfile(self.terminal_profile_bytes).supports_command(0x01)
        except Exception:   # noqa: BLE001 - no profile decoder: announce without REFRESH
            return False

    def _announce(self, commands: list[bytes], then: object | None) -> None:
        def hand_over() -> None:
            self.applet = then
            if then is not None:
                self._start(then)
        self.applet = announce.Announcement(commands, hand_over)

    def _start(self, applet: object) -> None:
        try:
            applet.terminal_profile(self.terminal_profile_bytes)
        except Exception:   # noqa: BLE001 - the card keeps answering
            log.exception("STK applet failed to announce its new menu")

    def pending_length(self) -> int:
        applet = self.applet
        return applet.pending_length() if applet is not None else 0

    def _call(self, name: str, *args: bytes):
        applet = self._get()
        if applet is None:
            raise CardStatus(st.INS_NOT_SUPPORTED)
        try:
            return getattr(applet, name)(*args)
        except Exception as exc:   # noqa: BLE001 - map the applet's answer to a status word
            status_type = _applet_status_type()
            if status_type is not None and isinstance(exc, status_type):
                sw = int(exc.sw)
                raise CardStatus((sw, gsm_status(sw))) from None
            log.exception("STK applet failed in %s", name)
            raise CardStatus(st.TECHNICAL_PROBLEM) from None

    def terminal_profile(self, data: bytes) -> bytes:
        if not data:
            raise CardStatus(st.WRONG_LENGTH)
        self.terminal_profile_bytes = data
        if self._injected is None:           # the menu as EF.MENU and the registry hold it now
            self.applet, self._built = None, False
        if self._get() is not None:
            self._call("terminal_profile", data)
        return b""

    def fetch(self) -> bytes:
        return bytes(self._call("fetch"))

    def terminal_response(self, data: bytes) -> bytes:
        if not data:
            raise CardStatus(st.WRONG_LENGTH)
        self._call("terminal_response", data)
        return b""

    def envelope(self, data: bytes) -> bytes:
        if not data:
            raise CardStatus(st.WRONG_LENGTH)
        return bytes(self._call("envelope", data) or b"")
