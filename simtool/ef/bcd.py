"""Swapped BCD ("TBCD"): two digits per byte, the FIRST digit in the LOW nibble.

Used by EF.ICCID (ETSI TS 102 221 §13.2), EF.IMSI (3GPP TS 31.102 §4.2.2), dialling numbers
(3GPP TS 31.102 §4.4.2.3 / TS 51.011 §10.5.1, Table 12 extended digits) and PLMN codes
(3GPP TS 24.008 §10.5.1.3).  An odd digit count is completed with an F nibble.
"""

from __future__ import annotations

from simtool.errors import DecodeError, EncodeError

#: Plain decimal digits.
DECIMAL = "0123456789"
#: Dialling-number digits of TS 51.011 §10.5.1 Table 12: A = '*', B = '#', C = DTMF control
#: digit separator (written 'p' as in dial strings), D = "wild" value (written '?').  E is RFU.
DIALLING = "0123456789*#p?"


def encode_bcd(digits: str, *, alphabet: str = DECIMAL) -> bytes:
    """Digits -> swapped BCD, F-padded to whole bytes; EncodeError on a digit outside
    ``alphabet``."""
    nibbles = []
    for ch in digits:
        idx = alphabet.find(ch)
        if idx < 0:
            raise EncodeError(f"{ch!r} in {digits!r} is not a BCD digit (allowed: {alphabet})")
        nibbles.append(idx)
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(nibbles[i] | nibbles[i + 1] << 4 for i in range(0, len(nibbles), 2))


def decode_bcd(data: bytes, *, alphabet: str = DECIMAL, what: str = "BCD number") -> str:
    """Swapped BCD -> digits, stopping at the first F nibble.  DecodeError on other nibbles."""
    out: list[str] = []
    for pos, byte in enumerate(data):
        for nibble in (byte & 0x0F, byte >> 4):
            if nibble == 0xF:
                return "".join(out)
            if nibble >= len(alphabet):
                raise DecodeError(f"{what}: nibble {nibble:X} in byte {pos} is not a digit")
            out.append(alphabet[nibble])
    return "".join(out)
