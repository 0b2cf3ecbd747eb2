"""PIN, PUK and ADM coding and key references.

* PIN / PUK: 4-8 (PUK: exactly 8) decimal digits as ASCII, left-justified, FF-padded to 8
  bytes (ETSI TS 102 221 §9.5.2; sim-facts §9.3).
* ADM: up to 8 decimal digits as ASCII + FF padding, or 16 hex digits sent as 8 raw bytes
  (provisioning-tool convention, sim-facts §9.4).
* Key references for P2 of VERIFY / CHANGE / DISABLE / ENABLE / UNBLOCK PIN
  (ETSI TS 102 221 §9.5.1 Table 9.3) and the GSM CHV numbers (3GPP TS 51.011 §9.2.9-§9.2.13),
  and the fewest ADM tries simtool leaves untouched (:data:`ADM_MIN_TRIES`).  These are
  written here only: the card model, ``info``, the card types, the CLI and the virtual card
  import them.

Values arrive and leave as :class:`~simtool.secret.Secret`; no error message contains a digit
of the value.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from simtool.errors import EncodeError
from simtool.secret import Secret

PIN_LENGTH = 8
_PAD = b"\xff"


class KeyReference(enum.IntEnum):
    """P2 key references (ETSI TS 102 221 §9.5.1 Table 9.3)."""

    PIN1 = 0x01  # application PIN 1 (USIM PIN)
    PIN_APPL_2 = 0x02
    PIN_APPL_3 = 0x03
    PIN_APPL_4 = 0x04
    PIN_APPL_5 = 0x05
    PIN_APPL_6 = 0x06
    PIN_APPL_7 = 0x07
    PIN_APPL_8 = 0x08
    ADM1 = 0x0A
    ADM2 = 0x0B
    ADM3 = 0x0C
    ADM4 = 0x0D
    ADM5 = 0x0E
    UNIVERSAL_PIN = 0x11
    PIN2 = 0x81  # second PIN of application 1 (local)
    SECOND_PIN_APPL_2 = 0x82
    SECOND_PIN_APPL_3 = 0x83
    SECOND_PIN_APPL_4 = 0x84
    SECOND_PIN_APPL_5 = 0x85
    SECOND_PIN_APPL_6 = 0x86
    SECOND_PIN_APPL_7 = 0x87
    SECOND_PIN_APPL_8 = 0x88
    ADM6 = 0x8A
    ADM7 = 0x8B
    ADM8 = 0x8C
    ADM9 = 0x8D
    ADM10 = 0x8E


PIN1 = KeyReference.PIN1
PIN2 = KeyReference.PIN2
ADM1 = KeyReference.ADM1
ADM2 = KeyReference.ADM2
ADM3 = KeyReference.ADM3
ADM4 = KeyReference.ADM4
UNIVERSAL_PIN = KeyReference.UNIVERSAL_PIN

#: Never VERIFY an ADM key when fewer tries than this are left: one mistake must not block
#: it (a blocked ADM1 cannot be recovered).  The default of every card type
#: (:attr:`simtool.cardtypes.CardType.adm_min_tries`) and of ``simtool pin verify adm1`` on a
#: card of no known type.
ADM_MIN_TRIES = 2


class GsmChv(enum.IntEnum):
    """P2 of VERIFY / CHANGE / DISABLE / ENABLE CHV on a GSM SIM (CLA A0, TS 51.011 §9.2)."""

    CHV1 = 0x01
    CHV2 = 0x02


#: P2 of UNBLOCK CHV on a GSM SIM: 00 unblocks CHV1, 02 unblocks CHV2 (TS 51.011 §9.2.13).
GSM_UNBLOCK_CHV_P2 = {GsmChv.CHV1: 0x00, GsmChv.CHV2: 0x02}


class AdmFormat(enum.Enum):
    DECIMAL8 = "decimal8"  # up to 8 decimal digits, ASCII, FF-padded
    HEX16 = "hex16"  # 16 hex digits, 8 raw bytes


class EncodedAdm(NamedTuple):
    key: Secret[bytes]
    format: AdmFormat


def _digits(value: Secret[str], what: str, lengths: range) -> str:
    if not isinstance(value, Secret):
        raise TypeError(f"the {what} must be passed as a Secret")
    text = value.reveal()
    if not isinstance(text, str):
        raise EncodeError(f"the {what} must be text")
    if not (text.isascii() and text.isdigit() and len(text) in lengths):
        if lengths.start == lengths.stop - 1:
            rule = f"exactly {lengths.start}"
        else:
            rule = f"{lengths.start} to {lengths.stop - 1}"
        raise EncodeError(f"the {what} must be {rule} decimal digits")
    return text


def encode_pin(pin: Secret[str]) -> Secret[bytes]:
    """PIN (4-8 digits) -> 8 bytes: ASCII digits + FF padding (TS 102 221 §9.5.2).

    '1234' -> 31 32 33 34 FF FF FF FF."""
    text = _digits(pin, "PIN", range(4, 9))
    return Secret(text.encode("ascii").ljust(PIN_LENGTH, _PAD))


def encode_puk(puk: Secret[str]) -> Secret[bytes]:
    """PUK (exactly 8 digits) -> 8 ASCII bytes (TS 102 221 §9.5.2)."""
    return Secret(_digits(puk, "PUK", range(8, 9)).encode("ascii"))


def encode_adm(adm: Secret[str]) -> EncodedAdm:
    """ADM key as typed in a batch file -> (8 bytes for VERIFY, which format it was).

    ≤ 8 decimal digits: ASCII, FF-padded ('55538407' -> 35 35 35 33 38 34 30 37);
    16 hex digits: the 8 raw bytes ('CAE743DB9C5B5A58').  Anything else is refused."""
    if not isinstance(adm, Secret):
        raise TypeError("the ADM key must be passed as a Secret")
    text = adm.reveal()
    if not isinstance(text, str):
        raise EncodeError("the ADM key must be text")
    if text.isascii() and text.isdigit() and 1 <= len(text) <= 8:
        return EncodedAdm(Secret(text.encode("ascii").ljust(PIN_LENGTH, _PAD)),
                          AdmFormat.DECIMAL8)
    if len(text) == 16 and all(c in "0123456789abcdefABCDEF" for c in text):
        return EncodedAdm(Secret(bytes.fromhex(text)), AdmFormat.HEX16)
    raise EncodeError("the ADM key must be up to 8 decimal digits or exactly 16 hex digits")


def encode_pin_pair(first: Secret[bytes], second: Secret[bytes]) -> Secret[bytes]:
    """Data of CHANGE PIN (old ‖ new) or UNBLOCK PIN (PUK ‖ new PIN), 16 bytes
    (TS 102 221 §11.1.10, §11.1.13)."""
    a, b = first.reveal(), second.reveal()
    if len(a) != PIN_LENGTH or len(b) != PIN_LENGTH:
        raise EncodeError("each coded PIN/PUK must be 8 bytes")
    return Secret(a + b)
