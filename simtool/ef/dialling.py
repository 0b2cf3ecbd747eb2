"""Dialling-number records: EF.MSISDN and EF.ADN (the same X + 14 byte layout)."""

from __future__ import annotations

from dataclasses import dataclass

from simtool.ef.base import EfCodec, Structure
from simtool.ef.bcd import DIALLING, decode_bcd, encode_bcd
from simtool.errors import DecodeError, EncodeError
from simtool.text import decode_alpha, encode_alpha

#: TON/NPI byte (3GPP TS 24.008 §10.5.4.7): b8 = 1, b7..b5 type of number, b4..b1 numbering plan.
TON_NPI_INTERNATIONAL = 0x91  # international, ISDN/E.164
TON_NPI_UNKNOWN = 0x81  # unknown, ISDN/E.164
_TON_INTERNATIONAL = 0x10
_MAX_DIGITS = 20  # 10 BCD bytes; longer numbers need an EXT record


def _is_international(ton_npi: int) -> bool:
    return ton_npi & 0x70 == _TON_INTERNATIONAL


@dataclass(frozen=True)
class EfMsisdn(EfCodec):
    """EF.MSISDN record (6F40, linear fixed, X + 14 bytes).

    Bytes 1..X alpha identifier (ETSI TS 102 221 Annex A, FF-padded), X+1 length of the
    TON/NPI + BCD bytes in use (FF = empty record), X+2 TON/NPI, X+3..X+12 the number in
    swapped BCD (A = '*', B = '#', C = 'p', D = '?'), X+13 capability/configuration record id,
    X+14 extension record id (3GPP TS 31.102 §4.2.26, §4.4.2.3; TS 51.011 §10.5.5, §10.5.1).

    ``number`` starts with '+' exactly when the type of number is international; without an
    explicit ``ton_npi`` it becomes 91 ('+') or 81.  An empty record has ``number == ""``."""

    NAME = "EF.MSISDN"
    FID = 0x6F40
    STRUCTURE = Structure.LINEAR_FIXED
    SIZE = 34
    CLAUSE = "3GPP TS 31.102 §4.2.26, §4.4.2.3; 3GPP TS 51.011 §10.5.5"

    number: str = ""
    alpha: str = ""
    ton_npi: int | None = None
    ccp: int = 0xFF
    ext: int = 0xFF

    def __post_init__(self) -> None:
        if not self.number:
            object.__setattr__(self, "ton_npi", None)
            return
        plus = self.number.startswith("+")
        digits = self.number[1:] if plus else self.number
        if not digits:
            raise EncodeError(f"{self.NAME}: number {self.number!r} has no digits")
        bad = sorted(set(digits) - set(DIALLING))
        if bad:
            raise EncodeError(f"{self.NAME}: number {self.number!r} contains {bad}; allowed are "
                              f"'+' first, then {DIALLING}")
        if len(digits) > _MAX_DIGITS:
            raise EncodeError(f"{self.NAME}: number {self.number!r} has {len(digits)} digits; "
                              f"more than {_MAX_DIGITS} need an extension record (not supported)")
        ton_npi = self.ton_npi
        if ton_npi is None:
            ton_npi = TON_NPI_INTERNATIONAL if plus else TON_NPI_UNKNOWN
        if not 0 <= ton_npi <= 0xFF:
            raise EncodeError(f"{self.NAME}: TON/NPI {ton_npi} is not a byte")
        if plus != _is_international(ton_npi):
            raise EncodeError(f"{self.NAME}: number {self.number!r} and TON/NPI {ton_npi:02X} "
                              "disagree: '+' goes with the international type of number")
        object.__setattr__(self, "ton_npi", ton_npi)

    @property
    def digits(self) -> str:
        return self.number.lstrip("+")

    @classmethod
    def decode(cls, data: bytes) -> EfMsisdn:
        cls._need(data, 14)
        x = len(data) - 14
        alpha = decode_alpha(data[:x])
        length, ton_npi = data[x], data[x + 1]
        ccp, ext = data[x + 12], data[x + 13]
        if length in (0x00, 0xFF):
            return cls("", alpha, None, ccp, ext)
        if length > 11:
            raise DecodeError(f"{cls.NAME}: BCD length {length} is more than 11")
        digits = decode_bcd(data[x + 2 : x + 1 + length], alphabet=DIALLING, what=cls.NAME)
        if not digits:
            raise DecodeError(f"{cls.NAME}: length {length} but no digits")
        number = ("+" if _is_international(ton_npi) else "") + digits
        return cls(number, alpha, ton_npi, ccp, ext)

    def encode(self, size: int | None = None) -> bytes:
        if size is not None and size < 14:
            raise EncodeError(f"{self.NAME}: a record is at least 14 bytes, not {size}")
        limit = None if size is None else size - 14
        alpha = encode_alpha(self.alpha, limit)
        if limit is not None:
            alpha += b"\xff" * (limit - len(alpha))
        if self.number:
            bcd = encode_bcd(self.digits, alphabet=DIALLING)
            number = bytes([1 + len(bcd), self.ton_npi or 0]) + bcd
        else:
            number = b"\xff\xff"
        number += b"\xff" * (12 - len(number))
        if not (0 <= self.ccp <= 0xFF and 0 <= self.ext <= 0xFF):
            raise EncodeError(f"{self.NAME}: CCP and EXT record ids must be bytes")
        return alpha + number + bytes([self.ccp, self.ext])


@dataclass(frozen=True)
class EfAdn(EfMsisdn):
    """EF.ADN record (6F3A in DF.TELECOM): abbreviated dialling numbers, same layout as
    EF.MSISDN (3GPP TS 51.011 §10.5.1; TS 31.102 §4.4.2.3)."""

    NAME = "EF.ADN"
    FID = 0x6F3A
    SIZE = 30
    CLAUSE = "3GPP TS 51.011 §10.5.1; 3GPP TS 31.102 §4.4.2.3"


_FF20 = "FF" * 20
EfMsisdn.EXAMPLES = (
    (EfMsisdn("+48600123456"), "07918406103254F6FFFFFFFFFFFF"),  # sim-facts §3.4
    # sim-facts §3.4 / pySim ts_51_011: "Eigene Rufnummer", X = 20
    (EfMsisdn("+4917279119183", "Eigene Rufnummer"),
     "456967656E65205275666E756D6D6572FFFFFFFF" "0891947172199181F3FFFFFFFFFF"),
    # pySim ts_51_011: network-specific TON (B1), no alpha
    (EfMsisdn("12345", "", 0xB1), _FF20 + "04B12143F5FFFFFFFFFFFFFFFFFF"),
    (EfMsisdn("1766266", "", 0xB1), _FF20 + "05B1716662F6FFFFFFFFFFFFFFFF"),
    (EfMsisdn("123456789", "", 0xB1), _FF20 + "06B121436587F9FFFFFFFFFFFFFF"),
    (EfMsisdn("*100#", "Saldo", 0x81), "53616C646FFFFFFF" "04811A00FB" + "FF" * 9),
    (EfMsisdn(), "FF" * 34),  # empty record
)
EfAdn.EXAMPLES = (
    # pySim ts_51_011 EF.ADN vectors
    (EfAdn("6082658001", "B HA 1 Sic"),
     "42204841203120536963FFFFFFFFFFFF" "06810628560810FFFFFFFFFFFFFF"),
    (EfAdn("+491721217212", "Kundenbetreuung"),
     "4B756E64656E626574726575756E67FF" "0791947112122721FFFFFFFFFFFF"),
)
