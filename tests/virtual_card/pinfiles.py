"""The SJA2's PIN files in DF.SYSTEM (A515): EF.CHV1 6F01, EF.CHV2 6F81, EF.ADM1 6F0A,
EF.ADM2 6F0B.

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
from .fs import ADM_ADM, DF, EF, Content
from .pins import Pin, block_digits
from .status import CardStatus

DF_SYSTEM_FID = 0xA515
STATE_DISABLED = 0x01
#: state bits shown besides "disabled": valid, change-, unblock-, disable-able (PIN1/PIN2);
#: valid, change-able (ADM1).
PIN_STATE = 0xF0
ADM_STATE = 0xC0
PIN_FILES = (  # (FID, name, Pin name, fixed state bits)
    (0x6F01, "EF.CHV1", "PIN1", PIN_STATE),
    (0x6F81, "EF.CHV2", "PIN2", PIN_STATE),
    (0x6F0A, "EF.ADM1", "ADM1", ADM_STATE),
    (0x6F0B, "EF.ADM2", "ADM2", ADM_STATE),
)


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


def add_pin_files(mf: DF, pins: dict[str, Pin]) -> None:
    """Put EF.CHV1, EF.CHV2, EF.ADM1 and EF.ADM2 into DF.SYSTEM, as views of ``pins``."""
    df_system = mf.children[DF_SYSTEM_FID]
    for fid, name, pin_name, state_bits in PIN_FILES:
        content = PinFileContent(f"pins.{pin_name}", pins[pin_name], state_bits)
        df_system.add(EF(fid, name, content, ADM_ADM))
