"""The SJA2's PIN files in DF.SYSTEM: EF.CHV1, EF.CHV2, EF.ADM1, EF.ADM2 (the tree's ``pin.*``
stores).

On a sysmoISIM-SJA2 the PIN, PUK and ADM values live in these proprietary transparent files
(layout as osmocom pySim's ``sysmocom_sja2.py`` describes it; sysmocom's manual was not
consulted): state byte (b8 valid, b7 change-able, b6 unblock-able, b5 disable-able, b2 not
initialised, b1 disabled), attempts remaining, maximum attempts, PIN (8 bytes, FF-padded), and
for PIN1/PIN2 a PUK part: attempts remaining, maximum attempts, PUK (8 bytes).  Reading and
updating them needs ADM1.

Each file here is a view of the card's :class:`.pins.Pin`: reading encodes it, UPDATE BINARY
decodes the new bytes into it, so VERIFY / UNBLOCK use what was written and the image keeps it
in its ``pins`` section.  Bytes the Pin cannot hold (a PIN that is not 4-8 digits, a PUK that
is not 8 digits, a counter above its maximum, a maximum outside 1..15, an ADM disabled) are
refused with 6A80 and change nothing.
"""

from __future__ import annotations

from simtool.secret import Secret

from . import status as st
from .fs import Content
from .pins import Pin, block_digits
from .status import CardStatus

STATE_DISABLED = 0x01
#: state bits shown besides "disabled": valid, change-, unblock-, disable-able (PIN1/PIN2);
#: valid, change-able (ADM1).
PIN_STATE = 0xF0
ADM_STATE = 0xC0


class PinFileContent(Content):
    """The bytes of an SJA2 PIN file, computed from and written into a :class:`Pin`."""

    __slots__ = ("pin", "state_bits")

    def __init__(self, key: str, pin: Pin, state_bits: int) -> None:
        # Content.__init__ would store bytes; this content has none of its own.
        self.key = key
        self.persistent = False          # persisted through the image's "pins" section
        self.records = None
        self.record_len = 0
        self.pin = pin
        self.state_bits = state_bits

    @property
    def data(self) -> bytes:
        pin = self.pin
        state = self.state_bits | (0 if pin.enabled else STATE_DISABLED)
        out = bytes((state, pin.tries, pin.max_tries)) + pin.value.reveal()
        if pin.puk is not None:
            out += bytes((pin.puk_tries, pin.puk_max_tries)) + pin.puk.reveal()
        return out

    @data.setter
    def data(self, value: bytes) -> None:
        pin = self.pin
        if len(value) != len(self.data):
            raise CardStatus(st.WRONG_LENGTH)
        state, tries, max_tries = value[0], value[1], value[2]
        block = value[3:11]
        ok = 1 <= max_tries <= 15 and tries <= max_tries and block_digits(block) is not None
        enabled = not state & STATE_DISABLED
        if pin.name.startswith("ADM") and not enabled:
            ok = False
        puk = None
        if pin.puk is not None:
            puk_tries, puk_max, puk = value[11], value[12], value[13:21]
            ok = ok and 1 <= puk_max <= 15 and puk_tries <= puk_max \
                and block_digits(puk, 8) is not None
        if not ok:
            raise CardStatus(st.WRONG_DATA)
        pin.enabled = enabled
        pin.tries, pin.max_tries = tries, max_tries
        pin.value = Secret(bytes(block))
        if puk is not None:
            pin.puk_tries, pin.puk_max_tries = puk_tries, puk_max
            pin.puk = Secret(bytes(puk))


def pin_file_content(key: str, pin: Pin) -> PinFileContent:
    """The content of the PIN file of ``pin`` (store ``pin.<name>``): an ADM key shows only
    'valid, change-able', a PIN also 'unblock-, disable-able'."""
    return PinFileContent(key, pin, ADM_STATE if pin.name.startswith("ADM") else PIN_STATE)
