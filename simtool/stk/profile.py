"""TERMINAL PROFILE: the facilities a terminal supports (APDU 80 10).

ETSI TS 102 223 §5.2 (bytes 1-3, 4 b1 b5-b8, 5) and 3GPP TS 31.111 §5.2 (byte 4 b2-b4: SEND
SHORT MESSAGE, SEND SS, SEND USSD).  Only the bits confirmed in sim-facts §6 are named here.
Bytes beyond the received length count as 0.  A card issues a proactive command only when
the terminal's profile has its bit set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simtool.errors import DataError, EncodeError

#: name -> (byte number from 1, bit number b1..b8)
FACILITIES: dict[str, tuple[int, int]] = {
    "profile_download": (1, 1),
    "sms_pp_data_download": (1, 2),
    "cell_broadcast_data_download": (1, 3),
    "menu_selection": (1, 4),
    "ussd_in_call_control": (1, 7),      # 3GPP TS 31.111 §5.2: USSD string in call control
    "command_result": (2, 1),
    "call_control": (2, 2),              # ETSI TS 102 223 §5.2: call control by NAA
    "ucs2_entry": (2, 6),
    "ucs2_display": (2, 7),
    "display_text": (3, 1),
    "get_inkey": (3, 2),
    "get_input": (3, 3),
    "more_time": (3, 4),
    "play_tone": (3, 5),
    "poll_interval": (3, 6),
    "polling_off": (3, 7),
    "refresh": (3, 8),
    "select_item": (4, 1),
    "send_short_message": (4, 2),
    "send_ss": (4, 3),
    "send_ussd": (4, 4),
    "set_up_call": (4, 5),
    "set_up_menu": (4, 6),
    "provide_local_information": (4, 7),
    "provide_local_information_nmr": (4, 8),
    "set_up_event_list": (5, 1),
}

#: type of command -> the facility that announces it.
COMMAND_FACILITY: dict[int, str] = {
    0x02: "more_time", 0x03: "poll_interval", 0x04: "polling_off",
    0x05: "set_up_event_list", 0x01: "refresh",
    0x10: "set_up_call", 0x11: "send_ss", 0x12: "send_ussd", 0x13: "send_short_message",
    0x20: "play_tone", 0x21: "display_text", 0x22: "get_inkey", 0x23: "get_input",
    0x24: "select_item", 0x25: "set_up_menu", 0x26: "provide_local_information",
}


def _position(name: str) -> tuple[int, int]:
    try:
        return FACILITIES[name]
    except KeyError:
        raise DataError(f"unknown terminal profile facility {name!r}; known: "
                        + ", ".join(FACILITIES)) from None


@dataclass(frozen=True)
class TerminalProfile:
    """The terminal profile bytes, with facilities looked up by name."""

    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            raise EncodeError("terminal profile must be bytes")

    @classmethod
    def from_facilities(cls, names: Iterable[str], *, length: int | None = None
                        ) -> TerminalProfile:
        """A profile with exactly these facilities; ``length`` pads with zero bytes."""
        positions = [_position(n) for n in names]
        size = max([b for b, _ in positions] + [length or 0])
        out = bytearray(size)
        for byte, bit in positions:
            out[byte - 1] |= 1 << (bit - 1)
        return cls(bytes(out))

    def supports(self, name: str) -> bool:
        """Whether the facility ``name`` (a key of :data:`FACILITIES`) is set."""
        byte, bit = _position(name)
        return len(self.data) >= byte and bool(self.data[byte - 1] & (1 << (bit - 1)))

    def supports_command(self, type_of_command: int) -> bool:
        """Whether the terminal announced the proactive command of this type."""
        name = COMMAND_FACILITY.get(type_of_command)
        return name is not None and self.supports(name)

    @property
    def facilities(self) -> tuple[str, ...]:
        return tuple(n for n in FACILITIES if self.supports(n))

    def with_facilities(self, *names: str) -> TerminalProfile:
        out = bytearray(self.data)
        for name in names:
            byte, bit = _position(name)
            out += bytes(max(0, byte - len(out)))
            out[byte - 1] |= 1 << (bit - 1)
        return TerminalProfile(bytes(out))

    def without(self, *names: str) -> TerminalProfile:
        out = bytearray(self.data)
        for name in names:
            byte, bit = _position(name)
            if byte <= len(out):
                out[byte - 1] &= ~(1 << (bit - 1)) & 0xFF
        return TerminalProfile(bytes(out))

    def encode(self) -> bytes:
        return self.data

    @classmethod
    def decode(cls, data: bytes) -> TerminalProfile:
        return cls(bytes(data))

    def describe(self) -> str:
        return f"TERMINAL PROFILE {self.data.hex().upper()}: " + (", ".join(self.facilities)
                                                                 or "no facilities")


#: The minimal profile of a menu + USSD terminal, sim-facts §6.
MENU_USSD_FACILITIES = ("profile_download", "menu_selection", "command_result", "ucs2_entry",
                        "ucs2_display", "display_text", "get_inkey", "get_input", "select_item",
                        "send_ss", "send_ussd", "set_up_menu")

#: What the handset simulator announces by default: the menu + USSD set, SET UP CALL and
#: REFRESH (it re-reads the files a file change notification lists).
DEFAULT = TerminalProfile.from_facilities(MENU_USSD_FACILITIES + ("set_up_call", "refresh"))

#: A handset that also hands every call to the card first (call control by USIM, with the
#: USSD string allowed in the card's answer): ``simtool stk call``.
WITH_CALL_CONTROL = TerminalProfile.from_facilities(
    MENU_USSD_FACILITIES + ("set_up_call", "refresh", "call_control", "ussd_in_call_control"))

#: (profile, hex) pairs; one generic test walks them both ways.
EXAMPLES: tuple[tuple[TerminalProfile, str], ...] = (
    (TerminalProfile.from_facilities(MENU_USSD_FACILITIES), "09 61 07 2D"),
)
