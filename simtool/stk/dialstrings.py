"""Dialling strings in BCD and USSD strings: ADDRESS (ETSI TS 102 223 §8.1), SS STRING
(3GPP TS 31.111 §8.14) and USSD STRING (3GPP TS 31.111 §8.17), re-exported by
:mod:`simtool.stk.objects`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Self

from simtool import text as _text
from simtool.errors import DecodeError, EncodeError
from simtool.stk.dataobject import DataObject, check_byte, check_bytes


# TS 102 223 §8.1 / TS 31.111 §8.14 (as EF.ADN, TS 31.102 §4.4.2.3): BCD with A = '*',
# B = '#', C = DTMF control, D = wild, E = expansion; F fills the last odd nibble.
_BCD_CHARS = "0123456789*#cde"
_BCD_NIBBLE = {ch: i for i, ch in enumerate(_BCD_CHARS)}


def bcd_encode(digits: str, what: str) -> bytes:
    """'*#21#' -> BA 12 FB: low nibble first, F filler (TS 31.111 §8.14)."""
    try:
        nibbles = [_BCD_NIBBLE[ch] for ch in digits.lower()]
    except KeyError as exc:
        raise EncodeError(f"{what} {digits!r}: character {exc.args[0]!r} cannot be coded in "
                          "BCD (allowed: 0-9 * # c d e)") from None
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(lo | hi << 4 for lo, hi in zip(nibbles[::2], nibbles[1::2]))


def bcd_decode(data: bytes, what: str) -> str:
    out: list[str] = []
    nibbles = [n for b in data for n in (b & 0x0F, b >> 4)]
    while nibbles and nibbles[-1] == 0xF:
        nibbles.pop()  # trailing filler (one by the rule; more from FF-padded cards)
    for i, n in enumerate(nibbles):
        if n == 0xF:
            raise DecodeError(f"{what}: filler nibble F in the middle (nibble {i})")
        out.append(_BCD_CHARS[n])
    return "".join(out)


@dataclass(frozen=True)
class Address(DataObject):
    """Address (TS 102 223 §8.1): TON/NPI + BCD dialling number (SET UP CALL)."""

    TAG = 0x06
    NAME = "address"
    number: str
    ton_npi: int = 0x81

    def __post_init__(self) -> None:
        check_byte("TON/NPI", self.ton_npi)
        bcd_encode(self.number, self.NAME)

    @classmethod
    def from_dialled(cls, number: str, *, cr: bool = True) -> Self:
        """'+48600123456' -> international TON (91); anything else unknown TON (81)."""
        if number.startswith("+"):
            return cls(number[1:], 0x91, cr=cr)
        return cls(number, 0x81, cr=cr)

    @property
    def dialled(self) -> str:
        return ("+" if self.ton_npi & 0x70 == 0x10 else "") + self.number

    def value(self) -> bytes:
        return bytes((self.ton_npi,)) + bcd_encode(self.number, self.NAME)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            raise DecodeError("address object is empty: TON/NPI is mandatory")
        return cls(bcd_decode(value[1:], cls.NAME), value[0], cr=cr)


_SS_PLUS = re.compile(r"((?:\*\*|##|\*#|\*|#)[0-9]+\*)\+([0-9].*)")
_SS_HEAD = re.compile(r"(?:\*\*|##|\*#|\*|#)[0-9]+\*")


@dataclass(frozen=True)
class SsString(DataObject):
    """SS string (TS 31.111 §8.14): TON/NPI + the MMI string in BCD ('*'=A, '#'=B)."""

    TAG = 0x09
    NAME = "SS string"
    ss: str
    ton_npi: int = 0xFF

    def __post_init__(self) -> None:
        check_byte("TON/NPI", self.ton_npi)
        bcd_encode(self.ss, self.NAME)

    @classmethod
    def from_mmi(cls, code: str, *, cr: bool = True) -> Self:
        """An MMI string as dialled: a '+' before the number (``*21*+48600123456#``) cannot
        be BCD-coded, so it becomes TON/NPI 91 (international); otherwise TON/NPI FF."""
        match = _SS_PLUS.fullmatch(code)
        if match:
            return cls(match.group(1) + match.group(2), 0x91, cr=cr)
        return cls(code, 0xFF, cr=cr)

    @property
    def mmi(self) -> str:
        """The string as a user would dial it (the '+' back in front of an international
        number, after the service code's '*')."""
        match = _SS_HEAD.match(self.ss)
        if self.ton_npi & 0x70 == 0x10 and match:
            return self.ss[: match.end()] + "+" + self.ss[match.end():]
        return self.ss

    def value(self) -> bytes:
        return bytes((self.ton_npi,)) + bcd_encode(self.ss, self.NAME)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            raise DecodeError("SS string object is empty: TON/NPI is mandatory")
        return cls(bcd_decode(value[1:], cls.NAME), value[0], cr=cr)


#: CBS data coding scheme 0F: GSM 7-bit default alphabet, language unspecified (TS 23.038 §5).
USSD_DCS_GSM7 = 0x0F
#: CBS data coding scheme 48: general coding, UCS2 (TS 23.038 §5).
USSD_DCS_UCS2 = 0x48


@dataclass(frozen=True)
class UssdString(DataObject):
    """USSD string (TS 31.111 §8.17): CBS DCS (TS 23.038 §5) + the (packed) string."""

    TAG = 0x0A
    NAME = "USSD string"
    dcs: int
    data: bytes = b""

    def __post_init__(self) -> None:
        check_byte("USSD DCS", self.dcs)
        check_bytes(self.NAME, self.data)

    @classmethod
    def from_text(cls, text: str, *, cr: bool = True) -> Self:
        """GSM 7-bit packed with DCS 0F (and <CR> padding, TS 23.038 §6.1.2.3.1); else UCS2."""
        if _text.is_gsm7(text):
            packed = _text.gsm7_pack(_text.encode_gsm7(text), cr_padding=True)
            return cls(USSD_DCS_GSM7, packed, cr=cr)
        return cls(USSD_DCS_UCS2, text.encode("utf-16-be"), cr=cr)

    @property
    def text(self) -> str:
        return _text.decode_text_string(self.dcs, self.data, cbs=True)

    def value(self) -> bytes:
        return bytes((self.dcs,)) + self.data

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if not value:
            raise DecodeError("USSD string object is empty: the DCS byte is mandatory")
        return cls(value[0], bytes(value[1:]), cr=cr)
