"""The card side of the SIM Toolkit: the library's ``simtool.stk.dispatch.ToolkitDispatcher``
(TERMINAL PROFILE, FETCH, TERMINAL RESPONSE, ENVELOPE and the 91xx status, ETSI TS 102 221
§11.2, TS 102 223 §6), with the card's applet in it.

The applet is either injected, or the card's menu applet: when the registry holds it
(:mod:`.gp`), a ``simtool.stk.applet.MenuApplet`` for the menu in EF.MENU
(:mod:`simtool.stk.menufile`), built on first use and built again at every TERMINAL PROFILE, so
an updated EF.MENU (or an applet installed or deleted) shows at the next one.  Those modules
are imported only then, so the card works without them.

The dispatcher answers in TS 102 221 §10.2.1 status words; under CLA A0 the card answers the
3GPP TS 51.011 §9.4 value instead (``simtool.stk.dispatch.gsm_status``).  An applet that fails
with anything but a status gets 6F00: the card keeps answering.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from simtool.stk.dispatch import AppletStatus, ToolkitDispatcher

from . import status as st
from .status import CardStatus

log = logging.getLogger("tests.virtual_card")


class Toolkit:
    def __init__(self, menu_file: Callable[[], bytes | None], applet: object | None = None,
                 own_number=None) -> None:
        self._menu_file = menu_file          # EF.MENU's content, None without the menu applet
        self._own_number = own_number        # the card's EF.MSISDN number, for the applet
        self._injected = applet
        self.dispatcher = ToolkitDispatcher()
        self.applet = applet                 # None until built (or when there is none)
        self._built = False
        self._built_from: bytes | None = None   # the EF.MENU content the applet was built from

    def reset(self) -> None:
        """Card reset: nothing pending; an applet built from the image starts again."""
        self.dispatcher.reset()
        if self._injected is None:
            self._drop()

    def _drop(self) -> None:
        if self.applet is not None:
            self.dispatcher.remove(self.applet)
        self.applet, self._built = None, False

    def _build(self) -> object | None:
        applet = self._injected
        if applet is None:
            content = self._built_from = self._menu_file()
            if content is not None:
                try:
                    from simtool.stk.applet import MenuApplet
                    from simtool.stk.menufile import decode_menu_file
                    menu = decode_menu_file(content)
                    if menu is not None:
                        applet = MenuApplet(menu, own_number=self._own_number)
                except Exception as exc:   # noqa: BLE001 - a bad menu must not kill the card
                    log.error("cannot build the STK menu applet: %s", exc)
        return applet

    def _get(self) -> object | None:
        if not self._built:
            self._built = True
            self.applet = self._build()
            if self.applet is not None:
                self.dispatcher.applets = [self.applet]
        return self.applet

    def menu_changed(self) -> None:
        """EF.MENU or the registry changed (OTA RFM, GP INSTALL / DELETE).  After a TERMINAL
        PROFILE, a menu applet whose menu is now different sends SET UP MENU again at once (a
        new SET UP MENU replaces the terminal's menu, TS 102 223 §6.4.7); the terminal sees
        91xx after the command that changed it.  A removed menu applet sends nothing: the
        terminal drops the menu at its next TERMINAL PROFILE."""
        if self._injected is not None or not self._built \
                or not self.dispatcher.terminal_profile_data:
            return
        if self._menu_file() == self._built_from:
            return
        self._drop()
        self._built = True
        self.applet = self._build()
        if self.applet is not None:
            try:
                self.dispatcher.install(self.applet)
            except Exception:   # noqa: BLE001 - the card keeps answering
                log.exception("STK applet failed to announce its new menu")

    def pending_length(self) -> int:
        return self.dispatcher.pending_length()

    def status_word(self) -> int:
        """91xx while a proactive command is pending, else 9000."""
        return self.dispatcher.status_word()

    def command(self, ins: int, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        """A toolkit command for the dispatcher; its status as the card's (UICC, GSM) pair."""
        if ins == 0x10 and not p1 and not p2 and data and self._injected is None:
            self._drop()                     # the menu as EF.MENU and the registry hold it now
        self._get()
        try:
            return self.dispatcher.command(ins, p1, p2, data, le)
        except AppletStatus as exc:
            raise CardStatus((exc.sw, exc.gsm_sw)) from None
        except Exception:   # noqa: BLE001 - an applet's bug: the card answers 6F00
            log.exception("STK applet failed in INS %02X", ins)
            raise CardStatus(st.TECHNICAL_PROBLEM) from None
